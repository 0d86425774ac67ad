-- bench.message_list_plpgsql (test/bench/plpgsql.sql), as list_messages.sql
-- calls parley.message_list.
\set k random(1, 5)
SELECT bench.message_list_plpgsql(('00000000-0000-7000-8000-' || lpad(:conv::text, 12, '0'))::uuid,
                                  'l_' || :k)::text;
