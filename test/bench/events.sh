#!/usr/bin/env bash
# Benchmarks of live events (issue #4), never part of make test:
#
#   1. 10,000 concurrent SSE subscribers (2,000 conversations x 5): parleyd's
#      resident size while they are held (target <= 64 MB);
#   2. one message fanned out to 1,000 subscribers of one conversation:
#      p50/p99 from sending the POST to each stream seeing its id: line
#      (target p99 <= 50 ms), over NPOSTS posts;
#   3. POST throughput (wrk, CLIENTS connections, DURATION s) with live
#      delivery on (PARLEY_EVENTS=1, 2,000 streams open, one per posted-to
#      conversation, read by sse_load on the same machine every 20 ms, as
#      SSE_READ_INTERVAL_MS in sse_load.c explains; it counts the events it
#      received, which must equal the posts), on with no
#      stream open (the cost of the notifications alone) and off
#      (PARLEY_EVENTS=0), alternated ROUNDS times in one run (target: on
#      >= 90% of off).
#
#   4. (issue #16) one message to a group of 100 whose members all hold
#      guest streams (GET /v1/guests/{G}/events): p50/p99 from sending the
#      POST to each guest stream seeing its id: line (target p99 <= 50 ms);
#      and parleyd's resident size holding 10,000 guest streams (each of
#      the 10,000 h guests, in one conversation each: not yet the issue's
#      20 conversations per guest).
#
#   bash test/bench/events.sh        (make bench runs it at the end)
#   env: CLIENTS=32 DURATION=10 ROUNDS=2 NPOSTS=50 KEEP=1 ONLY=1|2|3|4
#
# Runs on its own throwaway cluster and its own parleyd, so it does not
# depend on what test/bench/run.sh left behind.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

CLIENTS=${CLIENTS:-32}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-2}
NPOSTS=${NPOSTS:-50}
bench=$PWD/test/bench

command -v wrk >/dev/null || { echo "events bench: wrk is missing (make deps)" >&2; exit 1; }
raise_nofile

echo "== events bench: build"
make -s PG_CONFIG="$PG_CONFIG" build >/dev/null
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
work=$(mktemp -d /tmp/parley-events-bench.XXXXXX)
chmod 755 "$work"
cc -O2 -Wall -Wextra -o "$work/sse_load" "$bench/sse_load.c" -levent

parleyd_pid=
load_pid=
stop_parleyd() {
    if [ -n "$parleyd_pid" ] && kill -0 "$parleyd_pid" 2>/dev/null; then
        kill -TERM "$parleyd_pid" 2>/dev/null || true
        wait "$parleyd_pid" 2>/dev/null || true
    fi
    parleyd_pid=
}
stop_load() {
    if [ -n "$load_pid" ] && kill -0 "$load_pid" 2>/dev/null; then
        kill "$load_pid" 2>/dev/null || true
        wait "$load_pid" 2>/dev/null || true
    fi
    load_pid=
}
cleanup() {
    stop_load
    stop_parleyd
    cluster_stop
    if [ "${KEEP:-0}" = 1 ]; then echo "events bench: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== events bench: cluster and data"
cluster_start "$work/pg"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
key=$(cluster_parley_setup 200 events-bench)
export PARLEY_KEY=$key

# One group of 1,000 (f0 owns it) and 2,000 groups of 5 (h<i>_0 .. h<i>_4).
psql <<'SQL'
SELECT count(parley.guest_upsert('f' || i, 'f' || i)) FROM generate_series(0, 999) i;
SELECT count(parley.guest_upsert('h' || i || '_' || j, 'h')) FROM generate_series(0, 1999) i, generate_series(0, 4) j;
CREATE TABLE bench_fan AS
  SELECT (parley.conversation_create('f0', 'group',
          ARRAY(SELECT 'f' || i FROM generate_series(1, 999) i), 'fan-out') ->> 'id') AS id;
CREATE TABLE bench_gfan AS
  SELECT (parley.conversation_create('f0', 'group',
          ARRAY(SELECT 'f' || i FROM generate_series(1, 99) i), 'guest-fan') ->> 'id') AS id;
CREATE TABLE bench_groups AS
  SELECT i, (parley.conversation_create('h' || i || '_0', 'group',
             ARRAY['h' || i || '_1', 'h' || i || '_2', 'h' || i || '_3', 'h' || i || '_4'], 'g') ->> 'id') AS id
    FROM generate_series(0, 1999) i;
SQL
fan=$(psql -Atc "SELECT id FROM bench_fan")
psql -Atc "SELECT format('/v1/conversations/%s/events?as=h%s_%s', id, i, j)
             FROM bench_groups, generate_series(0, 4) j ORDER BY j, i" >"$work/paths_10k"
psql -Atc "SELECT format('/v1/conversations/%s/events?as=h%s_1', id, i) FROM bench_groups ORDER BY i" >"$work/paths_2k"
psql -Atc "SELECT format('/v1/conversations/%s/messages?as=h%s_0', id, i) FROM bench_groups ORDER BY i" >"$work/post_paths"
psql -Atc "SELECT format('/v1/conversations/%s/events?as=f%s', '$fan', i) FROM generate_series(0, 999) i" >"$work/paths_fan"
gfan=$(psql -Atc "SELECT id FROM bench_gfan")
psql -Atc "SELECT format('/v1/guests/f%s/events', i) FROM generate_series(0, 99) i" >"$work/paths_gfan"
psql -Atc "SELECT format('/v1/guests/h%s_%s/events', i, j) FROM generate_series(0, 1999) i, generate_series(0, 4) j" >"$work/paths_g10k"
export EVENTS_POST_PATHS=$work/post_paths BENCH_WRK_DIR=$bench/wrk

port=$(free_port)
url=http://127.0.0.1:$port
start_parleyd() { # EVENTS
    PARLEY_LISTEN=127.0.0.1:$port PARLEY_ENV_FILE=/dev/null PARLEY_LOG_LEVEL=warn PARLEY_EVENTS=$1 \
        DATABASE_URL="host=$PGHOST port=$PGPORT dbname=postgres user=parley_gateway" \
        gateway/parleyd >>"$work/parleyd.log" 2>&1 &
    parleyd_pid=$!
    local deadline=$((SECONDS + 30))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; do
        kill -0 "$parleyd_pid" 2>/dev/null || { tail "$work/parleyd.log" >&2; exit 1; }
        [ $SECONDS -lt $deadline ] || { echo "parleyd not ready in 30 s" >&2; exit 1; }
        sleep 0.1   # polling /readyz with a deadline
    done
}
rss_mb() { awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$parleyd_pid/status"; }

# start_load OUT PATHS N HOLD [POST_PATH NPOSTS INTERVAL]: in the background;
# waits (with a deadline) until the tool says READY.
start_load() {
    local out=$1
    shift
    "$work/sse_load" 127.0.0.1 "$port" "$key" "$@" >"$out" 2>&1 &
    load_pid=$!
    local deadline=$((SECONDS + 90))
    until grep -q READY "$out"; do
        kill -0 "$load_pid" 2>/dev/null || { cat "$out" >&2; exit 1; }
        [ $SECONDS -lt $deadline ] || { echo "sse_load not ready in 90 s" >&2; exit 1; }
        sleep 0.2   # polling the tool's output with a deadline
    done
}

want() { [ "${ONLY:-all}" = all ] || [ "${ONLY:-all}" = "$1" ]; }

start_parleyd 1
if want 1; then
echo "== 1. 10,000 concurrent subscribers"
rss0=$(rss_mb)
start_load "$work/load_10k" "$work/paths_10k" 10000 5
rss1=$(rss_mb)
echo "   $(head -1 "$work/load_10k"); parleyd RSS ${rss0} MB idle -> ${rss1} MB holding them (target <= 64 MB)"
stop_load
fi

if want 2; then
echo "== 2. one message to 1,000 subscribers of one conversation ($NPOSTS posts, 100 ms apart)"
"$work/sse_load" 127.0.0.1 "$port" "$key" "$work/paths_fan" 1000 1 \
    "/v1/conversations/$fan/messages?as=f0" "$NPOSTS" 100 >"$work/load_fan" 2>&1
echo "   $(head -1 "$work/load_fan"); $(grep fanout "$work/load_fan") (target p99 <= 50 ms)"
fi
if want 4; then
echo "== 4. one message to a group of 100, every member on its guest stream ($NPOSTS posts, 100 ms apart)"
"$work/sse_load" 127.0.0.1 "$port" "$key" "$work/paths_gfan" 100 1 \
    "/v1/conversations/$gfan/messages?as=f0" "$NPOSTS" 100 >"$work/load_gfan" 2>&1
echo "   $(head -1 "$work/load_gfan"); $(grep fanout "$work/load_gfan") (target p99 <= 50 ms)"
echo "== 4b. 10,000 guest streams held"
rss0=$(rss_mb)
start_load "$work/load_g10k" "$work/paths_g10k" 10000 5
rss1=$(rss_mb)
echo "   $(head -1 "$work/load_g10k"); parleyd RSS ${rss0} MB -> ${rss1} MB holding them (target <= 64 MB)"
stop_load
fi
stop_parleyd

want 3 || exit 0

echo "== 3. POST throughput, live delivery on (2,000 streams open) vs off; wrk -c $CLIENTS -d ${DURATION}s"
wrk_post() {
    wrk -t2 -c"$CLIENTS" -d"${DURATION}s" --timeout 10s -s "$bench/events/post.lua" "$url" |
        awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                         printf "%.0f %d %.1f %d\n", v["requests"] / (v["duration_us"] / 1e6), v["non2xx"], v["p99_us"] / 1000, v["requests"] }'
}
sum_on=0
sum_bare=0
sum_off=0
ratios=
# measure LABEL: one wrk run; sets rps and prints a line with the CPU time
# per post of parleyd and (when one runs) of the stream reader.
measure() {
    local load_cpu0= gw_cpu0 cpu
    gw_cpu0=$(proc_cpu_us "$parleyd_pid")
    [ -z "$load_pid" ] || load_cpu0=$(proc_cpu_us "$load_pid")
    read -r rps non2xx p99 nposts < <(wrk_post)
    cpu="parleyd $(( ($(proc_cpu_us "$parleyd_pid") - gw_cpu0) / (rps * DURATION) )) us"
    [ -z "$load_cpu0" ] || cpu="$cpu, stream reader $(( ($(proc_cpu_us "$load_pid") - load_cpu0) / (rps * DURATION) )) us"
    echo "   $1 $rps posts/s (p99 $p99 ms, non-2xx $non2xx); CPU/post: $cpu"
}
for r in $(seq 1 "$ROUNDS"); do
    start_parleyd 1
    SSE_READ_INTERVAL_MS=20 start_load "$work/load_on" "$work/paths_2k" 2000 $((DURATION + 20))
    measure "round $r on, 2,000 streams:"
    sum_on=$((sum_on + rps))
    last_on=$rps
    rss=$(rss_mb)
    stop_load
    echo "      $(head -1 "$work/load_on"), parleyd RSS $rss MB, events $(sed -n 's/^received=//p' "$work/load_on") received for $nposts posts counted by wrk (+ up to $CLIENTS in flight when it stopped)"
    measure "round $r on, no streams:   "
    sum_bare=$((sum_bare + rps))
    stop_parleyd
    start_parleyd 0
    measure "round $r off:              "
    sum_off=$((sum_off + rps))
    ratios="$ratios $(awk -v on="$last_on" -v off="$rps" 'BEGIN { printf "%.3f", on / off }')"
    stop_parleyd
done
awk -v on="$sum_on" -v bare="$sum_bare" -v off="$sum_off" 'BEGIN {
    printf "   on (2,000 streams) / off = %.1f%% (target >= 90%%); on (no streams) / off = %.1f%%\n",
           100 * on / off, 100 * bare / off }'
# Other load on the machine moves whole rounds; the median of the per-round
# ratios (each pair run back to back) is the steadier figure.
echo "$ratios" | tr ' ' '\n' | grep . | sort -n |
    awk '{ v[NR] = $1 } END { printf "   median of per-round on/off ratios: %.1f%% (%d rounds)\n",
                               100 * (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), NR }'
