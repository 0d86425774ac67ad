-- events_subscribe(), events_fetch(), conversation_heads(), events_heads(),
-- events_changes(): what a gateway needs for live event streams (API.md
-- section 2 "events", section 6), and the change counting of 0.3.0.
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

-- 0.3.0 change tracking: the edit of 4, the delete of 5 and ev_b's removal
-- above each counted one change, in that order
SELECT parley.events_heads(ARRAY[:'cid', :'empty', '0190d6a4-0000-7000-8000-000000000000']::uuid[])
       -> :'cid' AS cid_head,
       parley.events_heads(ARRAY[:'empty']::uuid[]) -> :'empty' AS empty_head;
SELECT parley.events_heads('{}');
SELECT regress.err('SELECT parley.events_heads(NULL)');                          -- 400
SELECT seq, change_seq FROM parley.messages
 WHERE conversation_id = :'cid' AND change_seq IS NOT NULL ORDER BY seq;
-- changes after 0: both messages as they are now, and who is gone of the asked
SELECT c -> 'change_seq' AS change_seq,
       jsonb_path_query_array(c, '$.messages[*].seq') AS seqs,
       jsonb_path_query_array(c, '$.messages[*].deleted') AS deleted,
       c -> 'gone' AS gone
  FROM parley.events_changes(:'cid', 0, ARRAY['ev_a', 'ev_b', 'nobody']) c;
SELECT parley.events_changes(:'cid', 0, '{}') -> 'messages'
     = jsonb_build_array(parley.message_list(:'cid', 'ev_a', after => 3) -> 'messages' -> 0,
                         parley.message_list(:'cid', 'ev_a', after => 4) -> 'messages' -> 0)
       AS messages_as_listed;
SELECT c - 'messages' AS rest, jsonb_path_query_array(c, '$.messages[*].seq') AS seqs
  FROM parley.events_changes(:'cid', 1, '{ev_a}') c;    -- after the edit: the delete only
SELECT parley.events_changes(:'cid', 3, '{ev_a}');      -- nothing since
SELECT parley.events_changes(:'cid', 9, '{}') -> 'change_seq' AS never_backwards;
-- a change to a message posted later, and an edit that changes it again
SELECT parley.message_post(:'cid', 'ev_a', 'm6') ->> 'seq' AS seq6;
SELECT parley.message_edit(:'cid', 6, 'ev_a', 'm6 edited') ->> 'body' AS body;
SELECT parley.message_edit(:'cid', 4, 'ev_a', 'm4 again') ->> 'body' AS body;
SELECT jsonb_path_query_array(c, '$.messages[*].seq') AS seqs,
       jsonb_path_query_array(c, '$.messages[*].body') AS bodies, c -> 'change_seq' AS change_seq
  FROM parley.events_changes(:'cid', 3, '{}') c;
-- refused edits and deletes count nothing
SELECT regress.err(format('SELECT parley.message_edit(%L, 5, %L, %L)', :'cid', 'ev_a', 'x'));  -- 409
SELECT regress.err(format('SELECT parley.message_edit(%L, 6, %L, %L)', :'cid', 'ev_c', 'x'));  -- 403
SELECT parley.message_delete(:'cid', 5, 'ev_a');                -- a tombstone again: no change
SELECT (parley.events_heads(ARRAY[:'cid']::uuid[]) -> :'cid' ->> 1)::int AS still_5;
-- an unknown conversation: everyone asked is gone
SELECT parley.events_changes('0190d6a4-0000-7000-8000-000000000000', 0, '{ev_a}');
SELECT regress.err(format('SELECT parley.events_changes(%L, -1, %L)', :'cid', '{}'));        -- 400
SELECT regress.err(format('SELECT parley.events_changes(%L, NULL, %L)', :'cid', '{}'));      -- 400
SELECT regress.err(format('SELECT parley.events_changes(%L, 0, NULL)', :'cid'));             -- 400
SELECT regress.err(format('SELECT parley.events_changes(%L, 0, %L)', :'cid', '{{a},{b}}'));  -- 400
SELECT regress.err('SELECT parley.events_changes(NULL, 0, ''{}'')');                         -- 400
