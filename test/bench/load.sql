-- make bench: the data of every workload, loaded set-based as the
-- superuser straight into parley's tables (not through the API: only the
-- measured calls go through it).  Conversation ids are fixed so that wrk's
-- Lua and pgbench's scripts can name a conversation from a number without
-- a lookup:  00000000-0000-7000-8000-<12 decimal digits of n>.
--
--   n 1..100        post_message: groups of 5, guests p<n>_1 .. p<n>_5
--   n 1000          list_messages: 10,000 messages, guests l_1 .. l_5
--   n 2001..2500    conversation_list: 500 groups, each with lister + one other
--   n 3000001..     SCALE=large only (large.sql)
\set ON_ERROR_STOP 1

CREATE FUNCTION pg_temp.cid(n bigint) RETURNS uuid LANGUAGE sql IMMUTABLE
    AS $$ SELECT ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid $$;

-- guests
INSERT INTO parley.guests (guest_id, display_name)
SELECT 'p' || n || '_' || k, 'Poster ' || n || '.' || k
  FROM generate_series(1, 100) n, generate_series(1, 5) k;
INSERT INTO parley.guests (guest_id, display_name)
SELECT 'l_' || k, 'Lister ' || k FROM generate_series(1, 5) k;
INSERT INTO parley.guests (guest_id, display_name) VALUES ('lister', 'Lister');
INSERT INTO parley.guests (guest_id, display_name)
SELECT 'm_' || n, 'Member ' || n FROM generate_series(2001, 2500) n;

-- post_message: 100 groups of 5
INSERT INTO parley.conversations (id, kind, title, created_by)
SELECT pg_temp.cid(n), 'group', 'post ' || n, 'p' || n || '_1' FROM generate_series(1, 100) n;
INSERT INTO parley.participants (conversation_id, guest_id, role)
SELECT pg_temp.cid(n), 'p' || n || '_' || k, CASE k WHEN 1 THEN 'owner' ELSE 'member' END
  FROM generate_series(1, 100) n, generate_series(1, 5) k;

-- list_messages: one group of 5 with 10,000 messages
INSERT INTO parley.conversations (id, kind, title, created_by, last_seq, last_message_at)
VALUES (pg_temp.cid(1000), 'group', 'list', 'l_1', 10000, now());
INSERT INTO parley.participants (conversation_id, guest_id, role)
SELECT pg_temp.cid(1000), 'l_' || k, CASE k WHEN 1 THEN 'owner' ELSE 'member' END
  FROM generate_series(1, 5) k;
INSERT INTO parley.messages (conversation_id, seq, id, sender_id, body, created_at)
SELECT pg_temp.cid(1000), s, gen_random_uuid(), 'l_' || (1 + s % 5),
       'history message number ' || s || ', about as long as a chat line usually is',
       now() - (10000 - s) * interval '1 second'
  FROM generate_series(1, 10000) s;

-- conversation_list: lister takes part in 500 groups, with activity spread out
INSERT INTO parley.conversations (id, kind, title, created_by, last_seq, last_message_at)
SELECT pg_temp.cid(n), 'group', 'club ' || n, 'lister', n % 7,
       CASE WHEN n % 7 = 0 THEN NULL ELSE now() - n * interval '1 minute' END
  FROM generate_series(2001, 2500) n;
INSERT INTO parley.participants (conversation_id, guest_id, role, last_read_seq)
SELECT pg_temp.cid(n), 'lister', 'owner', LEAST(n % 3, n % 7) FROM generate_series(2001, 2500) n
 UNION ALL
SELECT pg_temp.cid(n), 'm_' || n, 'member', 0 FROM generate_series(2001, 2500) n;

VACUUM ANALYZE parley.guests, parley.conversations, parley.participants, parley.messages;
