--- The collection workflow: submit usernames → wait with a progress bar →
--- read the rows → export to XLSX → download the file.
--
--   CREATORAPI_MOCK_ARGS="--time-scale 60" \
--   examples/run-with-mock.sh lua5.4 examples/collect_export_download.lua [dir]
--
-- Against the real API a task takes minutes: wait_task polls with backoff
-- (2 s growing to 60 s) and gives up after 2 h by default.
local creatorapi = require "creatorapi"

local dir = arg[1] or "."
local cv = creatorapi.creativault{}

local sub, err = cv:submit_task{
  task_type = "FILE_UPLOAD", platform = "tiktok", task_name = "example-collection",
  values = { "creator_demo", "jane.doe", "sam_smith", "beauty.by.mia" },
}
if not sub then
  -- kind "unknown_outcome" means the task may exist: check before submitting again.
  io.stderr:write("submit failed: ", tostring(err), "\n")
  os.exit(1)
end
local task_id = sub.data.task_id
print("submitted " .. task_id)

local function bar(st)
  local pct = tonumber(st.progress) or 0
  local width = 30
  local fill = math.floor(pct / 100 * width + 0.5)
  io.write(string.format("\r[%s%s] %5.1f%%  %s  %s/%s done, %s failed", string.rep("#", fill),
    string.rep(".", width - fill), pct, st.status, tostring(st.completed), tostring(st.total),
    tostring(st.failed)))
  io.flush()
end

local interval = tonumber(os.getenv("CREATORAPI_POLL_INTERVAL"))
local st, werr = cv:wait_task(task_id, { on_progress = bar, interval = interval,
  max_interval = interval and interval * 4 })
io.write("\n")
if not st then
  io.stderr:write("wait failed: ", tostring(werr), "\n")
  os.exit(1)
end
if st.status ~= "completed" then
  io.stderr:write("task ended " .. st.status .. "\n")
  os.exit(1)
end

for row in cv:each_task_row(task_id) do
  print(string.format("  %-28s @%-20s %10s followers", row.source_value, tostring(row.username),
    tostring(row.followers_count)))
end

local ex = assert(cv:export_task{ task_id = task_id, format = "xlsx" })
local file, derr = cv:download(ex.data, dir .. "/" .. ex.data.file_name)
if not file then
  io.stderr:write("download failed: ", tostring(derr), "\n")
  os.exit(1)
end
print(string.format("downloaded %s (%d bytes, sha256 %s…)", file.path, file.bytes, file.sha256:sub(1, 16)))
cv:close()
