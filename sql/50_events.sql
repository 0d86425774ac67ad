-- events_subscribe(), events_fetch(), conversation_heads(): what a gateway
-- needs for live event streams (API.md section 2 "events", section 6).
\set VERBOSITY terse

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, g) FROM unnest(ARRAY['ev_a', 'ev_b', 'ev_c']) AS g) s;
SELECT parley.conversation_create('ev_a', 'group', ARRAY['ev_b'], 'events') ->> 'id' AS cid \gset
SELECT parley.conversation_create('ev_a', 'group', ARRAY['ev_b'], 'empty') ->> 'id' AS empty \gset

-- subscribe: last_seq of the conversation, for participants only
SELECT parley.events_subscribe(:'cid', 'ev_b');
SELECT parley.last_status();
SELECT count(*) AS posted FROM (
    SELECT parley.message_post(:'cid', 'ev_a', 'm' || i) FROM generate_series(1, 5) i) s;
SELECT parley.events_subscribe(:'cid', 'ev_a', 2);
SELECT parley.events_subscribe(:'cid', 'ev_a', 99);          -- a cursor past last_seq is fine
SELECT regress.err(format('SELECT parley.events_subscribe(%L, %L)', :'cid', 'ev_c'));       -- 403
SELECT regress.err(format('SELECT parley.events_subscribe(%L, %L)', :'cid', 'nobody'));     -- 403
SELECT regress.err($$SELECT parley.events_subscribe('0190d6a4-0000-7000-8000-000000000000', 'ev_a')$$);  -- 404
SELECT regress.err(format('SELECT parley.events_subscribe(%L, %L, -1)', :'cid', 'ev_a'));   -- 400
SELECT regress.err(format('SELECT parley.events_subscribe(%L, NULL)', :'cid'));             -- 400
SELECT regress.err('SELECT parley.events_subscribe(NULL, ''ev_a'')');                       -- 400
SELECT regress.err(format('SELECT parley.events_subscribe(%L, %L)', :'cid', 'bad id!'));    -- 400

-- fetch: per conversation ascending seq above its cursor, at most limit each
SELECT jsonb_path_query_array(parley.events_fetch(ARRAY[:'cid']::uuid[], '{0}'), '$.messages[*].seq') AS seqs;
SELECT jsonb_path_query_array(parley.events_fetch(ARRAY[:'cid']::uuid[], '{2}', 2), '$.messages[*].seq') AS seqs;
SELECT jsonb_path_query_array(parley.events_fetch(ARRAY[:'cid']::uuid[], '{3}', 2), '$.messages[*].seq') AS seqs;
SELECT parley.events_fetch(ARRAY[:'cid']::uuid[], '{5}');                   -- nothing new
SELECT parley.events_fetch(ARRAY[:'empty']::uuid[], '{0}');
SELECT parley.events_fetch('{0190d6a4-0000-7000-8000-000000000000}', '{0}'); -- unknown: nothing
SELECT parley.events_fetch('{}', '{}');
-- several conversations in one call: grouped in the order given
SELECT parley.message_post(:'empty', 'ev_b', 'e1') ->> 'seq' AS empty_seq;
SELECT m ->> 'conversation_id' = :'empty' AS from_empty, m ->> 'seq' AS seq
  FROM jsonb_array_elements(parley.events_fetch(ARRAY[:'empty', :'cid']::uuid[], '{0,3}', 10) -> 'messages') m;
SELECT m ->> 'conversation_id' = :'empty' AS from_empty, m ->> 'seq' AS seq
  FROM jsonb_array_elements(parley.events_fetch(ARRAY[:'cid', :'empty']::uuid[], '{3,0}', 1) -> 'messages') m;
-- the message as message_list shows it, tombstones and edits included
SELECT parley.message_edit(:'cid', 4, 'ev_a', 'm4 edited') IS NOT NULL AS edited;
SELECT parley.message_delete(:'cid', 5, 'ev_a');
SELECT parley.events_fetch(ARRAY[:'cid']::uuid[], '{3}') -> 'messages'
     = parley.message_list(:'cid', 'ev_a', after => 3) -> 'messages' AS same_as_list;
SELECT m ->> 'seq' AS seq, m ->> 'body' AS body, m -> 'deleted' AS deleted
  FROM jsonb_array_elements(parley.events_fetch(ARRAY[:'cid']::uuid[], '{3}') -> 'messages') m;
SELECT regress.err(format('SELECT parley.events_fetch(ARRAY[%L]::uuid[], %L, 0)', :'cid', '{0}'));      -- 400
SELECT regress.err(format('SELECT parley.events_fetch(ARRAY[%L]::uuid[], %L, 1001)', :'cid', '{0}'));   -- 400
SELECT regress.err(format('SELECT parley.events_fetch(ARRAY[%L]::uuid[], %L)', :'cid', '{-1}'));        -- 400
SELECT regress.err(format('SELECT parley.events_fetch(ARRAY[%L]::uuid[], %L)', :'cid', '{NULL}'));      -- 400
SELECT regress.err(format('SELECT parley.events_fetch(ARRAY[%L]::uuid[], %L)', :'cid', '{1,2}'));       -- 400
SELECT regress.err(format('SELECT parley.events_fetch(ARRAY[%L]::uuid[], NULL)', :'cid'));              -- 400

-- heads: last_seq of each known conversation; unknown ids left out
SELECT (parley.conversation_heads(ARRAY[:'cid', :'empty',
        '0190d6a4-0000-7000-8000-000000000000']::uuid[]) ->> :'cid')::bigint AS cid_head,
       (parley.conversation_heads(ARRAY[:'cid', :'empty']::uuid[]) ->> :'empty')::bigint AS empty_head,
       parley.conversation_heads(ARRAY['0190d6a4-0000-7000-8000-000000000000']::uuid[]) AS unknown;
SELECT parley.conversation_heads('{}');
SELECT regress.err('SELECT parley.conversation_heads(NULL)');                    -- 400

-- a removed participant may no longer subscribe
SELECT parley.participant_remove(:'cid', 'ev_b', 'ev_b');
SELECT regress.err(format('SELECT parley.events_subscribe(%L, %L)', :'cid', 'ev_b'));       -- 403
