-- 0.6.0, data rights (API.md section 10): guest_export() and
-- guest_export_page(), guest_erase(), retention_set() and retention_run().
\set VERBOSITY terse
SELECT count(*) FROM (SELECT parley.guest_upsert('dr.' || i, 'Data ' || i, jsonb_build_object('n', i))
                        FROM generate_series(1, 5) AS i) s;
SELECT parley.conversation_create('dr.1', 'group', '{dr.2,dr.3}', 'Rights') ->> 'id' AS cid \gset
SELECT parley.conversation_create('dr.1', 'direct', '{dr.2}') ->> 'id' AS did \gset
SELECT parley.conversation_create('dr.2', 'group', '{dr.1}', 'Other') ->> 'id' AS oid \gset
SELECT count(*) FROM (SELECT parley.message_post(:'cid', 'dr.1', 'hello ' || i, 'c' || i)
                        FROM generate_series(1, 1100) AS i) s;
SELECT parley.message_post(:'cid', 'dr.2', 'reply') ->> 'seq' AS reply_seq;
SELECT parley.message_post(:'did', 'dr.1', 'direct one') ->> 'seq';
SELECT parley.message_post(:'oid', 'dr.1', 'in the other group') ->> 'seq';
SELECT count(*) AS deleted FROM (SELECT parley.message_delete(:'cid', 3, 'dr.1')) s;
SELECT parley.friend_request('dr.1', 'dr.2') ->> 'status';
SELECT parley.friend_request('dr.2', 'dr.1') ->> 'status';
SELECT parley.friend_request('dr.1', 'dr.4') ->> 'status';
SELECT count(*) AS blocked FROM (SELECT parley.guest_block('dr.1', 'dr.5')) s;

-- guest_export(): the rows concatenate to one document
SELECT count(*) > 1 AS several_rows FROM parley.guest_export('dr.1');
WITH d AS (SELECT string_agg(p, '')::jsonb AS doc FROM parley.guest_export('dr.1') AS p)
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(doc) AS k) AS keys,
       doc -> 'guest' ->> 'display_name' AS name,
       jsonb_array_length(doc -> 'friendships') AS friendships,
       doc -> 'blocks' -> 0 ->> 'direction' AS block,
       jsonb_array_length(doc -> 'memberships') AS memberships,
       jsonb_array_length(doc -> 'messages') AS messages,
       (SELECT count(*) FROM jsonb_array_elements(doc -> 'messages') m WHERE m ->> 'sender_id' <> 'dr.1') AS not_its_own,
       (SELECT count(*) FROM jsonb_array_elements(doc -> 'messages') m WHERE (m ->> 'deleted')::boolean) AS tombstones
  FROM d;
-- a guest with only an incoming request: empty lists
SELECT jsonb_array_length(doc -> 'blocks') AS blocks, jsonb_array_length(doc -> 'memberships') AS memberships,
       jsonb_array_length(doc -> 'messages') AS messages, doc -> 'friendships' -> 0 ->> 'status' AS friendship
  FROM (SELECT string_agg(p, '')::jsonb AS doc FROM parley.guest_export('dr.4') AS p) d;

-- guest_export_page(): the same document a page at a time (500 messages)
CREATE TEMP TABLE pages (n int, part text, next text);
DO $$
DECLARE
    a text := NULL; r jsonb; i int := 0;
BEGIN
    LOOP
        r := parley.guest_export_page('dr.1', a);
        i := i + 1;
        INSERT INTO pages VALUES (i, r ->> 'part', r ->> 'next');
        a := r ->> 'next';
        EXIT WHEN a IS NULL;
    END LOOP;
END
$$;
SELECT n, length(part) > 0 AS has_part, next IS NOT NULL AS more FROM pages ORDER BY n;
SELECT (SELECT string_agg(part, '' ORDER BY n) FROM pages)::jsonb
     = (SELECT string_agg(p, '')::jsonb FROM parley.guest_export('dr.1') AS p) AS pages_make_the_document;
SELECT parley.last_status();
SELECT regress.err($$SELECT parley.guest_export_page('dr.1', 'not a cursor')$$);
SELECT regress.err($$SELECT parley.guest_export_page('dr.1', '00000000-0000-0000-0000-000000000000:x')$$);
SELECT regress.err($$SELECT parley.guest_export_page('dr.1', '00000000-0000-0000-0000-000000000000:-1')$$);
SELECT regress.err($$SELECT parley.guest_export_page('nobody')$$);
SELECT regress.err($$SELECT * FROM parley.guest_export('nobody')$$);
SELECT regress.err($$SELECT * FROM parley.guest_export(NULL)$$);
SELECT regress.err($$SELECT parley.guest_export_page('bad id')$$);
-- fragments ('~'): no head, no closing, for parley_proxy
SELECT left(parley.guest_export_page('dr.1', '~') ->> 'part', 1) AS starts_with_a_message,
       right(parley.guest_export_page('dr.1', '~') ->> 'part', 2) <> ']}' AS not_closed,
       left(parley.guest_export_page('dr.1', '~') ->> 'next', 1) AS keeps_the_mode;

-- guest_erase(): 404 for an unknown guest, nothing changed
SELECT regress.err($$SELECT parley.guest_erase('nobody')$$);
SELECT regress.err($$SELECT parley.guest_erase(NULL)$$);
SELECT regress.err($$SELECT parley.guest_erase('')$$);
SELECT c.id = :'cid' AS grp, c.change_seq FROM parley.conversations c WHERE c.id IN (:'cid', :'did', :'oid') ORDER BY c.created_at;
SELECT parley.guest_erase('dr.1');
SELECT parley.last_status();
-- the profile keeps its id only; tokens refused from now
SELECT guest_id, display_name, metadata, erased_at IS NOT NULL AS erased,
       tokens_valid_from > erased_at AS tokens_refused
  FROM parley.guests WHERE guest_id = 'dr.1';
-- its messages are tombstones (the one deleted before too loses its
-- client_msg_id and digest), sender kept, seq gapless; others' untouched
SELECT count(*) AS messages, count(*) FILTER (WHERE deleted_at IS NOT NULL) AS tombstones,
       count(*) FILTER (WHERE body IS NOT NULL OR metadata <> '{}' OR client_msg_id IS NOT NULL
                        OR body_digest IS NOT NULL) AS with_content
  FROM parley.messages WHERE sender_id = 'dr.1';
SELECT max(seq) = count(*) AS gapless FROM parley.messages WHERE conversation_id = :'cid';
SELECT body FROM parley.messages WHERE conversation_id = :'cid' AND sender_id = 'dr.2';
-- each tombstone and each removal counted one change (streams hear of them)
SELECT c.id = :'cid' AS grp, c.change_seq FROM parley.conversations c WHERE c.id IN (:'cid', :'did', :'oid') ORDER BY c.created_at;
SELECT count(DISTINCT change_seq) = count(*) AS distinct_changes FROM parley.messages
 WHERE conversation_id = :'cid' AND change_seq IS NOT NULL;
-- memberships gone; the group it owned passed to its earliest-joined member
SELECT count(*) AS memberships FROM parley.participants WHERE guest_id = 'dr.1';
SELECT guest_id, role FROM parley.participants WHERE conversation_id = :'cid' ORDER BY guest_id;
SELECT guest_id, role FROM parley.participants WHERE conversation_id = :'oid' ORDER BY guest_id;
-- friendships and blocks gone, both rows of each pair
SELECT count(*) AS friendships FROM parley.friendships WHERE 'dr.1' IN (guest_id, other_id);
SELECT count(*) AS blocks FROM parley.blocks WHERE 'dr.1' IN (guest_id, other_id);
-- what is left to export
SELECT doc -> 'guest' ->> 'display_name' AS name, jsonb_array_length(doc -> 'memberships') AS memberships,
       jsonb_array_length(doc -> 'messages') AS messages,
       (SELECT count(*) FROM jsonb_array_elements(doc -> 'messages') m WHERE m ->> 'body' IS NOT NULL) AS bodies
  FROM (SELECT string_agg(p, '')::jsonb AS doc FROM parley.guest_export('dr.1') AS p) d;
-- the id cannot be used again: 409 guest_erased (PR070), for a profile or a token
SELECT regress.err($$SELECT parley.guest_upsert('dr.1', 'Back again')$$);
SELECT regress.err($$SELECT parley.guest_upsert('dr.1', 'Back again', '{}', 'dr.1')$$);
SELECT regress.err($$SELECT parley.guest_token_claims('dr.1')$$);
SELECT display_name FROM parley.guests WHERE guest_id = 'dr.1';
-- erasing again is a no-op that succeeds (a retry converges)
SELECT change_seq AS before FROM parley.conversations WHERE id = :'cid' \gset
SELECT parley.guest_erase('dr.1');
SELECT parley.last_status();
SELECT change_seq = :before AS nothing_more FROM parley.conversations WHERE id = :'cid';
-- the others go on
SELECT parley.message_post(:'cid', 'dr.2', 'still here') ->> 'seq';

-- retention_set(): validation, 404, the default and per conversation
SELECT regress.err($$SELECT parley.retention_set(NULL, '0 seconds')$$);
SELECT regress.err($$SELECT parley.retention_set(NULL, '-1 day')$$);
SELECT regress.err($$SELECT parley.retention_set('00000000-0000-0000-0000-000000000000', '1 day')$$);
SELECT count(*) AS policies FROM parley.retention;
SELECT parley.retention_set(NULL, '30 days');
SELECT parley.last_status();
SELECT parley.retention_set(NULL, '60 days');
SELECT parley.retention_set(:'oid', '1 hour');
SELECT conversation_id = :'oid' AS own, keep FROM parley.retention ORDER BY conversation_id NULLS FIRST;

-- retention_run(): a procedure that commits; not inside a transaction
BEGIN;
SELECT regress.err($$CALL parley.retention_run()$$);
ROLLBACK;
-- a group of 1,500 messages, 1,200 of them past the default's 60 days:
-- batches of at most 100, each message one change
SELECT parley.conversation_create('dr.2', 'group', '{dr.3}', 'Retained') ->> 'id' AS rid \gset
SELECT count(*) FROM (SELECT parley.message_post(:'rid', 'dr.' || (2 + i % 2), 'old ' || i)
                        FROM generate_series(1, 1500) AS i) s;
UPDATE parley.messages SET created_at = now() - interval '61 days'
 WHERE conversation_id = :'rid' AND seq <= 1200;
-- the other group's (1 hour) messages: aged 2 hours
SELECT parley.message_post(:'oid', 'dr.2', 'young in an old group') ->> 'seq';
UPDATE parley.messages SET created_at = now() - interval '2 hours' WHERE conversation_id = :'oid';
SELECT change_seq AS rid_changes FROM parley.conversations WHERE id = :'rid' \gset
CALL parley.retention_run();
SELECT count(*) FILTER (WHERE deleted_at IS NOT NULL) AS tombstones,
       count(*) FILTER (WHERE deleted_at IS NOT NULL AND seq > 1200) AS young_tombstones,
       count(*) FILTER (WHERE deleted_at IS NOT NULL AND (body IS NOT NULL OR metadata <> '{}')) AS with_body,
       max(seq) = count(*) AS gapless,
       count(DISTINCT change_seq) FILTER (WHERE deleted_at IS NOT NULL) AS distinct_changes
  FROM parley.messages WHERE conversation_id = :'rid';
SELECT change_seq - :rid_changes AS changes FROM parley.conversations WHERE id = :'rid';
SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live FROM parley.messages WHERE conversation_id = :'oid';
-- the group chat (no messages older than 60 days) keeps its live ones
SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live FROM parley.messages WHERE conversation_id = :'cid';
-- a second run finds nothing more
CALL parley.retention_run();
SELECT change_seq - :rid_changes AS changes FROM parley.conversations WHERE id = :'rid';
-- following the default again; without a default only policies of their own apply
SELECT parley.retention_set(:'oid', NULL);
SELECT parley.retention_set(NULL, NULL);
SELECT count(*) AS policies FROM parley.retention;
UPDATE parley.messages SET created_at = now() - interval '10 years' WHERE conversation_id = :'rid';
CALL parley.retention_run();
SELECT count(*) FILTER (WHERE deleted_at IS NULL) AS live FROM parley.messages WHERE conversation_id = :'rid';
