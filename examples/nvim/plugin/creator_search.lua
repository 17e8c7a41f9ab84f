-- luacheck: globals vim
-- :CreatorSearch [region] — one KeyAPI page of influencers, fetched without
-- freezing the editor, shown in a scratch buffer. See ../README.md.
vim.api.nvim_create_user_command("CreatorSearch", function(cmd)
  require("creator_search").search(cmd.args ~= "" and cmd.args or "US")
end, { nargs = "?" })
