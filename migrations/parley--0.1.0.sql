/* parley 0.1.0: guests, conversations, participants, messages, read markers,
 * service keys.  Every domain operation is a C function in extension/; this
 * script only declares tables, indexes and signatures. */

\echo Use "CREATE EXTENSION parley" to load this file. \quit

-- Lengths are counted in Unicode code points: the database must be UTF-8.
DO $$
BEGIN
    IF pg_catalog.getdatabaseencoding() <> 'UTF8' THEN
        RAISE EXCEPTION 'parley needs a UTF8 database, not %', pg_catalog.getdatabaseencoding()
            USING ERRCODE = 'feature_not_supported';
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Tables.  Every conversation-scoped table carries conversation_id first in
-- its key so that a proxy can shard by it (see docs/scaling.md).
-- ---------------------------------------------------------------------------

CREATE TABLE parley.guests (
    guest_id     text        PRIMARY KEY,
    display_name text        NOT NULL,
    metadata     jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE parley.guests IS 'Guest profiles, created or replaced by guest_upsert().';
COMMENT ON COLUMN parley.guests.guest_id IS 'Caller-chosen id: 1-64 bytes of [A-Za-z0-9._:@-].';
COMMENT ON COLUMN parley.guests.display_name IS 'Name shown to others, trimmed, 1-64 characters, no control characters.';
COMMENT ON COLUMN parley.guests.metadata IS 'Free-form JSON object, at most 16 KiB as text and 32 levels deep.';
COMMENT ON COLUMN parley.guests.created_at IS 'When the guest was first upserted.';
COMMENT ON COLUMN parley.guests.updated_at IS 'When the guest was last upserted.';

CREATE TABLE parley.conversations (
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL CHECK (kind IN ('direct', 'group')),
    title           text,
    created_by      text        NOT NULL REFERENCES parley.guests (guest_id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seq        bigint      NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    last_message_at timestamptz
);
COMMENT ON TABLE parley.conversations IS 'Direct (two guests, one per pair) and group conversations.';
COMMENT ON COLUMN parley.conversations.id IS 'UUIDv7 for groups; for direct conversations a UUIDv8 derived from the sorted pair, so the pair finds it again on any shard.';
COMMENT ON COLUMN parley.conversations.kind IS 'direct or group.';
COMMENT ON COLUMN parley.conversations.title IS 'Optional title, at most 200 characters.';
COMMENT ON COLUMN parley.conversations.created_by IS 'Guest that created the conversation (owner of a group at creation).';
COMMENT ON COLUMN parley.conversations.created_at IS 'Creation time; activity time while there is no message.';
COMMENT ON COLUMN parley.conversations.last_seq IS 'Seq of the newest message; the row lock on it serialises posts and keeps seq gapless.';
COMMENT ON COLUMN parley.conversations.last_message_at IS 'Time of the newest message, NULL while there is none.';

CREATE TABLE parley.participants (
    conversation_id uuid        NOT NULL REFERENCES parley.conversations (id),
    guest_id        text        NOT NULL REFERENCES parley.guests (guest_id),
    role            text        NOT NULL CHECK (role IN ('owner', 'member')),
    joined_at       timestamptz NOT NULL DEFAULT now(),
    last_read_seq   bigint      NOT NULL DEFAULT 0 CHECK (last_read_seq >= 0),
    PRIMARY KEY (conversation_id, guest_id)
);
-- conversation_list(): a guest's conversations.
CREATE INDEX participants_guest_idx ON parley.participants (guest_id, conversation_id);
COMMENT ON TABLE parley.participants IS 'Membership and read markers; a removed participant''s row is deleted.';
COMMENT ON COLUMN parley.participants.conversation_id IS 'The conversation.';
COMMENT ON COLUMN parley.participants.guest_id IS 'The member.';
COMMENT ON COLUMN parley.participants.role IS 'owner (the creator of a group, or its successor) or member.';
COMMENT ON COLUMN parley.participants.joined_at IS 'When the guest joined; the earliest member succeeds a leaving owner.';
COMMENT ON COLUMN parley.participants.last_read_seq IS 'Read marker: never moves backwards, never passes conversations.last_seq.';

CREATE TABLE parley.messages (
    conversation_id uuid        NOT NULL REFERENCES parley.conversations (id),
    seq             bigint      NOT NULL CHECK (seq > 0),
    id              uuid        NOT NULL,
    sender_id       text        NOT NULL REFERENCES parley.guests (guest_id),
    body            text,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    client_msg_id   text,
    body_digest     bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    edited_at       timestamptz,
    deleted_at      timestamptz,
    PRIMARY KEY (conversation_id, seq),
    CHECK ((deleted_at IS NULL) = (body IS NOT NULL))
);
-- Idempotent posts: one message per (conversation, sender, client_msg_id).
CREATE UNIQUE INDEX messages_client_msg_id_key
    ON parley.messages (conversation_id, sender_id, client_msg_id)
    WHERE client_msg_id IS NOT NULL;
COMMENT ON TABLE parley.messages IS 'Messages; deleted ones stay as tombstones so seq stays gapless.';
COMMENT ON COLUMN parley.messages.conversation_id IS 'The conversation (shard key).';
COMMENT ON COLUMN parley.messages.seq IS 'Position in the conversation: 1, 2, 3, ... gapless in commit order.';
COMMENT ON COLUMN parley.messages.id IS 'UUIDv7 (RFC 9562), time-ordered, unique.';
COMMENT ON COLUMN parley.messages.sender_id IS 'Guest that posted the message.';
COMMENT ON COLUMN parley.messages.body IS 'Text, 1-4000 characters; NULL once deleted.';
COMMENT ON COLUMN parley.messages.metadata IS 'JSON object, at most 16 KiB; emptied on delete.';
COMMENT ON COLUMN parley.messages.client_msg_id IS 'Optional idempotency key chosen by the sender, 1-64 bytes.';
COMMENT ON COLUMN parley.messages.body_digest IS 'SHA-256 of the body as first posted, kept to tell a replay from a conflicting reuse of client_msg_id.';
COMMENT ON COLUMN parley.messages.created_at IS 'When the message was posted.';
COMMENT ON COLUMN parley.messages.edited_at IS 'When the body was last edited, NULL if never.';
COMMENT ON COLUMN parley.messages.deleted_at IS 'When the message was deleted, NULL if not.';

CREATE TABLE parley.service_keys (
    name       text        PRIMARY KEY,
    key_hash   bytea       NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
COMMENT ON TABLE parley.service_keys IS 'API keys for services; only the SHA-256 of a key is stored.';
COMMENT ON COLUMN parley.service_keys.name IS 'Name chosen by the DBA, 1-64 bytes of [A-Za-z0-9._:@-].';
COMMENT ON COLUMN parley.service_keys.key_hash IS 'SHA-256 of the key; the plaintext is shown once by service_key_create().';
COMMENT ON COLUMN parley.service_keys.created_at IS 'When the key was created.';
COMMENT ON COLUMN parley.service_keys.revoked_at IS 'When the key was revoked, NULL while it is valid.';

-- pg_dump keeps the rows of extension tables only when asked to.
SELECT pg_catalog.pg_extension_config_dump('parley.guests', '');
SELECT pg_catalog.pg_extension_config_dump('parley.conversations', '');
SELECT pg_catalog.pg_extension_config_dump('parley.participants', '');
SELECT pg_catalog.pg_extension_config_dump('parley.messages', '');
SELECT pg_catalog.pg_extension_config_dump('parley.service_keys', '');

-- ---------------------------------------------------------------------------
-- Functions.  None is STRICT: a NULL argument gets a clear error, not a NULL
-- result.  All are SECURITY DEFINER with a pinned search_path; EXECUTE is
-- revoked from PUBLIC at the end and granted by the DBA (README, "Roles").
-- ---------------------------------------------------------------------------

CREATE FUNCTION parley.guest_upsert(guest_id text, display_name text,
                                    metadata jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_upsert'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_upsert(text, text, jsonb) IS 'Create or replace a guest profile; last_status() is 201 when created, 200 when updated.';

CREATE FUNCTION parley.guest_get(guest_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_get'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_get(text) IS 'One guest profile.';

CREATE FUNCTION parley.conversation_create(actor text, kind text,
                                           participants text[],
                                           title text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_create'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_create(text, text, text[], text) IS 'Create a direct or group conversation; a direct one that exists is returned with last_status() 200.';

CREATE FUNCTION parley.conversation_get(conversation_id uuid, actor text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_get'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_get(uuid, text) IS 'A conversation and its participants, for a participant.';

CREATE FUNCTION parley.conversation_list(guest_id text, before text DEFAULT NULL,
                                         "limit" integer DEFAULT 50,
                                         actor text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_list'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_list(text, text, integer, text) IS 'A guest''s conversations, latest activity first, with unread counts; actor, when given, must be the guest.';

CREATE FUNCTION parley.participant_add(conversation_id uuid, actor text, guest_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'participant_add'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.participant_add(uuid, text, text) IS 'Add a guest to a group; last_status() 201 when added, 200 when already in.';

CREATE FUNCTION parley.participant_remove(conversation_id uuid, actor text, guest_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'participant_remove'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.participant_remove(uuid, text, text) IS 'Remove a guest from a group (itself, or anyone when the actor is the owner).';

CREATE FUNCTION parley.message_post(conversation_id uuid, sender text, body text,
                                    client_msg_id text DEFAULT NULL,
                                    metadata jsonb DEFAULT '{}')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_post'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_post(uuid, text, text, text, jsonb) IS 'Append a message with the next seq; a client_msg_id replay returns the original with last_status() 200.';

CREATE FUNCTION parley.message_list(conversation_id uuid, actor text,
                                    before bigint DEFAULT NULL,
                                    after bigint DEFAULT NULL,
                                    "limit" integer DEFAULT 50)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_list'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_list(uuid, text, bigint, bigint, integer) IS 'A keyset page of messages in ascending seq: newest before "before", or oldest after "after".';

CREATE FUNCTION parley.message_edit(conversation_id uuid, seq bigint, actor text, body text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_edit'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_edit(uuid, bigint, text, text) IS 'Replace the body of one''s own message.';

CREATE FUNCTION parley.message_delete(conversation_id uuid, seq bigint, actor text)
RETURNS void
AS 'MODULE_PATHNAME', 'message_delete'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_delete(uuid, bigint, text) IS 'Turn a message into a tombstone (the sender, or a group''s owner).';

CREATE FUNCTION parley.read_mark(conversation_id uuid, guest_id text, seq bigint)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'read_mark'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.read_mark(uuid, text, bigint) IS 'Move a read marker forward, clamped to last_seq; never backwards.';

CREATE FUNCTION parley.service_key_create(name text)
RETURNS text
AS 'MODULE_PATHNAME', 'service_key_create'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.service_key_create(text) IS 'Create a service key and return its plaintext, once; only its hash is stored.';

CREATE FUNCTION parley.service_key_revoke(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'service_key_revoke'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.service_key_revoke(text) IS 'Revoke a service key by name.';

CREATE FUNCTION parley.service_key_hashes()
RETURNS TABLE (name text, key_hash bytea)
AS 'MODULE_PATHNAME', 'service_key_hashes'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.service_key_hashes() IS 'Names and SHA-256 hashes of the valid keys, for a gateway''s key cache.';

CREATE FUNCTION parley.last_status()
RETURNS integer
AS 'MODULE_PATHNAME', 'last_status'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION parley.last_status() IS 'HTTP status of the last API call in this session: 201 created, 200 found or updated, 204 nothing to return.';

CREATE FUNCTION parley.version()
RETURNS text
AS 'MODULE_PATHNAME', 'parley_version'
LANGUAGE C IMMUTABLE;
COMMENT ON FUNCTION parley.version() IS 'Version of the loaded parley library.';

CREATE FUNCTION parley.events_subscribe(conversation_id uuid, actor text, after bigint DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'events_subscribe'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.events_subscribe(uuid, text, bigint) IS 'Check that actor may stream the conversation''s events; answers {"last_seq"}.';

CREATE FUNCTION parley.events_fetch(conversation_ids uuid[], afters bigint[], "limit" integer DEFAULT 200)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'events_fetch'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.events_fetch(uuid[], bigint[], integer) IS 'For each conversation the oldest messages with seq > its after, for a gateway''s event fan-out, many conversations per call (no actor check: gateway only).';

CREATE FUNCTION parley.conversation_heads(conversation_ids uuid[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_heads'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_heads(uuid[]) IS 'last_seq of each given conversation, {"<id>": last_seq}, for a gateway''s safety poll.';

CREATE FUNCTION parley.conversation_create_at(actor text, kind text, participants text[],
                                              title text, conversation_id uuid)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_create_at'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_create_at(text, text, text[], text, uuid) IS 'conversation_create() of a group whose id the caller chose: a PL/Proxy proxy routes by that id (docs/scaling.md).';

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA parley FROM PUBLIC;
