-- message_search(), guest_message_search() and the index under them
-- (API.md section 9: every word of q, case- and accent-insensitive, word
-- prefixes, newest first; tombstones never match; an edit is found by its
-- new text only; docs/search.md).
\set VERBOSITY terse

CREATE TEMP TABLE conv (name text PRIMARY KEY, id uuid NOT NULL);
-- post(): the seq of a new message (each call is its own statement in the
-- tests below, so messages get increasing created_at)
CREATE FUNCTION pg_temp.post(cid uuid, sender text, body text) RETURNS bigint LANGUAGE sql AS $$
    SELECT (parley.message_post(cid, sender, body)->>'seq')::bigint
$$;
-- seqs(page): the seqs of a search page, in its order
CREATE FUNCTION pg_temp.seqs(page jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(m->>'seq', ',' ORDER BY o), '-')
      FROM jsonb_array_elements(page->'messages') WITH ORDINALITY AS e(m, o)
$$;
-- found(cid, q): the seqs message_search finds for se_ann
CREATE FUNCTION pg_temp.found(cid uuid, q text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.seqs(parley.message_search(cid, 'se_ann', q))
$$;
-- bodies(page): "conversation name:seq" of a page of guest search, in order
CREATE FUNCTION pg_temp.bodies(page jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(c.name || ':' || (m->>'seq'), ',' ORDER BY o), '-')
      FROM jsonb_array_elements(page->'messages') WITH ORDINALITY AS e(m, o)
      JOIN conv c ON c.id = (m->>'conversation_id')::uuid
$$;

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, initcap(substr(g, 4)))
      FROM unnest(ARRAY['se_ann', 'se_ben', 'se_cid', 'se_out']) AS g) s;
INSERT INTO conv VALUES
    ('g', (parley.conversation_create('se_ann', 'group', '{se_ben}')->>'id')::uuid),
    ('h', (parley.conversation_create('se_ben', 'group', '{se_cid}')->>'id')::uuid),
    ('d', (parley.conversation_create('se_ann', 'direct', '{se_cid}')->>'id')::uuid);
SELECT id AS g FROM conv WHERE name = 'g' \gset
SELECT id AS h FROM conv WHERE name = 'h' \gset
SELECT id AS d FROM conv WHERE name = 'd' \gset

SELECT pg_temp.post(:'g', 'se_ann', 'Meet me at the Café Noir at 8');
SELECT pg_temp.post(:'g', 'se_ben', 'CAFE NOIR? Ça va, à demain!');
SELECT pg_temp.post(:'g', 'se_ann', 'Die Straße ist naß; ΚΑΛΗΜΈΡΑ, Ёлка');
SELECT pg_temp.post(:'g', 'se_ben', 'level-42 boss, e-mail bob@example.com');
SELECT pg_temp.post(:'g', 'se_ann', 'ｆｕｌｌｗｉｄｔｈ ﬁnal ２０２６');
SELECT pg_temp.post(:'g', 'se_ben', '🎉🎉 party 🎉');
SELECT pg_temp.post(:'h', 'se_ben', 'cafe in h, where ann is not');
SELECT pg_temp.post(:'d', 'se_cid', 'cafe in the direct one');

-- ---------------------------------------------------------------------------
-- words: case, accents, prefixes, every word, newest first
-- ---------------------------------------------------------------------------
SELECT q, pg_temp.found(:'g', q) AS seqs
  FROM unnest(ARRAY[
    'cafe',             -- 2, 1: both spellings, newest first
    'CAFÉ',             -- the same from the other side
    'café noir',        -- every word
    'cafe bistro',      -- one word missing: nothing
    'caf',              -- a word's start
    'noir caf',         -- order of words does not matter
    'afe',              -- not a word's start: nothing
    'ca va',            -- "Ça" and "va"
    'strasse',          -- ß folds to ss
    'nass',
    'καλημερα',         -- Greek, accent and case
    'елка',             -- Ё folds to е
    'level 42',         -- "level-42": two words
    'example com',      -- punctuation splits
    'fullwidth final 2026', -- compatibility forms (NFKD)
    'party',
    '  cafe,,, !!',     -- punctuation and spaces around a word
    'h'                 -- a word of another conversation: nothing here
  ]) AS q;
-- each message is answered whole, as message_list answers it
SELECT (SELECT m FROM jsonb_array_elements(parley.message_search(:'g', 'se_ben', 'noir')->'messages') m LIMIT 1)
       = (SELECT m FROM jsonb_array_elements(parley.message_list(:'g', 'se_ben')->'messages') m
           WHERE (m->>'seq')::int = 2) AS same_json;
SELECT parley.message_search(:'g', 'se_ben', 'noir') - 'messages' AS page_fields, parley.last_status();

-- ---------------------------------------------------------------------------
-- edits and tombstones
-- ---------------------------------------------------------------------------
SELECT parley.message_edit(:'g', 4, 'se_ben', 'boss fight tonight')->>'body' AS edited;
SELECT pg_temp.found(:'g', 'example') AS old_text, pg_temp.found(:'g', 'fight') AS new_text,
       pg_temp.found(:'g', 'boss') AS kept_word;
SELECT parley.message_delete(:'g', 2, 'se_ben');
SELECT pg_temp.found(:'g', 'noir') AS after_delete, pg_temp.found(:'g', 'cafe') AS cafe_after_delete;
-- a tombstone is not in the index at all (it is partial)
SELECT count(*) AS tombstones_indexed
  FROM parley.messages
 WHERE conversation_id = :'g' AND body IS NULL
   AND parley.message_search_vector(conversation_id, body) IS NOT NULL;

-- ---------------------------------------------------------------------------
-- pages: limit, has_more, next_before, walked to the end
-- ---------------------------------------------------------------------------
SELECT count(pg_temp.post(:'g', CASE WHEN i % 2 = 0 THEN 'se_ann' ELSE 'se_ben' END,
                          'page word ' || i)) AS posted
  FROM generate_series(1, 7) i;
SELECT parley.message_search(:'g', 'se_ann', 'page', NULL, 3) AS p1 \gset
SELECT pg_temp.seqs(:'p1') AS p1, :'p1'::jsonb->'has_more' AS more,
       :'p1'::jsonb->>'next_before' ~ '^[0-9a-f]+$' AS cursor_opaque_hex;
SELECT parley.message_search(:'g', 'se_ann', 'page', :'p1'::jsonb->>'next_before', 3) AS p2 \gset
SELECT pg_temp.seqs(:'p2') AS p2, :'p2'::jsonb->'has_more' AS more;
SELECT parley.message_search(:'g', 'se_ann', 'page', :'p2'::jsonb->>'next_before', 3) AS p3 \gset
SELECT pg_temp.seqs(:'p3') AS p3, :'p3'::jsonb->'has_more' AS more, :'p3'::jsonb->'next_before' AS next_before;
-- default limit 50 takes them all
SELECT pg_temp.seqs(parley.message_search(:'g', 'se_ann', 'page')) AS all_pages;

-- ---------------------------------------------------------------------------
-- across a guest's conversations
-- ---------------------------------------------------------------------------
-- ann is in g and d, ben in g and h, cid in h and d
SELECT g, pg_temp.bodies(parley.guest_message_search(g, 'cafe')) AS found
  FROM unnest(ARRAY['se_ann', 'se_ben', 'se_cid', 'se_out']) AS g;
SELECT parley.guest_message_search('se_ann', 'cafe', NULL, 50, 'se_ann') - 'messages' AS page_fields,
       parley.last_status();
-- pages across conversations, newest first by time
SELECT pg_temp.post(:'d', 'se_ann', 'page word in d');
SELECT parley.guest_message_search('se_ann', 'page word', NULL, 5) AS q1 \gset
SELECT pg_temp.bodies(:'q1') AS q1, :'q1'::jsonb->'has_more' AS more;
SELECT parley.guest_message_search('se_ann', 'page word', :'q1'::jsonb->>'next_before', 5) AS q2 \gset
SELECT pg_temp.bodies(:'q2') AS q2, :'q2'::jsonb->'has_more' AS more, :'q2'::jsonb->'next_before' AS next_before;
-- a guest who leaves a conversation no longer finds its messages
SELECT parley.participant_remove(:'h', 'se_cid', 'se_cid');
SELECT pg_temp.bodies(parley.guest_message_search('se_cid', 'cafe')) AS cid_after_leaving_h;
-- a guest in no conversation: an empty page, not an error
SELECT parley.guest_message_search('se_out', 'cafe') AS lonely;

-- ---------------------------------------------------------------------------
-- rejected input (and reads change nothing anyway)
-- ---------------------------------------------------------------------------
SELECT regress.err(format('SELECT parley.message_search(%L, %L, %L)', :'g', 'se_ann', q)) AS q_rejected
  FROM unnest(ARRAY['', repeat('a', 201), '!!! ... ???', '   ', '🎉🎉', '—']) AS q;
SELECT regress.err(format('SELECT parley.message_search(%L, %L, %L)', :'g', 'se_ann', repeat('é', 200))) AS q_200_characters;
SELECT regress.err(format('SELECT parley.message_search(%L, %L, NULL)', :'g', 'se_ann')) AS q_null;
SELECT regress.err(format('SELECT parley.message_search(%L, %L, %L, NULL, %s)', :'g', 'se_ann', 'x', l)) AS bad_limit
  FROM unnest(ARRAY[0, 201, -1]) AS l;
SELECT regress.err(format('SELECT parley.message_search(%L, %L, %L, %L)', :'g', 'se_ann', 'page', c)) AS bad_cursor
  FROM unnest(ARRAY['', 'zz', '0000000000000000000000000000000g',
                    '00000000000000000000000000000000',      -- seq 0
                    '0000000000000001000000000000000a',      -- a time in it
                    :'q1'::jsonb->>'next_before'             -- a guest search's cursor
                   ]) AS c;
SELECT regress.err(format('SELECT parley.guest_message_search(%L, %L, %L)', 'se_ann', 'page', c)) AS bad_guest_cursor
  FROM unnest(ARRAY['x', :'p1'::jsonb->>'next_before']) AS c;
SELECT regress.err(format('SELECT parley.message_search(%L, %L, %L)', gen_random_uuid(), 'se_ann', 'cafe')) AS unknown_conversation;
SELECT regress.err(format('SELECT parley.message_search(%L, %L, %L)', :'h', 'se_ann', 'cafe')) AS not_a_participant;
SELECT regress.err(format('SELECT parley.message_search(%L, %L, %L)', :'g', 'nobody', 'cafe')) AS unknown_actor;
SELECT regress.err(format('SELECT parley.message_search(%L, %L, %L)', :'g', 'bad id!', 'cafe')) AS bad_actor;
SELECT regress.err($$SELECT parley.guest_message_search('nobody', 'cafe')$$) AS unknown_guest;
SELECT regress.err($$SELECT parley.guest_message_search('se_ann', 'cafe', NULL, 50, 'se_ben')$$) AS other_actor;
SELECT regress.err($$SELECT parley.guest_message_search('se_ann', '')$$) AS guest_q_empty;
SELECT regress.err($$SELECT parley.guest_message_search('se_ann', 'x', NULL, 0)$$) AS guest_limit_0;

-- ---------------------------------------------------------------------------
-- a guest's search reads only the guest's conversations: with 10,000
-- matches elsewhere, the plan of guest_message_search's statement (the
-- same text as extension/search.c's) scans no table, and none of its scan
-- nodes reads or returns more rows (or index entries) than the guest's
-- conversations hold.  The planner may go through
-- messages_search_idx (the conversation lexemes in the query) or through
-- the primary key (conversation_id = ANY): both stay inside.
-- ---------------------------------------------------------------------------
INSERT INTO parley.guests (guest_id, display_name) VALUES ('se_crowd', 'Crowd');
INSERT INTO parley.conversations (id, kind, created_by)
SELECT ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, 'group', 'se_crowd'
  FROM generate_series(340001, 340040) n;
INSERT INTO parley.participants (conversation_id, guest_id, role)
SELECT ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, 'se_crowd', 'owner'
  FROM generate_series(340001, 340040) n;
INSERT INTO parley.messages (conversation_id, seq, id, sender_id, body)
SELECT ('00000000-0000-7000-8000-' || lpad(n::text, 12, '0'))::uuid, s, gen_random_uuid(), 'se_crowd',
       'the crowd says cafe cafe number ' || s
  FROM generate_series(340001, 340040) n, generate_series(1, 250) s;
ANALYZE parley.messages;
ANALYZE parley.participants;
PREPARE guest_search(uuid[], tsquery, timestamptz, uuid, bigint) AS
SELECT conversation_id, seq FROM parley.messages
 WHERE conversation_id = ANY ($1) AND body IS NOT NULL
   AND parley.message_search_vector(conversation_id, body) @@ $2
   AND (created_at, id) < ($3, $4)
 ORDER BY created_at DESC, id DESC LIMIT $5;
CREATE TEMP TABLE plan (p jsonb);
DO $$
DECLARE
    convs uuid[];
    tsq tsquery;
    j json;
BEGIN
    SELECT array_agg(p.conversation_id ORDER BY p.conversation_id),
           ('(''cafe'':*) & (' || string_agg('''#' || replace(p.conversation_id::text, '-', '') || '''', ' | ')
            || ')')::tsquery
      INTO convs, tsq
      FROM parley.participants p WHERE p.guest_id = 'se_ann';
    EXECUTE format('EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, FORMAT JSON) EXECUTE guest_search(%L, %L, %L, %L, 51)',
                   convs, tsq, 'infinity', 'ffffffff-ffff-ffff-ffff-ffffffffffff') INTO j;
    INSERT INTO plan VALUES (j::jsonb);
END
$$;
SELECT p @? '$.** ? (@."Node Type" == "Seq Scan")' AS scans_table,
       (SELECT max(coalesce((n->>'Actual Rows')::bigint, 0) + coalesce((n->>'Rows Removed by Filter')::bigint, 0)
                   + coalesce((n->>'Rows Removed by Index Recheck')::bigint, 0))
          FROM jsonb_path_query(p, '$.** ? (@."Node Type" like_regex "Scan$")') n)
       <= (SELECT count(*) FROM parley.messages m JOIN parley.participants x USING (conversation_id)
            WHERE x.guest_id = 'se_ann') AS reads_only_own_conversations,
       (SELECT count(*) FROM parley.messages WHERE sender_id = 'se_crowd') AS matches_elsewhere
  FROM plan;
-- and the function agrees with that statement
SELECT jsonb_array_length(parley.guest_message_search('se_ann', 'cafe')->'messages') AS ann_finds;
DEALLOCATE guest_search;
