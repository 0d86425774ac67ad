-- make bench SCALE=large: grow parley.messages to 10,000,000 rows with 999
-- more conversations of 10,000 messages each (the size of the list_messages
-- conversation), set-based, straight into the table, with last_seq fixed
-- up.  Rows go in in time order, round-robin over the 999 conversations,
-- as a live service writes them: one conversation's newest 50 messages lie
-- on ~50 different heap pages, the worst case for a page read.
\set ON_ERROR_STOP 1

CREATE FUNCTION pg_temp.cid(n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
    AS $$ SELECT ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid $$;

INSERT INTO parley.conversations (id, kind, title, created_by, last_seq, last_message_at)
SELECT pg_temp.cid(n), 'group', 'large ' || n, 'l_1', 0, now()
  FROM generate_series(3000001, 3000999) n;
INSERT INTO parley.participants (conversation_id, guest_id, role)
SELECT pg_temp.cid(n), 'l_' || k, CASE k WHEN 1 THEN 'owner' ELSE 'member' END
  FROM generate_series(3000001, 3000999) n, generate_series(1, 5) k;

INSERT INTO parley.messages (conversation_id, seq, id, sender_id, body, created_at)
SELECT pg_temp.cid(n), s, gen_random_uuid(), 'l_' || (1 + s % 5),
       'history message number ' || s || ', about as long as a chat line usually is',
       now() - (10000 - s) * interval '1 second'
  FROM (SELECT 3000001 + i % 999 AS n, 1 + i / 999 AS s
          FROM generate_series(0, 999 * 10000 - 1) i) t;

-- last_seq must match what is in the table (the API relies on it).
UPDATE parley.conversations c SET last_seq = m.max_seq
  FROM (SELECT conversation_id, max(seq) AS max_seq FROM parley.messages GROUP BY 1) m
 WHERE m.conversation_id = c.id AND c.last_seq <> m.max_seq;

VACUUM ANALYZE parley.messages, parley.conversations, parley.participants;
