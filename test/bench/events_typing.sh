#!/usr/bin/env bash
# Typing costs the database nothing (issue #16, API.md section 8): 1,000
# guests in 100 conversations of 10, each holding a stream of its
# conversation, type at once (wrk -c CLIENTS, DURATION s, each request a
# random guest in its own conversation) after one warm-up request each.
# Reported side by side: the database's transactions per second
# (pg_stat_database xact_commit + xact_rollback, which counts every
# statement of the gateway: each is its own transaction) and the typing
# checks the gateway ran (parley_typing_checks_total of /metrics)
# during DURATION s without typing and during DURATION s of typing.  What
# remains with typing is the batched pg_notify of the T lines (one per
# PARLEY_EVENTS_BATCH_MS at most), not a statement per keystroke.
#
#   bash test/bench/events_typing.sh      (make bench runs it after events.sh)
#   env: CLIENTS=32 DURATION=10 KEEP=1
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

CLIENTS=${CLIENTS:-32}
DURATION=${DURATION:-10}
bench=$PWD/test/bench

command -v wrk >/dev/null || { echo "typing bench: wrk is missing (make deps)" >&2; exit 1; }
raise_nofile

echo "== typing bench: build"
make -s PG_CONFIG="$PG_CONFIG" build >/dev/null
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
work=$(mktemp -d /tmp/parley-typing-bench.XXXXXX)
chmod 755 "$work"
cc -O2 -Wall -Wextra -o "$work/sse_load" "$bench/sse_load.c" -levent

parleyd_pid=
load_pid=
cleanup() {
    if [ -n "$load_pid" ] && kill -0 "$load_pid" 2>/dev/null; then
        kill "$load_pid" 2>/dev/null || true
        wait "$load_pid" 2>/dev/null || true
    fi
    if [ -n "$parleyd_pid" ] && kill -0 "$parleyd_pid" 2>/dev/null; then
        kill -TERM "$parleyd_pid" 2>/dev/null || true
        wait "$parleyd_pid" 2>/dev/null || true
    fi
    cluster_stop
    if [ "${KEEP:-0}" = 1 ]; then echo "typing bench: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== typing bench: cluster and data"
cluster_start "$work/pg"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
key=$(cluster_parley_setup 200 typing-bench)
export PARLEY_KEY=$key

# 100 groups of 10: guest t<i>_<j> (j = 0..9) in group i, owned by t<i>_0.
psql <<'SQL'
SELECT count(parley.guest_upsert('t' || i || '_' || j, 't')) FROM generate_series(0, 99) i, generate_series(0, 9) j;
CREATE TABLE bench_typing AS
  SELECT i, (parley.conversation_create('t' || i || '_0', 'group',
             ARRAY(SELECT 't' || i || '_' || j FROM generate_series(1, 9) j), 'typing') ->> 'id') AS id
    FROM generate_series(0, 99) i;
SQL
psql -Atc "SELECT format('/v1/conversations/%s/events?as=t%s_%s', id, i, j)
             FROM bench_typing, generate_series(0, 9) j ORDER BY i, j" >"$work/streams"
psql -Atc "SELECT format('/v1/conversations/%s/typing?as=t%s_%s', id, i, j)
             FROM bench_typing, generate_series(0, 9) j ORDER BY i, j" >"$work/typing_paths"
export EVENTS_TYPING_PATHS=$work/typing_paths BENCH_WRK_DIR=$bench/wrk

port=$(free_port)
url=http://127.0.0.1:$port
PARLEY_LISTEN=127.0.0.1:$port PARLEY_ENV_FILE=/dev/null PARLEY_LOG_LEVEL=warn \
    DATABASE_URL="host=$PGHOST port=$PGPORT dbname=postgres user=parley_gateway" \
    gateway/parleyd >>"$work/parleyd.log" 2>&1 &
parleyd_pid=$!
deadline=$((SECONDS + 30))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; do
    kill -0 "$parleyd_pid" 2>/dev/null || { tail "$work/parleyd.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "parleyd not ready in 30 s" >&2; exit 1; }
    sleep 0.1   # polling /readyz with a deadline
done

# 1,000 streams held for the whole run (each guest online, typing fans out to 9 streams)
"$work/sse_load" 127.0.0.1 "$port" "$key" "$work/streams" 1000 $((4 * DURATION + 60)) >"$work/load" 2>&1 &
load_pid=$!
deadline=$((SECONDS + 90))
until grep -q READY "$work/load"; do
    kill -0 "$load_pid" 2>/dev/null || { cat "$work/load" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "sse_load not ready in 90 s" >&2; exit 1; }
    sleep 0.2   # polling the tool's output with a deadline
done

# xacts of the database and typing checks of the gateway so far, "xacts checks"
counters() {
    echo "$(psql -Atc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'postgres'") $(
        curl -s "$url/metrics" | awk '/^parley_typing_checks_total / { print $2 }')"
}
# The statistics of other backends reach pg_stat_database when they report:
# a busy backend at most every second, an idle one within 10 s
# (PGSTAT_IDLE_INTERVAL); windows start 11 s after the load before them.
window() { # LABEL: prints "xact/s checks" over DURATION s, $1 running in the background
    local x0 c0 x1 c1
    read -r x0 c0 < <(counters)
    if [ "$1" = typing ]; then
        wrk -t2 -c"$CLIENTS" -d"${DURATION}s" --timeout 10s -s "$bench/events/typing.lua" "$url" >"$work/wrk.out"
    else
        sleep "$DURATION"   # the idle window itself: nothing to wait for
    fi
    sleep 1.5               # busy backends report within a second (PGSTAT_MIN_INTERVAL)
    read -r x1 c1 < <(counters)
    # the two counter queries are transactions themselves: take them out
    echo "$(( (x1 - x0 - 2) / DURATION )) $((c1 - c0))"
}

echo "== typing from 1,000 guests in 100 conversations (1,000 streams held; wrk -c $CLIENTS -d ${DURATION}s)"
sleep 11    # the subscribe checks' statistics report first (PGSTAT_IDLE_INTERVAL)
read -r idle_xps idle_checks < <(window idle)
# warm-up: one typing per guest (the participant check runs once each, then is cached)
# (in parallel: the checks are trusted 60 s, the window must end well within that)
sed "s|^|$url|" "$work/typing_paths" |
    xargs -P 16 -n 50 curl -s -o /dev/null -X POST -H "Authorization: Bearer $key"
sleep 11    # let the warm-up's statistics report before the window reads them (PGSTAT_IDLE_INTERVAL)
read -r typing_xps typing_checks < <(window typing)
rps=$(awk '/^RESULT/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
                       printf "%.0f (non-2xx %d, p99 %.1f ms)", v["requests"] / (v["duration_us"] / 1e6), v["non2xx"], v["p99_us"] / 1000 }' "$work/wrk.out")
received=$(sed -n 's/^received=//p' "$work/load" | tail -1)
printf '   %-28s %12s %14s\n' "" "no typing" "typing"
printf '   %-28s %12s %14s\n' "database xacts/s" "$idle_xps" "$typing_xps"
printf '   %-28s %12s %14s\n' "typing checks run" "$idle_checks" "$typing_checks"
echo "   typing requests/s: $rps"
echo "   (the xacts with typing are the batched pg_notify of the forwarded typing, at most one per PARLEY_EVENTS_BATCH_MS)"
