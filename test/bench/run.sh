#!/usr/bin/env bash
# make bench: parleyd against pgbench doing the same database work, side by
# side in one run (never part of make test).
#
# Builds, installs the extension, starts a throwaway cluster (test/lib.sh)
# and parleyd as the gateway role with a service key, loads the data of
# test/bench/load.sql, then for each workload runs wrk (test/bench/wrk/*.lua)
# against parleyd and pgbench (test/bench/pgbench/*.sql, the very statement
# parleyd sends) at the same client concurrency, and prints one line each:
# req/s via parleyd, tps via pgbench, their ratio, p50/p99 of both, errors.
# Then: parleyd's memory with 1,000 keep-alive connections, and
# message_post and message_list in C against the same logic in PL/pgSQL
# (pgbench, both).
#
#   make bench                    (env: CLIENTS=32 DURATION=10 THREADS=2 ROUNDS=1)
#   make bench SCALE=large        + list_messages at 10,000,000 messages and
#                                   EXPLAIN (ANALYZE, BUFFERS) of the
#                                   functions' queries (auto_explain)
#
# Other settings: PARLEY_POOL_SIZE (parleyd's default: auto), KEEP=1 keeps
# the work directory (logs, pgbench logs, plans).  test/bench/events.sh runs
# at the end if it exists (it gets PARLEY_URL, PARLEY_KEY, PG*); EVENTS=0
# skips it.  WORKLOADS="list_messages post_message" runs only those
# workloads and nothing after them.  Under each workload's line, a second
# one says where the CPU went per request on each side: the load client
# (wrk or pgbench), parleyd, all PostgreSQL processes, and the machine's
# idle share.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

CLIENTS=${CLIENTS:-32}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
THREADS=${THREADS:-2}
SCALE=${SCALE:-small}
bench=$PWD/test/bench

for tool in wrk curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make deps)" >&2; exit 1; }
done
case $SCALE in small|large) ;; *) echo "bench: SCALE is small or large" >&2; exit 1 ;; esac

echo "== build"
bash test/install-deps.sh
make -s PG_CONFIG="$PG_CONFIG" build >/dev/null
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

# 1,000 connections need more descriptors than the usual 1024 (wrk and
# parleyd both inherit this limit).
raise_nofile

work=$(mktemp -d /tmp/parley-bench.XXXXXX)
chmod 755 "$work"
parleyd_pid=
cleanup() {
    if [ -n "$parleyd_pid" ] && kill -0 "$parleyd_pid" 2>/dev/null; then
        kill -TERM "$parleyd_pid" 2>/dev/null || true
        wait "$parleyd_pid" 2>/dev/null || true
    fi
    cluster_stop
    if [ "${KEEP:-0}" = 1 ]; then echo "bench: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== cluster"
cluster_start "$work/pg"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
key=$(cluster_parley_setup 300 bench)

echo "== load (test/bench/load.sql)"
psql -f "$bench/load.sql"
psql -f "$bench/plpgsql.sql"

echo "== parleyd"
port=$(free_port)
url=http://127.0.0.1:$port
# A guest token secret for list_messages_token (random per run).
PARLEY_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
PARLEY_JWT_SECRET=$PARLEY_JWT_SECRET PARLEY_LISTEN=127.0.0.1:$port PARLEY_ENV_FILE=/dev/null PARLEY_LOG_LEVEL=warn \
    DATABASE_URL="host=$PGHOST port=$PGPORT dbname=postgres user=parley_gateway" \
    gateway/parleyd >"$work/parleyd.log" 2>&1 &
parleyd_pid=$!
deadline=$((SECONDS + 30))
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz")" = 200 ]; do
    kill -0 "$parleyd_pid" 2>/dev/null || { cat "$work/parleyd.log" >&2; exit 1; }
    [ $SECONDS -lt $deadline ] || { echo "bench: parleyd not ready in 30 s" >&2; exit 1; }
    sleep 0.1   # polling /readyz with a deadline, not a wait for time to pass
done

export BENCH_WRK_DIR=$bench/wrk PARLEY_KEY=$key
# list_messages_token: one day-long guest token per participant l_1..l_5.
LIST_TOKENS=
for k in 1 2 3 4 5; do
    LIST_TOKENS="$LIST_TOKENS $(curl -s -X POST -H "Authorization: Bearer $key" \
        -H 'Content-Type: application/json' -d '{"ttl": 86400}' "$url/v1/guests/l_$k/tokens" |
        sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
done
export LIST_TOKENS
export POST_BODY='{"body": "hello from the bench"}'
export GUEST_BODY='{"display_name": "Bench Guest", "metadata": {"level": 3, "clan": "blue"}}'

# Both sides get the same warm-up: a short run that is thrown away.
WARMUP=${WARMUP:-2}

# Stop with parleyd's exit status if it died (a crash would skew the rest).
parleyd_alive() {
    kill -0 "$parleyd_pid" 2>/dev/null && return 0
    wait "$parleyd_pid" && st=0 || st=$?
    echo "bench: parleyd exited with status $st; its log:" >&2
    tail -20 "$work/parleyd.log" >&2
    exit 1
}

# client_cpu CMD...: run CMD; its CPU time (user + system, us) goes to
# $work/client_cpu_us.  The subshell's reaped-children times are CMD's.
client_cpu() {
    (
        "$@" || exit
        awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f\n", ($16 + $17) * 1e6 / hz }' \
            "/proc/$BASHPID/stat" >"$work/client_cpu_us"
    )
}

# wrk_run SCRIPT [CONNECTIONS [SECONDS]]: prints "rps p50_ms p99_ms non2xx sockerr"
wrk_run() {
    local script=$1 conns=${2:-$CLIENTS} secs=${3:-$DURATION} out
    parleyd_alive
    out=$(client_cpu wrk -t"$THREADS" -c"$conns" -d"${secs}s" --timeout 10s \
              -s "$bench/wrk/$script.lua" "$url") || { echo "$out" >&2; return 1; }
    echo "$out" >>"$work/wrk.log"
    echo "$out" | awk '/^RESULT/ {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        printf "%.0f %.2f %.2f %d %d\n", v["requests"] / (v["duration_us"] / 1e6),
               v["p50_us"] / 1000, v["p99_us"] / 1000, v["non2xx"], v["sockerr"] }'
}

# pgb_run SCRIPT [pgbench options]: prints "tps p50_ms p99_ms failed"
pgb_run() {
    local script=$1 out logdir
    shift
    logdir=$(mktemp -d "$work/pgb-$script.XXXX")
    chmod 777 "$logdir"
    out=$(cd "$logdir" && client_cpu "$PGBIN/pgbench" -n -M prepared -U parley_gateway \
              -c "$CLIENTS" -j "$THREADS" -T "${PGB_SECS:-$DURATION}" -l \
              -f "$bench/pgbench/$script.sql" "$@" postgres 2>&1) \
        || { echo "$out" >&2; return 1; }
    echo "$out" >>"$work/pgbench.log"
    # Per-transaction log: client, tx, latency (us), script, epoch, us.
    cat "$logdir"/pgbench_log.* | awk '{print $3}' | sort -n >"$logdir/lat"
    awk -v tps="$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')" \
        -v failed="$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')" \
        '{ a[NR] = $1 } END {
            p50 = a[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]
            p99 = a[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1]
            printf "%.0f %.2f %.2f %d\n", tps, p50 / 1000, p99 / 1000, failed + 0 }' "$logdir/lat"
}

line() {
    printf '%-22s %9s %9s %6s  %7s %7s  %7s %7s  %7s %7s %8s\n' "$@"
}

parleyd_cpu_us() { proc_cpu_us "$parleyd_pid"; }
header() {
    echo
    echo "== $1: wrk -c $CLIENTS -t $THREADS vs pgbench -c $CLIENTS -j $THREADS, ${DURATION}s each"
    line workload "parleyd" "pgbench" ratio "parleyd" "ms" "pgbench" "ms" "non-2xx" "pgbench" "parleyd"
    line "" "req/s" "tps" "" "p50" "p99" "p50" "p99" "(wrk)" "failed" "CPU/req"
}

# cpu_mark: CPU counters now, for cpu_per_req.
cpu_mark() { mark=($(parleyd_cpu_us) $(cluster_cpu_us) $(idle_us)); }
# cpu_per_req RATE: "G P I C": CPU us per request since cpu_mark of parleyd,
# PostgreSQL and the client (wrk or pgbench), and the idle share in %.
cpu_per_req() {
    local now=($(parleyd_cpu_us) $(cluster_cpu_us) $(idle_us))
    awk -v n="$(($1 * DURATION))" -v g="$((now[0] - mark[0]))" -v p="$((now[1] - mark[1]))" \
        -v i="$((now[2] - mark[2]))" -v c="$(cat "$work/client_cpu_us")" -v d="$DURATION" \
        -v ncpu="$(nproc)" 'BEGIN { printf "%.0f %.0f %.0f %.0f\n", g / n, p / n, 100 * i / (d * 1e6 * ncpu), c / n }'
}

# workload NAME [pgbench options]: per round, one line for both sides and
# one line of where the CPU went per request; with ROUNDS > 1, then the
# median of the rounds' ratios (each round's pair runs back to back, so the
# machine's other load moves both sides of a ratio alike).
workload() {
    local name=$1 w p cw cp ratio ratios= label
    shift
    for r in $(seq 1 "$ROUNDS"); do
        label=$name
        [ "$ROUNDS" = 1 ] || label="$name ($r/$ROUNDS)"
        wrk_run "$name" "$CLIENTS" "$WARMUP" >/dev/null
        cpu_mark
        w=($(wrk_run "$name"))
        cw=($(cpu_per_req "${w[0]}"))
        PGB_SECS=$WARMUP pgb_run "$name" "$@" >/dev/null
        cpu_mark
        p=($(pgb_run "$name" "$@"))
        cp=($(cpu_per_req "${p[0]}"))
        ratio=$(awk -v a="${w[0]}" -v b="${p[0]}" 'BEGIN { printf "%.2f", a / b }')
        ratios="$ratios $ratio"
        line "$label" "${w[0]}" "${p[0]}" "$ratio" \
            "${w[1]}" "${w[2]}" "${p[1]}" "${p[2]}" "$((w[3] + w[4]))" "${p[3]}" "${cw[0]}us"
        # The gateway's own cost per request is less sensitive to the
        # machine's other load than req/s; the rest shows what else the two
        # sides spend.
        printf '%-22s CPU/req: wrk %sus + parleyd %sus + postgres %sus, idle %s%% | pgbench %sus + postgres %sus, idle %s%%\n' \
            "" "${cw[3]}" "${cw[0]}" "${cw[1]}" "${cw[2]}" "${cp[3]}" "${cp[1]}" "${cp[2]}"
    done
    [ "$ROUNDS" = 1 ] || printf '%-22s median ratio %s\n' "$name" "$(median $ratios)"
}

# median X...: "M over N rounds (min A, max B)"
median() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
        printf "%.2f over %d rounds (min %.2f, max %.2f)", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2,
               NR, v[1], v[NR] }'
}

# WORKLOADS="list_messages post_message" runs only those (and then none of
# the parts below): for profiling one workload.
wanted() { [ -z "${WORKLOADS:-}" ] || [[ " $WORKLOADS " == *" $1 "* ]]; }
header "workloads"
wanted list_messages && workload list_messages -D conv=1000
# The same with guest tokens: compare the two lines' parleyd CPU/req.
wanted list_messages_token && workload list_messages_token -D conv=1000
wanted conversation_list && workload conversation_list
wanted guest_upsert && workload guest_upsert -D body="$GUEST_BODY"
wanted post_message && workload post_message -D body="$POST_BODY"
[ -z "${WORKLOADS:-}" ] || exit 0

echo
echo "== parleyd memory with 1,000 keep-alive connections (wrk -c 1000, GET /v1/guests/{id}, 10 s)"
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$parleyd_pid/status"; }
rss_idle=$(rss_kb)
wrk_run guest_get 1000 10 >"$work/rss-wrk" &
wrk_pid=$!
rss_max=0
while kill -0 "$wrk_pid" 2>/dev/null; do
    r=$(rss_kb)
    [ "$r" -gt "$rss_max" ] && rss_max=$r
    sleep 0.2   # sampling interval, not synchronisation
done
wait "$wrk_pid"
read -r rps p50 p99 bad sockerr <"$work/rss-wrk"
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$parleyd_pid/status")
printf 'RSS idle %d kB, with 1000 connections max %d kB (peak VmHWM %d kB); %s req/s, p99 %s ms, non-2xx %d, socket errors %d\n' \
    "$rss_idle" "$rss_max" "$hwm" "$rps" "$p99" "$bad" "$sockerr"

echo
# c_vs_plpgsql NAME C_SCRIPT PLPGSQL_SCRIPT [pgbench options]: alternated,
# ROUNDS times.
c_vs_plpgsql() {
    local name=$1 cs=$2 ps=$3 pc pp ratio ratios=
    shift 3
    for r in $(seq 1 "$ROUNDS"); do
        pc=($(pgb_run "$cs" "$@"))
        pp=($(pgb_run "$ps" "$@"))
        ratio=$(awk -v a="${pc[0]}" -v b="${pp[0]}" 'BEGIN { printf "%.2f", a / b }')
        ratios="$ratios $ratio"
        printf '%-14s C %s tps (p50 %s ms)   PL/pgSQL %s tps (p50 %s ms)   C/PLpgSQL %s\n' \
            "$name" "${pc[0]}" "${pc[1]}" "${pp[0]}" "${pp[1]}" "$ratio"
    done
    [ "$ROUNDS" = 1 ] || printf '%-14s C/PLpgSQL median %s\n' "$name" "$(median $ratios)"
}
echo "== C functions vs the same logic in PL/pgSQL (test/bench/plpgsql.sql), pgbench -c $CLIENTS"
echo "   message_list and its twin return the same JSON: $(psql -Atc "
    SELECT parley.message_list('00000000-0000-7000-8000-000000001000', 'l_1')
           = bench.message_list_plpgsql('00000000-0000-7000-8000-000000001000', 'l_1')")"
c_vs_plpgsql message_post post_message post_message_plpgsql -D body="$POST_BODY"
c_vs_plpgsql message_list list_messages list_messages_plpgsql -D conv=1000

if [ "$SCALE" = large ]; then
    echo
    echo "== SCALE=large: list_messages at 10,000 vs 10,000,000 messages"
    small=($(wrk_run list_messages))
    small_pgb=($(pgb_run list_messages -D conv=1000))
    echo "   loading 9,990,000 more messages (test/bench/large.sql) ..."
    t0=$SECONDS
    psql -f "$bench/large.sql"
    echo "   loaded in $((SECONDS - t0)) s; $(psql -Atc "SELECT count(*) FROM parley.messages") messages," \
         "$(psql -Atc "SELECT pg_size_pretty(pg_total_relation_size('parley.messages'))")"
    # The same 10,000-message conversation, and one of the new ones whose
    # rows are interleaved with 998 others.
    wrk_run list_messages "$CLIENTS" "$WARMUP" >/dev/null
    big=($(wrk_run list_messages))
    big_pgb=($(pgb_run list_messages -D conv=1000))
    export LIST_CONV=3000500
    wrk_run list_messages "$CLIENTS" "$WARMUP" >/dev/null
    inter=($(wrk_run list_messages))
    inter_pgb=($(pgb_run list_messages -D conv=3000500))
    unset LIST_CONV
    line "" "parleyd" "pgbench" "" "p50" "p99" "p50" "p99" "" ""
    line "10k table" "${small[0]}" "${small_pgb[0]}" "" "${small[1]}" "${small[2]}" "${small_pgb[1]}" "${small_pgb[2]}" "" ""
    line "10M, same conv" "${big[0]}" "${big_pgb[0]}" "" "${big[1]}" "${big[2]}" "${big_pgb[1]}" "${big_pgb[2]}" "" ""
    line "10M, interleaved conv" "${inter[0]}" "${inter_pgb[0]}" "" "${inter[1]}" "${inter[2]}" "${inter_pgb[1]}" "${inter_pgb[2]}" "" ""
    printf 'list p50 at 10M / at 10k (parleyd): same conversation %s, interleaved conversation %s\n' \
        "$(awk -v a="${big[1]}" -v b="${small[1]}" 'BEGIN { printf "%.2f", a / b }')" \
        "$(awk -v a="${inter[1]}" -v b="${small[1]}" 'BEGIN { printf "%.2f", a / b }')"

    echo
    echo "== EXPLAIN (ANALYZE, BUFFERS) of the functions' queries at 10M (auto_explain) -> $work/explain.txt"
    explain_sql="LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_level = notice;
SELECT parley.message_list('00000000-0000-7000-8000-000003000500', 'l_1');
SELECT parley.message_post('00000000-0000-7000-8000-000003000500', 'l_2', 'explain me');
SELECT parley.conversation_list('lister');
SELECT parley.guest_upsert('g_explain', 'Explain');"
    # Twice: the first run warms the plans and caches; the second, kept,
    # shows the steady state (the plans go to psql's stderr as notices).
    echo "$explain_sql" | psql >/dev/null 2>&1
    echo "$explain_sql" | psql 2>"$work/explain.txt" >/dev/null
    cp "$work/explain.txt" /tmp/parley-bench-explain.txt
    echo "   copied to /tmp/parley-bench-explain.txt ($(grep -c 'Query Text' "$work/explain.txt") plans)"
fi

# The search index's cost on posts (issue 17: with / without >= 0.80),
# SEARCH_ROUNDS rounds (default 3) of its four variants.
echo
PGBIN=$PGBIN CLIENTS=$CLIENTS THREADS=$THREADS DURATION=$DURATION ROUNDS=${SEARCH_ROUNDS:-3} \
    bash "$bench/search.sh" || echo "bench: search.sh failed" >&2

if [ -f "$bench/events.sh" ] && [ "${EVENTS:-1}" = 1 ]; then
    echo
    echo "== events (test/bench/events.sh)"
    PARLEY_URL=$url bash "$bench/events.sh" || echo "bench: events.sh failed" >&2
fi

if [ -f "$bench/events_typing.sh" ] && [ "${EVENTS:-1}" = 1 ]; then
    echo
    echo "== typing (test/bench/events_typing.sh)"
    bash "$bench/events_typing.sh" || echo "bench: events_typing.sh failed" >&2
fi
