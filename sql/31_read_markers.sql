-- read_mark(): markers move forward only and never pass last_seq
-- (API.md sections 1 and 6).
\set VERBOSITY terse

CREATE TEMP TABLE conv (name text PRIMARY KEY, id uuid NOT NULL);
CREATE FUNCTION pg_temp.c(n text) RETURNS uuid LANGUAGE sql AS $$
    SELECT id FROM conv WHERE name = n
$$;

-- marker(cid, guest): the stored marker
CREATE FUNCTION pg_temp.marker(cid uuid, guest text) RETURNS bigint LANGUAGE sql AS $$
    SELECT last_read_seq FROM parley.participants WHERE conversation_id = cid AND guest_id = guest
$$;

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['rm_ann', 'rm_ben', 'rm_cid', 'rm_out']) AS g) s;
INSERT INTO conv VALUES
    ('g', (parley.conversation_create('rm_ann', 'group', '{rm_ben,rm_cid}')->>'id')::uuid),
    ('quiet', (parley.conversation_create('rm_ann', 'direct', '{rm_ben}')->>'id')::uuid);
SELECT id AS g FROM conv WHERE name = 'g' \gset
-- ten messages by ann
SELECT max((parley.message_post(:'g', 'rm_ann', 'm' || i)->>'seq')::int) AS last_seq
  FROM generate_series(1, 10) i;
-- posting moved ann's own marker; the others have read nothing
SELECT guest_id, last_read_seq FROM parley.participants WHERE conversation_id = :'g' ORDER BY guest_id;

-- ---------------------------------------------------------------------------
-- happy paths
-- ---------------------------------------------------------------------------
SELECT parley.read_mark(:'g', 'rm_ben', 4) AS r \gset
SELECT :'r'::jsonb - 'conversation_id' AS marked, (:'r'::jsonb->>'conversation_id') = :'g' AS conversation_id,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(:'r'::jsonb) k) AS keys;
SELECT parley.last_status();
SELECT pg_temp.marker(:'g', 'rm_ben') AS stored;
-- forward again
SELECT parley.read_mark(:'g', 'rm_ben', 7)->'last_read_seq' AS forward;
-- backwards or equal: 200, unchanged, and no new row version is written
SELECT xmin AS ben_xmin FROM parley.participants WHERE conversation_id = :'g' AND guest_id = 'rm_ben' \gset
SELECT parley.read_mark(:'g', 'rm_ben', 3)->'last_read_seq' AS backwards;
SELECT parley.last_status();
SELECT parley.read_mark(:'g', 'rm_ben', 7)->'last_read_seq' AS equal;
SELECT parley.read_mark(:'g', 'rm_ben', 0)->'last_read_seq' AS zero;
SELECT pg_temp.marker(:'g', 'rm_ben') AS stored,
       (SELECT xmin = :'ben_xmin'::xid FROM parley.participants
         WHERE conversation_id = :'g' AND guest_id = 'rm_ben') AS row_untouched;
-- past last_seq: clamped to last_seq
SELECT parley.read_mark(:'g', 'rm_cid', 11)->'last_read_seq' AS past_last;
SELECT parley.read_mark(:'g', 'rm_ben', 9223372036854775807)->'last_read_seq' AS max_bigint;
SELECT guest_id, last_read_seq FROM parley.participants WHERE conversation_id = :'g' ORDER BY guest_id;
-- a new message is unread until marked; then the marker may reach it
SELECT parley.message_post(:'g', 'rm_ann', 'eleven')->'seq' AS posted;
SELECT parley.read_mark(:'g', 'rm_ben', 100)->'last_read_seq' AS caught_up;
-- no messages yet: the marker stays 0
SELECT parley.read_mark(pg_temp.c('quiet'), 'rm_ben', 5)->'last_read_seq' AS nothing_to_read;
-- tombstones count like messages
SELECT parley.message_delete(:'g', 11, 'rm_ann');
SELECT parley.read_mark(:'g', 'rm_cid', 11)->'last_read_seq' AS tombstone_read;
-- unread in the conversation list follows the marker: last_seq - last_read_seq
SELECT parley.message_post(:'g', 'rm_ben', 'twelve')->'seq' AS posted_by_ben;
SELECT g AS guest, (SELECT e->'unread' FROM jsonb_array_elements(parley.conversation_list(g)->'conversations') e
                     WHERE (e->>'id')::uuid = :'g') AS unread
  FROM unnest(ARRAY['rm_ann', 'rm_ben', 'rm_cid']) g;
SELECT parley.read_mark(:'g', 'rm_ann', 12)->'last_read_seq' AS ann_reads;
SELECT (SELECT e->'unread' FROM jsonb_array_elements(parley.conversation_list('rm_ann')->'conversations') e
         WHERE (e->>'id')::uuid = :'g') AS ann_unread;
-- the participant's object in conversation_get shows the marker
SELECT p->>'guest_id' AS guest_id, p->'last_read_seq' AS last_read_seq
  FROM jsonb_array_elements(parley.conversation_get(:'g', 'rm_ann')->'participants') p
 ORDER BY 1;

-- ---------------------------------------------------------------------------
-- errors: 400, then 404, then 403; rejected marks change nothing
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE before_errors AS
    SELECT conversation_id, guest_id, last_read_seq FROM parley.participants;
SELECT what, regress.err(q) FROM (VALUES
    ('conversation_id NULL', $$SELECT parley.read_mark(NULL, 'rm_ben', 1)$$),
    ('guest_id NULL',        $$SELECT parley.read_mark(pg_temp.c('g'), NULL, 1)$$),
    ('seq NULL',             $$SELECT parley.read_mark(pg_temp.c('g'), 'rm_ben', NULL)$$),
    ('seq -1',               $$SELECT parley.read_mark(pg_temp.c('g'), 'rm_ben', -1)$$),
    ('seq min bigint',       $$SELECT parley.read_mark(pg_temp.c('g'), 'rm_ben', -9223372036854775808)$$),
    ('seq not a number',     $$SELECT parley.read_mark(pg_temp.c('g'), 'rm_ben', 'x')$$),
    ('seq too big',          $$SELECT parley.read_mark(pg_temp.c('g'), 'rm_ben', '9223372036854775808')$$),
    ('conversation_id text', $$SELECT parley.read_mark('nope', 'rm_ben', 1)$$),
    ('guest_id bad',         $$SELECT parley.read_mark(pg_temp.c('g'), 'rm ben', 1)$$),
    ('guest_id 65 bytes',    $$SELECT parley.read_mark(pg_temp.c('g'), repeat('b', 65), 1)$$),
    ('unknown conversation', $$SELECT parley.read_mark('00000000-0000-4000-8000-000000000000', 'rm_ben', 1)$$),
    ('not a participant',    $$SELECT parley.read_mark(pg_temp.c('g'), 'rm_out', 1)$$),
    ('guest names no guest', $$SELECT parley.read_mark(pg_temp.c('g'), 'rm_nobody', 1)$$),
    ('not in the direct one', $$SELECT parley.read_mark(pg_temp.c('quiet'), 'rm_cid', 0)$$),
    -- order
    ('seq -1, unknown conv.', $$SELECT parley.read_mark('00000000-0000-4000-8000-000000000000', 'rm_nobody', -1)$$),
    ('unknown conv., outsider', $$SELECT parley.read_mark('00000000-0000-4000-8000-000000000000', 'rm_out', 1)$$)
) AS t(what, q);
SELECT count(*) AS changed FROM parley.participants p
  JOIN before_errors b USING (conversation_id, guest_id)
 WHERE p.last_read_seq <> b.last_read_seq;
-- a removed participant marks nothing
SELECT parley.participant_remove(:'g', 'rm_cid', 'rm_cid');
SELECT regress.err(format('SELECT parley.read_mark(%L, %L, 1)', :'g', 'rm_cid')) AS removed;

-- ---------------------------------------------------------------------------
-- several marks in one transaction and statement: the largest wins
-- ---------------------------------------------------------------------------
SELECT count(*) AS posted FROM (SELECT parley.message_post(:'g', 'rm_ann', 'm' || i) FROM generate_series(13, 20) i) x;
SELECT pg_temp.marker(:'g', 'rm_ben') AS ben_before;
SELECT array_agg((parley.read_mark(:'g', 'rm_ben', s)->>'last_read_seq')::int ORDER BY o) AS answers
  FROM unnest(ARRAY[15, 13, 18, 16, 30, 2]) WITH ORDINALITY AS u(s, o);
SELECT pg_temp.marker(:'g', 'rm_ben') AS ben_after,
       (SELECT last_seq FROM parley.conversations WHERE id = :'g') AS last_seq;
