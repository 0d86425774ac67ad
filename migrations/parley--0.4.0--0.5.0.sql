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
CREATE OR REPLACE FUNCTION parley.conversation_list(guest_id text, before text DEFAULT NULL,
                                                    "limit" integer DEFAULT 50,
                                                    actor text DEFAULT NULL)
RETURNS jsonb AS 'MODULE_PATHNAME', 'conversation_list_v0_5'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

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
