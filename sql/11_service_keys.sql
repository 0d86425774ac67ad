-- service_key_create(), service_key_revoke(), service_key_hashes()
\set VERBOSITY terse
SELECT parley.service_key_create('svc.game-1') AS key \gset
-- the plaintext: pk_ + 43 base64url characters (256 bits)
SELECT :'key' ~ '^pk_[A-Za-z0-9_-]{43}$' AS key_format;
SELECT parley.last_status();
-- only the SHA-256 is stored, and nothing else resembles the key
SELECT key_hash = sha256(convert_to(:'key', 'UTF8')) AS hash_matches,
       position(convert_to(:'key', 'UTF8') IN key_hash) = 0 AS plaintext_absent,
       revoked_at IS NULL AS valid
  FROM parley.service_keys WHERE name = 'svc.game-1';
SELECT name, key_hash = sha256(convert_to(:'key', 'UTF8')) AS hash_matches
  FROM parley.service_key_hashes();
-- two keys never share a value
SELECT parley.service_key_create('svc.other') <> :'key' AS distinct_keys;
-- a valid name cannot be taken twice
SELECT parley.service_key_create('svc.game-1');
-- names follow the guest id rules
SELECT parley.service_key_create('');
SELECT parley.service_key_create('no spaces');
SELECT parley.service_key_create(repeat('k', 65));
SELECT parley.service_key_create(NULL);
-- revoke: the hash leaves service_key_hashes(); twice is an error
SELECT parley.service_key_revoke('svc.game-1');
SELECT parley.last_status();
SELECT name FROM parley.service_key_hashes() ORDER BY 1;
SELECT parley.service_key_revoke('svc.game-1');
SELECT parley.service_key_revoke('svc.unknown');
SELECT parley.service_key_revoke(NULL);
-- a revoked name may be reused; the old key stays dead
SELECT parley.service_key_create('svc.game-1') <> :'key' AS new_key;
SELECT count(*) AS old_key_valid FROM parley.service_key_hashes()
 WHERE key_hash = sha256(convert_to(:'key', 'UTF8'));
\set VERBOSITY sqlstate
SELECT parley.service_key_create('svc.other');
SELECT parley.service_key_revoke('svc.unknown');
