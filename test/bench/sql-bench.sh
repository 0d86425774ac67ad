#!/usr/bin/env bash
# SQL benchmark of the extension (not a test): message_post and
# message_list through pgbench, no gateway.  Starts a throwaway cluster
# (test/lib.sh: fsync off), loads guests, conversations and a history of
# messages, runs pgbench -c $CLIENTS -T $DURATION for each script and prints
# the tps.  Needs the extension installed (make install).
#
#   bash test/bench/sql-bench.sh     (env: CLIENTS=8 DURATION=15 CONVERSATIONS=1000 HISTORY=100)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

CLIENTS=${CLIENTS:-8}
DURATION=${DURATION:-15}
CONVERSATIONS=${CONVERSATIONS:-1000}
HISTORY=${HISTORY:-100}		# messages per conversation before the runs

if [ ! -f "$("$PG_CONFIG" --sharedir)/extension/parley.control" ]; then
    echo "parley is not installed: run make install first" >&2
    exit 1
fi

work=$(mktemp -d /tmp/parley-sqlbench.XXXXXX)
chmod 755 "$work"
cleanup() {
    cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cluster_start "$work/pg"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

echo "== load: $CONVERSATIONS group conversations of 2, $HISTORY messages each"
psql <<SQL
CREATE EXTENSION parley;
SELECT count(parley.guest_upsert('bench_' || i, 'Bench ' || i)) FROM generate_series(1, 2 * $CONVERSATIONS) i \g /dev/null
CREATE TABLE bench_conv (n int PRIMARY KEY, id uuid NOT NULL, a text NOT NULL, b text NOT NULL);
INSERT INTO bench_conv
SELECT i, (parley.conversation_create('bench_' || (2 * i - 1), 'group', ARRAY['bench_' || (2 * i)])->>'id')::uuid,
       'bench_' || (2 * i - 1), 'bench_' || (2 * i)
  FROM generate_series(1, $CONVERSATIONS) i;
SELECT count(parley.message_post(c.id, CASE WHEN j % 2 = 0 THEN c.a ELSE c.b END, 'history ' || j))
  FROM bench_conv c, generate_series(1, $HISTORY) j \g /dev/null
VACUUM ANALYZE;
SQL

run() {
    local name=$1 script=$2 nconv=$3 out tps lat
    out=$("$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" \
              -D nconv="$nconv" -f "test/bench/sql/$script" 2>&1) \
        || { echo "$out" >&2; return 1; }
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p')
    lat=$(echo "$out" | sed -n 's/^latency average = \(.*\)$/\1/p')
    printf '%-44s %10s tps   latency %s\n' "$name" "$tps" "$lat"
}

echo "== pgbench -c $CLIENTS -T $DURATION (PostgreSQL $("$PG_CONFIG" --version | awk '{print $2}'), fsync off)"
run "message_post, $CONVERSATIONS conversations" message_post.sql "$CONVERSATIONS"
run "message_post, 1 conversation (row lock)" message_post.sql 1
run "message_post with client_msg_id" message_post_idem.sql "$CONVERSATIONS"
run "message_list, newest 50" message_list.sql "$CONVERSATIONS"
