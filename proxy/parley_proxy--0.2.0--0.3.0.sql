/* parley_proxy 0.2.0 -> 0.3.0: the parley 0.3.0 API (events_heads and
 * events_changes, for a gateway's live streams) in a proxy database, and
 * events_fetch keeping each (id, after) pair's rows together when an id is
 * given twice.  The shards run parley 0.3.0; the other functions relay as
 * before (their 0.3.0 behaviour, counting changes, is the shards').  A
 * fresh install of 0.3.0 runs parley_proxy--0.2.0.sql and then this
 * script. */

\echo Use "ALTER EXTENSION parley_proxy UPDATE TO '0.3.0'" to load this file. \quit

-- A gateway names a conversation twice (its streams near the head, and a
-- page for streams replaying from far back): a shard answers pair after
-- pair, and the merge keeps that order within each conversation (ordering
-- by seq would interleave the two pairs).
CREATE OR REPLACE FUNCTION parley.events_fetch(conversation_ids uuid[], afters bigint[], "limit" integer DEFAULT 200)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT jsonb_build_object('messages', coalesce(jsonb_agg(e.m ORDER BY
                   array_position($1, (e.m->>'conversation_id')::uuid), e.i), '[]'))
          FROM parley_proxy.events_fetch($1, $2, $3) AS a,
               jsonb_array_elements(a.answer->'messages') WITH ORDINALITY AS e(m, i));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.events_heads(conversation_ids uuid[])
RETURNS SETOF parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    SPLIT conversation_ids;
    RUN ON parley_proxy.conversation_hash(conversation_ids);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.events_heads($1) r;
$$;
-- Each shard answers for its own ids: the objects are disjoint.
CREATE FUNCTION parley.events_heads(conversation_ids uuid[]) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(h.key, h.value), '{}')
          FROM parley_proxy.events_heads($1) AS a, jsonb_each(a.answer) AS h);
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.events_changes(conversation_id uuid, after_change bigint, guests text[])
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.events_changes($1, $2, $3) r;
$$;
CREATE FUNCTION parley.events_changes(conversation_id uuid, after_change bigint, guests text[])
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.events_changes($1, $2, $3));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

REVOKE ALL ON FUNCTION
    parley_proxy.events_heads(uuid[]),
    parley.events_heads(uuid[]),
    parley_proxy.events_changes(uuid, bigint, text[]),
    parley.events_changes(uuid, bigint, text[])
FROM PUBLIC;
