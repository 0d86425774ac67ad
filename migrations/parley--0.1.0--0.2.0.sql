/* parley 0.1.0 -> 0.2.0: friends and blocks, block-aware message_post and
 * conversation_create, the parley.stats monitoring view.
 *
 * A fresh install of 0.2.0 runs parley--0.1.0.sql and then this script
 * (PostgreSQL follows the update chain), so this file is the only source of
 * the 0.2.0 schema; test/tap/021_upgrade.pl checks that an updated database
 * and a fresh one dump the same schema. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Tables.  Both are guest-scoped and keyed by (guest_id, other_id) so that a
-- proxy sharding by guest id finds each guest's side with that guest: a
-- friendship is two directed rows, one per side, and so is a block.  Only
-- guest_id references guests; other_id may live on another shard.
-- ---------------------------------------------------------------------------

CREATE TABLE parley.friendships (
    guest_id text        NOT NULL REFERENCES parley.guests (guest_id),
    other_id text        NOT NULL,
    status   text        NOT NULL CHECK (status IN ('accepted', 'outgoing', 'incoming')),
    since    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guest_id, other_id),
    CHECK (guest_id <> other_id)
);
-- friend_list(): one guest's friends of one status, newest first.
CREATE INDEX friendships_list_idx
    ON parley.friendships (guest_id, status, since DESC, other_id DESC);
COMMENT ON TABLE parley.friendships IS 'Friendships and friend requests, two rows per pair: one from each side.';
COMMENT ON COLUMN parley.friendships.guest_id IS 'The guest whose side this row is (shard key).';
COMMENT ON COLUMN parley.friendships.other_id IS 'The other guest.';
COMMENT ON COLUMN parley.friendships.status IS 'From guest_id''s side: accepted, outgoing (guest_id asked) or incoming (other_id asked).';
COMMENT ON COLUMN parley.friendships.since IS 'When the current status began (the request, or its acceptance).';

CREATE TABLE parley.blocks (
    guest_id  text        NOT NULL REFERENCES parley.guests (guest_id),
    other_id  text        NOT NULL,
    direction text        NOT NULL CHECK (direction IN ('blocking', 'blocked_by')),
    since     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guest_id, other_id, direction),
    CHECK (guest_id <> other_id)
);
COMMENT ON TABLE parley.blocks IS 'Blocks, two rows per block: blocking on the blocker''s side, blocked_by on the other''s; any row between two guests forbids requests and their direct conversation.';
COMMENT ON COLUMN parley.blocks.guest_id IS 'The guest whose side this row is (shard key).';
COMMENT ON COLUMN parley.blocks.other_id IS 'The other guest.';
COMMENT ON COLUMN parley.blocks.direction IS 'blocking: guest_id blocks other_id (only guest_id can lift it); blocked_by: other_id blocks guest_id.';
COMMENT ON COLUMN parley.blocks.since IS 'When the block was made.';

SELECT pg_catalog.pg_extension_config_dump('parley.friendships', '');
SELECT pg_catalog.pg_extension_config_dump('parley.blocks', '');

-- ---------------------------------------------------------------------------
-- Functions.
-- ---------------------------------------------------------------------------

CREATE FUNCTION parley.friend_request(guest_id text, other_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'friend_request'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.friend_request(text, text) IS 'Ask other_id to be friends, or accept its request; last_status() 201 for a new request, 200 otherwise.';

CREATE FUNCTION parley.friend_remove(guest_id text, other_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'friend_remove'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.friend_remove(text, text) IS 'Unfriend, cancel an outgoing request or decline an incoming one.';

CREATE FUNCTION parley.guest_block(guest_id text, other_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_block'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_block(text, text) IS 'Block other_id: ends any friendship or request between the two and forbids new ones and their direct conversation.';

CREATE FUNCTION parley.guest_unblock(guest_id text, other_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'guest_unblock'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_unblock(text, text) IS 'Lift a block that guest_id holds on other_id.';

CREATE FUNCTION parley.friend_list(guest_id text, status text DEFAULT 'accepted',
                                   before text DEFAULT NULL,
                                   "limit" integer DEFAULT 50)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'friend_list'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.friend_list(text, text, text, integer) IS 'A guest''s friends (accepted) or requests (incoming, outgoing), newest first, keyset paged.';

-- The same signatures, now bound to the block-aware C symbols: one parley.so
-- serves databases at 0.1.0 (no blocks table) and at 0.2.0.
CREATE OR REPLACE FUNCTION parley.message_post(conversation_id uuid, sender text, body text,
                                               client_msg_id text DEFAULT NULL,
                                               metadata jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_post_v0_2'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_post(uuid, text, text, text, jsonb) IS 'Append a message with the next seq; a client_msg_id replay returns the original with last_status() 200; refused while a block stands in a direct conversation.';

CREATE OR REPLACE FUNCTION parley.conversation_create(actor text, kind text,
                                                      participants text[],
                                                      title text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_create_v0_2'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_create(text, text, text[], text) IS 'Create a direct or group conversation; a direct one that exists is returned with last_status() 200; no direct conversation while a block stands.';

REVOKE ALL ON FUNCTION
    parley.friend_request(text, text),
    parley.friend_remove(text, text),
    parley.guest_block(text, text),
    parley.guest_unblock(text, text),
    parley.friend_list(text, text, text, integer)
FROM PUBLIC;

-- ---------------------------------------------------------------------------
-- Monitoring.  One row per figure: metric, subject, value, detail.  Row
-- counts are the planner's estimates (pg_class.reltuples, refreshed by
-- ANALYZE and autovacuum).  The busiest and oldest-unread rows scan
-- conversations and participants: read the view from a monitoring job every
-- few minutes, not per request (docs/operations.md).
-- ---------------------------------------------------------------------------

CREATE VIEW parley.stats AS
WITH tables AS (
    SELECT c.oid, c.relname, c.reltuples
      FROM pg_catalog.pg_class c
     WHERE c.relnamespace = 'parley'::regnamespace AND c.relkind = 'r'
)
SELECT 'rows_estimate'::text AS metric, t.relname::text AS subject,
       GREATEST(t.reltuples, 0)::bigint AS value, NULL::text AS detail
  FROM tables t
UNION ALL
SELECT 'table_bytes', t.relname::text, pg_catalog.pg_table_size(t.oid),
       pg_catalog.pg_size_pretty(pg_catalog.pg_table_size(t.oid))
  FROM tables t
UNION ALL
SELECT 'index_bytes', t.relname::text, pg_catalog.pg_indexes_size(t.oid),
       pg_catalog.pg_size_pretty(pg_catalog.pg_indexes_size(t.oid))
  FROM tables t
UNION ALL
SELECT * FROM (
    SELECT 'busiest_conversation', c.id::text, c.last_seq,
           'last message at ' || COALESCE(c.last_message_at::text, 'never')
      FROM parley.conversations c
     ORDER BY c.last_seq DESC, c.id LIMIT 10) AS busiest
UNION ALL
SELECT * FROM (
    SELECT 'oldest_unread_seconds', p.guest_id || ' in ' || p.conversation_id::text,
           EXTRACT(epoch FROM now() - m.created_at)::bigint,
           (c.last_seq - p.last_read_seq) || ' unread since ' || m.created_at::text
      FROM parley.participants p
      JOIN parley.conversations c ON c.id = p.conversation_id
      JOIN parley.messages m ON m.conversation_id = p.conversation_id
                            AND m.seq = p.last_read_seq + 1
     WHERE p.last_read_seq < c.last_seq
     ORDER BY m.created_at, p.conversation_id, p.guest_id LIMIT 10) AS oldest;
COMMENT ON VIEW parley.stats IS 'Monitoring figures: estimated rows, table and index bytes per table, the 10 busiest conversations, the 10 oldest unread messages.';
COMMENT ON COLUMN parley.stats.metric IS 'rows_estimate, table_bytes, index_bytes, busiest_conversation (value: last_seq) or oldest_unread_seconds (value: age of the oldest unread message).';
COMMENT ON COLUMN parley.stats.subject IS 'Table name, conversation id, or "guest in conversation".';
COMMENT ON COLUMN parley.stats.value IS 'The figure.';
COMMENT ON COLUMN parley.stats.detail IS 'Human-readable context: pretty size, last message time, unread count.';
REVOKE ALL ON parley.stats FROM PUBLIC;
GRANT SELECT ON parley.stats TO pg_monitor;
