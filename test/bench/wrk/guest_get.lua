-- GET /v1/guests/{id}: the cheap call used to hold 1,000 keep-alive
-- connections open while parleyd's memory is measured.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth}

-- Built in init(), where wrk.host is known (an empty Host is a 400).
local reqs = {}
function init(args)
   seed_random()
   for n = 1, 100 do
      reqs[n] = wrk.format("GET", "/v1/guests/p" .. n .. "_1", headers)
   end
end

request = function()
   return reqs[math.random(#reqs)]
end
