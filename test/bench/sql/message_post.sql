-- pgbench: one message_post per transaction, the no-client_msg_id hot path.
-- -D nconv=N spreads the posts over N conversations (1: all clients post
-- into one conversation and queue on its row lock).
\set n random(1, :nconv)
SELECT parley.message_post(id, CASE WHEN :n % 2 = 0 THEN a ELSE b END, 'hello from pgbench')
  FROM bench_conv WHERE n = :n;
