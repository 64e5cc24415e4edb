-- wrk script: device checks that each get the 1 MiB package, from a fleet of
-- 1,000 devices per wrk thread taken in turn (the first round binds them; the
-- project allows 1,000 deliveries per device per day, so the loop guard
-- never steps in during a benchmark). @KEY@ and @FW@ are filled in by bench.py.
local n = 0
local threads = 0
tid = 0 -- per-thread global, set by setup()

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

request = function()
  n = n + 1
  local imei = string.format("87%03d%010d", tid, n % 1000)
  return wrk.format("GET", "/api/site/firmware_upgrade?imei=" .. imei ..
    "&project_key=@KEY@&firmware_name=@FW@&version=1.0.0")
end
