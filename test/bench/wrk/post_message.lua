-- POST /v1/conversations/{cid}/messages: a random one of the 100 groups,
-- a random one of its 5 participants (test/bench/load.sql).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
local body = os.getenv("POST_BODY")

request = function()
   local n = math.random(1, 100)
   local path = "/v1/conversations/" .. cid(n) .. "/messages?as=p" .. n .. "_" .. math.random(1, 5)
   return wrk.format("POST", path, headers, body)
end
