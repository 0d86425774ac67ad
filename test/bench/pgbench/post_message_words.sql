-- test/bench/search.sh: message_post as parleyd runs it (post_message.sql),
-- with a chat line of 12 words of which 4 vary per post (one of 5,000
-- numbered words, a random hex word, a number and one of five names), so
-- the search index's posting lists grow as they would with real text.
\set n random(1, 100)
\set k random(1, 5)
\set w random(1, 5000)
\set x random(1, 1000000)
SELECT r::text, parley.last_status()
  FROM parley.message_post(('00000000-0000-7000-8000-' || lpad(:n::text, 12, '0'))::uuid,
                           'p' || :n || '_' || :k,
                           'see you at word' || :w || ' later, bring the ' || to_hex(:x * 2654435761 % 4294967296)
                           || ' and ' || :x || ' coins for ' || (ARRAY['Ana','Bob','Céline','Dmitri','Zoë'])[:k],
                           NULL, '{}'::jsonb) AS r;
