-- Presence and typing (0.4.0, API.md section 8): presence_set,
-- presence_get, presence_audience, presence_seen, typing_check, and every
-- rejected input (nothing changed by a refusal).
\set VERBOSITY terse

SELECT parley.guest_upsert(g, upper(g)) IS NOT NULL AS made
  FROM unnest(ARRAY['pr_ann', 'pr_ben', 'pr_cat', 'pr_dan', 'pr_eve']) AS g;
SELECT parley.friend_request('pr_ann', 'pr_ben') IS NOT NULL AS asked,
       parley.friend_request('pr_ben', 'pr_ann')->>'status' AS status;
SELECT (parley.conversation_create('pr_ann', 'direct', ARRAY['pr_cat'])->>'id') AS direct_cid \gset
SELECT (parley.conversation_create('pr_ann', 'group', ARRAY['pr_ben', 'pr_eve'])->>'id') AS group_cid \gset

-- rows(): what parley.presence holds, one line
CREATE FUNCTION pg_temp.rows() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(guest_id || ':' || status || ':'
                               || CASE WHEN length(activity::text) > 40 THEN length(activity::text) || ' bytes'
                                       ELSE coalesce(activity::text, '-') END
                               || ':' || (last_seen_at IS NOT NULL), ' ' ORDER BY guest_id), '-')
      FROM parley.presence
$$;

-- err(q): the SQLSTATE q raises, or ok (error messages name generated ids)
CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- nobody set anything: online by default while online, offline otherwise
SELECT parley.presence_get('pr_ben', ARRAY['pr_ann', 'pr_cat', 'nobody', 'pr_ann'], ARRAY['pr_ann']);
SELECT pg_temp.rows();

-- presence_set: answered as others see it
SELECT parley.presence_set('pr_ann', 'away', '{"game": "chess"}', NULL, true);
SELECT parley.presence_set('pr_ann', 'busy', NULL, 'pr_ann', true);      -- absent activity: kept
SELECT parley.presence_set('pr_ann', 'busy', 'null', NULL, false);       -- null clears; offline shows offline
SELECT parley.presence_set('pr_cat', 'invisible', '{"x": 1}', NULL, true);  -- invisible: offline
SELECT parley.presence_set('pr_eve', 'online');
SELECT pg_temp.rows();

-- rejected: 400, 403, 404, and nothing changed
SELECT parley.presence_set('pr_ann', 'sleeping');
SELECT parley.presence_set('pr_ann', '');
SELECT parley.presence_set('pr_ann', NULL);
SELECT parley.presence_set('pr_ann', 'Online');
SELECT parley.presence_set('pr_ann', 'away', '[1]');
SELECT parley.presence_set('pr_ann', 'away', '"x"');
SELECT parley.presence_set('pr_ann', 'away', '1');
SELECT parley.presence_set('pr_ann', 'away', jsonb_build_object('a', repeat('x', 1017)));
SELECT parley.presence_set('pr_ann', 'away', 'true');
SELECT parley.presence_set('pr_ann', 'away', NULL, 'pr_ben');
SELECT parley.presence_set('nobody', 'away');
SELECT parley.presence_set('bad id', 'away');
SELECT parley.presence_set(NULL, 'away');
SELECT pg_temp.rows();
-- the limit is 1024 bytes of jsonb::text: exactly that is accepted
SELECT length(jsonb_build_object('a', repeat('x', 1015))::text) AS bytes,
       parley.presence_set('pr_dan', 'online', jsonb_build_object('a', repeat('x', 1015)), NULL, true)->>'status' AS status;

-- presence_get: 1-100 ids, each a guest id; the viewer must exist
SELECT parley.presence_get('pr_ben', '{}');
SELECT parley.presence_get('pr_ben', (SELECT array_agg('g' || i) FROM generate_series(1, 101) i));
SELECT parley.presence_get('pr_ben', (SELECT array_agg('g' || i) FROM generate_series(1, 100) i));
SELECT parley.presence_get('pr_ben', ARRAY['pr_ann', 'bad id']);
SELECT parley.presence_get('pr_ben', ARRAY[NULL]::text[]);
SELECT parley.presence_get('pr_ben', '{{pr_ann},{pr_cat}}');
SELECT parley.presence_get('pr_ben', NULL);
SELECT parley.presence_get('nobody', ARRAY['pr_ann']);
SELECT parley.presence_get('pr_ben', ARRAY['pr_ann'], '{{pr_ann},{pr_cat}}');

-- online as the gateway says; activity and status only then
SELECT p->>'guest_id' AS guest, p->>'status' AS status, p->'activity' AS activity,
       p->>'last_seen_at' IS NOT NULL AS seen
  FROM jsonb_array_elements(parley.presence_get('pr_ben', ARRAY['pr_ann', 'pr_cat', 'pr_eve'],
                                                ARRAY['pr_ann', 'pr_cat', 'pr_eve'])->'presence') p;

-- blocks: neither side sees the other (not even last_seen_at)
SELECT parley.presence_seen(ARRAY['pr_ann', 'pr_dan', 'nobody']);
SELECT pg_temp.rows();
SELECT parley.guest_block('pr_dan', 'pr_ann')->>'status' AS blocked;
SELECT parley.presence_get('pr_dan', ARRAY['pr_ann'], ARRAY['pr_ann']);
SELECT parley.presence_get('pr_ann', ARRAY['pr_dan'], ARRAY['pr_dan']);
SELECT p->>'status' AS status, p->>'last_seen_at' IS NOT NULL AS seen
  FROM jsonb_array_elements(parley.presence_get('pr_ben', ARRAY['pr_ann'])->'presence') p;

-- audience: friends and direct partners, no one across a block
SELECT parley.conversation_create('pr_eve', 'direct', ARRAY['pr_dan'])->>'kind' AS kind;
SELECT parley.guest_block('pr_eve', 'pr_dan')->>'status' AS blocked;
SELECT p->>'guest_id' AS guest, p->>'status' AS status, p->'audience' AS audience
  FROM jsonb_array_elements(parley.presence_audience(ARRAY['pr_ann', 'pr_ben', 'pr_cat', 'pr_dan', 'pr_eve', 'nobody'],
                                                     ARRAY['pr_ann', 'pr_cat'])->'presence') p;
SELECT parley.presence_audience(ARRAY['bad id']);
SELECT parley.presence_audience(NULL);
SELECT parley.presence_seen(ARRAY[NULL]::text[]);
SELECT parley.presence_seen(ARRAY['bad id']);

-- typing_check: participants only; writes nothing
SELECT parley.typing_check(:'group_cid', 'pr_ben');
SELECT parley.last_status();
SELECT pg_temp.err(format('SELECT parley.typing_check(%L, %L)', :'group_cid', 'pr_cat')) AS not_a_participant,
       pg_temp.err(format('SELECT parley.typing_check(%L, %L)', :'group_cid', 'nobody')) AS unknown_guest,
       pg_temp.err(format('SELECT parley.typing_check(%L, %L)', :'group_cid', 'bad id')) AS bad_id,
       pg_temp.err(format('SELECT parley.typing_check(%L, %L)', gen_random_uuid(), 'pr_ben')) AS unknown_conversation;
SELECT parley.typing_check(NULL, 'pr_ben');
SELECT parley.typing_check('not-a-uuid', 'pr_ben');

-- the gateway's role may run them all; PUBLIC none
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may
  FROM pg_proc p WHERE p.pronamespace = 'parley'::regnamespace
   AND p.proname IN ('presence_set', 'presence_get', 'presence_audience', 'presence_seen', 'typing_check')
 ORDER BY 1;
