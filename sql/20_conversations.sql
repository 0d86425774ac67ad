-- conversation_create(), conversation_get(), conversation_list():
-- API.md sections 1, 2 and 6.
\set VERBOSITY terse

-- strip(c): a conversation without its volatile fields (id, timestamps)
CREATE FUNCTION pg_temp.strip(c jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT c - 'id' - 'created_at' || jsonb_build_object('participants',
        (SELECT coalesce(jsonb_agg(p - 'joined_at' ORDER BY o), '[]')
           FROM jsonb_array_elements(c->'participants') WITH ORDINALITY AS e(p, o)))
$$;

-- post(): the seq of a new message
CREATE FUNCTION pg_temp.post(cid uuid, sender text, body text) RETURNS bigint LANGUAGE sql AS $$
    SELECT (parley.message_post(cid, sender, body)->>'seq')::bigint
$$;

-- mark(): move a read marker
CREATE FUNCTION pg_temp.mark(cid uuid, guest text, s bigint) RETURNS void LANGUAGE sql AS $$
    SELECT parley.read_mark(cid, guest, s);
$$;

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['cv_alice', 'cv_bob', 'cv_carol', 'cv_dave', 'cv_erin', 'cv_pager']) AS g) s;

-- ---------------------------------------------------------------------------
-- create: group
-- ---------------------------------------------------------------------------
-- participants lists the others; the actor (listed or not) is the owner,
-- duplicates are ignored; the answer lists participants by joined_at, guest_id
SELECT parley.conversation_create('cv_alice', 'group',
                                  ARRAY['cv_carol', 'cv_bob', 'cv_alice', 'cv_carol'], 'Raid night') AS g1 \gset
SELECT pg_temp.strip(:'g1') AS group_created;
SELECT parley.last_status();
-- id is a UUIDv7, timestamps RFC 3339 UTC, everyone joined at creation
SELECT (:'g1'::jsonb->>'id') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS uuidv7,
       (:'g1'::jsonb->>'created_at') ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$' AS rfc3339,
       (SELECT bool_and(p->>'joined_at' = :'g1'::jsonb->>'created_at')
          FROM jsonb_array_elements(:'g1'::jsonb->'participants') p) AS joined_at_creation;
SELECT :'g1'::jsonb->>'id' AS g1_id \gset
-- stored as answered
SELECT kind, title, created_by, last_seq, last_message_at FROM parley.conversations WHERE id = :'g1_id';
SELECT guest_id, role, last_read_seq FROM parley.participants WHERE conversation_id = :'g1_id' ORDER BY guest_id;
-- a second group with the same people is another conversation
SELECT (parley.conversation_create('cv_alice', 'group', ARRAY['cv_bob', 'cv_carol'], 'Raid night')->>'id') <> :'g1_id' AS new_group;
SELECT parley.last_status();
-- the creator alone: NULL, empty or only itself
SELECT pg_temp.strip(parley.conversation_create('cv_erin', 'group', NULL)) AS alone_null;
SELECT pg_temp.strip(parley.conversation_create('cv_erin', 'group', '{}')) AS alone_empty;
SELECT pg_temp.strip(parley.conversation_create('cv_erin', 'group', '{cv_erin,cv_erin}', NULL)) AS alone_self;
-- title: optional; at most 200 characters (code points), no control characters
SELECT parley.conversation_create('cv_erin', 'group', '{}')->'title' AS title_default;
SELECT parley.conversation_create('cv_erin', 'group', '{}', '')->'title' AS title_empty;
SELECT char_length(parley.conversation_create('cv_erin', 'group', '{}', repeat('t', 200))->>'title') AS title_200;
SELECT char_length(parley.conversation_create('cv_erin', 'group', '{}', repeat('😀', 200))->>'title') AS title_200_emoji;
SELECT regress.err($$SELECT parley.conversation_create('cv_erin', 'group', '{}', repeat('t', 201))$$);
SELECT regress.err($$SELECT parley.conversation_create('cv_erin', 'group', '{}', repeat('😀', 201))$$);
SELECT regress.err($$SELECT parley.conversation_create('cv_erin', 'group', '{}', E'a\tb')$$);

-- group size counts the creator: 1000 in all is fine, 1001 is not
SELECT count(*) AS members FROM (
    SELECT parley.guest_upsert(format('cv_m%s', lpad(i::text, 4, '0')), 'member')
      FROM generate_series(1, 1000) i) s;
SELECT jsonb_array_length(parley.conversation_create('cv_alice', 'group',
           ARRAY(SELECT format('cv_m%s', lpad(i::text, 4, '0')) FROM generate_series(1, 999) i))->'participants') AS size_1000;
-- duplicates and the creator itself do not count twice
SELECT jsonb_array_length(parley.conversation_create('cv_alice', 'group',
           ARRAY(SELECT format('cv_m%s', lpad((i % 999 + 1)::text, 4, '0')) FROM generate_series(1, 3000) i)
           || '{cv_alice}')->'participants') AS size_1000_dups;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'group',
           ARRAY(SELECT format('cv_m%s', lpad(i::text, 4, '0')) FROM generate_series(1, 1000) i))$$);

-- ---------------------------------------------------------------------------
-- create: direct
-- ---------------------------------------------------------------------------
-- both are members; the id is derived from the pair (UUIDv8)
SELECT parley.conversation_create('cv_alice', 'direct', '{cv_bob}') AS d1 \gset
SELECT pg_temp.strip(:'d1') AS direct_created;
SELECT parley.last_status();
SELECT (:'d1'::jsonb->>'id') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS uuidv8;
SELECT :'d1'::jsonb->>'id' AS d1_id \gset
-- the other side, or the same side again, finds the same conversation: 200,
-- unchanged (created_by stays the first creator; a title is not applied)
SELECT parley.conversation_create('cv_bob', 'direct', '{cv_alice}', 'ignored') = :'d1'::jsonb AS same_from_bob;
SELECT parley.last_status();
SELECT parley.conversation_create('cv_alice', 'direct', '{cv_bob,cv_alice,cv_bob}') = :'d1'::jsonb AS same_again;
SELECT parley.last_status();
SELECT count(*) AS direct_rows FROM parley.conversations c
 WHERE kind = 'direct'
   AND (SELECT array_agg(guest_id ORDER BY guest_id) FROM parley.participants p WHERE p.conversation_id = c.id)
       = '{cv_alice,cv_bob}';
-- another pair is another conversation; a direct conversation may have a title
SELECT pg_temp.strip(parley.conversation_create('cv_carol', 'direct', '{cv_alice}', 'Trade')) AS direct_titled;
SELECT parley.last_status();
SELECT parley.conversation_create('cv_carol', 'direct', '{cv_alice}')->>'id' <> :'d1_id' AS other_pair;
-- exactly one other guest
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'direct', '{}')$$);
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'direct', NULL)$$);
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'direct', '{cv_alice}')$$);
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'direct', '{cv_bob,cv_carol}')$$);
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'direct', '{cv_bob,cv_carol,cv_alice}')$$);

-- ---------------------------------------------------------------------------
-- create: errors, in order (400, then 404); rejected creates store nothing
-- ---------------------------------------------------------------------------
SELECT count(*) AS conversations_before FROM parley.conversations \gset
SELECT regress.err($$SELECT parley.conversation_create(NULL, 'group', '{}')$$) AS actor_null;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', NULL, '{}')$$) AS kind_null;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'group', '{cv_bob,NULL}')$$) AS element_null;
SELECT regress.err($$SELECT parley.conversation_create('cv alice', 'group', '{}')$$) AS actor_bad;
SELECT regress.err($$SELECT parley.conversation_create('', 'group', '{}')$$) AS actor_empty;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'channel', '{}')$$) AS kind_bad;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'Direct', '{cv_bob}')$$) AS kind_case;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'group', '{cv_bob,"bad/id"}')$$) AS element_bad;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'group', ARRAY[repeat('x', 65)])$$) AS element_long;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'group', '{{cv_bob},{cv_carol}}')$$) AS two_dims;
SELECT regress.err($$SELECT parley.conversation_create('cv_nobody', 'group', '{cv_bob}')$$) AS actor_unknown;
SELECT regress.err($$SELECT parley.conversation_create('cv_nobody', 'direct', '{cv_bob}')$$) AS actor_unknown_direct;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'group', '{cv_bob,cv_zed,cv_yan}')$$) AS participant_unknown;
SELECT regress.err($$SELECT parley.conversation_create('cv_alice', 'direct', '{cv_zed}')$$) AS direct_unknown;
-- validation comes before existence
SELECT regress.err($$SELECT parley.conversation_create('cv_nobody', 'group', '{cv_zed}', repeat('t', 201))$$) AS title_first;
SELECT regress.err($$SELECT parley.conversation_create('cv_nobody', 'direct', '{cv_zed,cv_yan}')$$) AS count_first;
SELECT regress.err($$SELECT parley.conversation_create('cv_nobody', 'group', '{cv_bob,NULL}')$$) AS null_first;
SELECT count(*) - :conversations_before AS stored_by_rejects FROM parley.conversations;

-- ---------------------------------------------------------------------------
-- get
-- ---------------------------------------------------------------------------
SELECT parley.conversation_get(:'g1_id', 'cv_bob') = :'g1'::jsonb AS get_equals_create;
SELECT parley.last_status();
SELECT parley.conversation_get(:'d1_id', 'cv_alice') = :'d1'::jsonb AS get_direct;
SELECT regress.err(format('SELECT parley.conversation_get(%L, %L)', :'g1_id', 'cv_dave')) AS not_participant;
SELECT regress.err(format('SELECT parley.conversation_get(%L, %L)', :'d1_id', 'cv_carol')) AS not_in_direct;
SELECT regress.err(format('SELECT parley.conversation_get(%L, %L)', :'g1_id', 'cv_nobody')) AS actor_no_guest;
SELECT regress.err($$SELECT parley.conversation_get('00000000-0000-4000-8000-000000000000', 'cv_alice')$$) AS unknown_conversation;
-- 404 before 403
SELECT regress.err($$SELECT parley.conversation_get('00000000-0000-4000-8000-000000000000', 'cv_nobody')$$) AS not_found_first;
SELECT regress.err(format('SELECT parley.conversation_get(%L, %L)', :'g1_id', 'bad id')) AS actor_bad;
SELECT regress.err($$SELECT parley.conversation_get('00000000-0000-4000-8000-000000000000', 'bad id')$$) AS validation_first;
SELECT regress.err($$SELECT parley.conversation_get(NULL, 'cv_alice')$$) AS id_null;
SELECT regress.err(format('SELECT parley.conversation_get(%L, NULL)', :'g1_id')) AS actor_null;
SELECT regress.err($$SELECT parley.conversation_get('not-a-uuid', 'cv_alice')$$) AS id_not_uuid;

-- ---------------------------------------------------------------------------
-- list: order, unread, shape
-- ---------------------------------------------------------------------------
-- cv_dave: three conversations, created in three transactions
SELECT parley.conversation_create('cv_dave', 'group', '{cv_erin}', 'first')->>'id' AS l1 \gset
SELECT parley.conversation_create('cv_dave', 'direct', '{cv_erin}')->>'id' AS l2 \gset
SELECT parley.conversation_create('cv_dave', 'group', '{}', 'third')->>'id' AS l3 \gset
-- newest first
SELECT e->>'title' AS title, e->>'kind' AS kind, e->'unread' AS unread, e->'last_seq' AS last_seq
  FROM jsonb_array_elements(parley.conversation_list('cv_dave')->'conversations') e;
SELECT parley.last_status();
SELECT pg_temp.strip(c) AS item FROM jsonb_array_elements(parley.conversation_list('cv_dave')->'conversations') c;
SELECT parley.conversation_list('cv_dave') - 'conversations' AS page;
-- items are the conversation_get shape plus unread (and, from 0.5.0, the
-- guest's settings: 35_settings)
SELECT bool_and((c - 'unread' - 'notifications_off_until' - 'archived' - 'pinned') = parley.conversation_get((c->>'id')::uuid, 'cv_dave')) AS items_are_get_shape
  FROM jsonb_array_elements(parley.conversation_list('cv_dave')->'conversations') c;
-- a message makes the oldest the newest; the sender has read its own
SELECT pg_temp.post(:'l1', 'cv_erin', 'one'), pg_temp.post(:'l1', 'cv_erin', 'two'),
       pg_temp.post(:'l1', 'cv_erin', 'three');
SELECT pg_temp.post(:'l2', 'cv_dave', 'hi');
SELECT e->>'title' AS title, e->>'kind' AS kind, e->'unread' AS unread, e->'last_seq' AS last_seq
  FROM jsonb_array_elements(parley.conversation_list('cv_dave')->'conversations') e;
SELECT e->>'title' AS title, e->>'kind' AS kind, e->'unread' AS unread
  FROM jsonb_array_elements(parley.conversation_list('cv_erin', NULL, NULL, 'cv_erin')->'conversations') e
 WHERE e->>'id' IN (:'l1', :'l2');
-- reading moves unread down; the participants list carries the marker
SELECT pg_temp.mark(:'l1', 'cv_dave', 2);
SELECT e->'unread' AS unread,
       (SELECT p->'last_read_seq' FROM jsonb_array_elements(e->'participants') p WHERE p->>'guest_id' = 'cv_dave') AS dave_read
  FROM jsonb_array_elements(parley.conversation_list('cv_dave')->'conversations') e
 WHERE e->>'id' = :'l1';
-- only the guest's own conversations
SELECT jsonb_array_length(parley.conversation_list('cv_dave')->'conversations') AS dave_has,
       (SELECT count(*) FROM parley.participants WHERE guest_id = 'cv_dave') AS dave_in;
-- a guest with none
SELECT parley.guest_upsert('cv_lonely', 'Lonely') IS NOT NULL AS lonely;
SELECT parley.conversation_list('cv_lonely') AS empty_page;

-- list: arguments and errors
SELECT parley.conversation_list('cv_dave', NULL, NULL, NULL) - 'conversations' AS all_null_ok;
SELECT jsonb_array_length(parley.conversation_list('cv_dave', NULL, 1)->'conversations') AS limit_1;
SELECT jsonb_array_length(parley.conversation_list('cv_dave', NULL, 200)->'conversations') AS limit_200;
SELECT regress.err($$SELECT parley.conversation_list('cv_dave', NULL, 0)$$) AS limit_0;
SELECT regress.err($$SELECT parley.conversation_list('cv_dave', NULL, 201)$$) AS limit_201;
SELECT regress.err($$SELECT parley.conversation_list('cv_dave', NULL, -1)$$) AS limit_negative;
SELECT regress.err($$SELECT parley.conversation_list(NULL)$$) AS guest_null;
SELECT regress.err($$SELECT parley.conversation_list('bad id')$$) AS guest_bad;
SELECT regress.err($$SELECT parley.conversation_list('cv_nobody')$$) AS guest_unknown;
SELECT regress.err($$SELECT parley.conversation_list('cv_dave', NULL, 50, 'cv_erin')$$) AS other_actor;
SELECT regress.err($$SELECT parley.conversation_list('cv_dave', NULL, 50, 'cv_nobody')$$) AS unknown_actor;
SELECT regress.err($$SELECT parley.conversation_list('cv_dave', NULL, 50, 'bad id')$$) AS actor_bad;
-- 400 before 404 before 403
SELECT regress.err($$SELECT parley.conversation_list('cv_nobody', NULL, 0, 'cv_erin')$$) AS limit_first;
SELECT regress.err($$SELECT parley.conversation_list('cv_nobody', NULL, 50, 'cv_erin')$$) AS not_found_first;
-- malformed cursors
SELECT parley.conversation_list('cv_dave', NULL, 1)->>'next_before' AS cursor \gset
SELECT length(:'cursor') AS cursor_length;
SELECT regress.err(format('SELECT parley.conversation_list(%L, %L)', 'cv_dave', c)) AS bad_cursor
  FROM unnest(ARRAY['', 'x', left(:'cursor', 47), :'cursor' || '0', upper(:'cursor'),
                    'g' || right(:'cursor', 47), left(:'cursor', 20) || ' ' || right(:'cursor', 27)]) AS c;
-- the cursor from another guest's page is just a position
SELECT jsonb_typeof(parley.conversation_list('cv_erin', :'cursor')->'conversations') AS foreign_cursor;

-- ---------------------------------------------------------------------------
-- list: walking 120 conversations with limit 7 meets each exactly once, in
-- order (activity DESC, id DESC), with ties on activity
-- ---------------------------------------------------------------------------
-- 40 at a time: each statement is a transaction, so 40 share created_at
SELECT count(*) FROM (SELECT parley.conversation_create('cv_pager', 'group',
        CASE i % 3 WHEN 0 THEN '{}' WHEN 1 THEN '{cv_alice}' ELSE '{cv_bob,cv_carol}' END::text[],
        'p' || i) FROM generate_series(1, 40) i) s;
SELECT count(*) FROM (SELECT parley.conversation_create('cv_pager', 'group', '{cv_alice}', 'p' || i)
        FROM generate_series(41, 80) i) s;
SELECT count(*) FROM (SELECT parley.conversation_create('cv_pager', 'group', '{cv_erin}', 'p' || i)
        FROM generate_series(81, 120) i) s;
-- and messages in some, so activity is the last message for those
SELECT count(pg_temp.post(c.id, 'cv_pager', 'x'))
  FROM parley.conversations c
 WHERE c.created_by = 'cv_pager' AND substr(c.title, 2)::int % 9 = 0;
SELECT count(pg_temp.post(c.id, 'cv_pager', 'y'))
  FROM parley.conversations c
 WHERE c.created_by = 'cv_pager' AND substr(c.title, 2)::int % 11 = 0;

CREATE TEMP TABLE walk (page int, pos int, id uuid, unread bigint, members text[],
                        n int, has_more bool, next_before text);
DO $$
DECLARE
    cur text;
    r jsonb;
    pg int := 0;
    seen int := 0;
BEGIN
    LOOP
        pg := pg + 1;
        r := parley.conversation_list('cv_pager', cur, 7, 'cv_pager');
        INSERT INTO walk
        SELECT pg, seen + o, (e->>'id')::uuid, (e->>'unread')::bigint,
               ARRAY(SELECT p->>'guest_id' FROM jsonb_array_elements(e->'participants') p),
               jsonb_array_length(r->'conversations'), (r->>'has_more')::bool, r->>'next_before'
          FROM jsonb_array_elements(r->'conversations') WITH ORDINALITY AS x(e, o);
        seen := seen + jsonb_array_length(r->'conversations');
        EXIT WHEN NOT (r->>'has_more')::bool;
        cur := r->>'next_before';
        IF pg > 50 THEN
            RAISE EXCEPTION 'pagination does not end';
        END IF;
    END LOOP;
END
$$;
SELECT count(*) AS seen, count(DISTINCT id) AS distinct_seen, max(page) AS pages FROM walk;
SELECT page, n, has_more, next_before IS NOT NULL AS has_cursor
  FROM walk GROUP BY page, n, has_more, next_before IS NOT NULL ORDER BY page;
-- the order the API promises, computed independently
WITH expected AS (
    SELECT c.id, row_number() OVER (ORDER BY coalesce(c.last_message_at, c.created_at) DESC, c.id DESC) AS pos
      FROM parley.conversations c JOIN parley.participants p ON p.conversation_id = c.id
     WHERE p.guest_id = 'cv_pager')
SELECT count(*) AS expected, count(*) FILTER (WHERE w.id IS DISTINCT FROM e.id) AS misplaced
  FROM expected e FULL JOIN walk w USING (pos);
-- ties: how many share an activity with a neighbour (the test needs some)
SELECT sum(k) >= 90 AS many_ties FROM (
    SELECT count(*) AS k FROM walk w JOIN parley.conversations c USING (id)
     GROUP BY coalesce(c.last_message_at, c.created_at) HAVING count(*) > 1) s;
-- participants and unread of every item match the tables
SELECT count(*) FILTER (WHERE w.members IS DISTINCT FROM
           ARRAY(SELECT p.guest_id FROM parley.participants p WHERE p.conversation_id = w.id
                  ORDER BY p.joined_at, p.guest_id)) AS wrong_members,
       count(*) FILTER (WHERE w.unread IS DISTINCT FROM
           (SELECT c.last_seq - p.last_read_seq FROM parley.conversations c
              JOIN parley.participants p ON p.conversation_id = c.id AND p.guest_id = 'cv_pager'
             WHERE c.id = w.id)) AS wrong_unread
  FROM walk w;
-- page sizes that divide the total: no empty last page
SELECT (parley.conversation_list('cv_pager', NULL, 120) - 'conversations') AS limit_120,
       jsonb_array_length(parley.conversation_list('cv_pager', NULL, 120)->'conversations') AS n_120;
SELECT parley.conversation_list('cv_pager', NULL, 119)->'has_more' AS more_after_119,
       jsonb_array_length(parley.conversation_list('cv_pager',
           parley.conversation_list('cv_pager', NULL, 119)->>'next_before', 119)->'conversations') AS rest;
-- a conversation of cv_alice from the pager: alice sees cv_pager's posts as unread
SELECT bool_and((e->>'unread')::int = (e->>'last_seq')::int) AS alice_unread_all,
       count(*) FILTER (WHERE (e->>'unread')::int > 0) AS with_unread
  FROM jsonb_array_elements(parley.conversation_list('cv_alice', NULL, 200)->'conversations') e
 WHERE e->>'created_by' = 'cv_pager';
