-- GET /v1/conversations/{cid}/messages: the newest 50 (the default page)
-- of the 10,000-message conversation, as one of its 5 participants.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth}
local conv = tonumber(os.getenv("LIST_CONV") or "1000")

-- Built in init(), where wrk.host is known (wrk.format adds Host from it;
-- at the top level it is still empty, and parleyd refuses an empty Host).
local reqs = {}
function init(args)
   seed_random()
   for k = 1, 5 do
      reqs[k] = wrk.format("GET", "/v1/conversations/" .. cid(conv) .. "/messages?as=l_" .. k, headers)
   end
end

request = function()
   return reqs[math.random(#reqs)]
end
