-- PUT /v1/guests/{id}: random ids out of a million, so most are creates
-- early in the run and more and more are updates later.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
local body = os.getenv("GUEST_BODY")

request = function()
   return wrk.format("PUT", "/v1/guests/g_" .. math.random(1, 1000000), headers, body)
end
