-- Roles, mutes, bans, frozen, slow mode, reports (0.6.0, API.md section 10)
-- and conversation_update (0.5.0, section 9).
-- Errors show as their SQLSTATE (api/errcodes.txt): PR060 mute_not_found,
-- PR061 ban_not_found, PR062 muted, PR063 conversation_frozen, PR064 banned,
-- PR065 insufficient_role, PR067 slow_mode; PR004 participant_not_found,
-- PR010 not_a_participant, PR011 not_the_sender, PR012 not_the_owner,
-- PR022 conversation_is_direct, 22023 validation_failed.
\set VERBOSITY sqlstate

-- try(q): 'ok' when q succeeds, else the error's code; never keeps q's changes.
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE q;
        RAISE EXCEPTION USING ERRCODE = 'PRZZZ';
    EXCEPTION WHEN OTHERS THEN
        IF SQLSTATE = 'PRZZZ' THEN RETURN 'ok'; END IF;
        RETURN CASE SQLSTATE
            WHEN 'PR065' THEN 'insufficient_role' WHEN 'PR012' THEN 'not_the_owner'
            WHEN 'PR011' THEN 'not_the_sender' WHEN 'PR010' THEN 'not_a_participant'
            WHEN 'PR060' THEN 'mute_not_found' WHEN 'PR061' THEN 'ban_not_found'
            WHEN '22023' THEN 'validation_failed' ELSE SQLSTATE END;
    END;
END
$$;
-- members(c): guest:role of every participant
CREATE FUNCTION pg_temp.members(c uuid) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(guest_id || ':' || role, ' ' ORDER BY guest_id), '(none)')
      FROM parley.participants WHERE conversation_id = c
$$;

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, g)
      FROM unnest(ARRAY['mo_own', 'mo_adm', 'mo_adm2', 'mo_mem', 'mo_mem2', 'mo_out', 'mo_new']) AS g) s;
SELECT parley.conversation_create('mo_own', 'group', '{mo_adm,mo_adm2,mo_mem,mo_mem2}', 'Mods')->>'id' AS gid \gset
SELECT parley.conversation_create('mo_mem', 'direct', '{mo_mem2}')->>'id' AS did \gset

-- ---------------------------------------------------------------------------
-- roles: the owner makes admins
-- ---------------------------------------------------------------------------
SELECT parley.participant_role_set(:'gid', 'mo_own', 'mo_adm', 'admin') - 'joined_at' AS made_admin;
SELECT parley.last_status();
SELECT parley.participant_role_set(:'gid', 'mo_own', 'mo_adm2', 'admin')->>'role' AS role;
SELECT pg_temp.members(:'gid');
-- refused, and nothing changes: the owner's own role (400), a bad role
-- (400), a non-owner (403), no such participant (404)
SELECT pg_temp.try(format('SELECT parley.participant_role_set(%L, %L, %L, %L)', :'gid', 'mo_own', 'mo_own', 'member')) AS owner_own_role;
SELECT parley.participant_role_set(:'gid', 'mo_own', 'mo_own', 'admin');
SELECT parley.participant_role_set(:'gid', 'mo_own', 'mo_mem', 'owner');
SELECT parley.participant_role_set(:'gid', 'mo_own', 'mo_mem', NULL);
SELECT parley.participant_role_set(:'gid', 'mo_adm', 'mo_mem', 'admin');
SELECT parley.participant_role_set(:'gid', 'mo_mem', 'mo_mem2', 'admin');
SELECT parley.participant_role_set(:'gid', 'mo_own', 'mo_out', 'admin');
SELECT parley.participant_role_set(:'gid', 'mo_out', 'mo_mem', 'admin');
SELECT parley.participant_role_set(:'did', 'mo_mem', 'mo_mem2', 'admin');
SELECT pg_temp.members(:'gid');

-- ---------------------------------------------------------------------------
-- the matrix: every action as every role on every role (each try is rolled
-- back).  Targets: the owner, another admin, another member.
-- ---------------------------------------------------------------------------
SELECT (parley.message_post(:'gid', g, 'hello from ' || g)->>'seq')::int AS seq, g
  FROM unnest(ARRAY['mo_own', 'mo_adm2', 'mo_mem2']) AS g;
-- standing mutes and bans for the lift actions to lift
INSERT INTO parley.mutes (conversation_id, guest_id, muted_by)
SELECT :'gid', g, 'test' FROM unnest(ARRAY['mo_own', 'mo_adm2', 'mo_mem2']) AS g;
INSERT INTO parley.bans (conversation_id, guest_id, banned_by)
SELECT :'gid', g, 'test' FROM unnest(ARRAY['mo_own', 'mo_adm2', 'mo_mem2']) AS g;

WITH actions(n, action, q) AS (VALUES
    (1, 'remove',         'SELECT parley.participant_remove(%1$L, %2$L, %3$L)'),
    (2, 'delete message', 'SELECT parley.message_delete(%1$L, (SELECT max(seq) FROM parley.messages WHERE conversation_id = %1$L AND sender_id = %3$L), %2$L)'),
    (3, 'mute',           'SELECT parley.participant_mute(%1$L, %2$L, %3$L, now() + interval ''1 hour'')'),
    (4, 'unmute',         'SELECT parley.participant_unmute(%1$L, %2$L, %3$L)'),
    (5, 'ban',            'SELECT parley.participant_ban(%1$L, %2$L, %3$L)'),
    (6, 'unban',          'SELECT parley.participant_unban(%1$L, %2$L, %3$L)'),
    (7, 'make admin',     'SELECT parley.participant_role_set(%1$L, %2$L, %3$L, ''admin'')'),
    (8, 'make member',    'SELECT parley.participant_role_set(%1$L, %2$L, %3$L, ''member'')')),
actors(m, actor) AS (VALUES (1, 'mo_own'), (2, 'mo_adm'), (3, 'mo_mem'))
SELECT action, actor,
       pg_temp.try(format(q, :'gid', actor, 'mo_own'))  AS on_owner,
       pg_temp.try(format(q, :'gid', actor, 'mo_adm2')) AS on_admin,
       pg_temp.try(format(q, :'gid', actor, 'mo_mem2')) AS on_member
  FROM actions, actors ORDER BY n, m;

-- the conversation's own settings, no target
WITH actions(n, action, q) AS (VALUES
    (1, 'title',       'SELECT parley.conversation_update(%1$L, %2$L, title => ''x'')'),
    (2, 'freeze',      'SELECT parley.conversation_update(%1$L, %2$L, frozen => true)'),
    (3, 'slow mode',   'SELECT parley.conversation_update(%1$L, %2$L, slow_mode_s => 30)')),
actors(m, actor) AS (VALUES (1, 'mo_own'), (2, 'mo_adm'), (3, 'mo_mem'), (4, 'mo_out'))
SELECT action, actor, pg_temp.try(format(q, :'gid', actor)) AS result
  FROM actions, actors ORDER BY n, m;

-- leaving is everyone's own right
SELECT pg_temp.try(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', g, g)) AS leave, g
  FROM unnest(ARRAY['mo_own', 'mo_adm', 'mo_mem']) AS g;
DELETE FROM parley.mutes WHERE conversation_id = :'gid';
DELETE FROM parley.bans WHERE conversation_id = :'gid';

-- ---------------------------------------------------------------------------
-- mutes
-- ---------------------------------------------------------------------------
SELECT m - 'conversation_id' AS mute, m->>'conversation_id' = :'gid' AS same_id
  FROM parley.participant_mute(:'gid', 'mo_adm', 'mo_mem', '2999-01-01T00:00:00Z') AS m;
SELECT parley.last_status();
SELECT parley.message_post(:'gid', 'mo_mem', 'can I talk?');
SELECT parley.message_edit(:'gid', 1, 'mo_own', 'the owner edits') ->> 'body' AS owner_edits;
SELECT parley.message_post(:'gid', 'mo_mem', 'x', 'cmid-muted');
-- a mute is kept by the conversation, not the membership: leaving and
-- coming back does not lift it
SELECT parley.participant_remove(:'gid', 'mo_mem', 'mo_mem');
SELECT parley.participant_add(:'gid', 'mo_mem2', 'mo_mem')->>'role' AS back;
SELECT parley.message_post(:'gid', 'mo_mem', 'back again');
-- PUT again replaces the time; null: until lifted
SELECT parley.participant_mute(:'gid', 'mo_own', 'mo_mem')->'until' AS until_lifted;
SELECT count(*) AS mutes FROM parley.mutes WHERE conversation_id = :'gid';
-- a time in the past is refused, and the mute stands as it was
SELECT parley.participant_mute(:'gid', 'mo_own', 'mo_mem', now() - interval '1 s');
SELECT until FROM parley.mutes WHERE conversation_id = :'gid' AND guest_id = 'mo_mem';
SELECT parley.participant_mute(:'gid', 'mo_own', 'mo_out');
SELECT parley.participant_unmute(:'gid', 'mo_adm', 'mo_mem');
SELECT parley.last_status();
SELECT parley.message_post(:'gid', 'mo_mem', 'free again')->>'body' AS posted;
SELECT parley.participant_unmute(:'gid', 'mo_adm', 'mo_mem');
-- a mute that ended is over: posts pass, and lifting it is 404
INSERT INTO parley.mutes (conversation_id, guest_id, until, muted_by)
VALUES (:'gid', 'mo_mem2', now() - interval '1 minute', 'mo_own');
UPDATE parley.participants SET muted_until = now() - interval '1 minute'
 WHERE conversation_id = :'gid' AND guest_id = 'mo_mem2';
SELECT parley.message_post(:'gid', 'mo_mem2', 'my mute is over')->>'body' AS posted;
SELECT parley.participant_unmute(:'gid', 'mo_own', 'mo_mem2');
SELECT parley.participant_mute(:'did', 'mo_mem', 'mo_mem2');

-- ---------------------------------------------------------------------------
-- frozen
-- ---------------------------------------------------------------------------
SELECT last_seq AS seq_before FROM parley.conversations WHERE id = :'gid' \gset
SELECT parley.conversation_update(:'gid', 'mo_adm', frozen => true)->'frozen' AS frozen;
SELECT parley.message_post(:'gid', 'mo_mem', 'let me in');
SELECT parley.message_edit(:'gid', (SELECT max(seq) FROM parley.messages WHERE conversation_id = :'gid' AND sender_id = 'mo_mem'), 'mo_mem', 'edited');
SELECT parley.message_post(:'gid', 'mo_adm', 'admins talk')->>'body' AS admin_posts,
       parley.message_post(:'gid', 'mo_own', 'owners talk')->>'body' AS owner_posts;
SELECT last_seq - :seq_before AS new_messages FROM parley.conversations WHERE id = :'gid';
SELECT parley.conversation_update(:'gid', 'mo_own', frozen => false)->'frozen' AS frozen;
SELECT parley.message_post(:'gid', 'mo_mem', 'thawed')->>'body' AS posted;

-- ---------------------------------------------------------------------------
-- slow mode: counts the last post, whenever it was made (mo_mem posted above)
-- ---------------------------------------------------------------------------
SELECT parley.conversation_update(:'gid', 'mo_own', slow_mode_s => 3600)->'slow_mode_s' AS slow;
SELECT pg_temp.try(format('SELECT parley.message_post(%L, %L, %L)', :'gid', 'mo_mem', 'too soon')) AS member_again;
SELECT set_config('regress.gid', :'gid', false) IS NOT NULL AS set;
DO $$
BEGIN
    PERFORM parley.message_post(current_setting('regress.gid')::uuid, 'mo_mem', 'too soon');
EXCEPTION WHEN OTHERS THEN
    DECLARE h text; BEGIN
        GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
        RAISE NOTICE '% %', SQLSTATE, regexp_replace(h, '\d+', 'N');
    END;
END
$$;
-- admins and the owner are not slowed; a member who never posted here is not
SELECT parley.message_post(:'gid', 'mo_adm', 'one')->>'body' AS a1, parley.message_post(:'gid', 'mo_adm', 'two')->>'body' AS a2;
SELECT parley.participant_add(:'gid', 'mo_own', 'mo_new')->>'role' AS joined;
SELECT parley.message_post(:'gid', 'mo_new', 'first')->>'body' AS first_post;
SELECT parley.message_post(:'gid', 'mo_new', 'second');
-- the limits of slow_mode_s, and a refusal changes nothing
SELECT parley.conversation_update(:'gid', 'mo_own', slow_mode_s => 3601);
SELECT parley.conversation_update(:'gid', 'mo_own', slow_mode_s => -1);
SELECT slow_mode_s FROM parley.conversations WHERE id = :'gid';
SELECT parley.conversation_update(:'gid', 'mo_own', slow_mode_s => 0)->'slow_mode_s' AS slow;
SELECT parley.message_post(:'gid', 'mo_new', 'second')->>'body' AS posted;

-- ---------------------------------------------------------------------------
-- bans
-- ---------------------------------------------------------------------------
SELECT change_seq AS cs FROM parley.conversations WHERE id = :'gid' \gset
SELECT parley.participant_ban(:'gid', 'mo_adm', 'mo_new') - 'since' - 'conversation_id' AS ban;
SELECT parley.last_status();
SELECT change_seq > :cs AS removal_counted FROM parley.conversations WHERE id = :'gid';
SELECT pg_temp.members(:'gid');
SELECT parley.participant_add(:'gid', 'mo_mem', 'mo_new');
SELECT pg_temp.members(:'gid');
-- banning again answers the ban as it stands
SELECT (parley.participant_ban(:'gid', 'mo_own', 'mo_new')->>'since')::timestamptz = since AS same_since
  FROM parley.bans WHERE conversation_id = :'gid' AND guest_id = 'mo_new';
-- a guest who takes no part can be banned beforehand; an unknown one is 404
SELECT parley.participant_ban(:'gid', 'mo_adm', 'mo_out')->>'guest_id' AS banned;
SELECT parley.participant_add(:'gid', 'mo_mem', 'mo_out');
SELECT parley.participant_ban(:'gid', 'mo_adm', 'mo_nobody');
SELECT parley.participant_ban(:'did', 'mo_mem', 'mo_mem2');
SELECT parley.participant_unban(:'gid', 'mo_adm', 'mo_new');
SELECT parley.last_status();
SELECT parley.participant_unban(:'gid', 'mo_adm', 'mo_new');
SELECT parley.participant_add(:'gid', 'mo_mem', 'mo_new')->>'role' AS added_again;
SELECT parley.last_status();

-- ---------------------------------------------------------------------------
-- admins delete members' messages, not the owner's or other admins'
-- ---------------------------------------------------------------------------
SELECT parley.message_post(:'gid', 'mo_new', 'spam spam')->>'seq' AS spam \gset
SELECT parley.message_delete(:'gid', :spam, 'mo_adm');
SELECT deleted_at IS NOT NULL AS deleted FROM parley.messages WHERE conversation_id = :'gid' AND seq = :spam;
SELECT parley.message_post(:'gid', 'mo_adm2', 'admin words')->>'seq' AS aw \gset
SELECT parley.message_delete(:'gid', :aw, 'mo_adm');
SELECT parley.message_delete(:'gid', :aw, 'mo_mem');
SELECT deleted_at IS NOT NULL AS deleted FROM parley.messages WHERE conversation_id = :'gid' AND seq = :aw;

-- ---------------------------------------------------------------------------
-- conversation_update: title, description, metadata
-- ---------------------------------------------------------------------------
SELECT change_seq AS cs FROM parley.conversations WHERE id = :'gid' \gset
SELECT jsonb_build_object('title', u->'title', 'description', u->'description', 'metadata', u->'metadata',
                          'frozen', u->'frozen', 'slow_mode_s', u->'slow_mode_s') AS updated
  FROM parley.conversation_update(:'gid', 'mo_adm', 'Moderated', 'A group with rules', '{"lang": "en"}') AS u;
SELECT parley.last_status();
SELECT change_seq = :cs + 1 AS change_counted FROM parley.conversations WHERE id = :'gid';
-- NULL leaves a field as it is; nothing to change counts no change
SELECT parley.conversation_update(:'gid', 'mo_own', description => 'Rules apply')->>'title' AS title_kept;
SELECT parley.conversation_update(:'gid', 'mo_own') ->> 'description' AS unchanged;
SELECT change_seq = :cs + 2 AS one_more FROM parley.conversations WHERE id = :'gid';
-- everywhere a conversation renders
SELECT c->>'description' AS description, c->'metadata' AS metadata
  FROM parley.conversation_get(:'gid', 'mo_mem') AS c;
SELECT e->>'description' AS description, e->'frozen' AS frozen
  FROM jsonb_array_elements(parley.conversation_list('mo_own')->'conversations') AS e
 WHERE e->>'id' = :'gid';
SELECT parley.conversation_create('mo_own', 'group', '{}', 'fresh') ?& ARRAY['description', 'metadata', 'frozen', 'slow_mode_s'] AS new_has_all;
-- refused, and nothing changes
SELECT parley.conversation_update(:'gid', 'mo_own', description => repeat('d', 1001));
SELECT parley.conversation_update(:'gid', 'mo_own', title => repeat('t', 201));
SELECT parley.conversation_update(:'gid', 'mo_own', metadata => '[1]');
SELECT parley.conversation_update(:'gid', 'mo_mem', title => 'mine now');
SELECT parley.conversation_update(:'gid', 'mo_out', title => 'mine now');
SELECT parley.conversation_update(:'did', 'mo_mem', title => 'ours');
SELECT parley.conversation_update('00000000-0000-7000-8000-000000000000', 'mo_own', title => 'x');
SELECT title, description, metadata, change_seq = :cs + 2 AS unchanged
  FROM parley.conversations WHERE id = :'gid';

-- ---------------------------------------------------------------------------
-- reports
-- ---------------------------------------------------------------------------
SELECT parley.message_report(:'gid', 1, 'mo_mem', 'rude') - 'created_at' - 'conversation_id' AS report;
SELECT parley.last_status();
SELECT parley.message_report(:'gid', 1, 'mo_mem', 'still rude')->>'reason' AS first_stands;
SELECT parley.last_status();
SELECT parley.message_report(:'gid', 999, 'mo_mem', 'rude');
SELECT parley.message_report(:'gid', 1, 'mo_out', 'rude');
SELECT parley.message_report(:'gid', 1, 'mo_mem', '   ');
SELECT parley.message_report(:'gid', 1, 'mo_mem', repeat('r', 1001));
SELECT parley.message_report(:'gid', 0, 'mo_mem', 'rude');
SELECT conversation_id = :'gid' AS same, seq, sender_id, body, deleted, reporter_id, reason FROM parley.reports;
