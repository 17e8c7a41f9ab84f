--- Exit codes of the `creatorapi` command, one per error kind (docs/cli.md),
--- so shell scripts can branch on them.
local M = {}

M.OK = 0
M.USAGE = 2          -- the command line itself is wrong (argparse)
M.INTERNAL = 70      -- a bug: please report it

--- err.kind → exit code.
M.BY_KIND = {
  validation = 3,                                   -- a parameter was refused (SDK or API); nothing billed
  auth = 4, permission = 4, config = 4,             -- key missing, invalid, expired, revoked, or lacking scope
  credits = 5, quota = 5, budget = 5,               -- out of credits, daily quota, or --max-credits reached
  rate_limited = 6,                                 -- still rate-limited after the retries
  network = 7, timeout = 7, tls = 7,                -- could not reach the API (or gave up waiting)
  server = 8, protocol = 8,                         -- the API failed or answered something unreadable
  not_found = 9,                                    -- task, file or creator not found
  task_failed = 10, unknown_outcome = 10,           -- a task ended badly, or a submit may or may not have landed
  signature = 11,                                   -- a webhook signature did not verify
  io = 12, aborted = 12,                            -- a local file could not be written
}

--- The exit code for an error value (1 for kinds not in the table).
function M.for_error(err)
  if type(err) == "table" and M.BY_KIND[err.kind] then return M.BY_KIND[err.kind] end
  return 1
end

return M
