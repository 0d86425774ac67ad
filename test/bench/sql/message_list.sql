-- pgbench: message_list, the newest page of 50 (default limit).
\set n random(1, :nconv)
SELECT parley.message_list(id, b) FROM bench_conv WHERE n = :n;
