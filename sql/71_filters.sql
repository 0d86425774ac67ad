-- Word filters (0.6.0, API.md section 10): filter_add(), filter_remove(),
-- applied to every post and edit, SQL callers included.
-- Errors show as their SQLSTATE: PR066 message_rejected, 22023 validation_failed.
\set VERBOSITY sqlstate

SELECT count(*) AS guests FROM (
    SELECT parley.guest_upsert(g, g) FROM unnest(ARRAY['fi_ann', 'fi_ben']) AS g) s;
SELECT parley.conversation_create('fi_ann', 'group', '{fi_ben}', 'Filtered')->>'id' AS gid \gset
-- post(body): the stored body of a new post by fi_ann
CREATE FUNCTION pg_temp.post(b text) RETURNS text LANGUAGE sql AS $$
    SELECT parley.message_post(current_setting('regress.fgid')::uuid, 'fi_ann', b)->>'body'
$$;
SELECT set_config('regress.fgid', :'gid', false) IS NOT NULL AS set;

-- no filters: bodies pass as they are
SELECT pg_temp.post('darn it') AS body;

-- the answer, and the stored form: folded, white space runs as one
SELECT parley.filter_add('  DARN ', 'mask') - 'created_at' AS added;
SELECT parley.filter_add('Bad   Word', 'reject') - 'created_at' AS added;
SELECT parley.filter_add('ärger', 'mask')->>'pattern' AS added;
SELECT pattern, action FROM parley.filters ORDER BY pattern;

-- mask: case-insensitive, whole words only, every character a '*'
SELECT pg_temp.post('Darn it, DARN! darnit adarn darn_x darn.') AS body;
SELECT pg_temp.post('ÄRGER über Ärger, Ärgernis') AS body;
-- reject, whole phrases across white space runs; nothing is stored
SELECT last_seq AS before FROM parley.conversations WHERE id = :'gid' \gset
SELECT pg_temp.post('what a BAD   word');
SELECT pg_temp.post('bad' || chr(10) || 'word');
SELECT last_seq = :before AS nothing_posted FROM parley.conversations WHERE id = :'gid';
-- not a whole phrase: passes
SELECT pg_temp.post('bad words, badword') AS body;
-- reject wins over mask
SELECT pg_temp.post('darn, bad word');
-- edits are filtered too
SELECT (parley.message_post(:'gid', 'fi_ben', 'clean')->>'seq')::int AS seq \gset
SELECT parley.message_edit(:'gid', :seq, 'fi_ben', 'darn edits')->>'body' AS edited;
SELECT parley.message_edit(:'gid', :seq, 'fi_ben', 'a bad word');
SELECT body FROM parley.messages WHERE conversation_id = :'gid' AND seq = :seq;
-- idempotent replays answer the message as stored
SELECT parley.message_post(:'gid', 'fi_ben', 'darn again', 'fi-1')->>'body' AS first,
       parley.message_post(:'gid', 'fi_ben', 'darn again', 'fi-1')->>'body' AS replay;

-- changing the list takes effect at once in this backend (the others: the
-- isolation spec filters_refresh)
SELECT parley.filter_add('darn', 'reject')->>'action' AS now;
SELECT pg_temp.post('darn');
SELECT parley.filter_remove('DARN') AS removed, parley.filter_remove('darn') AS again;
SELECT pg_temp.post('darn it') AS body;
-- even a DBA's own INSERT or DELETE on the table (the trigger)
INSERT INTO parley.filters (pattern, action) VALUES ('heck', 'mask');
SELECT pg_temp.post('what the heck') AS body;
DELETE FROM parley.filters WHERE pattern = 'heck';
SELECT pg_temp.post('what the heck') AS body;

-- bad arguments, and nothing changes
SELECT parley.filter_add('oops', 'delete');
SELECT parley.filter_add('   ', 'mask');
SELECT parley.filter_add(NULL, 'mask');
SELECT parley.filter_add(repeat('x', 201), 'mask');
SELECT parley.filter_add('tab' || chr(1), 'mask');
SELECT parley.filter_remove(NULL);
SELECT pattern, action FROM parley.filters ORDER BY pattern;

DELETE FROM parley.filters;
