/* parley_proxy 0.2.0: the parley 0.2.0 API in a proxy database.
 *
 * Every function of schema parley has the name and signature of the parley
 * extension's, so parleyd (and a DBA's SQL) work unchanged against the proxy.
 * Each one calls, with PL/Proxy, the same function of the parley extension on
 * the shard that owns the data, in cluster 'parley_shards' (a foreign server
 * of the plproxy wrapper, see docs/scaling.md):
 *
 *   conversation-scoped   one shard: hashtext(conversation_id::text)
 *   guest-scoped reads    one shard: hashtext(guest_id)
 *   guest and friend/block writes   ALL shards (idempotent), so that every
 *                         shard has the guests and blocks its rules check
 *   conversation_list     ALL shards, merged here by (activity, id) desc
 *   events_fetch, conversation_heads   SPLIT: each shard gets its own ids
 *   service keys          partition 0
 *
 * Remote functions (schema parley_proxy) return (answer jsonb, http_status
 * integer): the remote query reads parley.last_status() on the shard in the
 * same statement, and parley_proxy.relay() keeps it for this session's
 * parley.last_status().  Adding an API function is one block: a remote
 * function and a wrapper, whose handler turns PL/Proxy's failure to reach a
 * shard into connection_failure (see raise_unreachable).
 */

\echo Use "CREATE EXTENSION parley_proxy" to load this file. \quit

CREATE SCHEMA parley_proxy;

-- One answer of a shard: the function's JSON and the shard's last_status().
CREATE TYPE parley_proxy.answer AS (answer jsonb, http_status integer);

-- One conversation of a shard's conversation_list page, with what the merge
-- orders by and whether that shard has more.
CREATE TYPE parley_proxy.list_row AS (conversation jsonb, activity timestamptz,
                                      shard_has_more boolean);

-- ---------------------------------------------------------------------------
-- Helpers
-- ---------------------------------------------------------------------------

-- Routing keys.  A NULL key routes to partition of '' so that the shard
-- raises the same "must not be null" error as a single database would.
CREATE FUNCTION parley_proxy.conversation_hash(conversation_id uuid) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.hashtext(coalesce($1::text, '')) $$;

CREATE FUNCTION parley_proxy.guest_hash(guest_id text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT pg_catalog.hashtext(coalesce($1, '')) $$;

-- The extension's own id generators (extension/ids.c): a new group's
-- UUIDv7, and the UUIDv8 of a direct pair, the same on every shard.
CREATE FUNCTION parley_proxy.new_conversation_id() RETURNS uuid
AS '$libdir/parley', 'parley_new_conversation_id' LANGUAGE C VOLATILE;

CREATE FUNCTION parley_proxy.direct_id(a text, b text) RETURNS uuid
AS '$libdir/parley', 'parley_direct_id' LANGUAGE C IMMUTABLE;

-- Keep a shard's status for this session's parley.last_status().
CREATE FUNCTION parley_proxy.relay(a parley_proxy.answer) RETURNS jsonb
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_catalog.set_config('parley_proxy.last_status',
                                  coalesce(a.http_status::text, ''), false);
    RETURN a.answer;
END
$$;

-- The answer of a call that ran on all shards: 201 when any shard created
-- something (a first call, or a retry after a partial failure), else the
-- common status; the body of the first answer with that status.
CREATE FUNCTION parley_proxy.relay_all(answers parley_proxy.answer[]) RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT parley_proxy.relay(a)
      FROM unnest($1) AS a
     ORDER BY a.http_status DESC NULLS LAST
     LIMIT 1
$$;

-- PL/Proxy raises its own failures to reach a shard (connect, lost
-- connection) as internal_error; errors raised on a shard keep their
-- SQLSTATE and say REMOTE ERROR.  Called from every API wrapper's handler for
-- internal_error: a shard that cannot be reached becomes connection_failure
-- (parleyd: 503 database_unavailable with Retry-After), anything else is
-- re-raised as it was.
CREATE FUNCTION parley_proxy.raise_unreachable(message text) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF message LIKE 'PL/Proxy function %' AND message NOT LIKE '%REMOTE ERROR%' THEN
        RAISE EXCEPTION USING ERRCODE = 'connection_failure', MESSAGE = message,
            HINT = 'A shard of cluster parley_shards cannot be reached; retry later.';
    END IF;
END
$$;

CREATE FUNCTION parley.last_status() RETURNS integer
LANGUAGE sql VOLATILE AS $$
    SELECT nullif(pg_catalog.current_setting('parley_proxy.last_status', true), '')::integer
$$;
COMMENT ON FUNCTION parley.last_status() IS 'HTTP status of the last API call in this session, as the shard that ran it reported it.';

CREATE FUNCTION parley.version() RETURNS text
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON 0;
$$;
COMMENT ON FUNCTION parley.version() IS 'Version of the parley library on partition 0.';

-- ---------------------------------------------------------------------------
-- Guests: written on all shards, read from the guest's home partition.
-- ---------------------------------------------------------------------------

CREATE FUNCTION parley_proxy.guest_get(guest_id text) RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.guest_hash(guest_id);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.guest_get($1) r;
$$;
CREATE FUNCTION parley.guest_get(guest_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.guest_get($1));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.guest_upsert(guest_id text, display_name text, metadata jsonb)
RETURNS SETOF parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON ALL;
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.guest_upsert($1, $2, $3) r;
$$;
-- Every shard stores its own timestamps: answer with the home partition's row.
CREATE FUNCTION parley.guest_upsert(guest_id text, display_name text,
                                    metadata jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    created boolean;
BEGIN
    SELECT bool_or(a.http_status = 201) INTO created
      FROM parley_proxy.guest_upsert(guest_id, display_name, metadata) AS a;
    RETURN parley_proxy.relay(ROW((parley_proxy.guest_get(guest_id)).answer,
                                  CASE WHEN created THEN 201 ELSE 200 END)::parley_proxy.answer);
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

-- ---------------------------------------------------------------------------
-- Conversations: the id decides the shard.
-- ---------------------------------------------------------------------------

CREATE FUNCTION parley_proxy.conversation_create_direct(conversation_id uuid, actor text, kind text,
                                                        participants text[], title text)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status
      FROM parley.conversation_create($2, $3, $4, $5) r;
$$;

CREATE FUNCTION parley_proxy.conversation_create_at(conversation_id uuid, actor text, kind text,
                                                    participants text[], title text)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status
      FROM parley.conversation_create_at($2, $3, $4, $5, $1) r;
$$;

-- A direct pair goes to the shard of its derived id, so either guest finds
-- it again; anything else gets a new UUIDv7 here (bad input included: the
-- shard's checks run before the id is used, and raise the usual errors).
CREATE FUNCTION parley.conversation_create(actor text, kind text, participants text[],
                                           title text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    others text[];
BEGIN
    others := ARRAY(SELECT DISTINCT p FROM unnest(participants) AS p
                     WHERE p IS DISTINCT FROM actor);
    IF kind = 'direct' AND actor IS NOT NULL AND cardinality(others) = 1
       AND others[1] IS NOT NULL THEN
        RETURN parley_proxy.relay(parley_proxy.conversation_create_direct(
            parley_proxy.direct_id(actor, others[1]), actor, kind, participants, title));
    END IF;
    RETURN parley_proxy.relay(parley_proxy.conversation_create_at(
        parley_proxy.new_conversation_id(), actor, kind, participants, title));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.conversation_get(conversation_id uuid, actor text)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.conversation_get($1, $2) r;
$$;
CREATE FUNCTION parley.conversation_get(conversation_id uuid, actor text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.conversation_get($1, $2));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

-- Each shard answers its own first page (at most "limit" rows after the
-- cursor, which is shard-independent: activity and id); the activity of each
-- row comes from the same statement's snapshot.
CREATE FUNCTION parley_proxy.conversation_list(guest_id text, before text, "limit" integer, actor text)
RETURNS SETOF parley_proxy.list_row
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON ALL;
    SELECT e AS conversation,
           coalesce(c.last_message_at, c.created_at) AS activity,
           (l->>'has_more')::boolean AS shard_has_more
      FROM parley.conversation_list($1, $2, $3, $4) AS l
     CROSS JOIN LATERAL jsonb_array_elements(l->'conversations') AS e
      JOIN parley.conversations c ON c.id = (e->>'id')::uuid;
$$;

-- The extension's cursor: activity in microseconds since 2000-01-01 as 16
-- hex digits (two's complement), then the id's 32 hex digits.
CREATE FUNCTION parley_proxy.list_cursor(activity timestamptz, id uuid) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT lpad(to_hex(((extract(epoch FROM $1) - 946684800) * 1000000)::bigint), 16, '0')
           || replace($2::text, '-', '')
$$;

CREATE FUNCTION parley.conversation_list(guest_id text, before text DEFAULT NULL,
                                         "limit" integer DEFAULT 50, actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    page_size integer := coalesce("limit", 50);	-- the shards have checked it
    rows parley_proxy.list_row[];
    page jsonb;
    more boolean;
    last parley_proxy.list_row;
BEGIN
    rows := ARRAY(SELECT r FROM parley_proxy.conversation_list(guest_id, before, "limit", actor) AS r
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
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

-- ---------------------------------------------------------------------------
-- Participants, messages, read markers, events: one shard each.
-- ---------------------------------------------------------------------------

CREATE FUNCTION parley_proxy.participant_add(conversation_id uuid, actor text, guest_id text)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.participant_add($1, $2, $3) r;
$$;
CREATE FUNCTION parley.participant_add(conversation_id uuid, actor text, guest_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.participant_add($1, $2, $3));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.participant_remove(conversation_id uuid, actor text, guest_id text)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT NULL::jsonb AS answer, parley.last_status() AS http_status
      FROM parley.participant_remove($1, $2, $3);
$$;
CREATE FUNCTION parley.participant_remove(conversation_id uuid, actor text, guest_id text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM parley_proxy.relay(parley_proxy.participant_remove($1, $2, $3));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.message_post(conversation_id uuid, sender text, body text,
                                          client_msg_id text, metadata jsonb)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status
      FROM parley.message_post($1, $2, $3, $4, $5) r;
$$;
CREATE FUNCTION parley.message_post(conversation_id uuid, sender text, body text,
                                    client_msg_id text DEFAULT NULL, metadata jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.message_post($1, $2, $3, $4, $5));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.message_list(conversation_id uuid, actor text, before bigint,
                                          after bigint, "limit" integer)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status
      FROM parley.message_list($1, $2, $3, $4, $5) r;
$$;
CREATE FUNCTION parley.message_list(conversation_id uuid, actor text, before bigint DEFAULT NULL,
                                    after bigint DEFAULT NULL, "limit" integer DEFAULT 50)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.message_list($1, $2, $3, $4, $5));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.message_edit(conversation_id uuid, seq bigint, actor text, body text)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.message_edit($1, $2, $3, $4) r;
$$;
CREATE FUNCTION parley.message_edit(conversation_id uuid, seq bigint, actor text, body text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.message_edit($1, $2, $3, $4));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.message_delete(conversation_id uuid, seq bigint, actor text)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT NULL::jsonb AS answer, parley.last_status() AS http_status
      FROM parley.message_delete($1, $2, $3);
$$;
CREATE FUNCTION parley.message_delete(conversation_id uuid, seq bigint, actor text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM parley_proxy.relay(parley_proxy.message_delete($1, $2, $3));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.read_mark(conversation_id uuid, guest_id text, seq bigint)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.read_mark($1, $2, $3) r;
$$;
CREATE FUNCTION parley.read_mark(conversation_id uuid, guest_id text, seq bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.read_mark($1, $2, $3));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.events_subscribe(conversation_id uuid, actor text, after bigint)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.conversation_hash(conversation_id);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.events_subscribe($1, $2, $3) r;
$$;
CREATE FUNCTION parley.events_subscribe(conversation_id uuid, actor text, after bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.events_subscribe($1, $2, $3));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

-- The gateway's batched calls name many conversations: SPLIT sends each
-- shard only the ids (and cursors) that hash to it, and only the shards
-- concerned are called; the proxy puts the answers back together.
CREATE FUNCTION parley_proxy.events_fetch(conversation_ids uuid[], afters bigint[], "limit" integer)
RETURNS SETOF parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    SPLIT conversation_ids, afters;
    RUN ON parley_proxy.conversation_hash(conversation_ids);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.events_fetch($1, $2, $3) r;
$$;
-- In the order of the ids given, each ascending seq, as one shard would.
CREATE FUNCTION parley.events_fetch(conversation_ids uuid[], afters bigint[], "limit" integer DEFAULT 200)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT jsonb_build_object('messages', coalesce(jsonb_agg(m ORDER BY
                   array_position($1, (m->>'conversation_id')::uuid), (m->>'seq')::bigint), '[]'))
          FROM parley_proxy.events_fetch($1, $2, $3) AS a, jsonb_array_elements(a.answer->'messages') AS m);
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.conversation_heads(conversation_ids uuid[])
RETURNS SETOF parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    SPLIT conversation_ids;
    RUN ON parley_proxy.conversation_hash(conversation_ids);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.conversation_heads($1) r;
$$;
-- Each shard answers for its own ids: the objects are disjoint.
CREATE FUNCTION parley.conversation_heads(conversation_ids uuid[]) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN (SELECT coalesce(jsonb_object_agg(h.key, h.value), '{}')
          FROM parley_proxy.conversation_heads($1) AS a, jsonb_each(a.answer) AS h);
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

-- ---------------------------------------------------------------------------
-- Friends and blocks (0.2.0): the social graph is on every shard, like the
-- guests, because a shard checks blocks for direct conversations it holds.
-- Writes run on all shards; lists read the guest's home partition.
-- ---------------------------------------------------------------------------

CREATE FUNCTION parley_proxy.friend_request(guest_id text, other_id text)
RETURNS SETOF parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON ALL;
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.friend_request($1, $2) r;
$$;
CREATE FUNCTION parley.friend_request(guest_id text, other_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay_all(ARRAY(SELECT a FROM parley_proxy.friend_request($1, $2) AS a));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.friend_remove(guest_id text, other_id text)
RETURNS SETOF parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON ALL;
    SELECT NULL::jsonb AS answer, parley.last_status() AS http_status FROM parley.friend_remove($1, $2);
$$;
CREATE FUNCTION parley.friend_remove(guest_id text, other_id text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM parley_proxy.relay_all(ARRAY(SELECT a FROM parley_proxy.friend_remove($1, $2) AS a));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.guest_block(guest_id text, other_id text)
RETURNS SETOF parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON ALL;
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.guest_block($1, $2) r;
$$;
CREATE FUNCTION parley.guest_block(guest_id text, other_id text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay_all(ARRAY(SELECT a FROM parley_proxy.guest_block($1, $2) AS a));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.guest_unblock(guest_id text, other_id text)
RETURNS SETOF parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON ALL;
    SELECT NULL::jsonb AS answer, parley.last_status() AS http_status FROM parley.guest_unblock($1, $2);
$$;
CREATE FUNCTION parley.guest_unblock(guest_id text, other_id text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM parley_proxy.relay_all(ARRAY(SELECT a FROM parley_proxy.guest_unblock($1, $2) AS a));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley_proxy.friend_list(guest_id text, status text, before text, "limit" integer)
RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON parley_proxy.guest_hash(guest_id);
    SELECT r AS answer, parley.last_status() AS http_status FROM parley.friend_list($1, $2, $3, $4) r;
$$;
CREATE FUNCTION parley.friend_list(guest_id text, status text DEFAULT 'accepted',
                                   before text DEFAULT NULL, "limit" integer DEFAULT 50)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RETURN parley_proxy.relay(parley_proxy.friend_list($1, $2, $3, $4));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

-- ---------------------------------------------------------------------------
-- Service keys: partition 0 holds them all (few rows, rarely written; every
-- gateway reads them from there through the proxy).
-- ---------------------------------------------------------------------------

CREATE FUNCTION parley.service_key_create(name text) RETURNS text
LANGUAGE plproxy SECURITY DEFINER AS $$
    CLUSTER 'parley_shards';
    RUN ON 0;
$$;

CREATE FUNCTION parley_proxy.service_key_revoke(name text) RETURNS parley_proxy.answer
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON 0;
    SELECT NULL::jsonb AS answer, parley.last_status() AS http_status FROM parley.service_key_revoke($1);
$$;
CREATE FUNCTION parley.service_key_revoke(name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM parley_proxy.relay(parley_proxy.service_key_revoke($1));
EXCEPTION WHEN internal_error THEN
    PERFORM parley_proxy.raise_unreachable(SQLERRM);
    RAISE;
END
$$;

CREATE FUNCTION parley.service_key_hashes() RETURNS TABLE (name text, key_hash bytea)
LANGUAGE plproxy SECURITY DEFINER AS $$
    CLUSTER 'parley_shards';
    RUN ON 0;
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA parley FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA parley_proxy FROM PUBLIC;
