-- pgbench: message_post with a fresh client_msg_id (the idempotent path:
-- lock, look for the key, then post).
\set n random(1, :nconv)
SELECT parley.message_post(id, a, 'hello from pgbench', 'k-' || :client_id || '-' || txid_current())
  FROM bench_conv WHERE n = :n;
