-- POST a message to a random conversation of test/bench/events.sh, as one
-- of its participants: paths from the file in EVENTS_POST_PATHS.
local key = os.getenv("PARLEY_KEY") or ""
local headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
local body = '{"body": "hello from the events bench"}'
local paths = {}

local thread_no = 0
function setup(thread)
   thread_no = thread_no + 1
   thread:set("seed", thread_no)
end

function init(args)
   math.randomseed(os.time() * 100 + (seed or 0))
   for line in io.lines(os.getenv("EVENTS_POST_PATHS")) do
      paths[#paths + 1] = line
   end
end

request = function()
   return wrk.format("POST", paths[math.random(1, #paths)], headers, body)
end

function done(summary, latency, requests)
   io.write(string.format("RESULT requests=%d duration_us=%d non2xx=%d p99_us=%d\n",
      summary.requests, summary.duration, summary.errors.status, latency:percentile(99)))
end
