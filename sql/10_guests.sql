-- guest_upsert() and guest_get(): every rule of API.md section 1 and 6.
\set VERBOSITY terse
-- created (201) then updated (200); answers strip the timestamps
SELECT parley.guest_upsert('g_alice', 'Alice', '{"level": 3}') - 'created_at' - 'updated_at' AS created;
SELECT parley.last_status();
SELECT parley.guest_upsert('g_alice', 'Alice B.') - 'created_at' - 'updated_at' AS replaced;
SELECT parley.last_status();
-- PUT replaces: absent metadata stores {}; updated_at moves, created_at stays
SELECT metadata, created_at < updated_at AS updated_later FROM parley.guests WHERE guest_id = 'g_alice';
SELECT parley.guest_get('g_alice') - 'created_at' - 'updated_at' AS got;
SELECT parley.last_status();
-- timestamps are RFC 3339 in UTC
SELECT (parley.guest_get('g_alice')->>'created_at') ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$' AS rfc3339;
SET TimeZone = 'America/New_York';
SELECT (parley.guest_get('g_alice')->>'created_at') ~ '\+00:00$' AS still_utc;
RESET TimeZone;

-- guest_id: 1-64 bytes of [A-Za-z0-9._:@-]
SELECT parley.guest_upsert('Az09._:@-', 'ok')->>'guest_id' AS all_allowed;
SELECT length(parley.guest_upsert(repeat('x', 64), 'ok')->>'guest_id') AS id_64;
SELECT parley.guest_upsert(repeat('x', 65), 'too long');
SELECT parley.guest_upsert('', 'empty');
SELECT parley.guest_upsert('has space', 'x');
SELECT parley.guest_upsert('slash/no', 'x');
SELECT parley.guest_upsert('émile', 'x');
SELECT parley.guest_upsert('quote''; DROP TABLE parley.guests; --', 'x');
SELECT parley.guest_get('bad id');
SELECT parley.guest_get('g_nobody');

-- display_name: trimmed (Unicode White_Space), 1-64 characters, no controls
SELECT parley.guest_upsert('g_trim', E' \t\u3000\u00a0 Bob \u2003\n')->>'display_name' AS trimmed;
SELECT parley.guest_upsert('g_64', repeat('n', 64))->>'display_name' = repeat('n', 64) AS name_64;
SELECT parley.guest_upsert('g_65', repeat('n', 65));
SELECT parley.guest_upsert('g_65', '  ' || repeat('n', 64) || '  ')->>'display_name' = repeat('n', 64) AS name_64_after_trim;
SELECT char_length(parley.guest_upsert('g_emoji', repeat('😀', 64))->>'display_name') AS emoji_64;
SELECT parley.guest_upsert('g_emoji', repeat('😀', 65));
SELECT parley.guest_upsert('g_blank', '');
SELECT parley.guest_upsert('g_blank', E' \t\u3000 ');
SELECT parley.guest_upsert('g_ctl', E'a\u0007b');
SELECT parley.guest_upsert('g_ctl', E'a\u0085b');
SELECT parley.guest_upsert('g_ctl', E'a\nb');
SELECT count(*) AS rejected_not_stored FROM parley.guests
 WHERE guest_id IN ('g_blank', 'g_ctl') OR length(guest_id) > 64;
SELECT display_name = repeat('😀', 64) AS emoji_name_kept FROM parley.guests WHERE guest_id = 'g_emoji';

-- metadata: a JSON object, at most 16384 bytes as jsonb text, 32 levels
SELECT parley.guest_upsert('g_meta', 'm', '[]');
SELECT parley.guest_upsert('g_meta', 'm', '"text"');
SELECT parley.guest_upsert('g_meta', 'm', '5');
SELECT parley.guest_upsert('g_meta', 'm', 'null');
-- {"k": "xxx..."} is 9 bytes + the string: 16384 bytes exactly, then one more
SELECT length((parley.guest_upsert('g_meta', 'm', jsonb_build_object('k', repeat('x', 16375)))->'metadata')::text) AS meta_16384;
SELECT parley.guest_upsert('g_meta', 'm', jsonb_build_object('k', repeat('x', 16376)));
-- multi-byte: the limit is in bytes of metadata::text, not characters
SELECT parley.guest_upsert('g_meta', 'm', jsonb_build_object('k', repeat('é', 8188)));
SELECT octet_length((parley.guest_upsert('g_meta', 'm', jsonb_build_object('k', repeat('é', 8187)))->'metadata')::text) AS meta_bytes_ok;
-- nesting: the object itself is level 1; 32 is fine, 33 is not
SELECT parley.guest_upsert('g_meta', 'm', ('{"a":' || repeat('[', 31) || repeat(']', 31) || '}')::jsonb) IS NOT NULL AS depth_32;
SELECT parley.guest_upsert('g_meta', 'm', ('{"a":' || repeat('[', 32) || repeat(']', 32) || '}')::jsonb);
-- strings PostgreSQL cannot store are refused by jsonb input itself
SELECT parley.guest_upsert('g_meta', 'm', '{"a": "\u0000"}');
SELECT parley.guest_upsert('g_meta', 'm', '{"a": "\ud800"}');
SELECT parley.guest_upsert('g_meta', 'm', '{"a": "\udc00x"}');
SELECT parley.guest_upsert('g_meta', 'm', '{"a": "\ud83d\ude00"}')->'metadata' AS surrogate_pair_ok;
-- the last successful write is what is stored
SELECT metadata FROM parley.guests WHERE guest_id = 'g_meta';

-- NULLs raise, never return NULL
SELECT parley.guest_upsert(NULL, 'x');
SELECT parley.guest_upsert('g_null', NULL);
SELECT parley.guest_upsert('g_null', 'x', NULL);
SELECT parley.guest_get(NULL);
SELECT count(*) AS null_guest_not_stored FROM parley.guests WHERE guest_id = 'g_null';

-- errors carry their SQLSTATE (docs/errors.md)
\set VERBOSITY sqlstate
SELECT parley.guest_get('g_nobody');
SELECT parley.guest_upsert('bad id', 'x');
SELECT parley.guest_upsert(NULL, 'x');
\set VERBOSITY default
SELECT parley.guest_get('g_nobody');
