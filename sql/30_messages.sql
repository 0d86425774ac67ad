-- message_post(), message_list(), message_edit(), message_delete():
-- API.md sections 1, 2 and 6.
\set VERBOSITY terse

-- strip(m): a message without its generated fields (ids, timestamps); what
-- they hold is checked separately
CREATE FUNCTION pg_temp.strip(m jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT m - 'id' - 'conversation_id' - 'created_at' - 'edited_at'
           || jsonb_build_object('edited', m->'edited_at' <> 'null')
$$;

-- the conversations of this file by name, for queries inside err()
CREATE TEMP TABLE conv (name text PRIMARY KEY, id uuid NOT NULL);
CREATE FUNCTION pg_temp.c(n text) RETURNS uuid LANGUAGE sql AS $$
    SELECT id FROM conv WHERE name = n
$$;

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 5)))
      FROM unnest(ARRAY['msg_alice', 'msg_bob', 'msg_carol', 'msg_dave', 'msg_erin']) AS g) s;
-- g: alice's group with bob and carol; d: alice and bob; dave is in neither
INSERT INTO conv VALUES
    ('g', (parley.conversation_create('msg_alice', 'group', '{msg_bob,msg_carol}', 'Guild')->>'id')::uuid),
    ('d', (parley.conversation_create('msg_alice', 'direct', '{msg_bob}')->>'id')::uuid),
    ('idem', (parley.conversation_create('msg_alice', 'group', '{msg_bob}')->>'id')::uuid),
    ('page', (parley.conversation_create('msg_erin', 'group', '{msg_alice}')->>'id')::uuid),
    ('empty', (parley.conversation_create('msg_erin', 'group', '{msg_alice}')->>'id')::uuid);
SELECT id AS g FROM conv WHERE name = 'g' \gset

-- ---------------------------------------------------------------------------
-- post: the happy path
-- ---------------------------------------------------------------------------
SELECT parley.message_post(:'g', 'msg_alice', 'Hello, guild!') AS m1 \gset
SELECT pg_temp.strip(:'m1') AS posted;
SELECT parley.last_status();
-- id is a UUIDv7 (version 7, variant 10), created_at RFC 3339 in UTC
SELECT (:'m1'::jsonb->>'id') ~ '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' AS uuidv7,
       (:'m1'::jsonb->>'conversation_id') = :'g' AS conversation_id,
       (:'m1'::jsonb->>'created_at') ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$' AS rfc3339,
       (:'m1'::jsonb->'edited_at') = 'null' AS not_edited;
-- the id's 48-bit timestamp is the post's time (milliseconds since 1970)
SELECT abs(('x' || substr(replace(:'m1'::jsonb->>'id', '-', ''), 1, 12))::bit(48)::bigint
           - (extract(epoch FROM (:'m1'::jsonb->>'created_at')::timestamptz) * 1000)::bigint) < 1000 AS id_time;
-- stored as answered; the conversation's last_seq and activity moved; the
-- sender has read its own message, the others have not
SELECT seq, sender_id, body, metadata, client_msg_id, body_digest, edited_at, deleted_at,
       id = (:'m1'::jsonb->>'id')::uuid AS same_id,
       created_at = (:'m1'::jsonb->>'created_at')::timestamptz AS same_created_at
  FROM parley.messages WHERE conversation_id = :'g';
SELECT last_seq, last_message_at = (:'m1'::jsonb->>'created_at')::timestamptz AS activity
  FROM parley.conversations WHERE id = :'g';
SELECT guest_id, last_read_seq FROM parley.participants WHERE conversation_id = :'g' ORDER BY guest_id;
-- seq is gapless per conversation; ids of successive posts increase
SELECT array_agg((parley.message_post(:'g', s, 'msg ' || i)->>'seq')::int ORDER BY i) AS seqs
  FROM (SELECT i, (ARRAY['msg_bob', 'msg_carol', 'msg_alice'])[i % 3 + 1] AS s
          FROM generate_series(1, 6) i) x;
SELECT bool_and(id > prev) AS ids_increase, count(*) AS pairs
  FROM (SELECT id, lag(id) OVER (ORDER BY seq) AS prev FROM parley.messages WHERE conversation_id = :'g') x
 WHERE prev IS NOT NULL;
SELECT guest_id, last_read_seq FROM parley.participants WHERE conversation_id = :'g' ORDER BY guest_id;
-- metadata is stored and answered; the default is {}
SELECT pg_temp.strip(parley.message_post(:'g', 'msg_bob', 'with metadata', NULL, '{"kind": "emote", "n": [1, 2]}')) AS with_metadata;
SELECT pg_temp.strip(parley.message_post(:'g', 'msg_bob', 'no metadata')) AS default_metadata;
-- a direct conversation works alike and has a seq of its own
SELECT pg_temp.strip(parley.message_post(pg_temp.c('d'), 'msg_bob', 'psst')) AS direct;
-- the body is kept as given (no trimming)
SELECT parley.message_post(:'g', 'msg_carol', E'  spaced\n  out  ')->'body' AS untrimmed;

-- ---------------------------------------------------------------------------
-- post: validation (400), then 404, then 403; rejects store nothing
-- ---------------------------------------------------------------------------
SELECT last_seq AS g_seq FROM parley.conversations WHERE id = :'g' \gset
SELECT count(*) AS messages_before FROM parley.messages \gset
SELECT what, regress.err(q) FROM (VALUES
    ('conversation_id NULL', $$SELECT parley.message_post(NULL, 'msg_alice', 'x')$$),
    ('sender NULL',          $$SELECT parley.message_post(pg_temp.c('g'), NULL, 'x')$$),
    ('body NULL',            $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', NULL)$$),
    ('metadata NULL',        $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, NULL)$$),
    ('metadata NULL, key',   $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', 'k-null', NULL)$$),
    ('conversation_id text', $$SELECT parley.message_post('not-a-uuid', 'msg_alice', 'x')$$),
    ('sender bad',           $$SELECT parley.message_post(pg_temp.c('g'), 'msg alice', 'x')$$),
    ('sender empty',         $$SELECT parley.message_post(pg_temp.c('g'), '', 'x')$$),
    ('sender 65 bytes',      $$SELECT parley.message_post(pg_temp.c('g'), repeat('a', 65), 'x')$$),
    ('body empty',           $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', '')$$),
    ('body spaces',          $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', '   ')$$),
    ('body tab newline',     $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', E'\t\r\n ')$$),
    ('body U+3000',          $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', U&'\3000\3000')$$),
    ('body U+00A0',          $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', U&'\00A0')$$),
    ('body mixed spaces',    $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', U&' \00A0\2003\3000\2028\0085 ')$$),
    ('body 4001 chars',      $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', repeat('x', 4001))$$),
    ('body 4001 emoji',      $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', repeat('😀', 4001))$$),
    ('body 3999 + 2 emoji',  $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', repeat('x', 3999) || '😀😀')$$),
    ('client_msg_id empty',  $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', '')$$),
    ('client_msg_id 65 B',   $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', repeat('k', 65))$$),
    ('client_msg_id 17 emoji', $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', repeat('😀', 17))$$),
    ('metadata array',       $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, '[]')$$),
    ('metadata string',      $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, '"s"')$$),
    ('metadata null',        $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, 'null')$$),
    ('metadata number',      $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, '1')$$),
    ('metadata \u0000',      $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, '{"a": "\u0000"}')$$),
    ('metadata lone high',   $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, '{"a": "\ud83d"}')$$),
    ('metadata lone low',    $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, '{"a": "\ude00x"}')$$),
    ('metadata key \u0000',  $$SELECT parley.message_post(pg_temp.c('g'), 'msg_alice', 'x', NULL, '{"\u0000": 1}')$$),
    ('unknown conversation', $$SELECT parley.message_post('00000000-0000-4000-8000-000000000000', 'msg_alice', 'x')$$),
    ('unknown conv., key',   $$SELECT parley.message_post('00000000-0000-4000-8000-000000000000', 'msg_alice', 'x', 'k')$$),
    ('not a participant',    $$SELECT parley.message_post(pg_temp.c('g'), 'msg_dave', 'x')$$),
    ('not a participant, key', $$SELECT parley.message_post(pg_temp.c('g'), 'msg_dave', 'x', 'k')$$),
    ('sender names no guest', $$SELECT parley.message_post(pg_temp.c('g'), 'msg_nobody', 'x')$$),
    ('no guest, key',        $$SELECT parley.message_post(pg_temp.c('g'), 'msg_nobody', 'x', 'k')$$),
    ('not in the direct one', $$SELECT parley.message_post(pg_temp.c('d'), 'msg_carol', 'x')$$),
    -- order: validation before existence, existence before membership
    ('bad body, unknown conv.', $$SELECT parley.message_post('00000000-0000-4000-8000-000000000000', 'msg_nobody', '')$$),
    ('bad metadata, outsider', $$SELECT parley.message_post(pg_temp.c('g'), 'msg_dave', 'x', NULL, '[]')$$),
    ('unknown conv., no guest', $$SELECT parley.message_post('00000000-0000-4000-8000-000000000000', 'msg_nobody', 'x')$$)
) AS t(what, q);
-- a rejected post takes no seq and stores nothing
SELECT last_seq - :g_seq AS seq_taken FROM parley.conversations WHERE id = :'g';
SELECT count(*) - :messages_before AS stored FROM parley.messages;

-- ---------------------------------------------------------------------------
-- post: boundaries that pass
-- ---------------------------------------------------------------------------
-- 4000 code points; an emoji is one character (4000 emoji are 16000 bytes)
SELECT char_length(b) AS chars, octet_length(b) AS bytes
  FROM (SELECT parley.message_post(:'g', 'msg_alice', repeat('x', 4000))->>'body' AS b
        UNION ALL
        SELECT parley.message_post(:'g', 'msg_alice', repeat('😀', 4000))->>'body'
        UNION ALL
        SELECT parley.message_post(:'g', 'msg_alice', repeat('x', 3998) || '😀😀')->>'body'
        UNION ALL
        SELECT parley.message_post(:'g', 'msg_alice', '😀')->>'body') x;
-- one visible character among white space is enough; control characters
-- and zero-width characters are not white space
SELECT parley.message_post(:'g', 'msg_alice', U&'\3000x\3000')->'body' AS ideographic_space_around,
       parley.message_post(:'g', 'msg_alice', U&'\200B')->>'body' = U&'\200B' AS zero_width_space,
       parley.message_post(:'g', 'msg_alice', E'\x01')->'body' AS control;
-- client_msg_id: 1 to 64 bytes (16 emoji are 64 bytes)
SELECT parley.message_post(:'g', 'msg_alice', 'k1', 'k')->'client_msg_id' AS key_1,
       octet_length(parley.message_post(:'g', 'msg_alice', 'k64', repeat('k', 64))->>'client_msg_id') AS key_64,
       octet_length(parley.message_post(:'g', 'msg_alice', 'k16e', repeat('😀', 16))->>'client_msg_id') AS key_16_emoji;
-- metadata: 16384 bytes as metadata::text pass, 16385 do not
-- ('{"k": "' || 16375 characters || '"}' is 16384 bytes)
SELECT octet_length(m::text) AS bytes, regress.err(format('SELECT parley.message_post(%L, %L, %L, NULL, %L)',
                                                     :'g', 'msg_alice', 'meta', m)) AS result
  FROM (VALUES (jsonb_build_object('k', repeat('x', 16375))),
               (jsonb_build_object('k', repeat('x', 16376))),
               (jsonb_build_object('k', repeat('é', 8187) || 'x')),
               (jsonb_build_object('k', repeat('é', 8188)))) AS v(m);
-- the size is PostgreSQL's output form: the input's white space does not count
SELECT octet_length(m) AS input_bytes, octet_length(m::jsonb::text) AS stored_bytes,
       regress.err(format('SELECT parley.message_post(%L, %L, %L, NULL, %L)', :'g', 'msg_alice', 'meta', m)) AS result
  FROM (SELECT '{"k":' || repeat(' ', 100) || '"' || repeat('x', 16375) || '"}' AS m) x;
-- nesting: the metadata object is level 1; 32 levels pass, 33 do not
SELECT levels, regress.err(format('SELECT parley.message_post(%L, %L, %L, NULL, %L)',
                                  :'g', 'msg_alice', 'deep', m)) AS result
  FROM (SELECT n AS levels, repeat('{"a": ', n - 1) || '{}' || repeat('}', n - 1) AS m
          FROM generate_series(31, 33) n
        UNION ALL
        SELECT n, '{"a": ' || repeat('[', n - 1) || repeat(']', n - 1) || '}'
          FROM generate_series(32, 33) n) x;
-- strings PostgreSQL can store: escapes of real characters and surrogate pairs
SELECT parley.message_post(:'g', 'msg_alice', 'esc', NULL, '{"a": "\u00e9\ud83d\ude00\n"}')->'metadata' AS escapes;

-- ---------------------------------------------------------------------------
-- idempotent posts: client_msg_id per (conversation, sender)
-- ---------------------------------------------------------------------------
SELECT id AS idem FROM conv WHERE name = 'idem' \gset
SELECT parley.message_post(:'idem', 'msg_bob', 'once', 'key-1', '{"try": 1}') AS k1 \gset
SELECT pg_temp.strip(:'k1') AS first_post;
SELECT parley.last_status();
-- a retry answers the same message with 200; metadata is not compared
SELECT parley.message_post(:'idem', 'msg_bob', 'once', 'key-1', '{"try": 2}') = :'k1'::jsonb AS replay_same;
SELECT parley.last_status();
SELECT parley.message_post(:'idem', 'msg_bob', 'once', 'key-1') = :'k1'::jsonb AS replay_default_metadata;
SELECT parley.last_status();
-- the same key with another body is a conflict, also when it differs in
-- white space only
SELECT regress.err(format('SELECT parley.message_post(%L, %L, %L, %L)', :'idem', 'msg_bob', 'twice', 'key-1')) AS other_body;
SELECT regress.err(format('SELECT parley.message_post(%L, %L, %L, %L)', :'idem', 'msg_bob', 'once ', 'key-1')) AS trailing_space;
-- the key belongs to the sender in the conversation: another sender, or
-- another conversation, makes a new message
SELECT pg_temp.strip(parley.message_post(:'idem', 'msg_alice', 'once', 'key-1')) AS other_sender;
SELECT parley.last_status();
SELECT (parley.message_post(:'g', 'msg_bob', 'once', 'key-1')->>'conversation_id') = :'g' AS other_conversation;
SELECT parley.last_status();
-- keys are case- and byte-exact
SELECT parley.message_post(:'idem', 'msg_bob', 'once', 'KEY-1')->'seq' AS other_case;
SELECT parley.last_status();
-- the replay still checks access: 404 and 403 as for a new post
SELECT regress.err(format('SELECT parley.message_post(%L, %L, %L, %L)', :'idem', 'msg_carol', 'once', 'key-1')) AS replay_outsider;
-- replays took no seq: idem holds seq 1 to 3, one message per key
SELECT last_seq FROM parley.conversations WHERE id = :'idem';
SELECT seq, sender_id, body, client_msg_id, octet_length(body_digest) AS digest_bytes,
       body_digest = sha256('once'::bytea) AS digest_of_body
  FROM parley.messages WHERE conversation_id = :'idem' ORDER BY seq;
-- a post without a key stores no digest
SELECT body_digest IS NULL AS no_digest FROM parley.messages WHERE conversation_id = :'g' AND seq = 1;
-- after an edit, a replay of the original body answers the message as it
-- is now (edited); the edited body is not the key's body: conflict
SELECT pg_temp.strip(parley.message_edit(:'idem', 1, 'msg_bob', 'once, edited')) AS edited;
SELECT pg_temp.strip(parley.message_post(:'idem', 'msg_bob', 'once', 'key-1')) AS replay_after_edit;
SELECT parley.last_status();
SELECT regress.err(format('SELECT parley.message_post(%L, %L, %L, %L)', :'idem', 'msg_bob', 'once, edited', 'key-1')) AS replay_edited_body;
-- after a delete, a replay answers the tombstone; the key stays taken
SELECT parley.message_delete(:'idem', 1, 'msg_bob');
SELECT pg_temp.strip(parley.message_post(:'idem', 'msg_bob', 'once', 'key-1')) AS replay_after_delete;
SELECT parley.last_status();
SELECT regress.err(format('SELECT parley.message_post(%L, %L, %L, %L)', :'idem', 'msg_bob', 'again', 'key-1')) AS deleted_other_body;
SELECT last_seq FROM parley.conversations WHERE id = :'idem';
-- a replay inside one transaction sees the message that transaction posted
BEGIN;
SELECT parley.message_post(:'idem', 'msg_alice', 'tx', 'key-tx')->'seq' AS tx_first,
       parley.message_post(:'idem', 'msg_alice', 'tx', 'key-tx')->'seq' AS tx_replay;
SELECT parley.last_status();
ROLLBACK;
-- the rollback gave the seq back: the next post takes it
SELECT parley.message_post(:'idem', 'msg_alice', 'after rollback')->'seq' AS seq_after_rollback;

-- ---------------------------------------------------------------------------
-- list: errors
-- ---------------------------------------------------------------------------
SELECT what, regress.err(q) FROM (VALUES
    ('conversation_id NULL', $$SELECT parley.message_list(NULL, 'msg_alice')$$),
    ('actor NULL',           $$SELECT parley.message_list(pg_temp.c('g'), NULL)$$),
    ('actor bad',            $$SELECT parley.message_list(pg_temp.c('g'), 'msg/alice')$$),
    ('before and after',     $$SELECT parley.message_list(pg_temp.c('g'), 'msg_alice', 5, 1)$$),
    ('before and after 0',   $$SELECT parley.message_list(pg_temp.c('g'), 'msg_alice', 0, 0)$$),
    ('before negative',      $$SELECT parley.message_list(pg_temp.c('g'), 'msg_alice', -1)$$),
    ('after negative',       $$SELECT parley.message_list(pg_temp.c('g'), 'msg_alice', NULL, -1)$$),
    ('limit 0',              $$SELECT parley.message_list(pg_temp.c('g'), 'msg_alice', NULL, NULL, 0)$$),
    ('limit -1',             $$SELECT parley.message_list(pg_temp.c('g'), 'msg_alice', NULL, NULL, -1)$$),
    ('limit 201',            $$SELECT parley.message_list(pg_temp.c('g'), 'msg_alice', NULL, NULL, 201)$$),
    ('before too big',       $$SELECT parley.message_list(pg_temp.c('g'), 'msg_alice', '99999999999999999999')$$),
    ('unknown conversation', $$SELECT parley.message_list('00000000-0000-4000-8000-000000000000', 'msg_alice')$$),
    ('not a participant',    $$SELECT parley.message_list(pg_temp.c('g'), 'msg_dave')$$),
    ('actor names no guest', $$SELECT parley.message_list(pg_temp.c('g'), 'msg_nobody')$$),
    ('limit bad, unknown',   $$SELECT parley.message_list('00000000-0000-4000-8000-000000000000', 'msg_nobody', NULL, NULL, 0)$$),
    ('unknown, no guest',    $$SELECT parley.message_list('00000000-0000-4000-8000-000000000000', 'msg_nobody')$$)
) AS t(what, q);

-- ---------------------------------------------------------------------------
-- list: pages
-- ---------------------------------------------------------------------------
-- an empty conversation
SELECT parley.message_list(pg_temp.c('empty'), 'msg_alice') AS empty_page;
SELECT parley.last_status();
SELECT parley.message_list(pg_temp.c('empty'), 'msg_alice', 1) AS empty_before,
       parley.message_list(pg_temp.c('empty'), 'msg_alice', NULL, 0) AS empty_after;
-- the items are the message shape, equal to what the post answered
SELECT parley.message_list(:'g', 'msg_bob', NULL, 0, 1)->'messages'->0 = :'m1'::jsonb AS item_is_post_answer,
       parley.message_list(:'g', 'msg_bob', NULL, 0, 1)->'has_more' AS has_more;
SELECT parley.message_list(:'g', 'msg_bob', 2, NULL, 200)->'messages' = jsonb_build_array(:'m1'::jsonb) AS before_2;
-- page: 1,000 messages, posted by erin and alice in turn
SELECT id AS page FROM conv WHERE name = 'page' \gset
SELECT count(*) AS posted FROM (
    SELECT parley.message_post(:'page', CASE WHEN i % 2 = 0 THEN 'msg_erin' ELSE 'msg_alice' END,
                               'message ' || i)
      FROM generate_series(1, 1000) i) x;
-- tombstones stay in the sequence
SELECT parley.message_delete(:'page', s, 'msg_erin') FROM unnest(ARRAY[1, 2, 500, 999, 1000]) s;
-- no cursor: the newest, ascending; default limit 50
SELECT jsonb_array_length(p->'messages') AS n, p->'messages'->0->'seq' AS first, p->'messages'->-1->'seq' AS last,
       p->'has_more' AS has_more
  FROM parley.message_list(:'page', 'msg_alice') p;
SELECT jsonb_array_length(p->'messages') AS n, p->'messages'->0->'seq' AS first, p->'messages'->-1->'seq' AS last,
       p->'has_more' AS has_more
  FROM parley.message_list(:'page', 'msg_alice', NULL, NULL, NULL) p;
-- the newest page shows the tombstones: body null, deleted true, metadata {}
SELECT m->'seq' AS seq, m->'body' AS body, m->'deleted' AS deleted, m->'metadata' AS metadata,
       m->>'sender_id' AS sender_id
  FROM jsonb_array_elements(parley.message_list(:'page', 'msg_alice', NULL, NULL, 3)->'messages') m;
SELECT m->'seq' AS seq, m->'body' AS body, m->'deleted' AS deleted
  FROM jsonb_array_elements(parley.message_list(:'page', 'msg_alice', 503, NULL, 4)->'messages') m;
-- edges: before=1 and before=0 are empty; after the last is empty;
-- after=0 starts at seq 1; limit 200 is the largest page
SELECT b AS cursor, p->'messages' AS messages, p->'has_more' AS has_more
  FROM unnest(ARRAY[0, 1]) b, parley.message_list(:'page', 'msg_alice', b) p;
SELECT a AS cursor, p->'messages' AS messages, p->'has_more' AS has_more
  FROM unnest(ARRAY[1000, 1001, 9223372036854775807]) a, parley.message_list(:'page', 'msg_alice', NULL, a) p;
SELECT (p->'messages'->0->'seq') AS first, p->'has_more' AS has_more
  FROM parley.message_list(:'page', 'msg_alice', 2, NULL, 200) p;
SELECT (p->'messages'->0->'seq') AS first, p->'has_more' AS has_more
  FROM parley.message_list(:'page', 'msg_alice', NULL, 999, 200) p;
SELECT jsonb_array_length(p->'messages') AS n, p->'messages'->0->'seq' AS first, p->'has_more' AS has_more
  FROM parley.message_list(:'page', 'msg_alice', NULL, 0, 200) p;
SELECT jsonb_array_length(p->'messages') AS n, p->'messages'->0->'seq' AS first, p->'has_more' AS has_more
  FROM parley.message_list(:'page', 'msg_alice', 9223372036854775807, NULL, 200) p;
-- exact page boundaries: the last page of a walk has has_more false even
-- when it is full
SELECT parley.message_list(:'page', 'msg_alice', 6, NULL, 5)->'has_more' AS before_6_limit_5,
       parley.message_list(:'page', 'msg_alice', 7, NULL, 5)->'has_more' AS before_7_limit_5,
       parley.message_list(:'page', 'msg_alice', NULL, 995, 5)->'has_more' AS after_995_limit_5,
       parley.message_list(:'page', 'msg_alice', NULL, 994, 5)->'has_more' AS after_994_limit_5;

-- walk(cid, actor, backwards, limit): follow the cursors from one end to the
-- other; every page ascending and within limit, has_more false exactly on
-- the last page; answers the pages and each seq in the order met
CREATE FUNCTION pg_temp.walk(cid uuid, actor text, backwards bool, lim int,
                             OUT pages int, OUT seqs bigint[], OUT pages_ok bool)
LANGUAGE plpgsql AS $$
DECLARE
    p jsonb;
    cursor bigint;
    page_seqs bigint[];
BEGIN
    pages := 0; seqs := '{}'; pages_ok := true;
    LOOP
        IF backwards THEN
            p := parley.message_list(cid, actor, cursor, NULL, lim);
        ELSE
            p := parley.message_list(cid, actor, NULL, coalesce(cursor, 0), lim);
        END IF;
        pages := pages + 1;
        SELECT coalesce(array_agg((m->>'seq')::bigint ORDER BY o), '{}') INTO page_seqs
          FROM jsonb_array_elements(p->'messages') WITH ORDINALITY AS e(m, o);
        pages_ok := pages_ok
            AND cardinality(page_seqs) BETWEEN 1 AND lim
            AND page_seqs = (SELECT array_agg(s ORDER BY s) FROM unnest(page_seqs) s)
            AND (cardinality(page_seqs) = lim OR NOT (p->>'has_more')::bool);
        IF backwards THEN
            seqs := page_seqs || seqs;
            cursor := page_seqs[1];
        ELSE
            seqs := seqs || page_seqs;
            cursor := page_seqs[cardinality(page_seqs)];
        END IF;
        EXIT WHEN NOT (p->>'has_more')::bool OR pages > 2000;
    END LOOP;
END
$$;
-- limit 37 over 1,000 messages: 28 pages (27 full, one of 1), every seq
-- exactly once and in order, in both directions
SELECT w.pages, cardinality(w.seqs) AS seen, w.pages_ok,
       w.seqs = ARRAY(SELECT generate_series(1, 1000)::bigint) AS each_once_in_order
  FROM pg_temp.walk(:'page', 'msg_alice', true, 37) w;
SELECT w.pages, cardinality(w.seqs) AS seen, w.pages_ok,
       w.seqs = ARRAY(SELECT generate_series(1, 1000)::bigint) AS each_once_in_order
  FROM pg_temp.walk(:'page', 'msg_alice', false, 37) w;
-- the last page of each walk
SELECT jsonb_path_query_array(parley.message_list(:'page', 'msg_alice', 38, NULL, 37), '$.messages[*].seq') AS backwards_second_last,
       jsonb_path_query_array(parley.message_list(:'page', 'msg_alice', 1, NULL, 37), '$.messages[*].seq') AS backwards_past_end,
       jsonb_path_query_array(parley.message_list(:'page', 'msg_alice', NULL, 999, 37), '$.messages[*].seq') AS forwards_last;
-- limit 200 and limit 1
SELECT w.pages, w.pages_ok, w.seqs = ARRAY(SELECT generate_series(1, 1000)::bigint) AS each_once_in_order
  FROM pg_temp.walk(:'page', 'msg_alice', true, 200) w;
SELECT w.pages, w.pages_ok, w.seqs = ARRAY(SELECT generate_series(1, 1000)::bigint) AS each_once_in_order
  FROM pg_temp.walk(:'page', 'msg_alice', false, 1) w;
-- the access path, as the saved plans run it (generic plans): range scans
-- of the messages primary key, backwards for the newest and before=,
-- forwards for after=
PREPARE page_before(uuid, bigint, bigint) AS
    SELECT * FROM parley.messages WHERE conversation_id = $1 AND seq < $3 ORDER BY seq DESC LIMIT $2;
PREPARE page_after(uuid, bigint, bigint) AS
    SELECT * FROM parley.messages WHERE conversation_id = $1 AND seq > $3 ORDER BY seq LIMIT $2;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE page_before(:'page', 38, 500);
EXPLAIN (COSTS OFF) EXECUTE page_after(:'page', 38, 500);
RESET plan_cache_mode;
DEALLOCATE page_before;
DEALLOCATE page_after;

-- ---------------------------------------------------------------------------
-- edit
-- ---------------------------------------------------------------------------
SELECT parley.message_post(:'g', 'msg_carol', 'typo', 'carol-1', '{"keep": true}') AS e1 \gset
SELECT :'e1'::jsonb->>'seq' AS e1_seq \gset
SELECT parley.message_edit(:'g', :e1_seq, 'msg_carol', 'fixed') AS e1_edited \gset
SELECT pg_temp.strip(:'e1_edited') AS edited;
SELECT parley.last_status();
-- same id, created_at, metadata and key; edited_at set, RFC 3339
SELECT (:'e1_edited'::jsonb - 'body' - 'edited_at') = (:'e1'::jsonb - 'body' - 'edited_at') AS rest_unchanged,
       (:'e1_edited'::jsonb->>'edited_at') ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$' AS edited_at_rfc3339;
SELECT body, edited_at IS NOT NULL AS edited, deleted_at IS NULL AS not_deleted,
       body_digest = sha256('typo'::bytea) AS digest_of_first_body
  FROM parley.messages WHERE conversation_id = :'g' AND seq = :e1_seq;
-- edits keep seq and last_seq
SELECT last_seq AS g_seq FROM parley.conversations WHERE id = :'g' \gset
SELECT parley.message_edit(:'g', :e1_seq, 'msg_carol', 'fixed again')->'seq' = to_jsonb(:e1_seq) AS same_seq;
SELECT last_seq = :g_seq AS last_seq_unchanged FROM parley.conversations WHERE id = :'g';
-- the list shows the edited message
SELECT parley.message_list(:'g', 'msg_alice', :e1_seq + 1, NULL, 1)->'messages'->0->'body' AS listed;
-- 4000 characters and emoji count as for posts
SELECT char_length(parley.message_edit(:'g', :e1_seq, 'msg_carol', repeat('😀', 4000))->>'body') AS chars_4000;
SELECT parley.message_post(:'g', 'msg_bob', 'bob''s') ->> 'seq' AS bob_seq \gset
SELECT parley.message_post(:'g', 'msg_bob', 'to delete') ->> 'seq' AS del_seq \gset
SELECT parley.message_delete(:'g', :del_seq, 'msg_bob');
SELECT what, regress.err(q) FROM (VALUES
    ('conversation_id NULL', $$SELECT parley.message_edit(NULL, 1, 'msg_alice', 'x')$$),
    ('seq NULL',             $$SELECT parley.message_edit(pg_temp.c('g'), NULL, 'msg_alice', 'x')$$),
    ('actor NULL',           $$SELECT parley.message_edit(pg_temp.c('g'), 1, NULL, 'x')$$),
    ('body NULL',            $$SELECT parley.message_edit(pg_temp.c('g'), 1, 'msg_alice', NULL)$$),
    ('seq 0',                $$SELECT parley.message_edit(pg_temp.c('g'), 0, 'msg_alice', 'x')$$),
    ('seq -1',               $$SELECT parley.message_edit(pg_temp.c('g'), -1, 'msg_alice', 'x')$$),
    ('seq not a number',     $$SELECT parley.message_edit(pg_temp.c('g'), 'one', 'msg_alice', 'x')$$),
    ('actor bad',            $$SELECT parley.message_edit(pg_temp.c('g'), 1, 'msg alice', 'x')$$),
    ('body empty',           $$SELECT parley.message_edit(pg_temp.c('g'), 1, 'msg_alice', '')$$),
    ('body U+3000',          $$SELECT parley.message_edit(pg_temp.c('g'), 1, 'msg_alice', U&'\3000')$$),
    ('body 4001 emoji',      $$SELECT parley.message_edit(pg_temp.c('g'), 1, 'msg_alice', repeat('😀', 4001))$$),
    ('unknown conversation', $$SELECT parley.message_edit('00000000-0000-4000-8000-000000000000', 1, 'msg_alice', 'x')$$),
    ('not a participant',    $$SELECT parley.message_edit(pg_temp.c('g'), 1, 'msg_dave', 'x')$$),
    ('actor names no guest', $$SELECT parley.message_edit(pg_temp.c('g'), 1, 'msg_nobody', 'x')$$),
    ('unknown seq',          $$SELECT parley.message_edit(pg_temp.c('g'), 99999, 'msg_alice', 'x')$$),
    ('not the sender',       $$SELECT parley.message_edit(pg_temp.c('g'), 2, 'msg_alice', 'x')$$),
    ('owner is not sender',  format('SELECT parley.message_edit(pg_temp.c(%L), %s, %L, %L)', 'g', :bob_seq, 'msg_alice', 'x')),
    ('deleted',              format('SELECT parley.message_edit(pg_temp.c(%L), %s, %L, %L)', 'g', :del_seq, 'msg_bob', 'x')),
    -- order: 400, 404 conversation, 403 participant, 404 message, 403 sender, 409
    ('seq 0, unknown conv.', $$SELECT parley.message_edit('00000000-0000-4000-8000-000000000000', 0, 'msg_nobody', 'x')$$),
    ('body bad, unknown seq', $$SELECT parley.message_edit(pg_temp.c('g'), 99999, 'msg_alice', ' ')$$),
    ('unknown conv., no guest', $$SELECT parley.message_edit('00000000-0000-4000-8000-000000000000', 1, 'msg_nobody', 'x')$$),
    ('outsider, unknown seq', $$SELECT parley.message_edit(pg_temp.c('g'), 99999, 'msg_dave', 'x')$$),
    ('deleted, not sender',  format('SELECT parley.message_edit(pg_temp.c(%L), %s, %L, %L)', 'g', :del_seq, 'msg_carol', 'x'))
) AS t(what, q);
SELECT body FROM parley.messages WHERE conversation_id = :'g' AND seq = 2;

-- ---------------------------------------------------------------------------
-- delete
-- ---------------------------------------------------------------------------
SELECT parley.message_post(:'g', 'msg_carol', 'regret', 'carol-2', '{"x": 1}') ->> 'seq' AS d_seq \gset
SELECT parley.message_delete(:'g', :d_seq, 'msg_carol') AS deleted;
SELECT parley.last_status();
-- a tombstone: body NULL, metadata {}, deleted_at set; seq, id, key and
-- digest kept
SELECT seq = :d_seq AS same_seq, body, metadata, client_msg_id, deleted_at IS NOT NULL AS deleted,
       body_digest = sha256('regret'::bytea) AS digest_kept
  FROM parley.messages WHERE conversation_id = :'g' AND seq = :d_seq;
SELECT deleted_at AS first_deleted_at FROM parley.messages WHERE conversation_id = :'g' AND seq = :d_seq \gset
SELECT pg_temp.strip(m) AS listed
  FROM jsonb_array_elements(parley.message_list(:'g', 'msg_bob', :d_seq + 1, NULL, 1)->'messages') m;
-- deleting a tombstone again: 204, nothing changes
SELECT parley.message_delete(:'g', :d_seq, 'msg_carol') AS again;
SELECT parley.last_status();
SELECT deleted_at = :'first_deleted_at' AS deleted_at_unchanged
  FROM parley.messages WHERE conversation_id = :'g' AND seq = :d_seq;
-- the owner of a group deletes anyone's message; a member only its own
SELECT parley.message_post(:'g', 'msg_bob', 'rude') ->> 'seq' AS rude_seq \gset
SELECT regress.err(format('SELECT parley.message_delete(%L, %s, %L)', :'g', :rude_seq, 'msg_carol')) AS member_deletes_other;
SELECT parley.message_delete(:'g', :rude_seq, 'msg_alice') AS owner_deletes;
SELECT body IS NULL AS tombstone FROM parley.messages WHERE conversation_id = :'g' AND seq = :rude_seq;
-- the owner may also delete a tombstone again
SELECT parley.message_delete(:'g', :rude_seq, 'msg_alice') AS owner_again;
-- a direct conversation has no owner: only the sender deletes
SELECT parley.message_post(pg_temp.c('d'), 'msg_bob', 'direct') ->> 'seq' AS dm_seq \gset
SELECT regress.err(format('SELECT parley.message_delete(%L, %s, %L)', pg_temp.c('d'), :dm_seq, 'msg_alice')) AS direct_other;
SELECT parley.message_delete(pg_temp.c('d'), :dm_seq, 'msg_bob') AS direct_sender;
-- a new owner after the creator leaves may delete; the old one no longer
SELECT parley.conversation_create('msg_erin', 'group', '{msg_dave,msg_bob}')->>'id' AS h \gset
SELECT parley.message_post(:'h', 'msg_dave', 'hi') ->> 'seq' AS h_seq \gset
SELECT parley.participant_remove(:'h', 'msg_erin', 'msg_erin');
SELECT guest_id, role FROM parley.participants WHERE conversation_id = :'h' ORDER BY guest_id;
SELECT regress.err(format('SELECT parley.message_delete(%L, %s, %L)', :'h', :h_seq, 'msg_erin')) AS old_owner;
SELECT parley.message_delete(:'h', :h_seq, COALESCE((SELECT guest_id FROM parley.participants
                                                       WHERE conversation_id = :'h' AND role = 'owner'), 'none')) AS new_owner;
-- a former participant can no longer post or read either
SELECT regress.err(format('SELECT parley.message_post(%L, %L, %L)', :'h', 'msg_erin', 'x')) AS left_post;
SELECT regress.err(format('SELECT parley.message_list(%L, %L)', :'h', 'msg_erin')) AS left_list;
SELECT what, regress.err(q) FROM (VALUES
    ('conversation_id NULL', $$SELECT parley.message_delete(NULL, 1, 'msg_alice')$$),
    ('seq NULL',             $$SELECT parley.message_delete(pg_temp.c('g'), NULL, 'msg_alice')$$),
    ('actor NULL',           $$SELECT parley.message_delete(pg_temp.c('g'), 1, NULL)$$),
    ('seq 0',                $$SELECT parley.message_delete(pg_temp.c('g'), 0, 'msg_alice')$$),
    ('seq -5',               $$SELECT parley.message_delete(pg_temp.c('g'), -5, 'msg_alice')$$),
    ('actor bad',            $$SELECT parley.message_delete(pg_temp.c('g'), 1, 'msg alice')$$),
    ('unknown conversation', $$SELECT parley.message_delete('00000000-0000-4000-8000-000000000000', 1, 'msg_alice')$$),
    ('not a participant',    $$SELECT parley.message_delete(pg_temp.c('g'), 1, 'msg_dave')$$),
    ('actor names no guest', $$SELECT parley.message_delete(pg_temp.c('g'), 1, 'msg_nobody')$$),
    ('unknown seq',          $$SELECT parley.message_delete(pg_temp.c('g'), 99999, 'msg_alice')$$),
    ('not sender, not owner', $$SELECT parley.message_delete(pg_temp.c('g'), 1, 'msg_bob')$$),
    -- order
    ('seq 0, unknown conv.', $$SELECT parley.message_delete('00000000-0000-4000-8000-000000000000', 0, 'msg_nobody')$$),
    ('unknown conv., outsider', $$SELECT parley.message_delete('00000000-0000-4000-8000-000000000000', 1, 'msg_dave')$$),
    ('outsider, unknown seq', $$SELECT parley.message_delete(pg_temp.c('g'), 99999, 'msg_dave')$$)
) AS t(what, q);
SELECT body FROM parley.messages WHERE conversation_id = :'g' AND seq = 1;

-- ---------------------------------------------------------------------------
-- last_status and the conversation view
-- ---------------------------------------------------------------------------
SELECT parley.message_post(:'g', 'msg_alice', 'status check') IS NOT NULL AS posted;
SELECT parley.last_status();
SELECT parley.message_list(:'g', 'msg_alice', NULL, NULL, 1) IS NOT NULL AS listed;
SELECT parley.last_status();
-- conversation_get and conversation_list agree with the messages
SELECT (c->>'last_seq')::bigint = (SELECT max(seq) FROM parley.messages WHERE conversation_id = :'g') AS last_seq_is_max,
       (SELECT count(*) FROM parley.messages WHERE conversation_id = :'g') = (c->>'last_seq')::bigint AS gapless
  FROM parley.conversation_get(:'g', 'msg_bob') c;
SELECT e->>'title' AS title, e->'unread' AS unread
  FROM jsonb_array_elements(parley.conversation_list('msg_bob')->'conversations') e
 WHERE (e->>'id')::uuid = :'g';
