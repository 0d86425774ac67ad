-- GET /v1/guests/{id}: the cheap call used to hold 1,000 keep-alive
-- connections open while parleyd's memory is measured.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth}

request = function()
   return wrk.format("GET", "/v1/guests/p" .. math.random(1, 100) .. "_1", headers)
end
