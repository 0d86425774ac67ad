-- The statement parleyd runs for GET /v1/conversations/{cid}/messages
-- (gateway/routes.c): the newest 50 of conversation :conv (-D conv=N) as
-- one of its 5 participants; before, after and limit absent (NULL).
\set k random(1, 5)
SELECT parley.message_list(('00000000-0000-7000-8000-' || lpad(:conv::text, 12, '0'))::uuid,
                           'l_' || :k, NULL::bigint, NULL::bigint, NULL::integer)::text;
