-- conversation_create_at(): conversation_create() of a group whose id the
-- caller chose, for a PL/Proxy proxy that routes by that id
-- (docs/scaling.md).  The same rules as conversation_create; a direct
-- conversation's id is never chosen; a taken id is refused, nothing changes.
\set VERBOSITY terse

SELECT parley.guest_upsert('cat_owner', 'Owner') IS NOT NULL AS seeded,
       parley.guest_upsert('cat_member', 'Member') IS NOT NULL AS seeded2;

-- a group with the given id; the creator is owner, the other a member
SELECT c->>'id' AS id, c->>'kind' AS kind, c->>'title' AS title, parley.last_status() AS status,
       (SELECT string_agg(p->>'guest_id' || ':' || (p->>'role'), ', ' ORDER BY p->>'guest_id')
          FROM jsonb_array_elements(c->'participants') p) AS participants
  FROM parley.conversation_create_at('cat_owner', 'group', ARRAY['cat_member'], 'chosen',
                                     '01890000-0000-7000-8000-000000000001') AS c;
SELECT parley.conversation_get('01890000-0000-7000-8000-000000000001', 'cat_member')->>'title' AS read_back;

-- a taken id: refused, the conversation unchanged
SELECT regress.err($q$SELECT parley.conversation_create_at('cat_member', 'group', ARRAY[]::text[], 'again',
                                     '01890000-0000-7000-8000-000000000001')$q$);
SELECT c->>'title' AS title, jsonb_array_length(c->'participants') AS participants
  FROM parley.conversation_get('01890000-0000-7000-8000-000000000001', 'cat_owner') AS c;

-- a direct conversation's id is the pair's: refused, nothing created
SELECT regress.err($q$SELECT parley.conversation_create_at('cat_owner', 'direct', ARRAY['cat_member'], NULL,
                                     '01890000-0000-7000-8000-000000000002')$q$);
-- the usual rules first: kind, participants, title, NULL id
SELECT regress.err($q$SELECT parley.conversation_create_at('cat_owner', 'chat', ARRAY['cat_member'], NULL,
                                     '01890000-0000-7000-8000-000000000003')$q$);
SELECT regress.err($q$SELECT parley.conversation_create_at('cat_owner', 'group', ARRAY['cat_nobody'], NULL,
                                     '01890000-0000-7000-8000-000000000004')$q$);
SELECT regress.err($q$SELECT parley.conversation_create_at('cat_owner', 'group', ARRAY['cat_member'], repeat('t', 201),
                                     '01890000-0000-7000-8000-000000000005')$q$);
SELECT regress.err($q$SELECT parley.conversation_create_at('cat_owner', 'group', ARRAY['cat_member'], NULL, NULL)$q$);
SELECT count(*) AS created FROM parley.conversations
 WHERE id::text LIKE '01890000-0000-7000-8000-%';

-- not for the gateway role, nor PUBLIC
SELECT has_function_privilege('public',
    'parley.conversation_create_at(text, text, text[], text, uuid)', 'EXECUTE') AS public_can_execute;
