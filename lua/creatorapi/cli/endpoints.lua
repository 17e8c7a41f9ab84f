--- The endpoint subcommands, generated from the providers' endpoint tables
--- (CreatiVault.ENDPOINTS, KeyAPI.ENDPOINTS): a new endpoint in those tables
--- becomes a command without CLI code. The hints below only choose nicer
--- command words, positional arguments, paging and table columns.
local params = require "creatorapi.cli.params"
local output = require "creatorapi.cli.output"

local M = {}

local unpack = table.unpack or unpack

local SEARCH_COLUMNS = { "username", "nickname", "country_code", "followers_count", "avg_views",
  "engagement_rate", "email" }
local KA_COLUMNS = { "unique_id", "nick_name", "region", "total_followers_cnt", "total_views_cnt",
  "interaction_rate", "contact_email" }

local function search_hint(platform)
  return {
    words = { "search", platform }, columns = SEARCH_COLUMNS,
    paging = { page = "page", size = "size",
      iterate = function(c, p, o) return c:each_creator(platform, p, o) end },
  }
end

-- Per-endpoint hints: words (command path), positional (parameter names taken
-- as positional arguments), rename (parameter → option name), columns (table
-- format), paging { page =, size =, iterate(client, params, opts) }.
M.HINTS = {
  creativault = {
    search_tiktok = search_hint("tiktok"),
    search_youtube = search_hint("youtube"),
    search_instagram = search_hint("instagram"),
    lookalike = { words = { "lookalike" }, positional = { "username" },
      columns = { "username", "nickname", "country_code", "followers_count", "avg_views", "match_score" } },
    submit_task = { words = { "task", "submit" } },
    submit_keyword_task = { words = { "task", "keyword-submit" } },
    task_status = { words = { "task", "status" }, positional = { "task_id" },
      columns = { "task_id", "status", "progress", "total", "completed", "failed" } },
    task_data = { words = { "task", "data" }, positional = { "task_id" },
      columns = { "source_value", "username", "nickname", "country_code", "followers_count" },
      paging = { page = "page", size = "size",
        iterate = function(c, p, o) return c:each_task_row(p.task_id, o) end } },
    export_task = { words = { "task", "export" }, positional = { "task_id" }, rename = { format = "export" },
      columns = { "file_id", "file_name", "format", "row_count", "file_expire_at" } },
    download_url = { words = { "download-url" }, positional = { "file_id" },
      columns = { "file_id", "file_name", "file_expire_at" } },
  },
  keyapi = {
    influencer_list = { columns = KA_COLUMNS },
    influencer_ranking = { columns = { "rank", "unique_id", "nick_name", "region", "total_followers_cnt",
      "total_sale_gmv_amt", "interaction_rate" } },
    influencer_detail = { positional = { "unique_id" }, columns = KA_COLUMNS },
    influencer_videos = { columns = { "video_id", "unique_id", "create_time", "total_views_cnt",
      "total_digg_cnt", "total_comments_cnt", "interaction_rate" } },
    influencer_trends = { columns = { "dt", "total_followers_cnt", "total_views_cnt", "total_digg_cnt",
      "total_sale_gmv_amt", "interaction_rate" } },
    influencer_products = { columns = { "product_id", "product_name", "category_name", "avg_price",
      "total_sale_cnt", "total_sale_gmv_amt" } },
    influencer_livestreams = { columns = { "room_id", "title", "start_time", "duration", "max_viewers_cnt",
      "total_sale_gmv_amt" } },
  },
}

--- Providers: the SDK module, its environment variables and command word.
M.PROVIDERS = {
  cv = { name = "creativault", title = "CreatiVault", module = "creatorapi.creativault",
    key_env = "CREATIVAULT_API_KEY", url_env = "CREATIVAULT_BASE_URL",
    identity_env = "CREATIVAULT_USER_IDENTITY", method = "POST" },
  keyapi = { name = "keyapi", title = "KeyAPI", module = "creatorapi.keyapi",
    key_env = "KEYAPI_TOKEN", url_env = "KEYAPI_API_BASE_URL", method = "GET" },
}

--- Options every API command has (targets are these names).
function M.add_common(cmd, prov, paged)
  local out = {
    cmd:option("--format", "output format: table (default on a terminal), csv, json, jsonl (default when piped)")
      :choices(output.FORMATS):argname("<fmt>"),
    cmd:option("--fields", "columns to print, comma-separated (dotted paths reach into objects)"):argname("<a,b,...>"),
  }
  if paged then
    out[#out + 1] = cmd:option("--limit", "rows to fetch in total, across pages (per-row billed search buys exactly N)")
      :argname("<n>"):convert(tonumber)
    out[#out + 1] = cmd:flag("--all", "every page, until a short page or the API's page cap")
    out[#out + 1] = cmd:option("--page", "page to fetch (with --limit/--all: the page to start from)")
      :argname("<n>"):convert(tonumber)
  end
  local more = {
    cmd:option("--param", "any parameter as NAME=VALUE (VALUE read as JSON when it parses); repeatable")
      :count("*"):argname("<k=v>"),
    cmd:option("--data", "parameters as a JSON object (options given as flags override it)"):argname("<json>"),
    cmd:flag("--dry-run", "print the request (key redacted) and its worst-case cost; send nothing"),
    cmd:option("--max-credits", "refuse to spend more than N credits"):argname("<n>"):convert(tonumber),
    cmd:flag("--quiet", "no progress and no credits line on stderr"),
    cmd:flag("--progress", "progress on stderr even when it is not a terminal"),
    cmd:option("--api-key", "API key (default $" .. prov.key_env .. ")"):argname("<key>"),
    cmd:option("--base-url", "API base URL (default $" .. prov.url_env .. " or the vendor's)"):argname("<url>"),
    cmd:option("--timeout", "seconds per request (default 60)"):argname("<s>"):convert(tonumber),
  }
  if prov.identity_env then
    more[#more + 1] = cmd:option("--user-identity", "X-User-Identity e-mail (default $" .. prov.identity_env .. ")")
      :argname("<email>")
  end
  for _, o in ipairs(more) do out[#out + 1] = o end
  return out
end

M.PAGING_OPTIONS = { limit = true, all = true, page = true }
M.COMMON = { format = true, fields = true, limit = true, all = true, page = true, param = true, data = true,
  dry_run = true, max_credits = true, quiet = true, progress = true, api_key = true, base_url = true,
  timeout = true, user_identity = true }

-- Finds or creates the command for `word` under `parent` (argparse keeps them by name).
local GROUPS = { search = "creator search per platform (billed per returned row)",
  task = "collection tasks: submit, status, data, export, wait" }

local function sub(parent, word, registry, key)
  registry[key] = registry[key] or parent:command(word, GROUPS[word])
  return registry[key]
end

--- Adds the provider's endpoint commands under `parent`.
--  on_run(spec, args) is called by the chosen command's action with
--  spec = { prov, name, ep, hint, positional }.
function M.add(parent, key, client_mod, on_run)
  local prov = M.PROVIDERS[key]
  local hints = M.HINTS[prov.name]
  local registry = {}
  local names = {}
  for name in pairs(client_mod.Client.ENDPOINTS) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local ep = client_mod.Client.ENDPOINTS[name]
    local hint = hints[name] or {}
    local words = hint.words or { (name:gsub("_", "-")) }
    local cmd = parent
    for i = 1, #words - 1 do cmd = sub(cmd, words[i], registry, table.concat(words, " ", 1, i)) end
    local path = (client_mod.Client.PREFIX or "") .. ep.path
    local paged = hint.paging ~= nil or ep.paged
    local billing = prov.name == "keyapi" and "1 credit per request"
      or (ep.billed and "billed" or "not billed")
    local leaf = cmd:command(words[#words], string.format("%s %s (%s)", prov.method, path, billing))
    local n = 0
    for _ in pairs(ep.params or {}) do n = n + 1 end
    if n > 6 then
      leaf:usage(string.format("Usage: creatorapi %s %s [PARAMETERS] [OPTIONS]%s", key, table.concat(words, " "),
        #(hint.positional or {}) > 0 and (" [" .. hint.positional[1] .. "]") or ""))
    end
    local skip, rename, positional = {}, {}, {}
    for _, p in ipairs(hint.positional or {}) do
      leaf:argument(p, params.describe(ep.params[p]) .. " (or " .. params.flag(p) .. ")"):args("?")
        :target("a_" .. p)
      positional[#positional + 1] = p
    end
    local page_key = hint.paging and hint.paging.page or (ep.paged and "page_num")
    if page_key then skip[page_key] = true end
    for pname in pairs(ep.params or {}) do
      local clash = M.COMMON[pname] and (paged or not M.PAGING_OPTIONS[pname])
      if clash and not skip[pname] then
        rename[pname] = (hint.rename and hint.rename[pname]) or ("api-" .. pname:gsub("_", "-"))
      elseif hint.rename and hint.rename[pname] then
        rename[pname] = hint.rename[pname]
      end
    end
    local popts = params.add_options(leaf, ep.params, skip, rename)
    if #popts > 0 then leaf:group("Parameters (" .. name .. ")", unpack(popts)) end
    leaf:group("Output, paging and connection", unpack(M.add_common(leaf, prov, paged)))
    local paging = hint.paging or (ep.paged and { page = "page_num", size = "page_size",
      iterate = function(c, p, o) return c:each(name, p, o) end })
    local spec = { prov = prov, name = name, ep = ep, hint = hint, paging = paging,
      positional = positional, columns = hint.columns }
    leaf:action(function(args) args._run = function() return on_run(spec, args) end end)
  end
  return registry
end

return M
