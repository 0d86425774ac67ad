-- Friends and blocks (0.2.0): friend_request, friend_remove, guest_block,
-- guest_unblock, friend_list, and the effect of blocks on direct
-- conversations (API.md section 5).
\set VERBOSITY terse

-- rows(): every friendship and block row, one line
CREATE FUNCTION pg_temp.rows() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce((SELECT string_agg(guest_id || '>' || other_id || ':' || status, ' '
                                       ORDER BY guest_id, other_id)
                       FROM parley.friendships WHERE guest_id LIKE 'fr\_%'), '-')
        || ' | ' ||
           coalesce((SELECT string_agg(guest_id || '>' || other_id || ':' || direction, ' '
                                       ORDER BY guest_id, other_id, direction)
                       FROM parley.blocks WHERE guest_id LIKE 'fr\_%'), '-')
$$;

-- ids(j): the other_ids of a friend_list answer, in order
CREATE FUNCTION pg_temp.ids(j jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(f->>'other_id', ' ' ORDER BY n), '(none)')
      FROM jsonb_array_elements(j->'friends') WITH ORDINALITY AS a(f, n)
$$;

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['fr_ann', 'fr_ben', 'fr_cat', 'fr_dan', 'fr_eve']) AS g) s;

-- ---------------------------------------------------------------------------
-- requests
-- ---------------------------------------------------------------------------
-- a new request: 201 outgoing, from the asker's side; the other side is incoming
SELECT parley.friend_request('fr_ann', 'fr_ben') AS r \gset
SELECT parley.last_status(), :'r'::jsonb - 'since' AS request;
SELECT (:'r'::jsonb->>'since')::timestamptz = since AS since_is_the_request
  FROM parley.friendships WHERE guest_id = 'fr_ann' AND other_id = 'fr_ben';
SELECT pg_temp.rows();
-- repeated: 200 outgoing, since unchanged
SELECT parley.friend_request('fr_ann', 'fr_ben') AS r2 \gset
SELECT parley.last_status(), :'r2'::jsonb->>'status' AS status,
       (:'r2'::jsonb->>'since') = (:'r'::jsonb->>'since') AS same_since;
-- asking back accepts: 200 accepted, since moves to the acceptance
SELECT parley.friend_request('fr_ben', 'fr_ann') AS r3 \gset
SELECT parley.last_status(), :'r3'::jsonb - 'since' AS accepted,
       (:'r3'::jsonb->>'since')::timestamptz > (:'r'::jsonb->>'since')::timestamptz AS since_moved;
SELECT pg_temp.rows();
-- already friends, from either side: 200 accepted, nothing changes
SELECT parley.friend_request('fr_ann', 'fr_ben')->>'status' AS status, parley.last_status();
SELECT parley.friend_request('fr_ben', 'fr_ann')->>'since' = :'r3'::jsonb->>'since' AS same_since;

-- errors, in order: arguments, oneself, guests
SELECT regress.err($$SELECT parley.friend_request(NULL, 'fr_ben')$$);
SELECT regress.err($$SELECT parley.friend_request('fr_ann', NULL)$$);
SELECT regress.err($$SELECT parley.friend_request('fr ann', 'fr_ben')$$);
SELECT regress.err($$SELECT parley.friend_request('fr_ann', repeat('x', 65))$$);
SELECT regress.err($$SELECT parley.friend_request('fr_ann', 'fr_ann')$$);
SELECT regress.err($$SELECT parley.friend_request('fr_nobody', 'fr_ann')$$);
SELECT regress.err($$SELECT parley.friend_request('fr_ann', 'fr_nobody')$$);
SELECT pg_temp.rows();

-- ---------------------------------------------------------------------------
-- remove: unfriend, cancel, decline
-- ---------------------------------------------------------------------------
SELECT parley.friend_request('fr_cat', 'fr_ann')->>'status' AS cat_asks_ann;
SELECT parley.friend_request('fr_ann', 'fr_dan')->>'status' AS ann_asks_dan;
SELECT pg_temp.rows();
SELECT regress.err($$SELECT parley.friend_remove('fr_ann', 'fr_cat')$$) AS decline, parley.last_status();
SELECT regress.err($$SELECT parley.friend_remove('fr_ann', 'fr_dan')$$) AS cancel;
SELECT regress.err($$SELECT parley.friend_remove('fr_ben', 'fr_ann')$$) AS unfriend;
SELECT pg_temp.rows();
-- nothing left to remove: 404; oneself: 400; unknown guests: 404
SELECT regress.err($$SELECT parley.friend_remove('fr_ann', 'fr_ben')$$);
SELECT regress.err($$SELECT parley.friend_remove('fr_ann', 'fr_ann')$$);
SELECT regress.err($$SELECT parley.friend_remove('fr_ann', 'fr_nobody')$$);
SELECT regress.err($$SELECT parley.friend_remove(NULL, 'fr_ann')$$);
-- a declined request can be made again: 201
SELECT parley.friend_request('fr_cat', 'fr_ann')->>'status' AS again, parley.last_status();
SELECT parley.friend_remove('fr_cat', 'fr_ann');

-- ---------------------------------------------------------------------------
-- blocks
-- ---------------------------------------------------------------------------
SELECT parley.friend_request('fr_ann', 'fr_ben')->>'status', parley.friend_request('fr_ben', 'fr_ann')->>'status';
SELECT parley.conversation_create('fr_ann', 'direct', '{fr_ben}')->>'id' AS did \gset
SELECT parley.conversation_create('fr_ann', 'group', '{fr_ben,fr_cat}')->>'id' AS gid \gset
SELECT parley.message_post(:'did', 'fr_ann', 'before the block')->>'seq' AS seq;

-- a block ends the friendship: 200 with status blocked, rows on both sides
SELECT parley.guest_block('fr_ben', 'fr_ann') AS b \gset
SELECT parley.last_status(), :'b'::jsonb - 'since' AS block;
SELECT pg_temp.rows();
-- repeated: 200, the first since kept
SELECT parley.guest_block('fr_ben', 'fr_ann')->>'since' = :'b'::jsonb->>'since' AS same_since, parley.last_status();

-- while it stands, neither may ask, open or post in the direct conversation
SELECT regress.err($$SELECT parley.friend_request('fr_ann', 'fr_ben')$$) AS ann_asks;
SELECT regress.err($$SELECT parley.friend_request('fr_ben', 'fr_ann')$$) AS ben_asks;
SELECT regress.err($$SELECT parley.conversation_create('fr_ann', 'direct', '{fr_ben}')$$) AS ann_opens;
SELECT regress.err($$SELECT parley.conversation_create('fr_ben', 'direct', '{fr_ann}')$$) AS ben_opens;
SELECT regress.err(format($$SELECT parley.message_post(%L, 'fr_ann', 'hi')$$, :'did')) AS ann_posts;
SELECT regress.err(format($$SELECT parley.message_post(%L, 'fr_ben', 'hi', 'k1')$$, :'did')) AS ben_posts_idempotent;
-- nothing was posted
SELECT last_seq FROM parley.conversations WHERE id = :'did';
-- groups are not affected, nor are other guests
SELECT parley.message_post(:'gid', 'fr_ann', 'in the group')->>'seq' AS group_seq;
SELECT parley.message_post(:'gid', 'fr_ben', 'me too')->>'seq' AS group_seq;
SELECT parley.conversation_create('fr_cat', 'group', '{fr_ann,fr_ben}')->>'kind' AS new_group;
SELECT parley.friend_request('fr_ann', 'fr_cat')->>'status' AS ann_asks_cat;
SELECT parley.friend_remove('fr_ann', 'fr_cat');
-- the usual errors still come first for someone else
SELECT regress.err(format($$SELECT parley.message_post(%L, 'fr_cat', 'hi')$$, :'did')) AS outsider_posts;

-- only the blocker unblocks
SELECT regress.err($$SELECT parley.guest_unblock('fr_ann', 'fr_ben')$$) AS blocked_one_unblocks;
SELECT regress.err($$SELECT parley.guest_unblock('fr_cat', 'fr_ben')$$) AS nobody_blocked;
SELECT regress.err($$SELECT parley.guest_block('fr_ann', 'fr_ann')$$) AS self_block;
SELECT regress.err($$SELECT parley.guest_unblock('fr_ann', 'fr_ann')$$) AS self_unblock;
SELECT regress.err($$SELECT parley.guest_block('fr_ann', 'fr_nobody')$$) AS unknown;
SELECT regress.err($$SELECT parley.guest_block(NULL, 'fr_ann')$$) AS null_guest;
SELECT pg_temp.rows();

-- both may block: each block is lifted by its own blocker only
SELECT parley.guest_block('fr_ann', 'fr_ben')->>'status' AS ann_blocks_too;
SELECT pg_temp.rows();
SELECT parley.guest_unblock('fr_ben', 'fr_ann'), parley.last_status();
SELECT regress.err(format($$SELECT parley.message_post(%L, 'fr_ben', 'hi')$$, :'did')) AS still_blocked;
SELECT regress.err($$SELECT parley.guest_unblock('fr_ben', 'fr_ann')$$) AS twice;
SELECT parley.guest_unblock('fr_ann', 'fr_ben');
SELECT pg_temp.rows();

-- lifted: posts, opening and requests work again; the friendship is gone
SELECT parley.message_post(:'did', 'fr_ben', 'after the block')->>'seq' AS seq;
SELECT parley.conversation_create('fr_ben', 'direct', '{fr_ann}')->>'id' = :'did' AS same_direct, parley.last_status();
SELECT parley.friend_request('fr_ben', 'fr_ann')->>'status' AS new_request, parley.last_status();
SELECT parley.friend_remove('fr_ann', 'fr_ben');

-- a block of someone who had only asked removes the request
SELECT parley.friend_request('fr_eve', 'fr_dan')->>'status';
SELECT parley.guest_block('fr_dan', 'fr_eve')->>'status';
SELECT pg_temp.rows();
SELECT parley.guest_unblock('fr_dan', 'fr_eve');

-- ---------------------------------------------------------------------------
-- lists
-- ---------------------------------------------------------------------------
SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert('fr_p' || lpad(i::text, 2, '0'), 'P' || i)
      FROM generate_series(1, 12) AS i) s;
-- fr_p01..fr_p12 ask fr_ann, in order (one transaction each: distinct since)
SELECT parley.friend_request('fr_p01', 'fr_ann')->>'status';
SELECT parley.friend_request('fr_p02', 'fr_ann')->>'status';
SELECT parley.friend_request('fr_p03', 'fr_ann')->>'status';
SELECT parley.friend_request('fr_p04', 'fr_ann')->>'status';
SELECT parley.friend_request('fr_p05', 'fr_ann')->>'status';
SELECT parley.friend_request('fr_p06', 'fr_ann')->>'status';
SELECT parley.friend_request('fr_p07', 'fr_ann')->>'status';
SELECT parley.friend_request('fr_p08', 'fr_ann')->>'status';
-- p09..p12 in one transaction: one since, ordered by other_id descending
SELECT count(*) FROM (SELECT parley.friend_request('fr_p' || i, 'fr_ann')
                        FROM unnest(ARRAY['09', '10', '11', '12']) AS i) s;
-- fr_ann accepts p01..p04 (in that order) and asks fr_cat
SELECT parley.friend_request('fr_ann', 'fr_p01')->>'status';
SELECT parley.friend_request('fr_ann', 'fr_p02')->>'status';
SELECT parley.friend_request('fr_ann', 'fr_p03')->>'status';
SELECT parley.friend_request('fr_ann', 'fr_p04')->>'status';
SELECT parley.friend_request('fr_ann', 'fr_cat')->>'status';

-- status defaults to accepted; newest first; the shape
SELECT pg_temp.ids(parley.friend_list('fr_ann')) AS accepted;
SELECT jsonb_object_keys(parley.friend_list('fr_ann')) AS page_keys ORDER BY 1;
SELECT jsonb_object_keys(parley.friend_list('fr_ann')->'friends'->0) AS friend_keys ORDER BY 1;
SELECT (parley.friend_list('fr_ann')->'friends'->0) - 'since' AS first;
SELECT pg_temp.ids(parley.friend_list('fr_ann', 'incoming')) AS incoming;
SELECT pg_temp.ids(parley.friend_list('fr_ann', 'outgoing')) AS outgoing;
SELECT pg_temp.ids(parley.friend_list('fr_p05', 'outgoing')) AS p05_outgoing;
SELECT pg_temp.ids(parley.friend_list('fr_eve', 'accepted')) AS nobody;
SELECT parley.friend_list('fr_eve') AS empty_page;

-- keyset walk of the incoming requests, 3 at a time
SELECT parley.friend_list('fr_ann', 'incoming', NULL, 3) AS p1 \gset
SELECT pg_temp.ids(:'p1'), (:'p1'::jsonb->>'has_more')::bool AS has_more;
SELECT parley.friend_list('fr_ann', 'incoming', :'p1'::jsonb->>'next_before', 3) AS p2 \gset
SELECT pg_temp.ids(:'p2'), (:'p2'::jsonb->>'has_more')::bool AS has_more;
SELECT parley.friend_list('fr_ann', 'incoming', :'p2'::jsonb->>'next_before', 3) AS p3 \gset
SELECT pg_temp.ids(:'p3'), (:'p3'::jsonb->>'has_more')::bool AS has_more,
       :'p3'::jsonb->'next_before' AS next_before;
-- the whole walk equals one big page
WITH RECURSIVE walk(n, page) AS (
    SELECT 1, parley.friend_list('fr_ann', 'incoming', NULL, 1)
    UNION ALL
    SELECT n + 1, parley.friend_list('fr_ann', 'incoming', page->>'next_before', 1)
      FROM walk WHERE (page->>'has_more')::bool
)
SELECT string_agg(page->'friends'->0->>'other_id', ' ' ORDER BY n)
       = pg_temp.ids(parley.friend_list('fr_ann', 'incoming', NULL, 200)) AS walk_equals_page,
       count(*) AS pages
  FROM walk;

-- list errors
SELECT regress.err($$SELECT parley.friend_list('fr_ann', 'blocked')$$);
SELECT regress.err($$SELECT parley.friend_list('fr_ann', 'accepted', NULL, 0)$$);
SELECT regress.err($$SELECT parley.friend_list('fr_ann', 'accepted', NULL, 201)$$);
SELECT regress.err($$SELECT parley.friend_list('fr_ann', 'accepted', 'zz')$$);
SELECT regress.err($$SELECT parley.friend_list('fr_ann', 'accepted', '0000000000000000')$$);
SELECT regress.err($$SELECT parley.friend_list('fr_ann', 'accepted', '00000000000000002')$$);
SELECT regress.err($$SELECT parley.friend_list('fr_ann', 'accepted', '000000000000000020')$$);
SELECT regress.err($$SELECT parley.friend_list('fr_nobody')$$);
SELECT regress.err($$SELECT parley.friend_list(NULL)$$);

-- ---------------------------------------------------------------------------
-- the acting guest (0.4.0, API.md section 7): actor, when given, must be
-- guest_id (a guest token's guest acts only for itself); NULL is a service
-- ---------------------------------------------------------------------------
SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['fr_gus', 'fr_hal']) AS g) s;
SELECT parley.friend_request('fr_hal', 'fr_ann', NULL)->>'status' AS service_request;
SELECT pg_temp.rows() AS before_mismatch \gset
-- another guest acting: 403 guest_mismatch (PR015), and nothing changes
SELECT regress.err($$SELECT parley.friend_request('fr_gus', 'fr_hal', 'fr_hal')$$);
SELECT regress.err($$SELECT parley.friend_remove('fr_hal', 'fr_ann', 'fr_ann')$$);
SELECT regress.err($$SELECT parley.guest_block('fr_gus', 'fr_hal', 'fr_hal')$$);
SELECT regress.err($$SELECT parley.guest_unblock('fr_gus', 'fr_hal', 'fr_hal')$$);
SELECT regress.err($$SELECT parley.friend_list('fr_hal', 'outgoing', NULL, 50, 'fr_ann')$$);
SELECT regress.err($$SELECT parley.friend_list('fr_hal', actor => 'fr_gus')$$);
-- the order of checks: arguments (400) first, then the actor, then the guests (404)
SELECT regress.err($$SELECT parley.friend_request('fr gus', 'fr_hal', 'fr_hal')$$);
SELECT regress.err($$SELECT parley.friend_request('fr_gus', 'fr_nobody', 'fr_hal')$$);
SELECT regress.err($$SELECT parley.friend_request('fr_gus', 'fr_gus', 'fr_hal')$$);
SELECT regress.err($$SELECT parley.friend_list('fr_nobody', actor => 'fr_gus')$$);
SELECT pg_temp.rows() = :'before_mismatch' AS mismatches_changed_nothing;
-- the guest itself: every function works as for a service
SELECT parley.friend_request('fr_gus', 'fr_hal', 'fr_gus')->>'status' AS request, parley.last_status();
SELECT parley.friend_request('fr_hal', 'fr_gus', actor => 'fr_hal')->>'status' AS accept, parley.last_status();
SELECT pg_temp.ids(parley.friend_list('fr_gus', actor => 'fr_gus')) AS gus_friends;
SELECT parley.friend_remove('fr_hal', 'fr_gus', 'fr_hal') AS removed, parley.last_status();
SELECT parley.guest_block('fr_gus', 'fr_hal', 'fr_gus')->>'status' AS block, parley.last_status();
SELECT regress.err($$SELECT parley.guest_unblock('fr_hal', 'fr_gus', 'fr_hal')$$) AS only_the_blocker;
SELECT parley.guest_unblock('fr_gus', 'fr_hal', 'fr_gus') AS unblocked, parley.last_status();
-- the 0.4.0 signatures replaced the 0.2.0 ones (one function each)
SELECT p.proname, pg_get_function_identity_arguments(p.oid) AS args
  FROM pg_proc p
 WHERE p.pronamespace = 'parley'::regnamespace
   AND p.proname IN ('friend_request', 'friend_remove', 'guest_block', 'guest_unblock', 'friend_list')
 ORDER BY 1;

-- ---------------------------------------------------------------------------
-- the new tables are dumped, and the gateway role cannot touch them
-- ---------------------------------------------------------------------------
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS t(oid)
  JOIN pg_class c ON c.oid = t.oid
 WHERE e.extname = 'parley' AND c.relname IN ('friendships', 'blocks') ORDER BY 1;
SELECT has_table_privilege('public', 'parley.friendships', 'SELECT') AS public_reads_friendships,
       has_table_privilege('public', 'parley.stats', 'SELECT') AS public_reads_stats,
       has_table_privilege('pg_monitor', 'parley.stats', 'SELECT') AS monitor_reads_stats;

-- parley.stats: one row per figure
SELECT metric, count(*) > 0 AS present FROM parley.stats GROUP BY metric ORDER BY metric;
SELECT subject FROM parley.stats WHERE metric = 'table_bytes' ORDER BY 1;
