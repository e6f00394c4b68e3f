-- wrk script for POST /v1/reports: every request carries a new client_id, so each one
-- creates a case (a repeated id would be a cheap duplicate). The worker's token comes
-- from WANGGE_TOKEN. Usage:
--   WANGGE_TOKEN=wg_... wrk -t1 -c64 -d20s -s bench/wrk-report.lua http://127.0.0.1:8080
local counter = 0
local thread_id = 0
local prefix = os.getenv("WANGGE_PREFIX") or "wrk"

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

function init(args)
  wrk.method = "POST"
  wrk.path = "/v1/reports"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WANGGE_TOKEN") or "")
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"client_id":"%s-%d-%d","category":"env.garbage","village":"V07","grid":"V07-G3",' ..
    '"severity":2,"text":"wrk","lat":29.87,"lon":120.28,' ..
    '"reported_at":"2026-01-05T09:00:00+08:00"}', prefix, thread_id, counter)
  return wrk.format(nil, nil, nil, body)
end

local non_2xx = 0
function response(status, headers, body)
  if status ~= 201 and status ~= 200 then non_2xx = non_2xx + 1 end
end
