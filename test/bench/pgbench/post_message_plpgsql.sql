-- post_message through bench.message_post_plpgsql (test/bench/plpgsql.sql),
-- the same logic in PL/pgSQL, called exactly as post_message.sql calls the
-- C function.
\set n random(1, 100)
\set k random(1, 5)
SELECT r::text, 201
  FROM bench.message_post_plpgsql(('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid,
                                  'p' || :n || '_' || :k, (:body::jsonb)->>'body',
                                  (:body::jsonb)->>'client_msg_id',
                                  COALESCE((:body::jsonb)->'metadata', '{}'::jsonb)) AS r;
