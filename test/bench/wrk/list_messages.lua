-- GET /v1/conversations/{cid}/messages: the newest 50 (the default page)
-- of the 10,000-message conversation, as one of its 5 participants.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth}
local conv = tonumber(os.getenv("LIST_CONV") or "1000")

request = function()
   local path = "/v1/conversations/" .. cid(conv) .. "/messages?as=l_" .. math.random(1, 5)
   return wrk.format("GET", path, headers)
end
