/* parley 0.2.0 -> 0.3.0: changes a gateway can find without a notification.
 *
 * Edits, deletes and removals made straight in SQL (or whose notification
 * was lost) reached no live stream before: a gateway's safety poll only
 * saw new seqs.  Now each conversation counts its changes (change_seq) and
 * each changed message records the change that touched it last, so the
 * poll sees "something changed" and events_changes() says what: the
 * messages changed since, and which of a gateway's streaming guests take
 * no part any more.  Nothing notifies inside a write transaction.
 *
 * A fresh install of 0.3.0 runs parley--0.1.0.sql, the 0.1.0 -> 0.2.0 script
 * and then this one; test/tap/021_upgrade.pl checks that an updated database
 * and a fresh one dump the same schema. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.3.0'" to load this file. \quit

-- Both columns are added without a table rewrite (constant default; NULL).
ALTER TABLE parley.conversations
    ADD COLUMN change_seq bigint NOT NULL DEFAULT 0 CHECK (change_seq >= 0);
COMMENT ON COLUMN parley.conversations.change_seq IS 'Edits, deletes and participant removals so far: 1, 2, 3, ... in commit order (live events find changes by it).';

ALTER TABLE parley.messages ADD COLUMN change_seq bigint;
COMMENT ON COLUMN parley.messages.change_seq IS 'The conversation''s change_seq of the last edit or delete of this message; NULL while never changed.';

-- events_changes(): the messages of one conversation changed after a
-- change_seq, in change order.  Partial: most messages never change.
CREATE INDEX messages_changes_idx ON parley.messages (conversation_id, change_seq)
    WHERE change_seq IS NOT NULL;

-- The same signatures, bound to C symbols that count the change: one
-- parley.so serves databases at 0.1.0, 0.2.0 and 0.3.0.
CREATE OR REPLACE FUNCTION parley.participant_remove(conversation_id uuid, actor text, guest_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'participant_remove_v0_3'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION parley.message_edit(conversation_id uuid, seq bigint, actor text, body text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_edit_v0_3'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION parley.message_delete(conversation_id uuid, seq bigint, actor text)
RETURNS void
AS 'MODULE_PATHNAME', 'message_delete_v0_3'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION parley.events_subscribe(conversation_id uuid, actor text, after bigint DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'events_subscribe_v0_3'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.events_subscribe(uuid, text, bigint) IS 'Check that actor may stream the conversation''s events; answers {"last_seq", "change_seq"}.';

CREATE FUNCTION parley.events_heads(conversation_ids uuid[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'events_heads'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.events_heads(uuid[]) IS 'last_seq and change_seq of each given conversation, {"<id>": [last_seq, change_seq]}, for a gateway''s safety poll.';

CREATE FUNCTION parley.events_changes(conversation_id uuid, after_change bigint, guests text[])
RETURNS jsonb
AS 'MODULE_PATHNAME', 'events_changes'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.events_changes(uuid, bigint, text[]) IS 'The messages of a conversation edited or deleted after a change_seq, and which of the given guests take no part any more, for a gateway''s live streams (no actor check: gateway only).';

REVOKE ALL ON FUNCTION
    parley.events_heads(uuid[]),
    parley.events_changes(uuid, bigint, text[])
FROM PUBLIC;

-- A gateway role granted the 0.2.0 event functions (extension/gateway-role.sql)
-- keeps working after the update: it gets the new ones too.
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.conversation_heads(uuid[])', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION parley.events_heads(uuid[]),'
                                  ' parley.events_changes(uuid, bigint, text[]) TO %I', r);
    END LOOP;
END
$$;
