-- Hostile input to every API function: each argument, one at a time, gets
-- NULL, empty, white space, 1 MB strings, control characters, escaped
-- bytes that are not UTF-8, injection-looking text, format strings, very
-- long ids; uuid, bigint, jsonb and array arguments get their own bad
-- values.  No call may crash the backend; each answers with its SQLSTATE
-- (grouped per argument below: SQLSTATE: the inputs that raised it).  The
-- file ends with queries proving the session and the data survived.
\set VERBOSITY terse

-- try(q): 'ok' or the SQLSTATE of the error q raises.  Either way q is
-- rolled back (a success raises P0099 to leave the subtransaction), so
-- the calls do not change each other's ground.
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RAISE EXCEPTION 'undo' USING ERRCODE = 'P0099';
EXCEPTION WHEN OTHERS THEN
    RETURN CASE WHEN SQLSTATE = 'P0099' THEN 'ok' ELSE SQLSTATE END;
END
$$;

SELECT parley.guest_upsert('h1', 'Host One'), parley.guest_upsert('h2', 'Host Two') \gset
SELECT parley.conversation_create('h1', 'group', ARRAY['h2'], 'hostile') ->> 'id' AS cid \gset
SELECT parley.message_post(:'cid', 'h1', 'first') ->> 'seq' AS seq \gset
SELECT count(*) AS messages_before, (SELECT count(*) FROM parley.guests) AS guests_before
  FROM parley.messages \gset

-- Text values: (label, value).
CREATE TEMP TABLE hostile_text (label text, v text);
INSERT INTO hostile_text VALUES
    ('null', NULL),
    ('empty', ''),
    ('spaces', '   '),
    ('1MB', repeat('a', 1048576)),
    ('1MB-2byte', repeat('é', 524288)),
    ('1MB-spaces', repeat(' ', 1048576)),
    ('ctrl', E'a\x01b'),
    ('newline', E'a\nb'),
    ('escaped-bytes', '\xc3\x28\xff'),
    ('pct-escapes', '%C3%28%00'),
    ('u0000-text', '\u0000'),
    ('rtl-override', U&'\202Eevil'),
    ('astral', U&'\+01D51E'),
    ('sqli-quote', $$x'; DROP TABLE parley.messages; --$$),
    ('sqli-or', $$' OR '1'='1$$),
    ('sqli-dollar', '$1); SELECT 1; --'),
    ('format', '%s%n%x%d%p'),
    ('path', '../../etc/passwd'),
    ('json', '{"a": 1}'),
    ('id-65', repeat('a', 65)),
    ('id-unknown', 'nobody');

-- Each template has one %s: the hostile value, quoted as a literal.
CREATE TEMP TABLE templates (fn text, arg text, q text);
INSERT INTO templates VALUES
    ('guest_upsert', 'guest_id', $$SELECT parley.guest_upsert(%s, 'N')$$),
    ('guest_upsert', 'display_name', $$SELECT parley.guest_upsert('h3', %s)$$),
    ('guest_upsert', 'metadata', $$SELECT parley.guest_upsert('h3', 'N', %s::jsonb)$$),
    ('guest_upsert', 'actor', $$SELECT parley.guest_upsert('h1', 'N', '{}', %s)$$),
    ('guest_get', 'guest_id', $$SELECT parley.guest_get(%s)$$),
    ('guest_token_claims', 'guest_id', $$SELECT parley.guest_token_claims(%s)$$),
    ('guest_tokens_revoke', 'guest_id', $$SELECT parley.guest_tokens_revoke(%s)$$),
    ('conversation_create', 'actor', $$SELECT parley.conversation_create(%s, 'group', ARRAY['h2'])$$),
    ('conversation_create', 'kind', $$SELECT parley.conversation_create('h1', %s, ARRAY['h2'])$$),
    ('conversation_create', 'participants[1]', $$SELECT parley.conversation_create('h1', 'group', ARRAY[%s])$$),
    ('conversation_create', 'title', $$SELECT parley.conversation_create('h1', 'group', ARRAY['h2'], %s)$$),
    ('conversation_get', 'conversation_id', $$SELECT parley.conversation_get(%s, 'h1')$$),
    ('conversation_get', 'actor', $$SELECT parley.conversation_get(:'cid', %s)$$),
    ('conversation_list', 'guest_id', $$SELECT parley.conversation_list(%s)$$),
    ('conversation_list', 'before', $$SELECT parley.conversation_list('h1', %s)$$),
    ('conversation_list', 'actor', $$SELECT parley.conversation_list('h1', NULL, 50, %s)$$),
    ('participant_add', 'conversation_id', $$SELECT parley.participant_add(%s, 'h1', 'h2')$$),
    ('participant_add', 'actor', $$SELECT parley.participant_add(:'cid', %s, 'h2')$$),
    ('participant_add', 'guest_id', $$SELECT parley.participant_add(:'cid', 'h1', %s)$$),
    ('participant_remove', 'conversation_id', $$SELECT parley.participant_remove(%s, 'h1', 'nobody')$$),
    ('participant_remove', 'actor', $$SELECT parley.participant_remove(:'cid', %s, 'nobody')$$),
    ('participant_remove', 'guest_id', $$SELECT parley.participant_remove(:'cid', 'h1', %s)$$),
    ('message_post', 'conversation_id', $$SELECT parley.message_post(%s, 'h1', 'x')$$),
    ('message_post', 'sender', $$SELECT parley.message_post(:'cid', %s, 'x')$$),
    ('message_post', 'body', $$SELECT parley.message_post(:'cid', 'h1', %s)$$),
    ('message_post', 'client_msg_id', $$SELECT parley.message_post(:'cid', 'h1', 'x', %s)$$),
    ('message_post', 'metadata', $$SELECT parley.message_post(:'cid', 'h1', 'x', NULL, %s::jsonb)$$),
    ('message_list', 'conversation_id', $$SELECT parley.message_list(%s, 'h1')$$),
    ('message_list', 'actor', $$SELECT parley.message_list(:'cid', %s)$$),
    ('message_list', 'before', $$SELECT parley.message_list(:'cid', 'h1', %s::bigint)$$),
    ('message_list', 'limit', $$SELECT parley.message_list(:'cid', 'h1', NULL, NULL, %s::int)$$),
    ('message_edit', 'conversation_id', $$SELECT parley.message_edit(%s, 1, 'h1', 'x')$$),
    ('message_edit', 'seq', $$SELECT parley.message_edit(:'cid', %s::bigint, 'h1', 'x')$$),
    ('message_edit', 'actor', $$SELECT parley.message_edit(:'cid', 1, %s, 'x')$$),
    ('message_edit', 'body', $$SELECT parley.message_edit(:'cid', 1, 'h1', %s)$$),
    ('message_delete', 'conversation_id', $$SELECT parley.message_delete(%s, 1, 'h1')$$),
    ('message_delete', 'seq', $$SELECT parley.message_delete(:'cid', %s::bigint, 'h2')$$),
    ('message_delete', 'actor', $$SELECT parley.message_delete(:'cid', 1, %s)$$),
    ('read_mark', 'conversation_id', $$SELECT parley.read_mark(%s, 'h2', 1)$$),
    ('read_mark', 'guest_id', $$SELECT parley.read_mark(:'cid', %s, 1)$$),
    ('read_mark', 'seq', $$SELECT parley.read_mark(:'cid', 'h2', %s::bigint)$$),
    ('service_key_create', 'name', $$SELECT parley.service_key_create(%s)$$),
    ('service_key_revoke', 'name', $$SELECT parley.service_key_revoke(%s)$$),
    ('friend_request', 'guest_id', $$SELECT parley.friend_request(%s, 'h2')$$),
    ('friend_request', 'other_id', $$SELECT parley.friend_request('h1', %s)$$),
    ('friend_remove', 'guest_id', $$SELECT parley.friend_remove(%s, 'h2')$$),
    ('friend_remove', 'other_id', $$SELECT parley.friend_remove('h1', %s)$$),
    ('guest_block', 'guest_id', $$SELECT parley.guest_block(%s, 'h2')$$),
    ('guest_block', 'other_id', $$SELECT parley.guest_block('h1', %s)$$),
    ('guest_unblock', 'guest_id', $$SELECT parley.guest_unblock(%s, 'h2')$$),
    ('guest_unblock', 'other_id', $$SELECT parley.guest_unblock('h1', %s)$$),
    ('friend_list', 'guest_id', $$SELECT parley.friend_list(%s)$$),
    ('friend_list', 'status', $$SELECT parley.friend_list('h1', %s)$$),
    ('friend_list', 'before', $$SELECT parley.friend_list('h1', 'accepted', %s)$$);

-- psql variables are not expanded inside dollar quotes: put the id in.
UPDATE templates SET q = replace(q, ':''cid''', quote_literal(:'cid'));

-- Every argument against every text value.
CREATE TEMP TABLE outcomes AS
SELECT t.fn, t.arg, h.label,
       pg_temp.try(format(t.q, quote_nullable(h.v))) AS result
  FROM templates t, hostile_text h;

SELECT fn, arg, string_agg(result || ': ' || labels, ' | ' ORDER BY result) AS outcomes
  FROM (SELECT fn, arg, result, string_agg(label, ',' ORDER BY label) AS labels
          FROM outcomes GROUP BY fn, arg, result) g
 GROUP BY fn, arg ORDER BY fn, arg;

-- Nothing is an internal error (XX000) or a crash-class error.
SELECT fn, arg, label, result FROM outcomes
 WHERE result LIKE 'XX%' OR result LIKE '58%' OR result LIKE '57%' ORDER BY 1, 2, 3;

-- Typed arguments with values of their own.
SELECT v AS bigint_value,
       pg_temp.try(format($$SELECT parley.message_list(%L, 'h1', %s)$$, :'cid', v)) AS list_before,
       pg_temp.try(format($$SELECT parley.message_list(%L, 'h1', NULL, %s)$$, :'cid', v)) AS list_after,
       pg_temp.try(format($$SELECT parley.message_list(%L, 'h1', NULL, NULL, (%s)::int)$$, :'cid', v)) AS list_limit,
       pg_temp.try(format($$SELECT parley.read_mark(%L, 'h2', %s)$$, :'cid', v)) AS read_mark,
       pg_temp.try(format($$SELECT parley.message_edit(%L, %s, 'h1', 'x')$$, :'cid', v)) AS edit
  FROM unnest(ARRAY['NULL', '0', '-1', '9223372036854775807', '(-9223372036854775807 - 1)',
                    '2147483648', '-2147483648']) AS v;

-- 0.4.0: a token's ttl (60-86400) and the revocation poll's since.
SELECT v AS integer_value,
       pg_temp.try(format($$SELECT parley.guest_token_claims('h1', %s)$$, v)) AS token_ttl
  FROM unnest(ARRAY['NULL', '0', '-1', '59', '60', '86400', '86401', '2147483647',
                    '(-2147483647 - 1)']) AS v;
SELECT v AS timestamptz_value,
       pg_temp.try(format($$SELECT parley.guest_tokens_revoked_since(%s::timestamptz)$$, v)) AS revoked_since
  FROM unnest(ARRAY['NULL', $$'-infinity'$$, $$'infinity'$$, $$'epoch'$$, $$'4713-01-01 00:00+00 BC'$$,
                    $$'294276-12-31 23:59:59+00'$$, $$'not a time'$$, $$''$$]) AS v;

SELECT label,
       pg_temp.try(format($$SELECT parley.guest_upsert('h3', 'N', %s)$$, v)) AS guest_metadata,
       pg_temp.try(format($$SELECT parley.message_post(%L, 'h1', 'x', NULL, %s)$$, :'cid', v)) AS message_metadata
  FROM (VALUES
    ('null', 'NULL::jsonb'),
    ('json null', $$'null'::jsonb$$),
    ('array', $$'[]'::jsonb$$),
    ('string', $$'"x"'::jsonb$$),
    ('number', $$'1e1000'::jsonb$$),
    ('1MB object', $$jsonb_build_object('a', repeat('x', 1048576))$$),
    ('10k keys', $$(SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 10000) i)$$),
    ('depth 32', $$(repeat('{"a":', 32) || '1' || repeat('}', 32))::jsonb$$),
    ('depth 33', $$(repeat('{"a":', 33) || '1' || repeat('}', 33))::jsonb$$),
    ('depth 5000', $$(repeat('[', 5000) || repeat(']', 5000))::jsonb$$),
    ('u0000', $$'{"a": "\u0000"}'::jsonb$$),
    ('lone surrogate', $$'{"a": "\ud800"}'::jsonb$$),
    ('injection key', $$'{"''; DROP TABLE parley.guests; --": 1}'::jsonb$$)
  ) AS m(label, v)
 ORDER BY 1;

SELECT label,
       pg_temp.try(format($$SELECT parley.conversation_create('h1', 'group', %s)$$, v)) AS create_group,
       pg_temp.try(format($$SELECT parley.conversation_create('h1', 'direct', %s)$$, v)) AS create_direct
  FROM (VALUES
    ('null array', 'NULL::text[]'),
    ('empty array', $$'{}'::text[]$$),
    ('null element', 'ARRAY[NULL]::text[]'),
    ('2-d array', $$'{{h2},{h2}}'::text[]$$),
    ('1001 unknown', $$(SELECT array_agg('g' || i) FROM generate_series(1, 1001) i)$$),
    ('100k unknown', $$(SELECT array_agg('g' || i) FROM generate_series(1, 100000) i)$$),
    ('1MB element', $$ARRAY[repeat('a', 1048576)]$$),
    ('injection', $$ARRAY['h2'') OR 1=1; --']$$),
    ('self and h2 twice', $$ARRAY['h1', 'h2', 'h2']$$)
  ) AS a(label, v)
 ORDER BY 1;

-- Strings that are not valid UTF-8 never reach a function: PostgreSQL
-- refuses them where they are written (22021).
SELECT pg_temp.try($$SELECT parley.guest_get(E'\xc3\x28')$$) AS invalid_utf8,
       pg_temp.try($$SELECT parley.guest_get(convert_from('\xc328'::bytea, 'UTF8'))$$) AS invalid_utf8_bytes,
       pg_temp.try($$SELECT parley.guest_get(chr(0))$$) AS nul_char;

-- The session survived, the injections did nothing, and what the rejected
-- calls were given changed nothing.
SELECT 'session alive' AS status,
       (SELECT count(*) FROM parley.messages) = :messages_before AS messages_unchanged,
       (SELECT count(*) FROM parley.guests) = :guests_before AS guests_unchanged,
       to_regclass('parley.messages') IS NOT NULL AS messages_table_exists,
       to_regclass('parley.guests') IS NOT NULL AS guests_table_exists;
SELECT parley.message_list(:'cid', 'h1') -> 'messages' -> 0 ->> 'body' AS first_body;
