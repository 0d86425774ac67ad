#!/usr/bin/env bash
# Benchmark (not a test): what 0.6.0's moderation costs a post.  The same
# database runs message_post as 0.6.0 binds it (mutes, frozen, slow mode
# and word filters checked in the post's statement) and as the API before
# it binds it (bench_post_pre06(): the same C code at PARLEY_API_0_2, the
# post statement of 0.2.0-0.5.0), side by side, alternating ROUNDS times so
# that drift of a busy machine hits both; then again with 50 word filters.
#
#   bash test/bench/moderation-bench.sh  (env: CLIENTS=4 DURATION=10 ROUNDS=3 CONVERSATIONS=1000)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

CLIENTS=${CLIENTS:-4}
DURATION=${DURATION:-10}
ROUNDS=${ROUNDS:-3}
CONVERSATIONS=${CONVERSATIONS:-1000}

work=$(mktemp -d /tmp/parley-modbench.XXXXXX)
chmod 755 "$work"
cleanup() {
    cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cluster_start "$work/pg"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

psql <<SQL
CREATE EXTENSION parley;
CREATE FUNCTION bench_post_pre06(conversation_id uuid, sender text, body text,
                                 client_msg_id text DEFAULT NULL, metadata jsonb DEFAULT '{}')
RETURNS jsonb AS '\$libdir/parley', 'message_post_v0_2'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
SELECT count(parley.guest_upsert('bench_' || i, 'Bench ' || i)) FROM generate_series(1, 2 * $CONVERSATIONS) i \g /dev/null
CREATE TABLE bench_conv (n int PRIMARY KEY, id uuid NOT NULL, a text NOT NULL, b text NOT NULL);
INSERT INTO bench_conv
SELECT i, (parley.conversation_create('bench_' || (2 * i - 1), 'group', ARRAY['bench_' || (2 * i)])->>'id')::uuid,
       'bench_' || (2 * i - 1), 'bench_' || (2 * i)
  FROM generate_series(1, $CONVERSATIONS) i;
VACUUM ANALYZE;
SQL

run() {
    local script=$1 out
    out=$("$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" \
              -D nconv="$CONVERSATIONS" -f "test/bench/sql/$script" 2>&1) \
        || { echo "$out" >&2; return 1; }
    echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p'
}

compare() {
    local label=$1 a=0 b=0 t
    for r in $(seq 1 "$ROUNDS"); do
        t=$(run message_post_pre06.sql); a=$(echo "$a + $t" | bc -l)
        t=$(run message_post.sql);       b=$(echo "$b + $t" | bc -l)
    done
    printf '%-34s before 0.6.0 %9.1f tps   0.6.0 %9.1f tps   ratio %.3f\n' "$label" \
        "$(echo "$a / $ROUNDS" | bc -l)" "$(echo "$b / $ROUNDS" | bc -l)" "$(echo "$b / $a" | bc -l)"
}

echo "== message_post, pgbench -c $CLIENTS -T $DURATION x $ROUNDS rounds, $CONVERSATIONS conversations"
compare "no filters"
psql -c "SELECT count(parley.filter_add('badword' || i, CASE WHEN i % 2 = 0 THEN 'mask' ELSE 'reject' END)) FROM generate_series(1, 50) i" >/dev/null
compare "50 word filters"
