-- Shared by the workload scripts (loaded with dofile): the key, a seeded
-- random generator per thread, and one machine-readable result line that
-- run.sh parses (latencies in microseconds).
key = os.getenv("PARLEY_KEY") or ""
auth = "Bearer " .. key

local thread_no = 0
function setup(thread)
   thread_no = thread_no + 1
   thread:set("seed", thread_no)
end

-- A script with its own init() calls seed_random() from it.
function seed_random()
   math.randomseed(os.time() * 100 + (seed or 0))
end

function init(args)
   seed_random()
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "RESULT requests=%d duration_us=%d non2xx=%d sockerr=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99)))
end

-- The conversation ids of test/bench/load.sql.
function cid(n)
   return string.format("00000000-0000-7000-8000-%012d", n)
end
