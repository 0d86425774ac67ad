#!/usr/bin/env bash
# make bench (test/bench/run.sh runs it on its cluster): post throughput
# with the search index (messages_search_idx, docs/search.md) against
# without it, side by side.  Four databases get the same data
# (test/bench/load.sql) and differ only in the index:
#   none       no search index
#   shipped    as the 0.5.0 script makes it
#   off        GIN with fastupdate = off (every post updates the posting
#              lists at once)
#   on-4MB     GIN with fastupdate = on and the default 4 MB pending list
#              (Synapse's setting: rare, long merges)
# Then, ROUNDS times, pgbench -c $CLIENTS of message_post
# (pgbench/post_message_words.sql: 12-word chat lines) for DURATION seconds
# against each in turn (each round starting with the next), so the
# machine's other load falls on all of them alike.  Prints per variant the median tps, p50/p99/max latency (the
# pending list's merges show in p99 and max), the index size, and the
# ratio to "none"; the target (issue 17) is shipped/none >= 0.80.
# Needs PGBIN and the PG* variables of test/lib.sh's cluster_start; the
# extension installed.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
CLIENTS=${CLIENTS:-32}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
VARIANTS=${VARIANTS:-"none shipped off on-4MB"}
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d /tmp/parley-search-bench.XXXXXX)
chmod 777 "$work"
trap 'rm -rf "$work"' EXIT
dbname() { local v=${1//-/_}; echo "bench_search_${v,,}"; }

for v in $VARIANTS; do
    db=$(dbname "$v")
    psql -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    psql -d "$db" -c "SET client_min_messages = warning" -c "CREATE EXTENSION parley" -f "$bench/load.sql" >/dev/null
    shipped=$(psql -d "$db" -Atc "SELECT pg_get_indexdef('parley.messages_search_idx'::regclass)")
    case $v in
        none) def= ;;
        shipped) def=$shipped ;;
        off) def=${shipped/WITH (*) WHERE/WITH (fastupdate=off) WHERE} ;;
        on-4MB) def=${shipped/WITH (*) WHERE/WITH (fastupdate=on) WHERE} ;;
        *) echo "search.sh: unknown variant $v" >&2; exit 1 ;;
    esac
    psql -d "$db" -c "DROP INDEX parley.messages_search_idx"
    [ -z "$def" ] || psql -d "$db" -c "$def"
    psql -d "$db" -c "VACUUM ANALYZE" -c "CHECKPOINT"
done

# run DB: appends "tps p50 p99 max" (ms) to $work/DB
run() {
    local db=$1 dir out
    dir=$(mktemp -d "$work/run.XXXXXX")
    out=$(cd "$dir" && "$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$DURATION" -l \
              -f "$bench/pgbench/post_message_words.sql" "$db" 2>&1)
    cat "$dir"/pgbench_log.* | awk '{print $3}' | sort -n >"$dir/lat"
    awk -v tps="$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')" \
        '{ a[NR] = $1 } END { printf "%.0f %.2f %.2f %.2f\n", tps, a[int(NR * 0.5) + 1] / 1000,
                              a[int(NR * 0.99) + 1] / 1000, a[NR] / 1000 }' "$dir/lat" >>"$work/$db"
    rm -rf "$dir"
}

echo "== post throughput with the search index vs without: pgbench -c $CLIENTS, ${DURATION}s per run, $ROUNDS rounds, message_post of a 12-word line"
# Each round starts with the next variant, so none of them always runs first.
read -ra vs <<<"$VARIANTS"
for r in $(seq 0 $((ROUNDS - 1))); do
    for i in $(seq 0 $((${#vs[@]} - 1))); do run "$(dbname "${vs[$(((r + i) % ${#vs[@]}))]}")"; done
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-8s %9s %8s %8s %8s %10s %10s  %s\n' index tps "p50 ms" "p99 ms" "max ms" "index" "tps/none" "tps of each round"
for v in $VARIANTS; do
    db=$(dbname "$v")
    tps=$(awk '{print $1}' "$work/$db" | median)
    [ "$v" = none ] && none=$tps
    printf '%-8s %9.0f %8s %8s %8s %10s %10s  %s\n' "$v" "$tps" \
        "$(awk '{print $2}' "$work/$db" | median)" "$(awk '{print $3}' "$work/$db" | median)" \
        "$(awk '{print $4}' "$work/$db" | sort -n | tail -1)" \
        "$(psql -d "$db" -Atc "SELECT coalesce(pg_size_pretty(pg_relation_size(to_regclass('parley.messages_search_idx'))), '-')")" \
        "$(awk -v a="$tps" -v b="${none:-$tps}" 'BEGIN { printf "%.2f", a / b }')" \
        "$(awk '{print $1}' "$work/$db" | paste -sd ' ')"
done
for v in $VARIANTS; do psql -d postgres -c "DROP DATABASE $(dbname "$v")"; done
