-- conversation_settings_update() and conversation_list()'s settings and
-- archived filter (API.md section 9: per-guest settings).
\set VERBOSITY terse

CREATE TEMP TABLE conv (name text PRIMARY KEY, id uuid NOT NULL);
-- titles(page): the titles of a list page, in its order
CREATE FUNCTION pg_temp.titles(page jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(coalesce(c->>'title', c->>'kind'), ',' ORDER BY o), '-')
      FROM jsonb_array_elements(page->'conversations') WITH ORDINALITY AS e(c, o)
$$;
-- settings(cid, guest): the stored row
CREATE FUNCTION pg_temp.settings(cid uuid, guest text) RETURNS text LANGUAGE sql AS $$
    SELECT format('off_until=%s archived=%s pinned=%s', notifications_off_until, archived, pinned)
      FROM parley.participants WHERE conversation_id = cid AND guest_id = guest
$$;
SET TimeZone = 'UTC';

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['st_ann', 'st_ben', 'st_out']) AS g) s;
INSERT INTO conv VALUES
    ('one', (parley.conversation_create('st_ann', 'group', '{st_ben}', 'one')->>'id')::uuid);
INSERT INTO conv VALUES
    ('two', (parley.conversation_create('st_ann', 'group', '{st_ben}', 'two')->>'id')::uuid);
INSERT INTO conv VALUES
    ('three', (parley.conversation_create('st_ann', 'direct', '{st_ben}')->>'id')::uuid);
SELECT id AS one FROM conv WHERE name = 'one' \gset
SELECT id AS two FROM conv WHERE name = 'two' \gset
SELECT id AS three FROM conv WHERE name = 'three' \gset
SELECT parley.message_post(:'one', 'st_ben', 'unread for ann') IS NOT NULL AS posted;

-- ---------------------------------------------------------------------------
-- defaults: every entry of a list carries the three settings
-- ---------------------------------------------------------------------------
SELECT c->>'title' AS title, c->'notifications_off_until' AS off_until, c->'archived' AS archived,
       c->'pinned' AS pinned, c->'unread' AS unread
  FROM jsonb_array_elements(parley.conversation_list('st_ann')->'conversations') c;

-- ---------------------------------------------------------------------------
-- update: the answer is the conversation as in the guest's list
-- ---------------------------------------------------------------------------
SELECT parley.conversation_settings_update(:'one', 'st_ann',
           notifications_off_until => '"2031-05-06T07:08:09.5+02:00"', archived => 'true', pinned => 'true') AS r \gset
SELECT :'r'::jsonb->'notifications_off_until' AS off_until, :'r'::jsonb->'archived' AS archived,
       :'r'::jsonb->'pinned' AS pinned, :'r'::jsonb->'unread' AS unread, parley.last_status();
SELECT :'r'::jsonb = (SELECT c FROM jsonb_array_elements(parley.conversation_list('st_ann')->'conversations') c
                       WHERE c->>'title' = 'one') AS same_as_list_entry;
SELECT pg_temp.settings(:'one', 'st_ann') AS ann, pg_temp.settings(:'one', 'st_ben') AS ben_untouched;
-- absent fields (SQL NULL) leave their setting; JSON null turns notifications on
SELECT parley.conversation_settings_update(:'one', 'st_ann', pinned => 'false') - 'participants' - 'created_at' - 'id' AS unpinned;
SELECT parley.conversation_settings_update(:'one', 'st_ann') ->> 'archived' AS nothing_given_archived_stays;
SELECT parley.conversation_settings_update(:'one', 'st_ann', notifications_off_until => 'null')
       -> 'notifications_off_until' AS notifications_on;
SELECT pg_temp.settings(:'one', 'st_ann') AS ann;
-- a time in the past is stored as given (notifications are simply on)
SELECT parley.conversation_settings_update(:'one', 'st_ann', notifications_off_until => '"2001-01-01T00:00:00Z"')
       -> 'notifications_off_until' AS past;
-- direct conversations have settings too; ben's are his own
SELECT parley.conversation_settings_update(:'three', 'st_ben', archived => 'true')->'archived' AS ben_archived_direct;

-- ---------------------------------------------------------------------------
-- conversation_list(archived): true only archived, false only the others,
-- absent all; pinning does not change the order
-- ---------------------------------------------------------------------------
SELECT pg_temp.titles(parley.conversation_list('st_ann')) AS ann_all,
       pg_temp.titles(parley.conversation_list('st_ann', archived => true)) AS ann_archived,
       pg_temp.titles(parley.conversation_list('st_ann', archived => false)) AS ann_not_archived;
SELECT pg_temp.titles(parley.conversation_list('st_ben', archived => true)) AS ben_archived,
       pg_temp.titles(parley.conversation_list('st_ben', archived => false)) AS ben_not_archived;
SELECT parley.conversation_settings_update(:'two', 'st_ann', pinned => 'true')->'pinned' AS pinned_two;
SELECT parley.conversation_settings_update(:'three', 'st_ann', pinned => 'true')->'pinned' AS pinned_three;
SELECT pg_temp.titles(parley.conversation_list('st_ann')) AS order_unchanged_by_pins;
-- pages of a filtered list
SELECT parley.conversation_settings_update(:'two', 'st_ann', archived => 'true')->'archived' AS archived_two;
SELECT parley.conversation_list('st_ann', NULL, 1, NULL, true) AS p1 \gset
SELECT pg_temp.titles(:'p1') AS p1, :'p1'::jsonb->'has_more' AS more;
SELECT parley.conversation_list('st_ann', :'p1'::jsonb->>'next_before', 1, NULL, true) AS p2 \gset
SELECT pg_temp.titles(:'p2') AS p2, :'p2'::jsonb->'has_more' AS more;
-- leaving a conversation drops one's settings with one's row
SELECT parley.participant_remove(:'two', 'st_ben', 'st_ben');
SELECT parley.participant_add(:'two', 'st_ann', 'st_ben')->>'guest_id' AS back;
SELECT pg_temp.settings(:'two', 'st_ben') AS fresh_settings;

-- ---------------------------------------------------------------------------
-- rejected input changes nothing
-- ---------------------------------------------------------------------------
SELECT pg_temp.settings(:'one', 'st_ann') AS before_rejections \gset
SELECT f, v, regress.err(format('SELECT parley.conversation_settings_update(%L, %L, %s => %L)', :'one', 'st_ann', f, v)) AS rejected
  FROM (VALUES ('archived', 'null'), ('archived', '"true"'), ('archived', '1'), ('archived', '{}'), ('archived', '[]'),
               ('pinned', 'null'), ('pinned', '0'), ('pinned', '"yes"'),
               ('notifications_off_until', 'true'), ('notifications_off_until', '0'),
               ('notifications_off_until', '"tomorrow"'), ('notifications_off_until', '"now"'),
               ('notifications_off_until', '"infinity"'), ('notifications_off_until', '""'),
               ('notifications_off_until', '"2031-05-06"'), ('notifications_off_until', '"2031-05-06T07:08:09"'),
               ('notifications_off_until', '"2031-05-06 07:08:09+00"'), ('notifications_off_until', '"2031-02-29T00:00:00Z"'),
               ('notifications_off_until', '"2031-13-01T00:00:00Z"'), ('notifications_off_until', '"2031-01-01T24:00:00Z"'),
               ('notifications_off_until', '"2031-01-01T00:00:00+24:00"'), ('notifications_off_until', '"0000-01-01T00:00:00Z"'),
               ('notifications_off_until', '"2031-01-01T00:00:00.Z"'), ('notifications_off_until', '"2031-01-01T00:00:00Zjunk"'),
               ('notifications_off_until', '["2031-01-01T00:00:00Z"]')) AS t(f, v);
-- accepted forms: a leap day, a lower-case t and z, a fraction and a negative offset
SELECT v, parley.conversation_settings_update(:'two', 'st_ann', notifications_off_until => v::jsonb)
          ->> 'notifications_off_until' AS stored
  FROM unnest(ARRAY['"2032-02-29T12:00:00Z"', '"2032-02-29t12:00:00z"', '"2032-02-29T12:00:00.123456-03:30"']) AS v;
SELECT pg_temp.settings(:'one', 'st_ann') = :'before_rejections' AS unchanged;
SELECT regress.err(format('SELECT parley.conversation_settings_update(%L, %L, archived => %L)', gen_random_uuid(), 'st_ann', 'true')) AS unknown_conversation;
SELECT regress.err(format('SELECT parley.conversation_settings_update(%L, %L, archived => %L)', :'one', 'st_out', 'true')) AS not_a_participant;
SELECT regress.err(format('SELECT parley.conversation_settings_update(%L, %L, archived => %L)', :'one', 'nobody', 'true')) AS unknown_actor;
SELECT regress.err(format('SELECT parley.conversation_settings_update(%L, NULL, archived => %L)', :'one', 'true')) AS null_actor;
SELECT regress.err(format('SELECT parley.conversation_settings_update(NULL, %L, archived => %L)', 'st_ann', 'true')) AS null_conversation;
SELECT pg_temp.settings(:'one', 'st_ann') = :'before_rejections' AS still_unchanged;
