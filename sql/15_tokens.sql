-- 0.4.0, guest sessions (API.md section 7): the acting guest of
-- guest_upsert(), guest_token_claims(), guest_tokens_revoke(),
-- guest_tokens_revoked_since(); and pg_monitor reading parley.stats.
\set VERBOSITY terse
SELECT parley.guest_upsert('tok.a', 'Token A') ->> 'guest_id' AS a,
       parley.guest_upsert('tok.b', 'Token B') ->> 'guest_id' AS b;

-- guest_upsert's actor: NULL is a service; a guest writes only its own
-- profile (403 guest_mismatch, PR015), checked before the profile itself
SELECT parley.guest_upsert('tok.a', 'A again', '{}', NULL) ->> 'display_name';
SELECT parley.last_status();
SELECT parley.guest_upsert('tok.a', 'A by A', '{"x": 1}', 'tok.a') ->> 'display_name';
SELECT parley.last_status();
SELECT parley.guest_upsert('tok.new', 'New by itself', actor => 'tok.new') ->> 'guest_id';
SELECT parley.last_status();
SELECT regress.err($$SELECT parley.guest_upsert('tok.a', 'A by B', '{}', 'tok.b')$$);
SELECT regress.err($$SELECT parley.guest_upsert('tok.a', '', '{}', 'tok.b')$$);
SELECT regress.err($$SELECT parley.guest_upsert('tok.a', 'A', '{}', '')$$);
SELECT regress.err($$SELECT parley.guest_upsert('tok.nobody', 'X', '{}', 'tok.a')$$);
SELECT display_name FROM parley.guests WHERE guest_id = 'tok.a';
SELECT count(*) AS nobody FROM parley.guests WHERE guest_id = 'tok.nobody';
-- the other checks are unchanged (the 0.1.0 call, three arguments)
SELECT regress.err($$SELECT parley.guest_upsert('tok.a', NULL, '{}', 'tok.a')$$);
SELECT regress.err($$SELECT parley.guest_upsert('bad id', 'X', '{}', 'bad id')$$);
SELECT parley.guest_upsert('tok.a', 'Token A', '{}') ->> 'display_name';

-- guest_token_claims(guest_id, ttl DEFAULT 3600): {"sub", "iat", "exp"},
-- epoch seconds, answered 201 (the gateway signs it into a token)
SELECT c ->> 'sub' AS sub,
       (c ->> 'exp')::bigint - (c ->> 'iat')::bigint AS lifetime,
       (c ->> 'iat')::bigint = floor(extract(epoch FROM now())) AS iat_is_now,
       jsonb_typeof(c -> 'iat') AS iat_type,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(c) AS k) AS keys
  FROM parley.guest_token_claims('tok.a') AS c;
SELECT parley.last_status();
SELECT (c ->> 'exp')::bigint - (c ->> 'iat')::bigint AS lifetime
  FROM unnest(ARRAY[60, 86400]) AS t(ttl), parley.guest_token_claims('tok.b', t.ttl) AS c;
SELECT regress.err($$SELECT parley.guest_token_claims('tok.a', 59)$$);
SELECT regress.err($$SELECT parley.guest_token_claims('tok.a', 86401)$$);
SELECT regress.err($$SELECT parley.guest_token_claims('tok.a', 0)$$);
SELECT regress.err($$SELECT parley.guest_token_claims('tok.a', -3600)$$);
SELECT regress.err($$SELECT parley.guest_token_claims('tok.a', NULL)$$);
SELECT regress.err($$SELECT parley.guest_token_claims('tok.unknown')$$);
SELECT regress.err($$SELECT parley.guest_token_claims('')$$);
SELECT regress.err($$SELECT parley.guest_token_claims(NULL)$$);
SELECT regress.err($$SELECT parley.guest_token_claims(repeat('g', 65))$$);

-- guest_tokens_revoke(guest_id): 204; tokens issued before now are refused:
-- valid_from is the whole second after now()
SELECT tokens_valid_from IS NULL AS never_revoked FROM parley.guests WHERE guest_id = 'tok.a';
BEGIN;
SELECT parley.guest_tokens_revoke('tok.a');
SELECT parley.last_status();
SELECT extract(epoch FROM tokens_valid_from) = floor(extract(epoch FROM now())) + 1 AS next_second,
       tokens_valid_from > now() AS after_now
  FROM parley.guests WHERE guest_id = 'tok.a';
-- a token minted after the revocation is valid: its iat is valid_from
SELECT (c ->> 'iat')::bigint = extract(epoch FROM g.tokens_valid_from) AS iat_is_valid_from
  FROM parley.guest_token_claims('tok.a', 60) AS c, parley.guests g WHERE g.guest_id = 'tok.a';
-- valid_from never moves back
UPDATE parley.guests SET tokens_valid_from = now() + interval '1 hour' WHERE guest_id = 'tok.a';
SELECT parley.guest_tokens_revoke('tok.a');
SELECT tokens_valid_from = now() + interval '1 hour' AS kept FROM parley.guests WHERE guest_id = 'tok.a';
ROLLBACK;
SELECT updated_at AS a_updated_at FROM parley.guests WHERE guest_id = 'tok.a' \gset
SELECT parley.guest_tokens_revoke('tok.a');
SELECT regress.err($$SELECT parley.guest_tokens_revoke('tok.unknown')$$);
SELECT regress.err($$SELECT parley.guest_tokens_revoke('no spaces')$$);
SELECT regress.err($$SELECT parley.guest_tokens_revoke(NULL)$$);
-- nothing else of the profile changed
SELECT display_name, updated_at = :'a_updated_at' AS updated_at_kept
  FROM parley.guests WHERE guest_id = 'tok.a';

-- guest_tokens_revoked_since(since): {"guests": {id: valid_from}, "next_since"}
SELECT (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(r) AS k) AS keys,
       r -> 'guests' ? 'tok.a' AS has_a,
       r -> 'guests' ? 'tok.b' AS has_b,
       (r -> 'guests' ->> 'tok.a')::bigint = (SELECT extract(epoch FROM tokens_valid_from)
                                                FROM parley.guests WHERE guest_id = 'tok.a') AS value,
       (r ->> 'next_since')::timestamptz <= now() AS next_since_not_after_now
  FROM parley.guest_tokens_revoked_since(NULL) AS r;
SELECT parley.last_status();
-- since: revocations whose valid_from is at or after it
SELECT r -> 'guests' ? 'tok.a' AS has_a
  FROM parley.guest_tokens_revoked_since(now() - interval '1 minute') AS r;
SELECT r -> 'guests' AS guests
  FROM parley.guest_tokens_revoked_since(now() + interval '1 minute') AS r;
-- a revocation older than the longest token (24 h, and 60 s of skew) is
-- never answered again: no token it refuses can still be valid
BEGIN;
UPDATE parley.guests SET tokens_valid_from = now() - interval '2 days' WHERE guest_id = 'tok.a';
SELECT r -> 'guests' AS guests FROM parley.guest_tokens_revoked_since(NULL) AS r;
SELECT r -> 'guests' AS guests FROM parley.guest_tokens_revoked_since('-infinity') AS r;
ROLLBACK;
-- the poll is a range scan of the partial index of revoked guests
SET enable_seqscan = off;
EXPLAIN (COSTS OFF)
SELECT g.guest_id, extract(epoch FROM g.tokens_valid_from)::bigint
  FROM parley.guests g
 WHERE g.tokens_valid_from IS NOT NULL
   AND g.tokens_valid_from >= greatest(now() - interval '1 minute', now() - interval '86460 seconds');
RESET enable_seqscan;
SELECT indexdef FROM pg_indexes WHERE indexname = 'guests_tokens_valid_from_idx';

-- pg_monitor (docs/operations.md): a member, connected as itself, reads
-- parley.stats, and nothing else of parley
SELECT current_user AS regress_superuser \gset
CREATE ROLE regress_parley_monitor LOGIN IN ROLE pg_monitor;
CREATE ROLE regress_parley_nobody LOGIN;
\c - regress_parley_monitor
SELECT current_user, count(*) > 0 AS reads_stats FROM parley.stats;
SELECT count(*) FROM parley.guests;
SELECT parley.guest_get('tok.a');
SELECT parley.guest_tokens_revoked_since(NULL);
-- a role that is not a member still gets nothing
\c - regress_parley_nobody
SELECT count(*) FROM parley.stats;
\c - :regress_superuser
DROP ROLE regress_parley_monitor, regress_parley_nobody;

-- 403 guest_mismatch's SQLSTATE, as a DBA sees it
\set VERBOSITY sqlstate
SELECT parley.guest_upsert('tok.a', 'A by B', '{}', 'tok.b');
\set VERBOSITY terse
