#!/usr/bin/env bash
# The cost of the PL/Proxy layer (docs/scaling.md, "The proxy's cost"): the
# same pgbench statements against one parley database and against
# parley_proxy over 4 shard databases (8 partitions) in the same throwaway
# cluster, side by side in one run, with variants that take the proxy's
# call apart:
#
#   select_1            SELECT 1 on the single database (pgbench's floor)
#   plproxy_select_1    a PL/Proxy function that runs SELECT 1 on the
#                       conversation's shard (PL/Proxy's per-call work and
#                       one libpq round trip, no parley)
#   remote              the generated remote function parley_proxy.message_post
#                       called directly (no wrapper)
#   wrapper_lean        a wrapper without exception block, SET search_path or
#                       relay()
#   wrapper_noexc       the 0.2.0 wrapper without its exception block
#   wrapper_020         the wrapper as released in parley_proxy 0.2.0
#   message_post        parley.message_post as installed (0.6.0: relay()
#                       inlined, exception block kept)
#   ... -C              a new connection per transaction (pgbench -C): the
#                       proxy then also connects to the shard every time
#
# and guest_upsert (every shard, then the home partition) at 4, 8 and 16
# shards, with its RUN ON ALL part alone; then the wrapper's parts in CPU
# time (test/bench/proxy-wrapper-cpu.sql).  On one machine the proxy can only
# cost (a proxy backend and a shard backend share the cores); the ratio to
# the single database is what the capacity model counts.  Not part of make
# test nor of make bench (run it by hand; ~15 min at the default settings).
#
#   bash test/bench/proxy.sh   (env: CLIENTS=8 DURATION=10 THREADS=2 SHARDS="4 8 16" ROUNDS=3 WARMUP=3)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

CLIENTS=${CLIENTS:-8}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}
SHARDS=${SHARDS:-4 8 16}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-3}

bash test/install-deps.sh
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

work=$(mktemp -d /tmp/parley-proxy-bench.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cluster_start "$work/pg"

psql_q() { PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 "$@"; }

max=4
for n in $SHARDS; do [ "$n" -gt "$max" ] && max=$n; done
"$PGBIN/createdb" single
psql_q -d single -c 'CREATE EXTENSION parley'
for s in $(seq 0 $((max - 1))); do
    "$PGBIN/createdb" "shard$s"
    psql_q -d "shard$s" -c 'CREATE EXTENSION parley'
done

# proxy_db NAME SHARDS PARTITIONS: a proxy database over shard0..SHARDS-1.
proxy_db() {
    local opts=() p
    for p in $(seq 0 $(($3 - 1))); do
        opts+=("p$p 'host=$PGHOST port=$PGPORT dbname=shard$((p % $2))'")
    done
    "$PGBIN/createdb" "$1"
    psql_q -d "$1" -c 'CREATE EXTENSION parley_proxy CASCADE'
    psql_q -d "$1" -c "CREATE SERVER parley_shards FOREIGN DATA WRAPPER plproxy OPTIONS ($(IFS=,; echo "${opts[*]}"))"
    psql_q -d "$1" -c "CREATE USER MAPPING FOR PUBLIC SERVER parley_shards OPTIONS (user 'postgres')"
}
proxy_db proxy 4 8
for n in $SHARDS; do
    [ "$n" = 4 ] || proxy_db "proxy$n" "$n" "$(( n < 8 ? 8 : n ))"
done

# The variants, in the proxy: the wrappers as the 0.2.0 generator made them
# without their exception block, and the lean one.
psql_q -d proxy <<'SQL'
CREATE SCHEMA bench;
CREATE FUNCTION bench.plproxy_select_1(conversation_id uuid) RETURNS integer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT 1;
$$;
CREATE FUNCTION bench.wrapper_noexc(conversation_id uuid, sender text, body text,
                                    client_msg_id text DEFAULT NULL, metadata jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.message_post($1, $2, $3, $4, $5));
END
$$;
CREATE FUNCTION bench.wrapper_020(conversation_id uuid, sender text, body text,
                                  client_msg_id text DEFAULT NULL, metadata jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.message_post($1, $2, $3, $4, $5));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;
CREATE FUNCTION bench.wrapper_lean(conversation_id uuid, sender text, body text,
                                   client_msg_id text DEFAULT NULL, metadata jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    a parley_proxy.answer;
BEGIN
    a := parley_proxy.message_post($1, $2, $3, $4, $5);
    PERFORM pg_catalog.set_config('parley_proxy.last_status', coalesce(a.http_status::text, ''), false);
    RETURN a.answer;
END
$$;
SQL

# 64 group conversations in each setup, their ids in a local table.
for db in single proxy; do
    psql_q -d "$db" >/dev/null <<'SQL'
SELECT parley.guest_upsert('bench', 'Bench');
CREATE TABLE bench_convs AS
    SELECT n, (parley.conversation_create('bench', 'group', ARRAY[]::text[], 'b' || n)->>'id')::uuid AS id
      FROM generate_series(1, 64) n;
SQL
done

post() {
    printf '\\set n random(1, 64)\nSELECT %s((SELECT id FROM bench_convs WHERE n = :n), %s);\n' "$1" "$2" >"$work/$3.sql"
}
echo 'SELECT 1;' >"$work/select_1.sql"
post bench.plproxy_select_1 "" plproxy_select_1
sed -i 's/, );/);/' "$work/plproxy_select_1.sql"
post parley.message_post "'bench', 'hello from pgbench'" message_post
post '* FROM parley_proxy.message_post' "'bench', 'hello from pgbench', NULL, '{}'" remote
post bench.wrapper_lean "'bench', 'hello from pgbench'" wrapper_lean
post bench.wrapper_noexc "'bench', 'hello from pgbench'" wrapper_noexc
post bench.wrapper_020 "'bench', 'hello from pgbench'" wrapper_020
echo "SELECT parley.conversation_list('bench', NULL, 20);" >"$work/conversation_list.sql"
echo "SELECT parley.guest_upsert('bench', 'Bench');" >"$work/guest_upsert.sql"
echo "SELECT count(*) FROM parley_proxy.guest_upsert('bench', 'Bench', '{}', NULL);" >"$work/guest_upsert_all.sql"

# tps DB SCRIPT [pgbench options]: transactions per second after the first
# WARMUP seconds (pgbench -P 1), so that a proxy backend's first connection
# to each shard (PL/Proxy connects lazily, once per backend and shard) is
# not counted; the -C variants count it on purpose.
tps() {
    local db=$1 f=$2
    shift 2
    "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$DURATION" -P 1 "$@" -f "$work/$f.sql" "$db" 2>&1 \
        | awk -v w="$WARMUP" '/^progress: / && $2 + 0 > w { s += $4; n++ } END { printf "%.1f\n", n ? s / n : 0 }'
}
row() { printf '%-50s %9.0f %9.0f %6.2f\n' "$1" "$2" "$3" "$(echo "if ($2 > 0) $3 / $2 else 0" | bc -l)"; }

# median VALUES...: the middle value (rounds run interleaved so that the
# machine's other load spreads over every variant alike).
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# group NAME DB:SCRIPT[:OPTION]...: ROUNDS interleaved runs of each; prints
# a row per variant after the first (the reference), with its ratio.
group() {
    local name=$1 i v db f o
    shift
    declare -A got=()
    for i in $(seq "$ROUNDS"); do
        for v in "$@"; do
            IFS=: read -r db f o <<<"$v"
            got[$v]+=" $(tps "$db" "$f" ${o:+"$o"})"
        done
    done
    local ref
    ref=$(median ${got[$1]})
    for v in "${@:2}"; do
        IFS=: read -r db f o <<<"$v"
        row "$name: $f${o:+ $o} ($db)" "$ref" "$(median ${got[$v]})"
    done
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; -c $CLIENTS -j $THREADS, ${DURATION} s per run (the first ${WARMUP} s not counted), median of $ROUNDS interleaved rounds"
printf '%-50s %9s %9s %6s\n' "statement: variant (database)" single proxy ratio
group select_1 single:select_1 proxy:plproxy_select_1
group message_post single:message_post proxy:remote proxy:wrapper_lean proxy:wrapper_noexc proxy:wrapper_020 proxy:message_post
group "message_post, new connection each" single:message_post:-C proxy:message_post:-C
group conversation_list single:conversation_list proxy:conversation_list
args=(single:guest_upsert)
for n in $SHARDS; do
    db=proxy$n
    [ "$n" = 4 ] && db=proxy
    args+=("$db:guest_upsert_all" "$db:guest_upsert")
done
group guest_upsert "${args[@]}"
"$PGBIN/createdb" wrapcpu
psql_q -d wrapcpu -f test/bench/proxy-wrapper-cpu.sql
for i in $(seq "$ROUNDS"); do psql_q -d wrapcpu -c 'CALL run(20000)'; done
echo "the wrapper's parts, CPU µs per call (min / median of $ROUNDS rounds of 20,000 calls):"
psql_q -d wrapcpu -F ' ' -c "SELECT rpad(v, 8), round(min(us)::numeric, 1), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us)::numeric, 1) FROM t GROUP BY v ORDER BY min(us)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "per shard, messages: $(for s in 0 1 2 3; do psql_q -d "shard$s" -c 'SELECT count(*) FROM parley.messages'; done | tr '\n' ' ')"
