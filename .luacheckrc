-- luacheck configuration: Lua 5.1–5.4 compatible code; busted globals in specs.
std = "max"
max_line_length = 130
codes = true
files["spec/"] = { std = "+busted" }
files["mock/lua/"] = { std = "lua54" }
ignore = {
  "212/self",   -- unused self in methods
  "212/rule",   -- validate.lua checkers share one signature
}
files["examples/openresty/"] = { std = "+ngx_lua" }
files["lua/creatorapi/transport/cosocket.lua"] = { std = "+ngx_lua" }
files["lua/creatorapi/limiter/shdict.lua"] = { std = "+ngx_lua" }
files["spec/support/async_app.lua"] = { std = "+ngx_lua" }
files["bench/openresty_app.lua"] = { std = "+ngx_lua" }
-- generated LuaLS annotations: empty stubs whose arguments only carry types
files["library/"] = { ignore = { "212", "241" } }
