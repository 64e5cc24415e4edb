-- wrk script: every request is a device check from a new device id that
-- gets the 1 MiB package (so the per-device loop guard never applies).
-- @KEY@ and @FW@ are filled in by bench.py.
local n = 0
local threads = 0
tid = 0 -- per-thread global, set by setup()

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

request = function()
  n = n + 1
  local imei = string.format("87%03d%010d", tid, n)
  return wrk.format("GET", "/api/site/firmware_upgrade?imei=" .. imei ..
    "&project_key=@KEY@&firmware_name=@FW@&version=1.0.0")
end
