-- The gateway's batched calls name many conversations: SPLIT sends each
-- shard only the ids (and cursors) that hash to it, and only the shards
-- concerned are called; the proxy puts the answers back together.
-- @remote
-- In the order of the ids given, each ascending seq, as one shard would.
-- @wrapper
BEGIN
    RETURN (SELECT jsonb_build_object('messages', coalesce(jsonb_agg(m ORDER BY
                   array_position($1, (m->>'conversation_id')::uuid), (m->>'seq')::bigint), '[]'))
          FROM parley_proxy.events_fetch($1, $2, $3) AS a, jsonb_array_elements(a.answer->'messages') AS m);
