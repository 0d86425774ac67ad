-- POST a message to a random conversation of test/bench/events.sh, as one
-- of its participants: paths from the file in EVENTS_POST_PATHS, each
-- request formatted once.  Key, seeding and the RESULT line: report.lua.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth, ["Content-Type"] = "application/json"}
local body = '{"body": "hello from the events bench"}'
local reqs = {}

function init(args)
   seed_random()
   for path in io.lines(os.getenv("EVENTS_POST_PATHS")) do
      reqs[#reqs + 1] = wrk.format("POST", path, headers, body)
   end
end

request = function()
   return reqs[math.random(#reqs)]
end
