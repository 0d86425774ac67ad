/* parley 0.5.0 -> 0.6.0: moderation and data rights (API.md section 10):
 * roles, mutes, bans, frozen conversations, slow mode, word filters,
 * reports, export, erase and retention, enforced here so that a SQL caller
 * meets the same rules as an HTTP one.
 *
 * A fresh install of 0.6.0 runs parley--0.1.0.sql and the update scripts in
 * order, so this script is also what a fresh install runs. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.6.0'" to load this file. \quit

-- == roles, mutes, bans, frozen, slow mode, filters, reports ================
-- (extension/moderation.c, filters.c; the rules table is in docs/schema.md)

-- Roles: owner, admin, member.
ALTER TABLE parley.participants DROP CONSTRAINT participants_role_check;
ALTER TABLE parley.participants ADD CONSTRAINT participants_role_check
    CHECK (role IN ('owner', 'admin', 'member'));
COMMENT ON COLUMN parley.participants.role IS 'owner (the creator of a group, or its successor), admin (made by the owner: moderates members) or member.';

-- Slow mode counts a participant's last post whenever it was made: the
-- post's own UPDATE of the participant row keeps it, and the posts made
-- before this version are counted once here.
ALTER TABLE parley.participants ADD COLUMN last_post_at timestamptz;
COMMENT ON COLUMN parley.participants.last_post_at IS 'When the guest last posted here (slow mode).';
UPDATE parley.participants p
   SET last_post_at = m.at
  FROM (SELECT conversation_id, sender_id, max(created_at) AS at
          FROM parley.messages GROUP BY conversation_id, sender_id) m
 WHERE m.conversation_id = p.conversation_id AND m.sender_id = p.guest_id;

ALTER TABLE parley.conversations
    ADD COLUMN frozen boolean NOT NULL DEFAULT false,
    ADD COLUMN slow_mode_s integer NOT NULL DEFAULT 0 CHECK (slow_mode_s BETWEEN 0 AND 3600);
COMMENT ON COLUMN parley.conversations.frozen IS 'While true only the owner and admins post, edit or react.';
COMMENT ON COLUMN parley.conversations.slow_mode_s IS 'A member posts at most once per this many seconds (0: no slow mode).';

-- A message_post probes this by primary key under the conversation's row
-- lock, in the statement that posts.
CREATE TABLE parley.mutes (
    conversation_id uuid        NOT NULL REFERENCES parley.conversations (id),
    guest_id        text        NOT NULL REFERENCES parley.guests (guest_id),
    until           timestamptz,
    muted_by        text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, guest_id)
);
COMMENT ON COLUMN parley.mutes.conversation_id IS 'The group.';
COMMENT ON COLUMN parley.mutes.guest_id IS 'The muted participant.';
COMMENT ON COLUMN parley.mutes.created_at IS 'When the mute was (last) set.';
COMMENT ON TABLE parley.mutes IS 'Mutes of group participants (participant_mute()); a mute outlives leaving and re-joining.';
COMMENT ON COLUMN parley.mutes.until IS 'The mute ends then; NULL: until lifted.';
COMMENT ON COLUMN parley.mutes.muted_by IS 'The owner or admin who muted.';

-- A copy of the standing mute in the participant's row, which a post
-- updates anyway: a post that waited for a mute's lock re-reads that row
-- (READ COMMITTED re-checks an updated row's conditions on its newest
-- version), so it sees a mute committed while it waited.
ALTER TABLE parley.participants ADD COLUMN muted_until timestamptz;
COMMENT ON COLUMN parley.participants.muted_until IS 'The end of the participant''s mute (infinity: until lifted; NULL: not muted), kept from parley.mutes.';

CREATE TABLE parley.bans (
    conversation_id uuid        NOT NULL REFERENCES parley.conversations (id),
    guest_id        text        NOT NULL REFERENCES parley.guests (guest_id),
    since           timestamptz NOT NULL DEFAULT now(),
    banned_by       text        NOT NULL,
    PRIMARY KEY (conversation_id, guest_id)
);
COMMENT ON TABLE parley.bans IS 'Guests banned from a group (participant_ban()): removed, and refused by participant_add until unbanned.';
COMMENT ON COLUMN parley.bans.conversation_id IS 'The group.';
COMMENT ON COLUMN parley.bans.guest_id IS 'The banned guest.';
COMMENT ON COLUMN parley.bans.since IS 'When the ban was set.';
COMMENT ON COLUMN parley.bans.banned_by IS 'The owner or admin who banned.';

-- Word filters.  Each backend compiles the list once and recompiles it
-- after a change: the statement trigger below sends a relcache
-- invalidation of this table at commit, which every backend's callback
-- sees (extension/filters.c), so no post reads this table.
CREATE TABLE parley.filters (
    pattern    text        PRIMARY KEY CHECK (pattern = lower(pattern)),
    action     text        NOT NULL CHECK (action IN ('reject', 'mask')),
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN parley.filters.pattern IS 'A literal word or phrase, folded to lower case, white space runs as one space.';
COMMENT ON COLUMN parley.filters.action IS 'reject (the post or edit is refused) or mask (the match is stored as *).';
COMMENT ON COLUMN parley.filters.created_at IS 'When the filter was added.';
COMMENT ON TABLE parley.filters IS 'Word filters (filter_add(), filter_remove()): a literal word or phrase, lower case, matched case-insensitively on word boundaries in every post and edit.';

CREATE FUNCTION parley.filters_changed() RETURNS trigger
AS 'MODULE_PATHNAME', 'filters_changed'
LANGUAGE C;
COMMENT ON FUNCTION parley.filters_changed() IS 'Trigger: every backend recompiles the word filters after this transaction commits.';
CREATE TRIGGER filters_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON parley.filters
    FOR EACH STATEMENT EXECUTE FUNCTION parley.filters_changed();

CREATE TABLE parley.message_reports (
    conversation_id uuid        NOT NULL,
    seq             bigint      NOT NULL,
    reporter_id     text        NOT NULL REFERENCES parley.guests (guest_id),
    reason          text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, seq, reporter_id),
    FOREIGN KEY (conversation_id, seq) REFERENCES parley.messages (conversation_id, seq)
);
COMMENT ON COLUMN parley.message_reports.conversation_id IS 'The conversation of the message.';
COMMENT ON COLUMN parley.message_reports.seq IS 'The message.';
COMMENT ON COLUMN parley.message_reports.reporter_id IS 'The participant who reported it.';
COMMENT ON COLUMN parley.message_reports.reason IS 'Why, 1-1000 characters.';
COMMENT ON COLUMN parley.message_reports.created_at IS 'When it was reported.';
COMMENT ON TABLE parley.message_reports IS 'Reports of messages by participants (message_report()); one per reporter and message.';

CREATE VIEW parley.reports AS
SELECT r.conversation_id, r.seq, m.sender_id, m.body, m.deleted_at IS NOT NULL AS deleted,
       r.reporter_id, r.reason, r.created_at
  FROM parley.message_reports r
  JOIN parley.messages m ON m.conversation_id = r.conversation_id AND m.seq = r.seq;
COMMENT ON VIEW parley.reports IS 'Reports for moderators, newest last: the message (as it is now), who reported it and why.  GRANT SELECT to a moderators'' role.';

SELECT pg_catalog.pg_extension_config_dump('parley.mutes', '');
SELECT pg_catalog.pg_extension_config_dump('parley.bans', '');
SELECT pg_catalog.pg_extension_config_dump('parley.filters', '');
SELECT pg_catalog.pg_extension_config_dump('parley.message_reports', '');

CREATE FUNCTION parley.participant_role_set(conversation_id uuid, actor text, guest_id text, role text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'participant_role_set'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.participant_role_set(uuid, text, text, text) IS 'Make a group participant admin or member; the owner only.  Answers the participant.';

CREATE FUNCTION parley.participant_mute(conversation_id uuid, actor text, guest_id text,
                                        "until" timestamptz DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'participant_mute'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.participant_mute(uuid, text, text, timestamptz) IS 'Mute a participant until a time (NULL: until lifted): {"conversation_id", "guest_id", "until"}.';

CREATE FUNCTION parley.participant_unmute(conversation_id uuid, actor text, guest_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'participant_unmute'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.participant_unmute(uuid, text, text) IS 'Lift a mute (404 mute_not_found when none stands).';

CREATE FUNCTION parley.participant_ban(conversation_id uuid, actor text, guest_id text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'participant_ban'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.participant_ban(uuid, text, text) IS 'Ban a guest from a group: removes it, refuses adding it again: {"conversation_id", "guest_id", "since"}.';

CREATE FUNCTION parley.participant_unban(conversation_id uuid, actor text, guest_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'participant_unban'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.participant_unban(uuid, text, text) IS 'Lift a ban (404 ban_not_found when none stands).';

CREATE FUNCTION parley.message_report(conversation_id uuid, seq bigint, actor text, reason text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'message_report'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.message_report(uuid, bigint, text, text) IS 'Report a message to the moderators (parley.reports); last_status() 201, 200 when the guest had reported it already.';

CREATE FUNCTION parley.filter_add(pattern text, action text DEFAULT 'reject')
RETURNS jsonb
AS 'MODULE_PATHNAME', 'filter_add'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.filter_add(text, text) IS 'Add or change a word filter: a literal word or phrase; action reject (the post or edit is refused) or mask (the match is stored as *).';

CREATE FUNCTION parley.filter_remove(pattern text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'filter_remove'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.filter_remove(text) IS 'Remove a word filter; false when there was none.';

REVOKE ALL ON FUNCTION
    parley.participant_role_set(uuid, text, text, text),
    parley.participant_mute(uuid, text, text, timestamptz),
    parley.participant_unmute(uuid, text, text),
    parley.participant_ban(uuid, text, text),
    parley.participant_unban(uuid, text, text),
    parley.message_report(uuid, bigint, text, text),
    parley.filter_add(text, text),
    parley.filter_remove(text),
    parley.filters_changed()
FROM PUBLIC;
COMMENT ON COLUMN parley.reports.conversation_id IS 'The conversation of the message.';
COMMENT ON COLUMN parley.reports.seq IS 'The message.';
COMMENT ON COLUMN parley.reports.sender_id IS 'Who sent it.';
COMMENT ON COLUMN parley.reports.body IS 'Its body as it is now (NULL once deleted).';
COMMENT ON COLUMN parley.reports.deleted IS 'Whether it has been deleted since.';
COMMENT ON COLUMN parley.reports.reporter_id IS 'Who reported it.';
COMMENT ON COLUMN parley.reports.reason IS 'Why.';
COMMENT ON COLUMN parley.reports.created_at IS 'When it was reported.';
REVOKE ALL ON parley.reports FROM PUBLIC;

-- The functions whose rules this version changes are bound to their
-- "_v0_6" symbols whatever their signature (0.5.0 may have changed it):
-- posts, edits and deletes (mutes, frozen, slow mode, filters, admins),
-- adds and removes (bans, admins), updates (frozen, slow_mode_s), reactions
-- (mutes, frozen) and every function that answers a conversation (frozen,
-- slow_mode_s).
DO $$
DECLARE
    f record;
BEGIN
    FOR f IN
        SELECT p.oid, p.proname FROM pg_catalog.pg_proc p
         WHERE p.pronamespace = 'parley'::regnamespace
           AND p.proname IN ('message_post', 'message_edit', 'message_delete',
                             'participant_add', 'participant_remove', 'conversation_update',
                             'conversation_create', 'conversation_create_at',
                             'conversation_get', 'conversation_list',
                             'reaction_add', 'reaction_remove', 'conversation_settings_update')
    LOOP
        EXECUTE pg_catalog.regexp_replace(pg_catalog.pg_get_functiondef(f.oid),
                                          '\$function\$[a-z_0-9]+\$function\$',
                                          '$function$' || f.proname || '_v0_6$function$');
    END LOOP;
END
$$;

-- A gateway role granted message_post may run the new HTTP functions.
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT DISTINCT a.rolname FROM pg_catalog.pg_roles a, pg_catalog.pg_proc p
         WHERE NOT a.rolsuper
           AND p.pronamespace = 'parley'::regnamespace AND p.proname = 'message_post'
           AND pg_catalog.has_function_privilege(a.oid, p.oid, 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION'
                                  ' parley.participant_role_set(uuid, text, text, text),'
                                  ' parley.participant_mute(uuid, text, text, timestamptz),'
                                  ' parley.participant_unmute(uuid, text, text),'
                                  ' parley.participant_ban(uuid, text, text),'
                                  ' parley.participant_unban(uuid, text, text),'
                                  ' parley.message_report(uuid, bigint, text, text) TO %I', r);
    END LOOP;
END
$$;

-- == end of roles, mutes, bans, frozen, slow mode, filters, reports =========

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
