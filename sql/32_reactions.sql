-- reaction_add(), reaction_remove(), reaction_list() (0.5.0): API.md
-- section 9 and its fine points.
\set VERBOSITY terse

-- r(m): a message's reactions and the fields a reaction may not touch
CREATE FUNCTION pg_temp.r(m jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('seq', m->'seq', 'reactions', m->'reactions', 'body', m->'body',
                              'deleted', m->'deleted', 'edited', m->'edited_at' <> 'null')
$$;

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['rx_ann', 'rx_ben', 'rx_cat', 'rx_dan']) AS g) s;
SELECT parley.conversation_create('rx_ann', 'group', '{rx_ben,rx_cat}', 'Reactors') ->> 'id' AS g \gset
SELECT parley.conversation_create('rx_dan', 'group', '{}', 'Elsewhere') ->> 'id' AS other \gset
SELECT count(*) AS posted FROM (
    SELECT parley.message_post(:'g', 'rx_ann', 'message ' || i) FROM generate_series(1, 4) i) s;
SELECT parley.message_post(:'other', 'rx_dan', 'not yours') IS NOT NULL AS other_posted;

-- ---------------------------------------------------------------------------
-- add: 201 new, 200 repeated (nothing changes); counts in the message JSON
-- ---------------------------------------------------------------------------
SELECT pg_temp.r(parley.reaction_add(:'g', 1, 'rx_ben', '+1')) AS first, parley.last_status();
SELECT pg_temp.r(parley.reaction_add(:'g', 1, 'rx_cat', '+1')) AS second, parley.last_status();
SELECT pg_temp.r(parley.reaction_add(:'g', 1, 'rx_cat', '+1')) AS repeated, parley.last_status();
SELECT change_seq AS change_before FROM parley.conversations WHERE id = :'g' \gset
SELECT pg_temp.r(parley.reaction_add(:'g', 1, 'rx_ann', E'\U0001F44D')) AS emoji, parley.last_status();
-- an emoji sequence: ZWJ, VS16, skin tone, keycap, flag
SELECT k, parley.reaction_add(:'g', 2, 'rx_ann', k)->'reactions' ? k AS stored_as_sent, parley.last_status()
  FROM unnest(ARRAY[E'\U0001F469\u200D\U0001F4BB', E'\u2764\uFE0F', E'\U0001F44D\U0001F3FD',
                    E'1\uFE0F\u20E3', E'\U0001F1EB\U0001F1F7', 'a_b:c-d+1', repeat('x', 32)]) AS k;
-- a reaction counts as a change (change_seq moves, as for an edit); a
-- repeated one does not
SELECT change_seq > :change_before AS change_counted FROM parley.conversations WHERE id = :'g';
SELECT change_seq AS change_before FROM parley.conversations WHERE id = :'g' \gset
SELECT parley.reaction_add(:'g', 1, 'rx_ann', E'\U0001F44D') IS NOT NULL AS repeated, parley.last_status();
SELECT change_seq = :change_before AS repeat_not_counted FROM parley.conversations WHERE id = :'g';
SELECT seq, change_seq IS NOT NULL AS changed, reacted_change_seq = change_seq AS last_change_a_reaction
  FROM parley.messages WHERE conversation_id = :'g' ORDER BY seq;
-- the rows behind the counts
SELECT seq, key, guest_id FROM parley.reactions WHERE conversation_id = :'g' AND seq = 1 ORDER BY key, guest_id;
-- a page shows the counts with no extra query: they are in the row
SELECT m->'seq' AS seq, m->'reactions' AS reactions
  FROM jsonb_array_elements(parley.message_list(:'g', 'rx_ben', NULL, 0, 3)->'messages') m;

-- ---------------------------------------------------------------------------
-- add: rejected input (400), then 404, 403, 404, 409; nothing changes
-- ---------------------------------------------------------------------------
SELECT count(*) AS reactions_before FROM parley.reactions \gset
SELECT reactions AS counts_before FROM parley.messages WHERE conversation_id = :'g' AND seq = 1 \gset
SELECT what, regress.err(q) FROM (VALUES
    ('conversation_id NULL', format($$SELECT parley.reaction_add(NULL, 1, 'rx_ann', 'x')$$)),
    ('seq NULL',             format($$SELECT parley.reaction_add(%L, NULL, 'rx_ann', 'x')$$, :'g')),
    ('seq 0',                format($$SELECT parley.reaction_add(%L, 0, 'rx_ann', 'x')$$, :'g')),
    ('seq negative',         format($$SELECT parley.reaction_add(%L, -1, 'rx_ann', 'x')$$, :'g')),
    ('actor NULL',           format($$SELECT parley.reaction_add(%L, 1, NULL, 'x')$$, :'g')),
    ('actor bad',            format($$SELECT parley.reaction_add(%L, 1, 'a b', 'x')$$, :'g')),
    ('key NULL',             format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', NULL)$$, :'g')),
    ('key empty',            format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', '')$$, :'g')),
    ('key 33 bytes',         format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', %L)$$, :'g', repeat('x', 33))),
    ('key 9 emoji (36 B)',   format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', %L)$$, :'g', repeat(E'\U0001F600', 9))),
    ('key upper case',       format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', 'Up')$$, :'g')),
    ('key space',            format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', 'a b')$$, :'g')),
    ('key dot',              format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', 'a.b')$$, :'g')),
    ('key letter + emoji',   format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', %L)$$, :'g', E'a\U0001F600')),
    ('key accented',         format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', %L)$$, :'g', E'\u00e9')),
    ('key CJK',              format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', %L)$$, :'g', E'\u597d')),
    ('key ZWJ + letter',     format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', %L)$$, :'g', E'\u200Da')),
    ('key control',          format($$SELECT parley.reaction_add(%L, 1, 'rx_ann', %L)$$, :'g', E'\t')),
    ('conversation unknown', $$SELECT parley.reaction_add('00000000-0000-7000-8000-000000000000', 1, 'rx_ann', 'x')$$),
    ('not a participant',    format($$SELECT parley.reaction_add(%L, 1, 'rx_dan', 'x')$$, :'g')),
    ('unknown actor',        format($$SELECT parley.reaction_add(%L, 1, 'rx_nobody', 'x')$$, :'g')),
    ('message unknown',      format($$SELECT parley.reaction_add(%L, 5, 'rx_ann', 'x')$$, :'g')),
    ('seq past bigint end',  format($$SELECT parley.reaction_add(%L, 9223372036854775807, 'rx_ann', 'x')$$, :'g'))
) AS t(what, q);
SELECT count(*) = :reactions_before AS no_rows_added,
       (SELECT reactions FROM parley.messages WHERE conversation_id = :'g' AND seq = 1) = :'counts_before' AS counts_unchanged
  FROM parley.reactions;

-- ---------------------------------------------------------------------------
-- at most 20 distinct keys per message (409); known keys still count
-- ---------------------------------------------------------------------------
SELECT count(*) AS keys FROM (
    SELECT parley.reaction_add(:'g', 3, 'rx_ben', 'k' || i) FROM generate_series(1, 20) i) s;
SELECT regress.err(format($$SELECT parley.reaction_add(%L, 3, 'rx_cat', 'k21')$$, :'g')) AS twenty_first;
SELECT (parley.reaction_add(:'g', 3, 'rx_cat', 'k20')->'reactions'->>'k20')::int AS known_key_counts,
       parley.last_status();
SELECT (SELECT count(*) FROM jsonb_object_keys(reactions)) AS distinct_keys
  FROM parley.messages WHERE conversation_id = :'g' AND seq = 3;
-- freeing a key makes room again
SELECT parley.reaction_remove(:'g', 3, 'rx_ben', 'k1');
SELECT parley.reaction_add(:'g', 3, 'rx_cat', 'k21')->'reactions' ? 'k21' AS room_again;

-- ---------------------------------------------------------------------------
-- remove: 204; the count goes down, a key at 0 goes away; 404 when none
-- ---------------------------------------------------------------------------
SELECT parley.reaction_remove(:'g', 1, 'rx_cat', '+1'), parley.last_status();
SELECT reactions FROM parley.messages WHERE conversation_id = :'g' AND seq = 1;
SELECT parley.reaction_remove(:'g', 1, 'rx_ben', '+1'), parley.last_status();
SELECT reactions FROM parley.messages WHERE conversation_id = :'g' AND seq = 1;
SELECT reacted_change_seq = change_seq AS last_change_a_reaction
  FROM parley.messages WHERE conversation_id = :'g' AND seq = 1;
SELECT count(*) AS reactions_before FROM parley.reactions \gset
SELECT what, regress.err(q) FROM (VALUES
    ('never reacted',        format($$SELECT parley.reaction_remove(%L, 1, 'rx_ben', '+1')$$, :'g')),
    ('another guest''s',     format($$SELECT parley.reaction_remove(%L, 1, 'rx_ben', %L)$$, :'g', E'\U0001F44D')),
    ('key bad',              format($$SELECT parley.reaction_remove(%L, 1, 'rx_ann', 'A')$$, :'g')),
    ('seq 0',                format($$SELECT parley.reaction_remove(%L, 0, 'rx_ann', 'x')$$, :'g')),
    ('conversation unknown', $$SELECT parley.reaction_remove('00000000-0000-7000-8000-000000000000', 1, 'rx_ann', 'x')$$),
    ('not a participant',    format($$SELECT parley.reaction_remove(%L, 1, 'rx_dan', %L)$$, :'g', E'\U0001F44D')),
    ('message unknown',      format($$SELECT parley.reaction_remove(%L, 99, 'rx_ann', 'x')$$, :'g'))
) AS t(what, q);
SELECT count(*) = :reactions_before AS nothing_removed FROM parley.reactions;

-- ---------------------------------------------------------------------------
-- list: who, newest first, by key or all, keyset pages
-- ---------------------------------------------------------------------------
SELECT count(*) AS reacted FROM (
    SELECT parley.reaction_add(:'g', 4, g, k)
      FROM unnest(ARRAY['rx_ann', 'rx_ben', 'rx_cat']) AS g, unnest(ARRAY['+1', 'heart']) AS k) s;
SELECT jsonb_path_query_array(l, '$.reactions[*].key') AS keys, l->'has_more' AS has_more, l->'next_before' AS next_before,
       (SELECT count(*) FROM jsonb_array_elements(l->'reactions')) AS n
  FROM parley.reaction_list(:'g', 4, 'rx_ann') AS l;
SELECT jsonb_path_query_array(l, '$.reactions[*].guest_id') AS who, l->'has_more' AS has_more
  FROM parley.reaction_list(:'g', 4, 'rx_ann', 'heart') AS l;
-- every row has key, guest_id, created_at; the order is newest first
SELECT bool_and(r ?& ARRAY['key', 'guest_id', 'created_at'] AND (SELECT count(*) FROM jsonb_object_keys(r)) = 3) AS shape,
       bool_and((r->>'created_at')::timestamptz <= COALESCE(prev, 'infinity')) AS newest_first
  FROM (SELECT r, lag((r->>'created_at')::timestamptz) OVER (ORDER BY i) AS prev
          FROM jsonb_array_elements(parley.reaction_list(:'g', 4, 'rx_ann')->'reactions') WITH ORDINALITY AS e(r, i)) x;
-- pages of 2 give every row once, in the same order as one page
WITH RECURSIVE pages(n, page) AS (
    SELECT 1, parley.reaction_list(:'g', 4, 'rx_cat', NULL, NULL, 2)
    UNION ALL
    SELECT n + 1, parley.reaction_list(:'g', 4, 'rx_cat', NULL, page->>'next_before', 2)
      FROM pages WHERE page->>'next_before' IS NOT NULL
)
SELECT count(*) AS pages, sum(jsonb_array_length(page->'reactions')) AS rows,
       (SELECT jsonb_agg(r ORDER BY n, i) FROM pages, jsonb_array_elements(page->'reactions') WITH ORDINALITY e(r, i))
         = parley.reaction_list(:'g', 4, 'rx_cat')->'reactions' AS same_as_one_page,
       bool_and((page->'has_more')::boolean = (page->>'next_before' IS NOT NULL)) AS has_more_matches
  FROM pages;
-- nobody reacted: an empty list
SELECT parley.reaction_list(:'g', 2, 'rx_ben', 'nobody');
SELECT what, regress.err(q) FROM (VALUES
    ('limit 0',              format($$SELECT parley.reaction_list(%L, 4, 'rx_ann', NULL, NULL, 0)$$, :'g')),
    ('limit 201',            format($$SELECT parley.reaction_list(%L, 4, 'rx_ann', NULL, NULL, 201)$$, :'g')),
    ('key bad',              format($$SELECT parley.reaction_list(%L, 4, 'rx_ann', 'NO')$$, :'g')),
    ('before junk',          format($$SELECT parley.reaction_list(%L, 4, 'rx_ann', NULL, 'zz')$$, :'g')),
    ('before other cursor',  format($$SELECT parley.reaction_list(%L, 4, 'rx_ann', NULL, '00000000000000006162')$$, :'g')),
    ('conversation unknown', $$SELECT parley.reaction_list('00000000-0000-7000-8000-000000000000', 1, 'rx_ann')$$),
    ('not a participant',    format($$SELECT parley.reaction_list(%L, 4, 'rx_dan')$$, :'g')),
    ('message unknown',      format($$SELECT parley.reaction_list(%L, 5, 'rx_ann')$$, :'g'))
) AS t(what, q);

-- ---------------------------------------------------------------------------
-- tombstones lose their reactions and take none (409)
-- ---------------------------------------------------------------------------
SELECT parley.message_delete(:'g', 4, 'rx_ann');
SELECT pg_temp.r(m) AS tombstone FROM jsonb_array_elements(parley.message_list(:'g', 'rx_ben', NULL, 3)->'messages') m
 WHERE (m->>'seq')::int = 4;
SELECT count(*) AS rows_left FROM parley.reactions WHERE conversation_id = :'g' AND seq = 4;
SELECT regress.err(format($$SELECT parley.reaction_add(%L, 4, 'rx_ben', '+1')$$, :'g')) AS on_tombstone;
SELECT regress.err(format($$SELECT parley.reaction_remove(%L, 4, 'rx_ben', '+1')$$, :'g')) AS remove_on_tombstone;
SELECT parley.reaction_list(:'g', 4, 'rx_ben') AS tombstone_list;
-- an edit keeps the reactions; its change is an edit, not a reaction
SELECT pg_temp.r(parley.message_edit(:'g', 1, 'rx_ann', 'message 1, edited')) AS edited;
SELECT reacted_change_seq = change_seq AS last_change_a_reaction
  FROM parley.messages WHERE conversation_id = :'g' AND seq = 1;

-- ---------------------------------------------------------------------------
-- events_changes(): a reaction is a change, flagged "reacted"
-- ---------------------------------------------------------------------------
SELECT parley.reaction_add(:'g', 2, 'rx_cat', 'late') IS NOT NULL AS reacted_again;
SELECT jsonb_path_query_array(c, '$.messages[*].seq') AS seqs, c->'reacted' AS reacted,
       jsonb_array_length(c->'messages') = jsonb_array_length(c->'reacted') AS parallel
  FROM parley.events_changes(:'g', 0, '{rx_ann}') AS c;
