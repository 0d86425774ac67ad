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
