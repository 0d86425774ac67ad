-- GET /v1/guests/{id}: the cheap call used to hold 1,000 keep-alive
-- connections open while parleyd's memory is measured.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth}

local reqs = {}
for n = 1, 100 do
   reqs[n] = wrk.format("GET", "/v1/guests/p" .. n .. "_1", headers)
end

request = function()
   return reqs[math.random(#reqs)]
end
