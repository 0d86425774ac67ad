-- list_messages with guest tokens instead of the service key: the same
-- GET of the newest 50 of the 10,000-message conversation, as one of its 5
-- participants, each with its own token (LIST_TOKENS, minted by run.sh)
-- and no ?as=.  Beside list_messages, its parleyd CPU/req is the cost of
-- verifying a token (API.md section 7: within 5 us of the key's).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local conv = tonumber(os.getenv("LIST_CONV") or "1000")
local tokens = {}
for t in string.gmatch(os.getenv("LIST_TOKENS") or "", "%S+") do
   tokens[#tokens + 1] = t
end
assert(#tokens == 5, "LIST_TOKENS: five guest tokens (l_1 .. l_5)")

-- Built in init(), where wrk.host is known (wrk.format adds Host from it;
-- at the top level it is still empty, and parleyd refuses an empty Host).
local reqs = {}
function init(args)
   seed_random()
   for k = 1, 5 do
      reqs[k] = wrk.format("GET", "/v1/conversations/" .. cid(conv) .. "/messages",
                           {["Authorization"] = "Bearer " .. tokens[k]})
   end
end

request = function()
   return reqs[math.random(#reqs)]
end
