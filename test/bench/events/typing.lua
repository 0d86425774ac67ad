-- POST typing as a random guest of test/bench/events_typing.sh in its own
-- conversation: paths from the file in EVENTS_TYPING_PATHS, each request
-- formatted once.  Key, seeding and the RESULT line: report.lua.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local headers = {["Authorization"] = auth}
local reqs = {}

function init(args)
   seed_random()
   for path in io.lines(os.getenv("EVENTS_TYPING_PATHS")) do
      reqs[#reqs + 1] = wrk.format("POST", path, headers)
   end
end

request = function()
   return reqs[math.random(#reqs)]
end
