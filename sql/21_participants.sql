-- participant_add() and participant_remove(): API.md section 6.
\set VERBOSITY terse

-- members(c): guest:role of every participant, by joined_at, guest_id
CREATE FUNCTION pg_temp.members(c uuid) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(guest_id || ':' || role, ' ' ORDER BY joined_at, guest_id), '(none)')
      FROM parley.participants WHERE conversation_id = c
$$;

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['pt_owner', 'pt_ann', 'pt_ben', 'pt_cat', 'pt_dan', 'pt_out']) AS g) s;
SELECT parley.conversation_create('pt_owner', 'group', '{pt_ben,pt_ann}', 'Guild')->>'id' AS gid \gset
SELECT parley.conversation_create('pt_ann', 'direct', '{pt_ben}')->>'id' AS did \gset
SELECT pg_temp.members(:'gid');

-- ---------------------------------------------------------------------------
-- add
-- ---------------------------------------------------------------------------
-- any participant adds; the answer is the participant object, 201
SELECT parley.participant_add(:'gid', 'pt_ann', 'pt_cat') AS added \gset
SELECT parley.last_status();
SELECT :'added'::jsonb - 'joined_at' AS added;
SELECT (:'added'::jsonb->>'joined_at') ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$' AS rfc3339,
       (:'added'::jsonb->>'joined_at')::timestamptz > created_at AS joined_after_creation
  FROM parley.conversations WHERE id = :'gid';
-- already in: 200 and the participant as it is
SELECT parley.participant_add(:'gid', 'pt_owner', 'pt_cat') = :'added'::jsonb AS same_participant;
SELECT parley.last_status();
SELECT parley.participant_add(:'gid', 'pt_ann', 'pt_ann') - 'joined_at' AS self_already_in;
SELECT parley.last_status();
SELECT parley.participant_add(:'gid', 'pt_cat', 'pt_owner') - 'joined_at' AS owner_already_in;
SELECT pg_temp.members(:'gid');
-- conversation_get shows the new participant, with the same object
SELECT p = :'added'::jsonb AS get_shows_added
  FROM jsonb_array_elements(parley.conversation_get(:'gid', 'pt_cat')->'participants') p
 WHERE p->>'guest_id' = 'pt_cat';

-- add: errors, in order (400, 404 conversation, 403, 409, 404 guest);
-- rejected adds change nothing
SELECT regress.err($$SELECT parley.participant_add(NULL, 'pt_ann', 'pt_dan')$$) AS cid_null;
SELECT regress.err(format('SELECT parley.participant_add(%L, NULL, %L)', :'gid', 'pt_dan')) AS actor_null;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, NULL)', :'gid', 'pt_ann')) AS guest_null;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'gid', 'pt ann', 'pt_dan')) AS actor_bad;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'gid', 'pt_ann', repeat('d', 65))) AS guest_bad;
SELECT regress.err($$SELECT parley.participant_add('nope', 'pt_ann', 'pt_dan')$$) AS cid_not_uuid;
SELECT regress.err($$SELECT parley.participant_add('00000000-0000-4000-8000-000000000000', 'pt_ann', 'pt_dan')$$) AS cid_unknown;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'gid', 'pt_out', 'pt_dan')) AS actor_not_in;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'gid', 'pt_nobody', 'pt_dan')) AS actor_no_guest;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'gid', 'pt_out', 'pt_out')) AS self_invite;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'did', 'pt_ann', 'pt_dan')) AS direct;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'did', 'pt_ann', 'pt_ben')) AS direct_already_in;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'gid', 'pt_ann', 'pt_nobody')) AS guest_unknown;
SELECT regress.err($$SELECT parley.participant_add('00000000-0000-4000-8000-000000000000', 'pt ann', 'pt_dan')$$) AS validation_first;
SELECT regress.err($$SELECT parley.participant_add('00000000-0000-4000-8000-000000000000', 'pt_out', 'pt_nobody')$$) AS conversation_first;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'did', 'pt_out', 'pt_nobody')) AS participant_before_direct;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'did', 'pt_ann', 'pt_nobody')) AS direct_before_guest;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'gid', 'pt_out', 'pt_nobody')) AS participant_before_guest;
SELECT pg_temp.members(:'gid') AS unchanged, pg_temp.members(:'did') AS direct_unchanged;

-- group size: 1000 in all; an add to a full group is 22023, unless the
-- guest is already in
SELECT count(*) AS fillers FROM (
    SELECT parley.guest_upsert(format('pt_x%s', lpad(i::text, 4, '0')), 'filler')
      FROM generate_series(1, 999) i) s;
SELECT parley.conversation_create('pt_owner', 'group',
           ARRAY(SELECT format('pt_x%s', lpad(i::text, 4, '0')) FROM generate_series(1, 999) i))->>'id' AS full_id \gset
SELECT count(*) AS size FROM parley.participants WHERE conversation_id = :'full_id';
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'full_id', 'pt_x0500', 'pt_out')) AS full;
SELECT parley.participant_add(:'full_id', 'pt_x0500', 'pt_x0001')->>'guest_id' AS in_full_group;
SELECT parley.last_status();
SELECT parley.participant_remove(:'full_id', 'pt_x0999', 'pt_x0999');
SELECT parley.participant_add(:'full_id', 'pt_x0500', 'pt_out')->>'guest_id' AS added_after_leave;
SELECT parley.last_status();
SELECT count(*) AS size FROM parley.participants WHERE conversation_id = :'full_id';

-- ---------------------------------------------------------------------------
-- remove
-- ---------------------------------------------------------------------------
-- a member leaves: 204, no answer; it no longer sees the conversation
SELECT parley.participant_remove(:'gid', 'pt_cat', 'pt_cat');
SELECT parley.last_status();
SELECT pg_temp.members(:'gid');
SELECT regress.err(format('SELECT parley.conversation_get(%L, %L)', :'gid', 'pt_cat')) AS gone;
SELECT count(*) AS listed FROM jsonb_array_elements(parley.conversation_list('pt_cat')->'conversations') e
 WHERE e->>'id' = :'gid';
-- and may be added again, as a new member
SELECT parley.participant_add(:'gid', 'pt_ben', 'pt_cat')->>'role' AS readded;
SELECT parley.last_status();
-- the owner removes anyone
SELECT parley.participant_remove(:'gid', 'pt_owner', 'pt_cat');
SELECT parley.last_status();
SELECT pg_temp.members(:'gid');

-- remove: errors, in order (400, 404 conversation, 403 actor, 409,
-- 404 participant, 403 owner); rejected removes change nothing
SELECT regress.err($$SELECT parley.participant_remove(NULL, 'pt_ann', 'pt_ann')$$) AS cid_null;
SELECT regress.err(format('SELECT parley.participant_remove(%L, NULL, %L)', :'gid', 'pt_ann')) AS actor_null;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, NULL)', :'gid', 'pt_ann')) AS guest_null;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_ann', 'pt/ben')) AS guest_bad;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', '', 'pt_ben')) AS actor_bad;
SELECT regress.err($$SELECT parley.participant_remove('00000000-0000-4000-8000-000000000000', 'pt_ann', 'pt_ann')$$) AS cid_unknown;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_out', 'pt_out')) AS actor_not_in;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_nobody', 'pt_ann')) AS actor_no_guest;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'did', 'pt_ann', 'pt_ann')) AS direct_leave;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'did', 'pt_ann', 'pt_ben')) AS direct_remove;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'did', 'pt_out', 'pt_ann')) AS direct_outsider;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_owner', 'pt_out')) AS target_not_in;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_owner', 'pt_nobody')) AS target_no_guest;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_ann', 'pt_ben')) AS member_removes_member;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_ann', 'pt_owner')) AS member_removes_owner;
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_ann', 'pt_out')) AS not_found_before_owner;
SELECT regress.err($$SELECT parley.participant_remove('00000000-0000-4000-8000-000000000000', 'pt ann', 'pt_ann')$$) AS validation_first;
SELECT regress.err($$SELECT parley.participant_remove('00000000-0000-4000-8000-000000000000', 'pt_out', 'pt_ann')$$) AS conversation_first;
SELECT pg_temp.members(:'gid') AS unchanged, pg_temp.members(:'did') AS direct_unchanged;

-- ---------------------------------------------------------------------------
-- owner handover: the member who joined earliest, ties by guest_id
-- ---------------------------------------------------------------------------
-- pt_owner, pt_ann, pt_ben joined at creation; pt_dan joins later
SELECT parley.participant_add(:'gid', 'pt_ann', 'pt_dan')->>'role' AS dan;
SELECT pg_temp.members(:'gid');
-- the owner leaves: pt_ann and pt_ben joined together, pt_ann sorts first
SELECT parley.participant_remove(:'gid', 'pt_owner', 'pt_owner');
SELECT parley.last_status();
SELECT pg_temp.members(:'gid');
-- the new owner has the owner's rights, the old one none
SELECT regress.err(format('SELECT parley.participant_remove(%L, %L, %L)', :'gid', 'pt_owner', 'pt_ben')) AS old_owner;
SELECT parley.participant_add(:'gid', 'pt_ben', 'pt_cat')->>'role' AS cat;
SELECT parley.participant_remove(:'gid', 'pt_ann', 'pt_ben');
SELECT pg_temp.members(:'gid');
-- joined_at wins over guest_id: pt_dan (earlier) before pt_cat
SELECT parley.participant_remove(:'gid', 'pt_ann', 'pt_ann');
SELECT pg_temp.members(:'gid');
-- conversation_get agrees
SELECT string_agg((p->>'guest_id') || ':' || (p->>'role'), ' ' ORDER BY o) AS get_view
  FROM jsonb_array_elements(parley.conversation_get(:'gid', 'pt_dan')->'participants') WITH ORDINALITY AS e(p, o);
-- a member leaving does not pass ownership on
SELECT parley.participant_remove(:'gid', 'pt_cat', 'pt_cat');
SELECT pg_temp.members(:'gid');
-- the last participant may leave; nobody can reach the conversation then
SELECT parley.participant_remove(:'gid', 'pt_dan', 'pt_dan');
SELECT pg_temp.members(:'gid');
SELECT regress.err(format('SELECT parley.conversation_get(%L, %L)', :'gid', 'pt_dan')) AS after_last;
SELECT regress.err(format('SELECT parley.participant_add(%L, %L, %L)', :'gid', 'pt_dan', 'pt_dan')) AS no_way_back;
-- every group with participants has exactly one owner
SELECT count(*) AS groups_without_one_owner FROM (
    SELECT c.id FROM parley.conversations c JOIN parley.participants p ON p.conversation_id = c.id
     WHERE c.kind = 'group' AND c.created_by LIKE 'pt\_%'
     GROUP BY c.id HAVING count(*) FILTER (WHERE p.role = 'owner') <> 1) s;
