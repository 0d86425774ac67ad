-- 0.5.0 (API.md section 9): replies and threads (message_post's reply_to,
-- message_list's thread), pages around a message (around), attachments,
-- mark unread (read_mark_unread).
\set VERBOSITY terse

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['rp_ann', 'rp_ben', 'rp_dan']) AS g) s;
SELECT parley.conversation_create('rp_ann', 'group', '{rp_ben}', 'Threads') ->> 'id' AS g \gset
SELECT parley.conversation_create('rp_dan', 'group', '{}', 'Elsewhere') ->> 'id' AS other \gset
SELECT count(*) AS posted FROM (
    SELECT parley.message_post(:'g', 'rp_ann', 'message ' || i) FROM generate_series(1, 10) i) s;
SELECT count(*) AS posted_elsewhere FROM (
    SELECT parley.message_post(:'other', 'rp_dan', 'far ' || i) FROM generate_series(1, 20) i) s;

-- ---------------------------------------------------------------------------
-- replies: reply_to in the message, reply_count on the message replied to
-- ---------------------------------------------------------------------------
SELECT m->'seq' AS seq, m->'reply_to' AS reply_to, m->'reply_count' AS reply_count, parley.last_status()
  FROM parley.message_post(:'g', 'rp_ben', 'reply to 2', NULL, '{}', 2) AS m;
SELECT count(*) AS more_replies FROM (
    SELECT parley.message_post(:'g', s, 'reply ' || i, NULL, '{}', 2)
      FROM generate_series(1, 4) i, (VALUES ('rp_ann')) v(s)) x;
-- a reply to a reply, and to a message in a thread
SELECT parley.message_post(:'g', 'rp_ann', 'reply to 11', NULL, '{}', 11) ->> 'reply_to' AS nested;
SELECT seq, reply_to, reply_count FROM parley.messages WHERE conversation_id = :'g' ORDER BY seq;
-- every message JSON has reply_to (null when none) and reply_count
SELECT m->'seq' AS seq, m->'reply_to' AS reply_to, m->'reply_count' AS reply_count
  FROM jsonb_array_elements(parley.message_list(:'g', 'rp_ben', NULL, NULL, 3)->'messages') m;
SELECT m->'reply_count' AS reply_count_of_2
  FROM jsonb_array_elements(parley.message_list(:'g', 'rp_ben', NULL, 1, 1)->'messages') m;
-- deleted replies still count; a reply to a tombstone is a reply to a message
SELECT parley.message_delete(:'g', 12, 'rp_ann');
SELECT parley.message_delete(:'g', 3, 'rp_ann');
SELECT parley.message_post(:'g', 'rp_ben', 'reply to the deleted 3', NULL, '{}', 3) ->> 'reply_to' AS reply_to_tombstone;
SELECT seq, reply_count, deleted_at IS NOT NULL AS deleted FROM parley.messages
 WHERE conversation_id = :'g' AND seq IN (2, 3) ORDER BY seq;
-- idempotent replay answers the message as it is
SELECT (parley.message_post(:'g', 'rp_ben', 'keyed reply', 'key-1', '{}', 1))->'reply_to' AS first,
       (parley.message_post(:'g', 'rp_ben', 'keyed reply', 'key-1', '{}', 1))->'reply_to' AS replay,
       parley.last_status();
SELECT reply_count AS reply_count_of_1 FROM parley.messages WHERE conversation_id = :'g' AND seq = 1;

-- rejected: 400, 404 (an unknown seq, one of another conversation), 403;
-- nothing is posted and no seq is taken
SELECT last_seq AS last_before FROM parley.conversations WHERE id = :'g' \gset
SELECT count(*) AS messages_before FROM parley.messages \gset
SELECT what, regress.err(q) FROM (VALUES
    ('reply_to 0',           format($$SELECT parley.message_post(%L, 'rp_ann', 'x', NULL, '{}', 0)$$, :'g')),
    ('reply_to negative',    format($$SELECT parley.message_post(%L, 'rp_ann', 'x', NULL, '{}', -3)$$, :'g')),
    ('reply_to unknown',     format($$SELECT parley.message_post(%L, 'rp_ann', 'x', NULL, '{}', 99)$$, :'g')),
    ('reply_to bigint max',  format($$SELECT parley.message_post(%L, 'rp_ann', 'x', NULL, '{}', 9223372036854775807)$$, :'g')),
    ('reply_to other conv',  format($$SELECT parley.message_post(%L, 'rp_ann', 'x', NULL, '{}', 20)$$, :'g')),
    ('reply_to, not member', format($$SELECT parley.message_post(%L, 'rp_dan', 'x', NULL, '{}', 1)$$, :'g')),
    ('reply_to, keyed',      format($$SELECT parley.message_post(%L, 'rp_ann', 'x', 'key-2', '{}', 99)$$, :'g'))
) AS t(what, q);
SELECT last_seq = :last_before AS no_seq_taken, (SELECT count(*) FROM parley.messages) = :messages_before AS nothing_posted
  FROM parley.conversations WHERE id = :'g';

-- ---------------------------------------------------------------------------
-- thread=S: the replies to S, paged like the conversation
-- ---------------------------------------------------------------------------
SELECT jsonb_path_query_array(p, '$.messages[*].seq') AS thread_of_2, p->'has_more' AS has_more
  FROM parley.message_list(:'g', 'rp_ben', thread => 2) AS p;
SELECT jsonb_path_query_array(p, '$.messages[*].seq') AS newest_2, p->'has_more' AS has_more
  FROM parley.message_list(:'g', 'rp_ben', "limit" => 2, thread => 2) AS p;
SELECT jsonb_path_query_array(p, '$.messages[*].seq') AS before_14, p->'has_more' AS has_more
  FROM parley.message_list(:'g', 'rp_ben', before => 14, "limit" => 2, thread => 2) AS p;
SELECT jsonb_path_query_array(p, '$.messages[*].seq') AS after_11, p->'has_more' AS has_more
  FROM parley.message_list(:'g', 'rp_ben', after => 11, "limit" => 2, thread => 2) AS p;
SELECT jsonb_path_query_array(p, '$.messages[*].seq') AS thread_of_1, jsonb_path_query_array(p, '$.messages[*].reply_to') AS reply_to
  FROM parley.message_list(:'g', 'rp_ben', thread => 1) AS p;
SELECT parley.message_list(:'g', 'rp_ben', thread => 10) AS no_replies;
-- the index that serves it
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE thread_page(uuid, bigint, bigint, bigint) AS
    SELECT seq FROM parley.messages
     WHERE conversation_id = $1 AND reply_to = $2 AND seq < $3 ORDER BY reply_to DESC, seq DESC LIMIT $4;
EXPLAIN (COSTS OFF) EXECUTE thread_page(:'g', 2, 100, 3);
DEALLOCATE thread_page;
RESET plan_cache_mode;
RESET enable_seqscan;

-- ---------------------------------------------------------------------------
-- around=S: S, up to (N-1)/2 before it, the rest of N after it
-- ---------------------------------------------------------------------------
SELECT n, s, jsonb_path_query_array(p, '$.messages[*].seq') AS seqs,
       p->'has_more_before' AS more_before, p->'has_more_after' AS more_after, p ? 'has_more' AS plain_has_more
  FROM (VALUES (5, 10), (4, 10), (1, 10), (2, 10), (5, 1), (5, 2), (5, 17), (5, 18), (50, 10), (3, 17)) AS v(n, s),
       LATERAL parley.message_list(:'g', 'rp_ben', "limit" => n, around => s) AS p
 ORDER BY s, n;
SELECT jsonb_array_length(parley.message_list(:'g', 'rp_ben', around => 5)->'messages') AS default_limit_all_18;
SELECT last_seq FROM parley.conversations WHERE id = :'g';

SELECT what, regress.err(q) FROM (VALUES
    ('around past last_seq', format($$SELECT parley.message_list(%L, 'rp_ben', around => 20)$$, :'g')),
    ('around bigint max',    format($$SELECT parley.message_list(%L, 'rp_ben', around => 9223372036854775807)$$, :'g')),
    ('around 0',             format($$SELECT parley.message_list(%L, 'rp_ben', around => 0)$$, :'g')),
    ('around negative',      format($$SELECT parley.message_list(%L, 'rp_ben', around => -1)$$, :'g')),
    ('around with before',   format($$SELECT parley.message_list(%L, 'rp_ben', before => 5, around => 3)$$, :'g')),
    ('around with after',    format($$SELECT parley.message_list(%L, 'rp_ben', after => 5, around => 3)$$, :'g')),
    ('around with thread',   format($$SELECT parley.message_list(%L, 'rp_ben', thread => 2, around => 3)$$, :'g')),
    ('around, limit 0',      format($$SELECT parley.message_list(%L, 'rp_ben', "limit" => 0, around => 3)$$, :'g')),
    ('around, not member',   format($$SELECT parley.message_list(%L, 'rp_dan', around => 3)$$, :'g')),
    ('thread past last_seq', format($$SELECT parley.message_list(%L, 'rp_ben', thread => 20)$$, :'g')),
    ('thread 0',             format($$SELECT parley.message_list(%L, 'rp_ben', thread => 0)$$, :'g')),
    ('thread negative',      format($$SELECT parley.message_list(%L, 'rp_ben', thread => -2)$$, :'g')),
    ('thread before+after',  format($$SELECT parley.message_list(%L, 'rp_ben', before => 9, after => 1, thread => 2)$$, :'g')),
    ('thread, not member',   format($$SELECT parley.message_list(%L, 'rp_dan', thread => 2)$$, :'g')),
    ('thread, unknown conv', $$SELECT parley.message_list('00000000-0000-7000-8000-000000000000', 'rp_ben', thread => 2)$$)
) AS t(what, q);

-- ---------------------------------------------------------------------------
-- attachments: references, validated; body may be empty with them
-- ---------------------------------------------------------------------------
SELECT m->'body' AS body, m->'attachments' AS attachments, parley.last_status()
  FROM parley.message_post(:'g', 'rp_ann', '', NULL, '{}', NULL,
       '[{"url": "https://cdn.example/a.png", "mime_type": "image/png", "size": 1024, "name": "a.png", "width": 640, "height": 480},
         {"url": "HTTPS://cdn.example/clip.mp4", "mime_type": "video/mp4", "size": 0, "duration_ms": 0, "name": null}]') AS m;
SELECT m->'body' AS body, jsonb_array_length(m->'attachments') AS n
  FROM parley.message_post(:'g', 'rp_ann', NULL, NULL, '{}', NULL,
       '[{"url": "https://x.example/f", "mime_type": "application/vnd.api+json", "size": 9007199254740993}]') AS m;
SELECT m->'body' AS body, m->'attachments' AS attachments
  FROM parley.message_post(:'g', 'rp_ann', 'with text', NULL, '{}', NULL,
       (SELECT jsonb_agg(jsonb_build_object('url', 'https://x.example/' || i, 'mime_type', 'text/plain', 'size', i,
                                            'name', repeat(E'\u00e9', 255), 'width', 65535, 'height', 1))
          FROM generate_series(1, 10) i)) AS m \gset
SELECT :'body' AS body, jsonb_array_length(:'attachments') AS ten;
-- none: [] (and the default)
SELECT parley.message_post(:'g', 'rp_ann', 'plain')->'attachments' AS none,
       parley.message_post(:'g', 'rp_ann', 'plain', NULL, '{}', NULL, '[]')->'attachments' AS empty;
-- a tombstone has none
SELECT last_seq AS with_files FROM parley.conversations WHERE id = :'g' \gset
SELECT parley.message_post(:'g', 'rp_ann', 'doomed', NULL, '{}', NULL,
       '[{"url": "https://x.example/d", "mime_type": "image/gif", "size": 1}]')->'seq' AS doomed \gset
SELECT parley.message_delete(:'g', :doomed, 'rp_ann');
SELECT m->'attachments' AS tombstone_attachments, m->'deleted' AS deleted
  FROM jsonb_array_elements(parley.message_list(:'g', 'rp_ann', NULL, :doomed - 1, 1)->'messages') m;

SELECT last_seq AS last_before FROM parley.conversations WHERE id = :'g' \gset
SELECT count(*) AS messages_before FROM parley.messages \gset
SELECT what, regress.err(format($$SELECT parley.message_post(%L, 'rp_ann', %L, NULL, '{}', NULL, %L)$$, :'g', b, a))
  FROM (VALUES
    ('empty body, no files',  '',  '[]'),
    ('spaces, no files',      '  ', NULL),
    ('not an array',          'x', '{"url": "https://x.example/a", "mime_type": "image/png", "size": 1}'),
    ('a scalar',              'x', '3'),
    ('element not an object', 'x', '["https://x.example/a"]'),
    ('eleven',                'x', (SELECT jsonb_agg('{"url": "https://x.example/a", "mime_type": "a/b", "size": 1}'::jsonb)::text FROM generate_series(1, 11))),
    ('url missing',           'x', '[{"mime_type": "image/png", "size": 1}]'),
    ('url null',              'x', '[{"url": null, "mime_type": "image/png", "size": 1}]'),
    ('url http',              'x', '[{"url": "http://x.example/a", "mime_type": "image/png", "size": 1}]'),
    ('url no host',           'x', '[{"url": "https://", "mime_type": "image/png", "size": 1}]'),
    ('url path only',         'x', '[{"url": "https:///a", "mime_type": "image/png", "size": 1}]'),
    ('url space',             'x', '[{"url": "https://x.example/a b", "mime_type": "image/png", "size": 1}]'),
    ('url number',            'x', '[{"url": 5, "mime_type": "image/png", "size": 1}]'),
    ('url 2049 bytes',        'x', format('[{"url": "https://%s", "mime_type": "image/png", "size": 1}]', repeat('a', 2041))),
    ('mime missing',          'x', '[{"url": "https://x.example/a", "size": 1}]'),
    ('mime no subtype',       'x', '[{"url": "https://x.example/a", "mime_type": "image", "size": 1}]'),
    ('mime empty subtype',    'x', '[{"url": "https://x.example/a", "mime_type": "image/", "size": 1}]'),
    ('mime two slashes',      'x', '[{"url": "https://x.example/a", "mime_type": "a/b/c", "size": 1}]'),
    ('mime parameter',        'x', '[{"url": "https://x.example/a", "mime_type": "text/plain; charset=utf-8", "size": 1}]'),
    ('size missing',          'x', '[{"url": "https://x.example/a", "mime_type": "image/png"}]'),
    ('size negative',         'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": -1}]'),
    ('size fraction',         'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1.5}]'),
    ('size 1.0',              'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1.0}]'),
    ('size string',           'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": "1"}]'),
    ('size past bigint',      'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 9223372036854775808}]'),
    ('name 256 chars',        'x', format('[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1, "name": "%s"}]', repeat(E'\u00e9', 256))),
    ('name number',           'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1, "name": 7}]'),
    ('width 0',               'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1, "width": 0}]'),
    ('width 65536',           'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1, "width": 65536}]'),
    ('height 0',              'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1, "height": 0}]'),
    ('height string',         'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1, "height": "9"}]'),
    ('duration_ms negative',  'x', '[{"url": "https://x.example/a", "mime_type": "video/mp4", "size": 1, "duration_ms": -5}]'),
    ('duration_ms fraction',  'x', '[{"url": "https://x.example/a", "mime_type": "video/mp4", "size": 1, "duration_ms": 0.5}]'),
    ('unknown field',         'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1, "alt": "a"}]'),
    ('unknown field, null',   'x', '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1, "thumb": null}]'),
    ('one good, one bad',     '',  '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1}, {"url": "https://x.example/b"}]'),
    ('body too long',         repeat('x', 4001), '[{"url": "https://x.example/a", "mime_type": "image/png", "size": 1}]')
  ) AS t(what, b, a);
SELECT last_seq = :last_before AS no_seq_taken, (SELECT count(*) FROM parley.messages) = :messages_before AS nothing_posted
  FROM parley.conversations WHERE id = :'g';

-- ---------------------------------------------------------------------------
-- mark unread: the marker becomes S - 1 (the one move back), clamped
-- ---------------------------------------------------------------------------
SELECT last_seq AS last FROM parley.conversations WHERE id = :'g' \gset
SELECT last_read_seq = :last AS ann_read_all FROM parley.participants WHERE conversation_id = :'g' AND guest_id = 'rp_ann';
SELECT u - 'conversation_id' AS unread_from_5, u->>'conversation_id' = :'g' AS same_conversation, parley.last_status()
  FROM parley.read_mark_unread(:'g', 'rp_ann', 5) AS u;
SELECT last_read_seq FROM parley.participants WHERE conversation_id = :'g' AND guest_id = 'rp_ann';
SELECT c->'unread' AS unread FROM jsonb_array_elements(parley.conversation_list('rp_ann')->'conversations') c
 WHERE c->>'id' = :'g';
SELECT parley.read_mark_unread(:'g', 'rp_ann', 5)->'last_read_seq' AS again_same;
SELECT parley.read_mark_unread(:'g', 'rp_ann', 1)->'last_read_seq' AS all_unread;
SELECT parley.read_mark_unread(:'g', 'rp_ann', 8)->'last_read_seq' AS forward_too;
SELECT (parley.read_mark_unread(:'g', 'rp_ann', 1000)->'last_read_seq')::bigint = :last AS clamped_to_last;
SELECT (parley.read_mark_unread(:'g', 'rp_ann', 9223372036854775807)->'last_read_seq')::bigint = :last AS bigint_max_clamped;
-- read_mark still only moves forward
SELECT parley.read_mark_unread(:'g', 'rp_ann', 3)->'last_read_seq' AS back_to_2,
       parley.read_mark(:'g', 'rp_ann', 1)->'last_read_seq' AS read_mark_keeps_2;
SELECT last_read_seq AS marker_before FROM parley.participants WHERE conversation_id = :'g' AND guest_id = 'rp_ann' \gset
SELECT what, regress.err(q) FROM (VALUES
    ('seq 0',                format($$SELECT parley.read_mark_unread(%L, 'rp_ann', 0)$$, :'g')),
    ('seq negative',         format($$SELECT parley.read_mark_unread(%L, 'rp_ann', -1)$$, :'g')),
    ('seq NULL',             format($$SELECT parley.read_mark_unread(%L, 'rp_ann', NULL)$$, :'g')),
    ('guest NULL',           format($$SELECT parley.read_mark_unread(%L, NULL, 1)$$, :'g')),
    ('guest bad',            format($$SELECT parley.read_mark_unread(%L, 'a/b', 1)$$, :'g')),
    ('conversation NULL',    $$SELECT parley.read_mark_unread(NULL, 'rp_ann', 1)$$),
    ('conversation unknown', $$SELECT parley.read_mark_unread('00000000-0000-7000-8000-000000000000', 'rp_ann', 1)$$),
    ('not a participant',    format($$SELECT parley.read_mark_unread(%L, 'rp_dan', 1)$$, :'g')),
    ('unknown guest',        format($$SELECT parley.read_mark_unread(%L, 'rp_nobody', 1)$$, :'g'))
) AS t(what, q);
SELECT last_read_seq = :marker_before AS marker_unchanged
  FROM parley.participants WHERE conversation_id = :'g' AND guest_id = 'rp_ann';
-- an empty conversation: the marker stays 0
SELECT parley.conversation_create('rp_ann', 'group', '{}', 'Empty') ->> 'id' AS empty \gset
SELECT parley.read_mark_unread(:'empty', 'rp_ann', 1)->'last_read_seq' AS empty_stays_0;
