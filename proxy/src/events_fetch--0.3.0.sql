-- A gateway names a conversation twice (its streams near the head, and a
-- page for streams replaying from far back): a shard answers pair after
-- pair, and the merge keeps that order within each conversation (ordering
-- by seq would interleave the two pairs).
-- @wrapper
BEGIN
    RETURN (SELECT jsonb_build_object('messages', coalesce(jsonb_agg(e.m ORDER BY
                   array_position($1, (e.m->>'conversation_id')::uuid), e.i), '[]'))
          FROM parley_proxy.events_fetch($1, $2, $3) AS a,
               jsonb_array_elements(a.answer->'messages') WITH ORDINALITY AS e(m, i));
