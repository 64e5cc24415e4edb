-- wrk script: "no upgrade" device checks (code 27) from a fleet of @N@
-- devices per wrk thread taken in turn, so the server's device table holds
-- them all and every check touches another device. @KEY@ and @FW@ are
-- filled in by scrape.py.
local n = 0
local threads = 0
tid = 0 -- per-thread global, set by setup()

setup = function(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

request = function()
  n = n + 1
  local imei = string.format("88%03d%010d", tid, n % @N@)
  return wrk.format("GET", "/api/site/firmware_upgrade?imei=" .. imei ..
    "&project_key=@KEY@&firmware_name=@FW@&version=1.0.1")
end
