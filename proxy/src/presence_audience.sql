-- @remote
-- Friends live on every shard, direct conversations on theirs: each shard
-- answers the audience it knows, and a guest's audience is the union.  Its
-- presence is the same on every shard (presence_set and presence_seen run
-- on all), but for last_seen_at, each shard's own now(): the latest wins.
-- @wrapper
BEGIN
    RETURN parley_proxy.relay(ROW(
        (WITH e AS (SELECT x AS item
                      FROM parley_proxy.presence_audience(guest_ids, online) AS a,
                           jsonb_array_elements(a.answer->'presence') AS x),
              g AS (SELECT item->>'guest_id' AS guest_id,
                           (array_agg(item - 'audience'
                                      ORDER BY item->>'last_seen_at' DESC NULLS LAST))[1] AS p
                      FROM e GROUP BY 1),
              v AS (SELECT item->>'guest_id' AS guest_id,
                           jsonb_agg(DISTINCT w.viewer ORDER BY w.viewer) AS audience
                      FROM e, jsonb_array_elements_text(item->'audience') AS w(viewer)
                     GROUP BY 1)
         SELECT jsonb_build_object('presence',
                    coalesce(jsonb_agg(g.p || jsonb_build_object('audience', coalesce(v.audience, '[]'))
                                       ORDER BY g.guest_id), '[]'))
           FROM g LEFT JOIN v USING (guest_id)),
        200)::parley_proxy.answer);
