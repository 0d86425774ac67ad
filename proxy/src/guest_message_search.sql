-- @remote
-- Every shard answers its own first page after the cursor, which is
-- shard-independent: (created_at, id) of the last message of the previous
-- page, in the extension's cursor form (parley_proxy.list_cursor).  The
-- merge keeps the newest "limit" of all of them, by the same key; the
-- answers carry created_at to the microsecond and the id.
-- @wrapper
DECLARE
    page_size integer := coalesce("limit", 50);	-- the shards have checked it
    msgs jsonb[];
    more boolean;
    last jsonb;
BEGIN
    SELECT coalesce(array_agg(m ORDER BY (m->>'created_at')::timestamptz DESC,
                                         (m->>'id')::uuid DESC)
                        FILTER (WHERE m IS NOT NULL), '{}'),
           coalesce(bool_or((a.answer->>'has_more')::boolean), false)
      INTO msgs, more
      FROM parley_proxy.guest_message_search(guest_id, q, before, "limit", actor) AS a
      LEFT JOIN LATERAL jsonb_array_elements(a.answer->'messages') AS m ON true;
    more := more OR cardinality(msgs) > page_size;
    IF more THEN
        last := msgs[least(page_size, cardinality(msgs))];
    END IF;
    RETURN parley_proxy.relay(ROW(
        jsonb_build_object(
            'messages', coalesce(to_jsonb(msgs[1:page_size]), '[]'),
            'has_more', more,
            'next_before', CASE WHEN more THEN
                parley_proxy.list_cursor((last->>'created_at')::timestamptz, (last->>'id')::uuid) END),
        200)::parley_proxy.answer);
