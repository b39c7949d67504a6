-- wrk script: every request is a push of OPS fresh creates (unique op_ids and ids),
-- so each measures real writes, never duplicates. With BENCH_TOKENS (a file of one
-- token a line) the requests take the tokens in turn: pushes to many partitions.
local counter = 0
local ops = tonumber(os.getenv("BENCH_OPS") or "10")
local threads = 0
local tokens = {}
-- setup runs in wrk's main Lua state; thread:set makes `tid` a global of that thread's
-- own state (a chunk-level local would shadow it there, every thread then being 0 and
-- drawing the same math.random sequence: the same requests twice).
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  math.randomseed(tid * 7919 + os.time())
  local path = os.getenv("BENCH_TOKENS")
  if path and path ~= "" then
    for line in io.lines(path) do tokens[#tokens + 1] = line end
  end
end
function request()
  counter = counter + 1
  local now = os.time()
  local ts = os.date("!%Y-%m-%dT%H:%M:%S.000Z", now)
  local hlc = string.format("%015d-00000-bench", now * 1000)
  local parts = {}
  for k = 1, ops do
    local id = string.format("t%d-%d-%d-%d", tid, counter, k, math.random(1, 1e9))
    parts[k] = string.format('{"op_id":"%s","collection":"items","id":"%s","kind":"create","base_version":0,' ..
      '"data":{"name":"item %d","qty":%d,"tags":["a","b"]},"updated_at":"%s","hlc":"%s"}', id, id, k, counter, ts, hlc)
  end
  local body = '{"device_id":"bench","ops":[' .. table.concat(parts, ",") .. ']}'
  -- wrk.format replaces wrk.headers (which holds -H Authorization) when given a table
  wrk.headers["Content-Type"] = "application/json"
  if #tokens > 0 then wrk.headers["Authorization"] = "Bearer " .. tokens[(counter % #tokens) + 1] end
  return wrk.format("POST", "/sync/push", nil, body)
end
