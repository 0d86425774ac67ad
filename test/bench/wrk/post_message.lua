-- POST /v1/conversations/{cid}/messages: a random one of the 100 groups,
-- a random one of its 5 participants (test/bench/load.sql).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
local body = os.getenv("POST_BODY")

-- All 500 (group, sender) requests, formatted once: the load generator
-- should spend its CPU on sending, not on building strings.
-- In init(), where wrk.host is known (an empty Host is a 400).
local reqs = {}
function init(args)
   seed_random()
   for n = 1, 100 do
      for k = 1, 5 do
         local path = "/v1/conversations/" .. cid(n) .. "/messages?as=p" .. n .. "_" .. k
         reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
      end
   end
end

request = function()
   return reqs[math.random(#reqs)]
end
