/* parley 0.4.0 -> 0.5.0: messages (API.md section 9): reactions, replies
 * and threads, pages around a message, search, attachments, conversation
 * updates, per-guest conversation settings and mark unread.
 *
 * Each part below is one block with its own heading; a fresh install of
 * 0.5.0 runs parley--0.1.0.sql and the update scripts in order, so this
 * script is also what a fresh install runs. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.5.0'" to load this file. \quit

-- == reactions, replies, around, attachments, mark unread ==================
-- extension/reactions.c, extension/attachments.c and extension/messages.c
-- state the invariants.

-- The message row keeps what a page renders, so a page of 50 costs no
-- extra query: the reaction counts (kept by reaction_add/reaction_remove
-- in the same transaction as the reaction rows), the reply it answers and
-- how many replies it has, its attachments.
ALTER TABLE parley.messages
    ADD COLUMN reactions          jsonb   NOT NULL DEFAULT '{}',
    ADD COLUMN reply_to           bigint  CHECK (reply_to > 0),
    ADD COLUMN reply_count        integer NOT NULL DEFAULT 0,
    ADD COLUMN attachments        jsonb   NOT NULL DEFAULT '[]',
    ADD COLUMN reacted_change_seq bigint;
COMMENT ON COLUMN parley.messages.reactions IS 'Reaction counts {"key": count}, kept with parley.reactions in the same transaction; {} when none (and on tombstones).';
COMMENT ON COLUMN parley.messages.reply_to IS 'The seq of the message of the same conversation this one replies to; NULL if none.';
COMMENT ON COLUMN parley.messages.reply_count IS 'How many messages reply to this one, deleted ones too.';
COMMENT ON COLUMN parley.messages.attachments IS 'References to files ([{"url", "mime_type", "size", ...}], validated in C); [] when none (and on tombstones).';
COMMENT ON COLUMN parley.messages.reacted_change_seq IS 'The change_seq of the last reaction change; equal to change_seq when that was the last change (a message_reacted event).';

-- message_list(thread => S): the replies to S in seq order, a range scan.
-- Partial: most messages reply to nothing.
CREATE INDEX messages_thread_idx ON parley.messages (conversation_id, reply_to, seq)
    WHERE reply_to IS NOT NULL;

-- Who reacted with what.  conversation_id first: it lives on the shard of
-- its conversation, with the messages.
CREATE TABLE parley.reactions (
    conversation_id uuid        NOT NULL,
    seq             bigint      NOT NULL,
    key             text        NOT NULL CHECK (octet_length(key) BETWEEN 1 AND 32),
    guest_id        text        NOT NULL REFERENCES parley.guests (guest_id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq, key, guest_id),
    FOREIGN KEY (conversation_id, seq) REFERENCES parley.messages (conversation_id, seq) ON DELETE CASCADE
);
-- reaction_list(): one message's reactions, newest first (keyset pages).
CREATE INDEX reactions_list_idx ON parley.reactions (conversation_id, seq, created_at, guest_id, key);
-- guests' ON DELETE CASCADE probes by guest.
CREATE INDEX reactions_guest_idx ON parley.reactions (guest_id);
COMMENT ON TABLE parley.reactions IS 'Reactions to messages: one row per (message, key, guest); the counts are in messages.reactions.';
COMMENT ON COLUMN parley.reactions.conversation_id IS 'The conversation (shard key).';
COMMENT ON COLUMN parley.reactions.seq IS 'The message reacted to.';
COMMENT ON COLUMN parley.reactions.key IS '1-32 bytes: [a-z0-9_+:-]+ or emoji code points only, stored as sent.';
COMMENT ON COLUMN parley.reactions.guest_id IS 'The guest who reacted.';
COMMENT ON COLUMN parley.reactions.created_at IS 'When the guest reacted.';

-- message_post takes reply_to and attachments: a new signature.  The old
-- function goes once the gateway roles that could run it may run the new
-- one (a call with five arguments resolves to the new one).
CREATE FUNCTION parley.message_post(conversation_id uuid, sender text, body text,
                                    client_msg_id text DEFAULT NULL, metadata jsonb DEFAULT '{}',
                                    reply_to bigint DEFAULT NULL, attachments jsonb DEFAULT '[]')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_post_v0_5'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_post(uuid, text, text, text, jsonb, bigint, jsonb) IS 'Append a message; last_status() is 201, or 200 on an idempotent replay of client_msg_id.  reply_to: the seq of a message of the same conversation; attachments: at most 10 references (body may then be empty).';

-- message_list takes thread (the replies to a seq) and around (the page
-- that holds a seq): a new signature.
CREATE FUNCTION parley.message_list(conversation_id uuid, actor text, before bigint DEFAULT NULL,
                                    after bigint DEFAULT NULL, "limit" integer DEFAULT 50,
                                    thread bigint DEFAULT NULL, around bigint DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_list_v0_5'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_list(uuid, text, bigint, bigint, integer, bigint, bigint) IS 'A keyset page of messages in ascending seq, {"messages", "has_more"}; thread: only the replies to that seq; around: the page holding that seq, {"messages", "has_more_before", "has_more_after"}.';

-- The same signatures, bound to C symbols that render the new message
-- fields (and, for a delete, drop the tombstone's reactions).
CREATE OR REPLACE FUNCTION parley.message_edit(conversation_id uuid, seq bigint, actor text, body text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_edit_v0_5'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION parley.message_delete(conversation_id uuid, seq bigint, actor text)
RETURNS void
AS 'MODULE_PATHNAME', 'message_delete_v0_5'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION parley.events_fetch(conversation_ids uuid[], afters bigint[], "limit" integer DEFAULT 200)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'events_fetch_v0_5'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION parley.events_changes(conversation_id uuid, after_change bigint, guests text[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'events_changes_v0_5'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.events_changes(uuid, bigint, text[]) IS 'The messages of a conversation edited, deleted or reacted to after a change_seq ("reacted": per message, whether a reaction was its last change), and which of the given guests take no part any more, for a gateway''s live streams (no actor check: gateway only).';

CREATE FUNCTION parley.reaction_add(conversation_id uuid, seq bigint, actor text, key text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'reaction_add'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.reaction_add(uuid, bigint, text, text) IS 'React to a message with key; answers the message with its new counts; last_status() is 201, or 200 when the guest had already reacted with key.';

CREATE FUNCTION parley.reaction_remove(conversation_id uuid, seq bigint, actor text, key text)
RETURNS void
AS 'MODULE_PATHNAME', 'reaction_remove'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.reaction_remove(uuid, bigint, text, text) IS 'Take back the acting guest''s reaction key to a message.';

CREATE FUNCTION parley.reaction_list(conversation_id uuid, seq bigint, actor text, key text DEFAULT NULL,
                                     before text DEFAULT NULL, "limit" integer DEFAULT 50)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'reaction_list'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.reaction_list(uuid, bigint, text, text, text, integer) IS 'Who reacted to a message (with key, or with any), newest first: {"reactions", "has_more", "next_before"}.';

CREATE FUNCTION parley.read_mark_unread(conversation_id uuid, guest_id text, seq bigint)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'read_mark_unread'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.read_mark_unread(uuid, text, bigint) IS 'Mark unread from seq on: the guest''s read marker becomes seq - 1 (it may move back), clamped to last_seq; answers as read_mark.';

REVOKE ALL ON FUNCTION
    parley.message_post(uuid, text, text, text, jsonb, bigint, jsonb),
    parley.message_list(uuid, text, bigint, bigint, integer, bigint, bigint),
    parley.reaction_add(uuid, bigint, text, text),
    parley.reaction_remove(uuid, bigint, text, text),
    parley.reaction_list(uuid, bigint, text, text, text, integer),
    parley.read_mark_unread(uuid, text, bigint)
FROM PUBLIC;

-- A gateway role granted the 0.4.0 API (extension/gateway-role.sql) keeps
-- working after the update: it may run the new signatures and functions.
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.message_post(uuid, text, text, text, jsonb)', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION'
                                  ' parley.message_post(uuid, text, text, text, jsonb, bigint, jsonb),'
                                  ' parley.message_list(uuid, text, bigint, bigint, integer, bigint, bigint),'
                                  ' parley.reaction_add(uuid, bigint, text, text),'
                                  ' parley.reaction_remove(uuid, bigint, text, text),'
                                  ' parley.reaction_list(uuid, bigint, text, text, text, integer),'
                                  ' parley.read_mark_unread(uuid, text, bigint) TO %I', r);
    END LOOP;
END
$$;

DROP FUNCTION parley.message_post(uuid, text, text, text, jsonb);
DROP FUNCTION parley.message_list(uuid, text, bigint, bigint, integer);

-- As in 0.3.0 -> 0.4.0: the grants copied to gateway roles above are not
-- the extension's own; keep only the owner's, PUBLIC's and pg_monitor's in
-- pg_init_privs, as a fresh install records them.
UPDATE pg_catalog.pg_init_privs i
   SET initprivs = ARRAY(SELECT a FROM pg_catalog.unnest(i.initprivs) AS a
                          WHERE (SELECT e.grantee FROM pg_catalog.aclexplode(ARRAY[a]) AS e LIMIT 1)
                                IN (0, o.owner, 'pg_monitor'::regrole))
  FROM (SELECT 'pg_catalog.pg_proc'::regclass AS classoid, p.oid, p.proowner AS owner
          FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'parley'::regnamespace) AS o
 WHERE i.classoid = o.classoid AND i.objoid = o.oid AND i.objsubid = 0;

-- == end of reactions, replies, around, attachments, mark unread ===========


-- == search, per-guest settings ============================================

-- Search (extension/search.c, docs/search.md).  The index expression: the
-- folded words of a message and a lexeme naming its conversation.  No
-- search_path setting (a C function that runs no SQL; a SET clause would
-- cost every insert a GUC save and restore).  Not STRICT, like every
-- function of the schema; a NULL argument gives NULL (a tombstone).
CREATE FUNCTION parley.message_search_vector(conversation_id uuid, body text)
RETURNS tsvector
AS 'MODULE_PATHNAME', 'message_search_vector'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION parley.message_search_vector(uuid, text) IS 'The search index''s expression: the words of body (NFKD, case-folded, accents dropped; runs of letters and digits) and the lexeme #<conversation id hex>.';

-- GIN with a small pending list (256 kB, not the default 4 MB): a post
-- appends its entries to the list, and whichever post finds the list full
-- merges it, sorted, into the index (others do not wait for it).  Posting
-- every entry at once (fastupdate = off) halves post throughput on the hot
-- posting lists of common words; a 4 MB list makes rare, long merges (the
-- stall Synapse saw).  make bench (test/bench/search.sh) measures all
-- three; docs/search.md has the figures.  Partial: tombstones are not in it.
CREATE INDEX messages_search_idx ON parley.messages
    USING gin (parley.message_search_vector(conversation_id, body))
    WITH (fastupdate = on, gin_pending_list_limit = 256)
    WHERE body IS NOT NULL;

CREATE FUNCTION parley.message_search(conversation_id uuid, actor text, q text,
                                      before text DEFAULT NULL,
                                      "limit" integer DEFAULT 50)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_search'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_search(uuid, text, text, text, integer) IS 'Messages of a conversation whose body has every word of q (word prefixes; case and accents ignored), newest first; {"messages", "has_more", "next_before"}.';

CREATE FUNCTION parley.guest_message_search(guest_id text, q text,
                                            before text DEFAULT NULL,
                                            "limit" integer DEFAULT 50,
                                            actor text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_message_search'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_message_search(text, text, text, integer, text) IS 'message_search() across the conversations the guest is in, newest first; actor, when given, must be the guest.';

-- Per-guest settings (extension/settings.c): columns of the guest's
-- participants row, added without a table rewrite.
ALTER TABLE parley.participants
    ADD COLUMN notifications_off_until timestamptz,
    ADD COLUMN archived boolean NOT NULL DEFAULT false,
    ADD COLUMN pinned boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN parley.participants.notifications_off_until IS 'The guest''s notifications of this conversation are off until then (NULL: on).';
COMMENT ON COLUMN parley.participants.archived IS 'The guest archived the conversation (conversation_list(archived => ...) filters on it).';
COMMENT ON COLUMN parley.participants.pinned IS 'The guest pinned the conversation (shown in its list; the order does not change).';

CREATE FUNCTION parley.conversation_settings_update(conversation_id uuid, actor text,
                                                    notifications_off_until jsonb DEFAULT NULL,
                                                    archived jsonb DEFAULT NULL,
                                                    pinned jsonb DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_settings_update'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_settings_update(uuid, text, jsonb, jsonb, jsonb) IS 'Set the acting guest''s settings of a conversation; each argument is the JSON value of its field (SQL NULL: unchanged; notifications_off_until JSON null: on again); answers the conversation as in the guest''s list.';

-- conversation_list takes archived: a new signature.  The old function goes
-- once the gateway roles that could run it may run the new one.
CREATE FUNCTION parley.conversation_list(guest_id text, before text DEFAULT NULL,
                                         "limit" integer DEFAULT 50,
                                         actor text DEFAULT NULL,
                                         archived boolean DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_list_v0_5'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_list(text, text, integer, text, boolean) IS 'A guest''s conversations, latest activity first, with unread counts and the guest''s settings; actor, when given, must be the guest; archived true or false lists only those archived or not.';

REVOKE ALL ON FUNCTION
    parley.message_search_vector(uuid, text),
    parley.message_search(uuid, text, text, text, integer),
    parley.guest_message_search(text, text, text, integer, text),
    parley.conversation_settings_update(uuid, text, jsonb, jsonb, jsonb),
    parley.conversation_list(text, text, integer, text, boolean)
FROM PUBLIC;

-- A gateway role granted the 0.4.0 API keeps working after the update.
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.conversation_list(text, text, integer, text)', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION'
                                  ' parley.message_search(uuid, text, text, text, integer),'
                                  ' parley.guest_message_search(text, text, text, integer, text),'
                                  ' parley.conversation_settings_update(uuid, text, jsonb, jsonb, jsonb),'
                                  ' parley.conversation_list(text, text, integer, text, boolean) TO %I', r);
    END LOOP;
END
$$;

DROP FUNCTION parley.conversation_list(text, text, integer, text);

-- The grants copied to gateway roles above are not the extension's own:
-- keep only its owner's, PUBLIC's and pg_monitor's in pg_init_privs, as a
-- fresh install records them (parley--0.3.0--0.4.0.sql says why).
UPDATE pg_catalog.pg_init_privs i
   SET initprivs = ARRAY(SELECT a FROM pg_catalog.unnest(i.initprivs) AS a
                          WHERE (SELECT e.grantee FROM pg_catalog.aclexplode(ARRAY[a]) AS e LIMIT 1)
                                IN (0, o.owner, 'pg_monitor'::regrole))
  FROM (SELECT 'pg_catalog.pg_proc'::regclass AS classoid, p.oid, p.proowner AS owner
          FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'parley'::regnamespace) AS o
 WHERE i.classoid = o.classoid AND i.objoid = o.oid AND i.objsubid = 0;


-- == end of search, per-guest settings =====================================


-- == conversation updates (title, description, metadata) ====================

-- Added without a table rewrite (a NULL, and a constant default).
ALTER TABLE parley.conversations
    ADD COLUMN description text,
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';
COMMENT ON COLUMN parley.conversations.description IS 'Optional description, at most 1000 characters (conversation_update()).';
COMMENT ON COLUMN parley.conversations.metadata IS 'Free-form JSON object of the conversation, at most 16 KiB as text and 32 levels deep (conversation_update()).';

-- frozen and slow_mode_s are declared here and refused until 0.6.0
-- (conversation_update_v0_6 takes them), so the signature does not change.
CREATE FUNCTION parley.conversation_update(conversation_id uuid, actor text,
                                           title text DEFAULT NULL, description text DEFAULT NULL,
                                           metadata jsonb DEFAULT NULL, frozen boolean DEFAULT NULL,
                                           slow_mode_s integer DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_update'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.conversation_update(uuid, text, text, text, jsonb, boolean, integer) IS 'Change a group''s title, description or metadata (NULL: unchanged); owner or admin only.  From 0.6.0 also frozen and slow_mode_s (0-3600).  Answers the conversation.';
REVOKE ALL ON FUNCTION parley.conversation_update(uuid, text, text, text, jsonb, boolean, integer) FROM PUBLIC;

-- The conversation JSON gains description and metadata.
CREATE OR REPLACE FUNCTION parley.conversation_create(actor text, kind text, participants text[],
                                                      title text DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'conversation_create_v0_5'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION parley.conversation_create_at(actor text, kind text, participants text[],
                                                         title text, conversation_id uuid)
RETURNS jsonb AS 'MODULE_PATHNAME', 'conversation_create_at_v0_5'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
CREATE OR REPLACE FUNCTION parley.conversation_get(conversation_id uuid, actor text)
RETURNS jsonb AS 'MODULE_PATHNAME', 'conversation_get_v0_5'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
-- (conversation_list's 0.5.0 signature above is bound to its 0.5.0 symbol,
-- which renders them too.)

-- A gateway role granted conversation_get may run conversation_update.
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.conversation_get(uuid, text)', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION'
                                  ' parley.conversation_update(uuid, text, text, text, jsonb, boolean, integer) TO %I', r);
    END LOOP;
END
$$;

-- == end of conversation updates ============================================
