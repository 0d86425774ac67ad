#!/usr/bin/env bash
# make bench (test/bench/run.sh runs it on its cluster): post throughput
# with the search index (messages_search_idx, docs/search.md) against
# without it, side by side: pgbench -c $CLIENTS of message_post
# (pgbench/post_message_words.sql) on the same data, alternated ROUNDS
# times, each variant of the index created afresh before its run:
#   none       no search index
#   shipped    as the 0.5.0 script makes it: GIN, fastupdate = on with a
#              256 kB pending list (gin_pending_list_limit)
#   off        GIN, fastupdate = off (every post updates the posting lists)
#   on-4MB     GIN, fastupdate = on with the default 4 MB pending list
#              (Synapse's setting: rare, long merges)
# For each: tps, p50/p99/max latency (the pending list's merges show in
# p99 and max).  Needs PGBIN and the PG* variables of test/lib.sh's
# cluster_start and the data of test/bench/load.sql.  The target (issue 17)
# is shipped/none >= 0.80.  The index is left as shipped.
set -euo pipefail
bench=$(cd "$(dirname "$0")" && pwd)
CLIENTS=${CLIENTS:-32}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-1}
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

shipped=$(psql -Atc "SELECT pg_get_indexdef('parley.messages_search_idx'::regclass)")
set_index() {
    local def
    case $1 in
        none) def= ;;
        shipped) def=$shipped ;;
        off) def=${shipped/WITH (*) WHERE/WITH (fastupdate=off) WHERE} ;;
        on-4MB) def=${shipped/WITH (*) WHERE/WITH (fastupdate=on) WHERE} ;;
    esac
    psql -c "SET client_min_messages = warning; DROP INDEX IF EXISTS parley.messages_search_idx"
    [ -z "$def" ] || psql -c "$def"
    psql -c "CHECKPOINT"
}
# run: "tps p50_ms p99_ms max_ms"
run() {
    local dir out
    dir=$(mktemp -d /tmp/parley-search-bench.XXXXXX)
    chmod 777 "$dir"
    out=$(cd "$dir" && "$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$DURATION" -l \
              -f "$bench/pgbench/post_message_words.sql" postgres 2>&1)
    cat "$dir"/pgbench_log.* | awk '{print $3}' | sort -n >"$dir/lat"
    awk -v tps="$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')" \
        '{ a[NR] = $1 } END { printf "%.0f %.2f %.2f %.2f\n", tps, a[int(NR * 0.5) + 1] / 1000,
                              a[int(NR * 0.99) + 1] / 1000, a[NR] / 1000 }' "$dir/lat"
    rm -rf "$dir"
}

variants="none shipped off on-4MB"
echo "== post throughput with the search index vs without (pgbench -c $CLIENTS, ${DURATION}s each, message_post of a 12-word line)"
printf '%-8s %-8s %8s %8s %8s %8s %12s\n' round index tps "p50 ms" "p99 ms" "max ms" "tps/none"
ratios=
for r in $(seq 1 "$ROUNDS"); do
    set_index none
    "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T 2 -f "$bench/pgbench/post_message_words.sql" postgres >/dev/null 2>&1
    for v in $variants; do
        set_index "$v"
        res=($(run))
        [ "$v" = none ] && none=${res[0]}
        ratio=$(awk -v a="${res[0]}" -v b="$none" 'BEGIN { printf "%.2f", a / b }')
        [ "$v" = shipped ] && ratios="$ratios $ratio"
        printf '%-8s %-8s %8s %8s %8s %8s %12s\n' "$r/$ROUNDS" "$v" "${res[@]}" "$ratio"
    done
done
set_index shipped
echo "search index: $(psql -Atc "SELECT pg_size_pretty(pg_relation_size('parley.messages_search_idx'))") for" \
     "$(psql -Atc "SELECT count(*) FROM parley.messages WHERE body IS NOT NULL") messages" \
     "(heap $(psql -Atc "SELECT pg_size_pretty(pg_relation_size('parley.messages'))"))"
printf 'post throughput with the shipped index / without: %s (target >= 0.80)\n' \
    "$(printf '%s\n' $ratios | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] ", median of " NR " rounds" }')"
