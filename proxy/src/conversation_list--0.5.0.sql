-- 0.5.0: archived passed on (per-guest settings).
-- Each shard answers its own first page (at most "limit" rows after the
-- cursor, which is shard-independent: activity and id); the activity of each
-- row comes from the same statement's snapshot.
CREATE FUNCTION parley_proxy.conversation_list(guest_id text, before text, "limit" integer, actor text,
                                              archived boolean)
RETURNS SETOF parley_proxy.list_row
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON ALL;
    SELECT e AS conversation,
           coalesce(c.last_message_at, c.created_at) AS activity,
           (l->>'has_more')::boolean AS shard_has_more
      FROM parley.conversation_list($1, $2, $3, $4, $5) AS l
     CROSS JOIN LATERAL jsonb_array_elements(l->'conversations') AS e
      JOIN parley.conversations c ON c.id = (e->>'id')::uuid;
$$;

-- @wrapper
DECLARE
    page_size integer := coalesce("limit", 50);	-- the shards have checked it
    rows parley_proxy.list_row[];
    page jsonb;
    more boolean;
    last parley_proxy.list_row;
BEGIN
    rows := ARRAY(SELECT r FROM parley_proxy.conversation_list(guest_id, before, "limit", actor, archived) AS r
                  ORDER BY r.activity DESC, (r.conversation->>'id')::uuid DESC);
    more := cardinality(rows) > page_size
            OR coalesce((SELECT bool_or(r.shard_has_more) FROM unnest(rows) AS r), false);
    page := coalesce((SELECT jsonb_agg(u.conversation ORDER BY u.n)
                        FROM unnest(rows[1:page_size])
                             WITH ORDINALITY AS u(conversation, activity, shard_has_more, n)),
                     '[]');
    IF more THEN
        last := rows[least(page_size, cardinality(rows))];
    END IF;
    PERFORM pg_catalog.set_config('parley_proxy.last_status', '200', false);
    RETURN jsonb_build_object(
        'conversations', page,
        'has_more', more,
        'next_before', CASE WHEN more THEN
            parley_proxy.list_cursor(last.activity, (last.conversation->>'id')::uuid) END);
