#!/usr/bin/env bash
# make bench, retention part: do posts wait on retention_run()?  (API.md
# section 10; issue "Moderation and data rights": posts keep flowing while
# a run tombstones 100,000 messages, and no post waits more than 100 ms on
# it.)
#
# A throwaway cluster with log_lock_waits on and deadlock_timeout = 100ms,
# so PostgreSQL itself logs every lock wait that passes 100 ms.  A
# conversation holds MESSAGES (100,000) messages older than its keep; pgbench
# posts into that same conversation (CLIENTS connections, DURATION seconds)
# twice, side by side in one run: once alone, once while CALL
# parley.retention_run() tombstones the old messages.  It prints posts/s,
# p99 and the slowest post of both runs, the run's duration, and the number
# of posts the server logged waiting over 100 ms for a lock retention_run's
# backend held (the target: 0), beside those waiting on another post (posts
# to one conversation queue on its row lock by design).
#
#   bash test/bench/retention.sh      (env: MESSAGES=100000 CLIENTS=4 DURATION=20)
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh

MESSAGES=${MESSAGES:-100000}
CLIENTS=${CLIENTS:-4}
DURATION=${DURATION:-20}

make -s PG_CONFIG="$PG_CONFIG" build >/dev/null
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null

work=$(mktemp -d /tmp/parley-retention.XXXXXX)
chmod 755 "$work"
cleanup() {
    cluster_stop
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cluster_start "$work/pg"
psql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql -c "ALTER SYSTEM SET log_lock_waits = on" -c "ALTER SYSTEM SET deadlock_timeout = '100ms'" \
     -c "SELECT pg_reload_conf()" >/dev/null
psql -c "CREATE EXTENSION parley" >/dev/null
cid=$(psql -At <<SQL
SELECT parley.guest_upsert('poster', 'Poster') IS NULL;
SELECT parley.guest_upsert('old', 'Old') IS NULL;
SELECT parley.conversation_create('poster', 'group', '{old}', 'Retained') ->> 'id' AS cid \gset
INSERT INTO parley.messages (conversation_id, seq, id, sender_id, body, created_at)
SELECT :'cid', i, gen_random_uuid(), 'old', 'old message ' || i, now() - interval '400 days'
  FROM generate_series(1, $MESSAGES) AS i;
UPDATE parley.conversations SET last_seq = $MESSAGES WHERE id = :'cid';
SELECT parley.retention_set(:'cid', '365 days') IS NULL;
VACUUM ANALYZE parley.messages;
SELECT :'cid';
SQL
)
cid=$(echo "$cid" | tail -1)
echo "SELECT parley.message_post('$cid', 'poster', 'live');" >"$work/post.sql"

# pgbench's per-transaction log: latency (µs) is the third field.
run_pgbench() {
    local tag=$1
    (cd "$work" && "$PGBIN/pgbench" -n -f post.sql -c "$CLIENTS" -j 2 -T "$DURATION" \
        -l --log-prefix="$tag" postgres >"$work/$tag.out" 2>&1)
}
stats() {
    local tag=$1
    cat "$work"/"$tag".* 2>/dev/null | awk '{ print $3 }' | sort -n | awk -v d="$DURATION" '
        { v[NR] = $1 }
        END { if (NR == 0) { print "no posts"; exit }
              i = int(NR * 0.99); if (i < 1) i = 1
              printf "%7.0f posts/s  p99 %6.1f ms  slowest %6.1f ms\n", NR / d, v[i] / 1000, v[NR] / 1000 }'
}

echo "== posting alone ($CLIENTS clients, ${DURATION}s)"
run_pgbench alone
echo "== posting while retention_run() tombstones $MESSAGES messages"
log_before=$(wc -l <"$work/pg/server.log")
start=$(date +%s.%N)
( psql -At -c "SELECT pg_backend_pid()" -c "CALL parley.retention_run()" >"$work/run.pid" &&
  date +%s.%N >"$work/run.end" ) &
runner=$!
run_pgbench during
wait "$runner"
end=$(cat "$work/run.end")
tombstones=$(psql -At -c "SELECT count(*) FROM parley.messages WHERE conversation_id = '$cid' AND deleted_at IS NOT NULL")
# A wait's DETAIL names the process holding the lock: count the waits over
# 100 ms on retention_run()'s backend, and (for scale) those on other posts.
runpid=$(head -1 "$work/run.pid")
tail -n +"$((log_before + 1))" "$work/pg/server.log" >"$work/during.log"
waits=$(grep -A1 'still waiting for' "$work/during.log" | grep -c "holding the lock: $runpid\." || true)
other=$(( $(grep -c 'still waiting for' "$work/during.log" || true) - waits ))

echo
printf 'retention_run: %s messages tombstoned in %.1f s\n' "$tombstones" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
printf 'alone:          %s\n' "$(stats alone)"
printf 'during the run: %s\n' "$(stats during)"
printf 'posts waiting over 100 ms on retention_run (log_lock_waits): %s (target: 0); on other posts: %s\n' "$waits" "$other"
[ "$waits" -eq 0 ] || grep -A1 'still waiting for' "$work/during.log" | grep -B1 "holding the lock: $runpid\." | head -6
