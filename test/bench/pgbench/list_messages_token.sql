-- The statement parleyd runs for list_messages_token: the same as
-- list_messages.sql (a guest token changes only how the acting guest is
-- named, not the statement).
\set k random(1, 5)
SELECT parley.message_list(('00000000-0000-7000-8000-' || lpad(:conv::text, 12, '0'))::uuid,
                           'l_' || :k, NULL::bigint, NULL::bigint, NULL::integer)::text;
