/* parley 0.4.0 -> 0.5.0: messages (API.md section 9): reactions, replies
 * and threads, pages around a message, search, attachments, conversation
 * updates, per-guest conversation settings and mark unread.
 *
 * Each part below is one block with its own heading; a fresh install of
 * 0.5.0 runs parley--0.1.0.sql and the update scripts in order, so this
 * script is also what a fresh install runs. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.5.0'" to load this file. \quit

-- == reactions, replies, around, attachments, mark unread ==================

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

-- == end of conversation updates ============================================
