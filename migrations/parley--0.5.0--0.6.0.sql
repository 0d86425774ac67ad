/* parley 0.5.0 -> 0.6.0: moderation and data rights (API.md section 10):
 * roles, mutes, bans, frozen conversations, slow mode, word filters,
 * reports, export, erase and retention, enforced here so that a SQL caller
 * meets the same rules as an HTTP one.
 *
 * A fresh install of 0.6.0 runs parley--0.1.0.sql and the update scripts in
 * order, so this script is also what a fresh install runs. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.6.0'" to load this file. \quit

-- == export, erase, retention ===============================================
-- Data rights (API.md section 10): guest_export() streams everything about
-- a guest, guest_erase() removes it (the profile keeps only its id), and
-- retention_set() / retention_run() turn old messages into tombstones in
-- short batches.  extension/data_rights.c states the rules.

ALTER TABLE parley.guests ADD COLUMN erased_at timestamptz;
COMMENT ON COLUMN parley.guests.erased_at IS 'When guest_erase() erased the guest (NULL: never); an erased id cannot be used again (409 guest_erased).';

-- Every message a guest sent, for export and erase, without scanning
-- conversations: (sender_id, conversation_id, seq) is also the order of
-- the export.
CREATE INDEX messages_sender_idx ON parley.messages (sender_id, conversation_id, seq);

CREATE TABLE parley.retention (
    conversation_id uuid        REFERENCES parley.conversations (id),
    keep            interval    NOT NULL CHECK (keep > interval '0'),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- One row per conversation, and at most one default (conversation_id NULL).
CREATE UNIQUE INDEX retention_conversation_key ON parley.retention (conversation_id) NULLS NOT DISTINCT;
COMMENT ON TABLE parley.retention IS 'How long messages are kept (retention_set()); retention_run() tombstones older ones.';
COMMENT ON COLUMN parley.retention.conversation_id IS 'The conversation; NULL for the default of every conversation without a row of its own.';
COMMENT ON COLUMN parley.retention.keep IS 'Messages older than this (by created_at) become tombstones.';
COMMENT ON COLUMN parley.retention.updated_at IS 'When the policy was last set.';
SELECT pg_catalog.pg_extension_config_dump('parley.retention', '');

CREATE FUNCTION parley.guest_export(guest_id text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'guest_export'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
ROWS 100;
COMMENT ON FUNCTION parley.guest_export(text) IS 'Everything about a guest as one JSON document {"guest", "friendships", "blocks", "memberships", "messages"}, in rows of text to be concatenated (a few hundred messages a row), produced as they are read.';

CREATE FUNCTION parley.guest_export_page(guest_id text, after text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_export_page'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_export_page(text, text) IS 'guest_export()''s document a page at a time: {"part", "next"}, next to pass as after for the next page (NULL after the last); the parts concatenate to the document.';

CREATE FUNCTION parley.guest_erase(guest_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'guest_erase'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_erase(text) IS 'Erase a guest: its messages become tombstones, its memberships, friendships, blocks and tokens go, the profile keeps only its id; idempotent; last_status() 204.';

CREATE FUNCTION parley.retention_set(conversation_id uuid, keep interval)
RETURNS void
AS 'MODULE_PATHNAME', 'retention_set'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.retention_set(uuid, interval) IS 'Keep a conversation''s messages for keep (NULL: follow the default); a NULL conversation sets the default (NULL keep: keep forever).';

CREATE PROCEDURE parley.retention_run()
AS 'MODULE_PATHNAME', 'retention_run'
LANGUAGE C;
COMMENT ON PROCEDURE parley.retention_run() IS 'Tombstone messages older than their conversation''s retention, in batches of at most 100 (API.md allows 1,000) committed one by one; schedule it with pg_cron.';

REVOKE ALL ON FUNCTION parley.guest_export(text), parley.guest_export_page(text, text),
    parley.guest_erase(text), parley.retention_set(uuid, interval) FROM PUBLIC;
REVOKE ALL ON PROCEDURE parley.retention_run() FROM PUBLIC;

-- An erased guest cannot be created again, nor get a token (409
-- guest_erased): the same functions, bound to their 0.6.0 symbols.
CREATE OR REPLACE FUNCTION parley.guest_upsert(guest_id text, display_name text,
                                               metadata jsonb DEFAULT '{}', actor text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_upsert_v0_6'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION parley.guest_token_claims(guest_id text, ttl integer DEFAULT 3600)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_token_claims_v0_6'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- A gateway role granted the 0.5.0 API keeps working after the update: it
-- may run the new routes' functions (extension/gateway-role.sql grants
-- them on a fresh install).
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.guest_upsert(text, text, jsonb, text)', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION parley.guest_erase(text),'
                                  ' parley.guest_export_page(text, text) TO %I', r);
    END LOOP;
END
$$;

-- As in 0.3.0 -> 0.4.0: the grants copied to gateway roles above are the
-- DBA's, not the extension's (pg_init_privs keeps only the owner's,
-- PUBLIC's and pg_monitor's), so a dump and restore keeps them.
UPDATE pg_catalog.pg_init_privs i
   SET initprivs = ARRAY(SELECT a FROM pg_catalog.unnest(i.initprivs) AS a
                          WHERE (SELECT e.grantee FROM pg_catalog.aclexplode(ARRAY[a]) AS e LIMIT 1)
                                IN (0, o.owner, 'pg_monitor'::regrole))
  FROM (SELECT 'pg_catalog.pg_namespace'::regclass AS classoid, n.oid, n.nspowner AS owner
          FROM pg_catalog.pg_namespace n WHERE n.nspname = 'parley'
        UNION ALL
        SELECT 'pg_catalog.pg_proc'::regclass, p.oid, p.proowner
          FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'parley'::regnamespace) AS o
 WHERE i.classoid = o.classoid AND i.objoid = o.oid AND i.objsubid = 0;
