#!/usr/bin/env bash
# The cost of the PL/Proxy layer (docs/scaling.md, "Measured"): the same
# pgbench statements against one parley database and against parley_proxy
# over 4 shard databases (8 partitions) in the same throwaway cluster, side
# by side in one run.  On one machine the proxy can only cost (a proxy
# backend and a shard backend share the cores); the ratio is what the
# capacity model counts.  Not part of make test.
#
#   bash test/bench/proxy.sh        (env: CLIENTS=8 DURATION=10 THREADS=2)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

CLIENTS=${CLIENTS:-8}
DURATION=${DURATION:-10}
THREADS=${THREADS:-2}

bash test/install-deps.sh
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

work=$(mktemp -d /tmp/parley-proxy-bench.XXXXXX)
chmod 755 "$work"
trap 'cluster_stop; rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
cluster_start "$work/pg"

psql_q() { PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -XAtq -v ON_ERROR_STOP=1 "$@"; }

"$PGBIN/createdb" single
psql_q -d single -c 'CREATE EXTENSION parley'
opts=()
for s in 0 1 2 3; do
    "$PGBIN/createdb" "shard$s"
    psql_q -d "shard$s" -c 'CREATE EXTENSION parley'
done
for p in 0 1 2 3 4 5 6 7; do
    opts+=("p$p 'host=$PGHOST port=$PGPORT dbname=shard$((p % 4))'")
done
"$PGBIN/createdb" proxy
psql_q -d proxy -c 'CREATE EXTENSION parley_proxy CASCADE'
psql_q -d proxy -c "CREATE SERVER parley_shards FOREIGN DATA WRAPPER plproxy OPTIONS ($(IFS=,; echo "${opts[*]}"))"
psql_q -d proxy -c "CREATE USER MAPPING FOR PUBLIC SERVER parley_shards OPTIONS (user 'postgres')"

# 64 group conversations in each setup, their ids in a local table.
for db in single proxy; do
    psql_q -d "$db" >/dev/null <<'SQL'
SELECT parley.guest_upsert('bench', 'Bench');
CREATE TABLE bench_convs AS
    SELECT n, (parley.conversation_create('bench', 'group', ARRAY[]::text[], 'b' || n)->>'id')::uuid AS id
      FROM generate_series(1, 64) n;
SQL
done

cat >"$work/message_post.sql" <<'SQL'
\set n random(1, 64)
SELECT parley.message_post((SELECT id FROM bench_convs WHERE n = :n), 'bench', 'hello from pgbench');
SQL
echo "SELECT parley.conversation_list('bench', NULL, 20);" >"$work/conversation_list.sql"
echo "SELECT parley.guest_upsert('bench', 'Bench');" >"$work/guest_upsert.sql"

tps() {
    "$PGBIN/pgbench" -n -c "$CLIENTS" -j "$THREADS" -T "$DURATION" -f "$2" "$1" 2>&1 \
        | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

printf '%-20s %12s %12s %7s\n' statement single proxy ratio
for s in message_post conversation_list guest_upsert; do
    a=$(tps single "$work/$s.sql")
    b=$(tps proxy "$work/$s.sql")
    printf '%-20s %12.0f %12.0f %7.2f\n' "$s" "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
echo "per shard, messages: $(for s in 0 1 2 3; do psql_q -d "shard$s" -c 'SELECT count(*) FROM parley.messages'; done | tr '\n' ' ')"
