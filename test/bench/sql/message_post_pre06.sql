-- pgbench: message_post.sql through bench_post_pre06(), the same C code
-- bound to the entry point of the API before 0.6.0 (no mutes, frozen,
-- slow mode or filters): moderation-bench.sh's baseline.
\set n random(1, :nconv)
SELECT bench_post_pre06(id, CASE WHEN :n % 2 = 0 THEN a ELSE b END, 'hello from pgbench')
  FROM bench_conv WHERE n = :n;
