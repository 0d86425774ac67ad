-- Hostile input to every argument of every API function (the functions of
-- schema parley, which test/api-catalog.sh proves are api/api.txt's).  Two
-- tables drive it:
--   templates  each argument, one at a time, gets every text value of
--              hostile_text: NULL, empty, white space, 1 MB strings, control
--              characters, escaped bytes that are not UTF-8, injection-
--              looking text, format strings, very long ids (cast to the
--              argument's type, so uuid, bigint, integer and jsonb
--              arguments meet their input functions; an array argument
--              gets them as its element, "participants[1]");
--   typed      each argument that is not text gets the values of its type
--              from hostile_typed: boundaries of bigint and integer, unknown
--              uuids, JSON that is not an object or too big or too deep,
--              arrays that are NULL, empty, 2-d, huge or hold a NULL.
-- No call may crash the backend; each answers with its SQLSTATE (grouped
-- per argument below, "SQLSTATE: the values that raised it").  A check
-- over pg_proc lists every argument that has no rows (it must list none),
-- and the file ends with queries proving the session and the data survived.
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

-- Each template has one %s: the hostile value, quoted as a literal.  arg
-- is the argument's name, "name[1]" when the value is an array's element.
-- :'cid' is the test's group (h1 its owner, h2 a member, message seq 1).
CREATE TEMP TABLE templates (fn text, arg text, q text);
INSERT INTO templates VALUES
    ('guest_upsert', 'guest_id', $$SELECT parley.guest_upsert(%s, 'N')$$),
    ('guest_upsert', 'display_name', $$SELECT parley.guest_upsert('h3', %s)$$),
    ('guest_upsert', 'metadata', $$SELECT parley.guest_upsert('h3', 'N', %s::jsonb)$$),
    ('guest_upsert', 'actor', $$SELECT parley.guest_upsert('h1', 'N', '{}', %s)$$),
    ('guest_get', 'guest_id', $$SELECT parley.guest_get(%s)$$),
    ('guest_token_claims', 'guest_id', $$SELECT parley.guest_token_claims(%s)$$),
    ('guest_token_claims', 'ttl', $$SELECT parley.guest_token_claims('h1', %s::int)$$),
    ('guest_tokens_revoke', 'guest_id', $$SELECT parley.guest_tokens_revoke(%s)$$),
    ('guest_tokens_revoked_since', 'since', $$SELECT parley.guest_tokens_revoked_since(%s::timestamptz)$$),
    ('guest_export', 'guest_id', $$SELECT count(*) FROM parley.guest_export(%s)$$),
    ('guest_export_page', 'guest_id', $$SELECT parley.guest_export_page(%s)$$),
    ('guest_export_page', 'after', $$SELECT parley.guest_export_page('h1', %s)$$),
    ('guest_erase', 'guest_id', $$SELECT parley.guest_erase(%s)$$),
    ('retention_set', 'conversation_id', $$SELECT parley.retention_set(%s::uuid, NULL)$$),
    ('retention_set', 'keep', $$SELECT parley.retention_set(NULL, %s::interval)$$),
    ('conversation_create', 'actor', $$SELECT parley.conversation_create(%s, 'group', ARRAY['h2'])$$),
    ('conversation_create', 'kind', $$SELECT parley.conversation_create('h1', %s, ARRAY['h2'])$$),
    ('conversation_create', 'participants[1]', $$SELECT parley.conversation_create('h1', 'group', ARRAY[%s])$$),
    ('conversation_create', 'title', $$SELECT parley.conversation_create('h1', 'group', ARRAY['h2'], %s)$$),
    ('conversation_create_at', 'actor', $$SELECT parley.conversation_create_at(%s, 'group', ARRAY['h2'], NULL, gen_random_uuid())$$),
    ('conversation_create_at', 'kind', $$SELECT parley.conversation_create_at('h1', %s, ARRAY['h2'], NULL, gen_random_uuid())$$),
    ('conversation_create_at', 'participants[1]', $$SELECT parley.conversation_create_at('h1', 'group', ARRAY[%s], NULL, gen_random_uuid())$$),
    ('conversation_create_at', 'title', $$SELECT parley.conversation_create_at('h1', 'group', ARRAY['h2'], %s, gen_random_uuid())$$),
    ('conversation_create_at', 'conversation_id', $$SELECT parley.conversation_create_at('h1', 'group', ARRAY['h2'], NULL, %s::uuid)$$),
    ('conversation_get', 'conversation_id', $$SELECT parley.conversation_get(%s, 'h1')$$),
    ('conversation_get', 'actor', $$SELECT parley.conversation_get(:'cid', %s)$$),
    ('conversation_list', 'guest_id', $$SELECT parley.conversation_list(%s)$$),
    ('conversation_list', 'before', $$SELECT parley.conversation_list('h1', %s)$$),
    ('conversation_list', 'limit', $$SELECT parley.conversation_list('h1', NULL, %s::int)$$),
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
    ('message_list', 'after', $$SELECT parley.message_list(:'cid', 'h1', NULL, %s::bigint)$$),
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
    ('message_post', 'reply_to', $$SELECT parley.message_post(:'cid', 'h1', 'x', NULL, '{}', %s::bigint)$$),
    ('message_post', 'attachments', $$SELECT parley.message_post(:'cid', 'h1', '', NULL, '{}', NULL, %s::jsonb)$$),
    ('message_list', 'thread', $$SELECT parley.message_list(:'cid', 'h1', NULL, NULL, 50, %s::bigint)$$),
    ('message_list', 'around', $$SELECT parley.message_list(:'cid', 'h1', NULL, NULL, 50, NULL, %s::bigint)$$),
    ('reaction_add', 'conversation_id', $$SELECT parley.reaction_add(%s, 1, 'h1', 'x')$$),
    ('reaction_add', 'seq', $$SELECT parley.reaction_add(:'cid', %s::bigint, 'h1', 'x')$$),
    ('reaction_add', 'actor', $$SELECT parley.reaction_add(:'cid', 1, %s, 'x')$$),
    ('reaction_add', 'key', $$SELECT parley.reaction_add(:'cid', 1, 'h1', %s)$$),
    ('reaction_remove', 'conversation_id', $$SELECT parley.reaction_remove(%s, 1, 'h1', 'x')$$),
    ('reaction_remove', 'seq', $$SELECT parley.reaction_remove(:'cid', %s::bigint, 'h1', 'x')$$),
    ('reaction_remove', 'actor', $$SELECT parley.reaction_remove(:'cid', 1, %s, 'x')$$),
    ('reaction_remove', 'key', $$SELECT parley.reaction_remove(:'cid', 1, 'h1', %s)$$),
    ('reaction_list', 'conversation_id', $$SELECT parley.reaction_list(%s, 1, 'h1')$$),
    ('reaction_list', 'seq', $$SELECT parley.reaction_list(:'cid', %s::bigint, 'h1')$$),
    ('reaction_list', 'actor', $$SELECT parley.reaction_list(:'cid', 1, %s)$$),
    ('reaction_list', 'key', $$SELECT parley.reaction_list(:'cid', 1, 'h1', %s)$$),
    ('reaction_list', 'before', $$SELECT parley.reaction_list(:'cid', 1, 'h1', NULL, %s)$$),
    ('reaction_list', 'limit', $$SELECT parley.reaction_list(:'cid', 1, 'h1', NULL, NULL, %s::int)$$),
    ('read_mark_unread', 'conversation_id', $$SELECT parley.read_mark_unread(%s, 'h2', 1)$$),
    ('read_mark_unread', 'guest_id', $$SELECT parley.read_mark_unread(:'cid', %s, 1)$$),
    ('read_mark_unread', 'seq', $$SELECT parley.read_mark_unread(:'cid', 'h2', %s::bigint)$$),
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
    ('friend_list', 'before', $$SELECT parley.friend_list('h1', 'accepted', %s)$$),
    ('friend_list', 'limit', $$SELECT parley.friend_list('h1', 'accepted', NULL, %s::int)$$),
    ('friend_request', 'actor', $$SELECT parley.friend_request('h1', 'h2', %s)$$),
    ('friend_remove', 'actor', $$SELECT parley.friend_remove('h1', 'h2', %s)$$),
    ('guest_block', 'actor', $$SELECT parley.guest_block('h1', 'h2', %s)$$),
    ('guest_unblock', 'actor', $$SELECT parley.guest_unblock('h1', 'h2', %s)$$),
    ('friend_list', 'actor', $$SELECT parley.friend_list('h1', 'accepted', NULL, 50, %s)$$),
    ('events_subscribe', 'conversation_id', $$SELECT parley.events_subscribe(%s, 'h1')$$),
    ('events_subscribe', 'actor', $$SELECT parley.events_subscribe(:'cid', %s)$$),
    ('events_subscribe', 'after', $$SELECT parley.events_subscribe(:'cid', 'h1', %s::bigint)$$),
    ('events_fetch', 'conversation_ids[1]', $$SELECT parley.events_fetch(ARRAY[%s::uuid], ARRAY[0::bigint])$$),
    ('events_fetch', 'afters[1]', $$SELECT parley.events_fetch(ARRAY[:'cid'::uuid], ARRAY[%s::bigint])$$),
    ('events_fetch', 'limit', $$SELECT parley.events_fetch(ARRAY[:'cid'::uuid], ARRAY[0::bigint], %s::int)$$),
    ('conversation_heads', 'conversation_ids[1]', $$SELECT parley.conversation_heads(ARRAY[%s::uuid])$$),
    ('events_heads', 'conversation_ids[1]', $$SELECT parley.events_heads(ARRAY[%s::uuid])$$),
    ('events_changes', 'conversation_id', $$SELECT parley.events_changes(%s, 0, ARRAY['h1'])$$),
    ('events_changes', 'after_change', $$SELECT parley.events_changes(:'cid', %s::bigint, ARRAY['h1'])$$),
    ('events_changes', 'guests[1]', $$SELECT parley.events_changes(:'cid', 0, ARRAY[%s])$$),
    ('events_guest_subscribe', 'guest_id', $$SELECT parley.events_guest_subscribe(%s)$$),
    ('events_guest_subscribe', 'after', $$SELECT parley.events_guest_subscribe('h1', %s)$$),
    ('events_guest_fetch', 'guest_id', $$SELECT count(*) FROM parley.events_guest_fetch(%s, NULL)$$),
    ('events_guest_fetch', 'after', $$SELECT count(*) FROM parley.events_guest_fetch('h1', %s)$$),
    ('events_guest_fetch', 'limit', $$SELECT count(*) FROM parley.events_guest_fetch('h1', NULL, %s::int)$$),
    ('events_guests_fetch', 'guest_ids[1]', $$SELECT count(*) FROM parley.events_guests_fetch(ARRAY[%s], ARRAY[NULL::text])$$),
    ('events_guests_fetch', 'afters[1]', $$SELECT count(*) FROM parley.events_guests_fetch(ARRAY['h1'], ARRAY[%s])$$),
    ('events_guests_fetch', 'limit', $$SELECT count(*) FROM parley.events_guests_fetch(ARRAY['h1'], ARRAY[NULL::text], %s::int)$$),
    ('conversation_touched', 'conversation_id', $$SELECT parley.conversation_touched(%s::uuid)$$),
    ('presence_set', 'guest_id', $$SELECT parley.presence_set(%s, 'online')$$),
    ('presence_set', 'status', $$SELECT parley.presence_set('h1', %s)$$),
    ('presence_set', 'activity', $$SELECT parley.presence_set('h1', 'online', %s::jsonb)$$),
    ('presence_set', 'actor', $$SELECT parley.presence_set('h1', 'online', NULL, %s)$$),
    ('presence_set', 'online', $$SELECT parley.presence_set('h1', 'online', NULL, NULL, %s::boolean)$$),
    ('presence_get', 'guest_id', $$SELECT parley.presence_get(%s, ARRAY['h2'])$$),
    ('presence_get', 'ids[1]', $$SELECT parley.presence_get('h1', ARRAY[%s])$$),
    ('presence_get', 'online[1]', $$SELECT parley.presence_get('h1', ARRAY['h2'], ARRAY[%s])$$),
    ('presence_audience', 'guest_ids[1]', $$SELECT parley.presence_audience(ARRAY[%s])$$),
    ('presence_audience', 'online[1]', $$SELECT parley.presence_audience(ARRAY['h1'], ARRAY[%s])$$),
    ('presence_seen', 'guest_ids[1]', $$SELECT parley.presence_seen(ARRAY[%s])$$),
    ('typing_check', 'conversation_id', $$SELECT parley.typing_check(%s, 'h1')$$),
    ('typing_check', 'guest_id', $$SELECT parley.typing_check(:'cid', %s)$$),
    ('service_key_create', 'name', $$SELECT parley.service_key_create(%s)$$),
    ('service_key_revoke', 'name', $$SELECT parley.service_key_revoke(%s)$$),
    -- 0.5.0 conversation_update, 0.6.0 moderation and filters
    ('conversation_update', 'conversation_id', $$SELECT parley.conversation_update(%s::uuid, 'h1', 'T')$$),
    ('conversation_update', 'actor', $$SELECT parley.conversation_update(:'cid', %s, 'T')$$),
    ('conversation_update', 'title', $$SELECT parley.conversation_update(:'cid', 'h1', %s)$$),
    ('conversation_update', 'description', $$SELECT parley.conversation_update(:'cid', 'h1', NULL, %s)$$),
    ('conversation_update', 'metadata', $$SELECT parley.conversation_update(:'cid', 'h1', NULL, NULL, %s::jsonb)$$),
    ('conversation_update', 'frozen', $$SELECT parley.conversation_update(:'cid', 'h1', frozen => %s::boolean)$$),
    ('conversation_update', 'slow_mode_s', $$SELECT parley.conversation_update(:'cid', 'h1', slow_mode_s => %s::int)$$),
    ('participant_role_set', 'conversation_id', $$SELECT parley.participant_role_set(%s::uuid, 'h1', 'h2', 'admin')$$),
    ('participant_role_set', 'actor', $$SELECT parley.participant_role_set(:'cid', %s, 'h2', 'admin')$$),
    ('participant_role_set', 'guest_id', $$SELECT parley.participant_role_set(:'cid', 'h1', %s, 'admin')$$),
    ('participant_role_set', 'role', $$SELECT parley.participant_role_set(:'cid', 'h1', 'h2', %s)$$),
    ('participant_mute', 'conversation_id', $$SELECT parley.participant_mute(%s::uuid, 'h1', 'h2')$$),
    ('participant_mute', 'actor', $$SELECT parley.participant_mute(:'cid', %s, 'h2')$$),
    ('participant_mute', 'guest_id', $$SELECT parley.participant_mute(:'cid', 'h1', %s)$$),
    ('participant_mute', 'until', $$SELECT parley.participant_mute(:'cid', 'h1', 'h2', %s::timestamptz)$$),
    ('participant_unmute', 'conversation_id', $$SELECT parley.participant_unmute(%s::uuid, 'h1', 'h2')$$),
    ('participant_unmute', 'actor', $$SELECT parley.participant_unmute(:'cid', %s, 'h2')$$),
    ('participant_unmute', 'guest_id', $$SELECT parley.participant_unmute(:'cid', 'h1', %s)$$),
    ('participant_ban', 'conversation_id', $$SELECT parley.participant_ban(%s::uuid, 'h1', 'h2')$$),
    ('participant_ban', 'actor', $$SELECT parley.participant_ban(:'cid', %s, 'h2')$$),
    ('participant_ban', 'guest_id', $$SELECT parley.participant_ban(:'cid', 'h1', %s)$$),
    ('participant_unban', 'conversation_id', $$SELECT parley.participant_unban(%s::uuid, 'h1', 'h2')$$),
    ('participant_unban', 'actor', $$SELECT parley.participant_unban(:'cid', %s, 'h2')$$),
    ('participant_unban', 'guest_id', $$SELECT parley.participant_unban(:'cid', 'h1', %s)$$),
    ('message_report', 'conversation_id', $$SELECT parley.message_report(%s::uuid, 1, 'h2', 'r')$$),
    ('message_report', 'seq', $$SELECT parley.message_report(:'cid', %s::bigint, 'h2', 'r')$$),
    ('message_report', 'actor', $$SELECT parley.message_report(:'cid', 1, %s, 'r')$$),
    ('message_report', 'reason', $$SELECT parley.message_report(:'cid', 1, 'h2', %s)$$),
    ('filter_add', 'pattern', $$SELECT parley.filter_add(%s, 'mask')$$),
    ('filter_add', 'action', $$SELECT parley.filter_add('word', %s)$$),
    ('filter_remove', 'pattern', $$SELECT parley.filter_remove(%s)$$);
-- 0.5.0 search and per-guest settings
INSERT INTO templates VALUES
    ('conversation_list', 'archived', $$SELECT parley.conversation_list('h1', NULL, 50, NULL, %s::boolean)$$),
    ('message_search_vector', 'conversation_id', $$SELECT parley.message_search_vector(%s::uuid, 'x')$$),
    ('message_search_vector', 'body', $$SELECT parley.message_search_vector(:'cid', %s)$$),
    ('message_search', 'conversation_id', $$SELECT parley.message_search(%s, 'h1', 'x')$$),
    ('message_search', 'actor', $$SELECT parley.message_search(:'cid', %s, 'x')$$),
    ('message_search', 'q', $$SELECT parley.message_search(:'cid', 'h1', %s)$$),
    ('message_search', 'before', $$SELECT parley.message_search(:'cid', 'h1', 'x', %s)$$),
    ('message_search', 'limit', $$SELECT parley.message_search(:'cid', 'h1', 'x', NULL, %s::int)$$),
    ('guest_message_search', 'guest_id', $$SELECT parley.guest_message_search(%s, 'x')$$),
    ('guest_message_search', 'q', $$SELECT parley.guest_message_search('h1', %s)$$),
    ('guest_message_search', 'before', $$SELECT parley.guest_message_search('h1', 'x', %s)$$),
    ('guest_message_search', 'limit', $$SELECT parley.guest_message_search('h1', 'x', NULL, %s::int)$$),
    ('guest_message_search', 'actor', $$SELECT parley.guest_message_search('h1', 'x', NULL, 50, %s)$$),
    ('conversation_settings_update', 'conversation_id', $$SELECT parley.conversation_settings_update(%s, 'h1', NULL, 'true')$$),
    ('conversation_settings_update', 'actor', $$SELECT parley.conversation_settings_update(:'cid', %s, NULL, 'true')$$),
    ('conversation_settings_update', 'notifications_off_until', $$SELECT parley.conversation_settings_update(:'cid', 'h1', %s::jsonb)$$),
    ('conversation_settings_update', 'archived', $$SELECT parley.conversation_settings_update(:'cid', 'h1', NULL, %s::jsonb)$$),
    ('conversation_settings_update', 'pinned', $$SELECT parley.conversation_settings_update(:'cid', 'h1', NULL, NULL, %s::jsonb)$$);

-- Values of the types other than text: (type, label, SQL expression).
CREATE TEMP TABLE hostile_typed (type text, label text, v text);
INSERT INTO hostile_typed VALUES
    ('bigint', 'null', 'NULL::bigint'),
    ('bigint', '0', '0::bigint'),
    ('bigint', '-1', '-1::bigint'),
    ('bigint', '2^31', '2147483648'),
    ('bigint', '-2^31', '-2147483648::bigint'),
    ('bigint', 'max', '9223372036854775807'),
    ('bigint', 'min', '(-9223372036854775807 - 1)'),
    ('integer', 'null', 'NULL::int'),
    ('integer', '0', '0'),
    ('integer', '-1', '-1'),
    ('integer', '1', '1'),
    ('integer', '200', '200'),
    ('integer', '201', '201'),
    ('integer', '1000', '1000'),
    ('integer', '1001', '1001'),
    ('integer', 'max', '2147483647'),
    ('integer', 'min', '(-2147483647 - 1)'),
    ('integer', '2^31', '2147483648::int'),
    ('integer', '59', '59'),
    ('integer', '60', '60'),
    ('integer', '86400', '86400'),
    ('integer', '86401', '86401'),
    ('integer', '3600', '3600'),
    ('integer', '3601', '3601'),
    ('boolean', 'null', 'NULL::boolean'),
    ('boolean', 'true', 'true'),
    ('boolean', 'false', 'false'),
    ('timestamp with time zone', 'null', 'NULL::timestamptz'),
    ('timestamp with time zone', '-infinity', $$'-infinity'::timestamptz$$),
    ('timestamp with time zone', 'infinity', $$'infinity'::timestamptz$$),
    ('timestamp with time zone', 'epoch', $$'epoch'::timestamptz$$),
    ('timestamp with time zone', 'min', $$'4714-11-24 00:00:00+00 BC'::timestamptz$$),
    ('timestamp with time zone', 'max', $$'294276-12-31 23:59:59+00'::timestamptz$$),
    ('timestamp with time zone', 'now', 'now()'),
    ('timestamp with time zone', 'in a day', $$now() + interval '1 day'$$),
    ('interval', 'null', 'NULL::interval'),
    ('interval', 'zero', $$'0'::interval$$),
    ('interval', 'negative', $$'-1 day'::interval$$),
    ('interval', 'mixed signs', $$'1 month -40 days'::interval$$),
    ('interval', 'infinite-ish', $$'178000000 years'::interval$$),
    ('interval', 'microsecond', $$'1 microsecond'::interval$$),
    ('uuid', 'null', 'NULL::uuid'),
    ('uuid', 'nil', $$'00000000-0000-0000-0000-000000000000'::uuid$$),
    ('uuid', 'max', $$'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid$$),
    ('uuid', 'unknown', 'gen_random_uuid()'),
    ('uuid', 'the group', $$:'cid'::uuid$$),
    ('jsonb', 'null', 'NULL::jsonb'),
    ('jsonb', 'json null', $$'null'::jsonb$$),
    ('jsonb', 'array', $$'[]'::jsonb$$),
    ('jsonb', 'string', $$'"x"'::jsonb$$),
    ('jsonb', 'number', $$'1e1000'::jsonb$$),
    ('jsonb', '1MB object', $$jsonb_build_object('a', repeat('x', 1048576))$$),
    ('jsonb', '10k keys', $$(SELECT jsonb_object_agg('k' || i, i) FROM generate_series(1, 10000) i)$$),
    ('jsonb', 'depth 32', $$(repeat('{"a":', 32) || '1' || repeat('}', 32))::jsonb$$),
    ('jsonb', 'depth 33', $$(repeat('{"a":', 33) || '1' || repeat('}', 33))::jsonb$$),
    ('jsonb', 'depth 5000', $$(repeat('[', 5000) || repeat(']', 5000))::jsonb$$),
    ('jsonb', 'u0000', $$'{"a": "\u0000"}'::jsonb$$),
    ('jsonb', 'lone surrogate', $$'{"a": "\ud800"}'::jsonb$$),
    ('jsonb', 'injection key', $$'{"''; DROP TABLE parley.guests; --": 1}'::jsonb$$),
    ('text[]', 'null array', 'NULL::text[]'),
    ('text[]', 'empty array', $$'{}'::text[]$$),
    ('text[]', 'null element', 'ARRAY[NULL]::text[]'),
    ('text[]', '2-d array', $$'{{h2},{h2}}'::text[]$$),
    ('text[]', '1001 unknown', $$(SELECT array_agg('g' || i) FROM generate_series(1, 1001) i)$$),
    ('text[]', '100k unknown', $$(SELECT array_agg('g' || i) FROM generate_series(1, 100000) i)$$),
    ('text[]', '1MB element', $$ARRAY[repeat('a', 1048576)]$$),
    ('text[]', 'injection', $$ARRAY['h2'') OR 1=1; --']$$),
    ('text[]', 'self and h2 twice', $$ARRAY['h1', 'h2', 'h2']$$),
    ('uuid[]', 'null array', 'NULL::uuid[]'),
    ('uuid[]', 'empty array', $$'{}'::uuid[]$$),
    ('uuid[]', 'null element', 'ARRAY[NULL]::uuid[]'),
    ('uuid[]', '2-d array', $$ARRAY[ARRAY[:'cid'::uuid], ARRAY[:'cid'::uuid]]$$),
    ('uuid[]', 'nil and max', $$ARRAY['00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff']::uuid[]$$),
    ('uuid[]', 'cid 10k times', $$array_fill(:'cid'::uuid, ARRAY[10000])$$),
    ('uuid[]', '100k unknown', '(SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 100000))'),
    ('uuid[]', 'lower bound 0', $$'[0:0]={00000000-0000-0000-0000-000000000000}'::uuid[]$$),
    ('bigint[]', 'null array', 'NULL::bigint[]'),
    ('bigint[]', 'empty array', $$'{}'::bigint[]$$),
    ('bigint[]', 'null element', 'ARRAY[NULL]::bigint[]'),
    ('bigint[]', '2-d array', 'ARRAY[ARRAY[0::bigint], ARRAY[0::bigint]]'),
    ('bigint[]', '-1', 'ARRAY[-1::bigint]'),
    ('bigint[]', 'max', 'ARRAY[9223372036854775807]'),
    ('bigint[]', 'min', 'ARRAY[(-9223372036854775807 - 1)]'),
    ('bigint[]', 'one too many', 'ARRAY[0, 0]::bigint[]'),
    ('bigint[]', '100k zeros', 'array_fill(0::bigint, ARRAY[100000])');
-- 0.5.0: conversation_list's archived
INSERT INTO hostile_typed VALUES
    ('boolean', 'null', 'NULL::boolean'),
    ('boolean', 'true', 'true'),
    ('boolean', 'false', 'false');

-- Each typed template has one %s: an expression of hostile_typed of its
-- type.  events_fetch's conversation_ids get afters of the same length, so
-- their own values are what is checked; its afters go with one id, so
-- their values of another length test the length check.
CREATE TEMP TABLE typed (fn text, arg text, type text, q text);
INSERT INTO typed VALUES
    ('guest_upsert', 'metadata', 'jsonb', $$SELECT parley.guest_upsert('h3', 'N', %s)$$),
    ('guest_token_claims', 'ttl', 'integer', $$SELECT parley.guest_token_claims('h1', %s)$$),
    ('guest_tokens_revoked_since', 'since', 'timestamp with time zone', $$SELECT parley.guest_tokens_revoked_since(%s)$$),
    ('conversation_create', 'participants (group)', 'text[]', $$SELECT parley.conversation_create('h1', 'group', %s)$$),
    ('conversation_create', 'participants (direct)', 'text[]', $$SELECT parley.conversation_create('h1', 'direct', %s)$$),
    ('conversation_create_at', 'participants', 'text[]', $$SELECT parley.conversation_create_at('h1', 'group', %s, NULL, gen_random_uuid())$$),
    ('conversation_create_at', 'conversation_id', 'uuid', $$SELECT parley.conversation_create_at('h1', 'group', ARRAY['h2'], NULL, %s)$$),
    ('conversation_get', 'conversation_id', 'uuid', $$SELECT parley.conversation_get(%s, 'h1')$$),
    ('retention_set', 'conversation_id', 'uuid', $$SELECT parley.retention_set(%s, NULL)$$),
    ('retention_set', 'keep', 'interval', $$SELECT parley.retention_set(:'cid', %s)$$),
    ('conversation_list', 'limit', 'integer', $$SELECT parley.conversation_list('h1', NULL, %s)$$),
    ('participant_add', 'conversation_id', 'uuid', $$SELECT parley.participant_add(%s, 'h1', 'h2')$$),
    ('participant_remove', 'conversation_id', 'uuid', $$SELECT parley.participant_remove(%s, 'h1', 'h2')$$),
    ('message_post', 'conversation_id', 'uuid', $$SELECT parley.message_post(%s, 'h1', 'x')$$),
    ('message_post', 'metadata', 'jsonb', $$SELECT parley.message_post(:'cid', 'h1', 'x', NULL, %s)$$),
    ('message_list', 'conversation_id', 'uuid', $$SELECT parley.message_list(%s, 'h1')$$),
    ('message_list', 'before', 'bigint', $$SELECT parley.message_list(:'cid', 'h1', %s)$$),
    ('message_list', 'after', 'bigint', $$SELECT parley.message_list(:'cid', 'h1', NULL, %s)$$),
    ('message_list', 'limit', 'integer', $$SELECT parley.message_list(:'cid', 'h1', NULL, NULL, %s)$$),
    ('message_edit', 'conversation_id', 'uuid', $$SELECT parley.message_edit(%s, 1, 'h1', 'x')$$),
    ('message_edit', 'seq', 'bigint', $$SELECT parley.message_edit(:'cid', %s, 'h1', 'x')$$),
    ('message_delete', 'conversation_id', 'uuid', $$SELECT parley.message_delete(%s, 1, 'h1')$$),
    ('message_delete', 'seq', 'bigint', $$SELECT parley.message_delete(:'cid', %s, 'h1')$$),
    ('read_mark', 'conversation_id', 'uuid', $$SELECT parley.read_mark(%s, 'h2', 1)$$),
    ('read_mark', 'seq', 'bigint', $$SELECT parley.read_mark(:'cid', 'h2', %s)$$),
    ('message_post', 'reply_to', 'bigint', $$SELECT parley.message_post(:'cid', 'h1', 'x', NULL, '{}', %s)$$),
    ('message_post', 'attachments', 'jsonb', $$SELECT parley.message_post(:'cid', 'h1', '', NULL, '{}', NULL, %s)$$),
    ('message_list', 'thread', 'bigint', $$SELECT parley.message_list(:'cid', 'h1', NULL, NULL, 50, %s)$$),
    ('message_list', 'around', 'bigint', $$SELECT parley.message_list(:'cid', 'h1', NULL, NULL, 50, NULL, %s)$$),
    ('reaction_add', 'conversation_id', 'uuid', $$SELECT parley.reaction_add(%s, 1, 'h1', 'x')$$),
    ('reaction_add', 'seq', 'bigint', $$SELECT parley.reaction_add(:'cid', %s, 'h1', 'x')$$),
    ('reaction_remove', 'conversation_id', 'uuid', $$SELECT parley.reaction_remove(%s, 1, 'h1', 'x')$$),
    ('reaction_remove', 'seq', 'bigint', $$SELECT parley.reaction_remove(:'cid', %s, 'h1', 'x')$$),
    ('reaction_list', 'conversation_id', 'uuid', $$SELECT parley.reaction_list(%s, 1, 'h1')$$),
    ('reaction_list', 'seq', 'bigint', $$SELECT parley.reaction_list(:'cid', %s, 'h1')$$),
    ('reaction_list', 'limit', 'integer', $$SELECT parley.reaction_list(:'cid', 1, 'h1', NULL, NULL, %s)$$),
    ('read_mark_unread', 'conversation_id', 'uuid', $$SELECT parley.read_mark_unread(%s, 'h2', 1)$$),
    ('read_mark_unread', 'seq', 'bigint', $$SELECT parley.read_mark_unread(:'cid', 'h2', %s)$$),
    ('friend_list', 'limit', 'integer', $$SELECT parley.friend_list('h1', 'accepted', NULL, %s)$$),
    ('events_subscribe', 'conversation_id', 'uuid', $$SELECT parley.events_subscribe(%s, 'h1')$$),
    ('events_subscribe', 'after', 'bigint', $$SELECT parley.events_subscribe(:'cid', 'h1', %s)$$),
    ('events_fetch', 'conversation_ids', 'uuid[]', $$SELECT parley.events_fetch(a, array_fill(0::bigint, ARRAY[coalesce(cardinality(a), 0)])) FROM (SELECT %s AS a) s$$),
    ('events_fetch', 'afters', 'bigint[]', $$SELECT parley.events_fetch(ARRAY[:'cid'::uuid], %s)$$),
    ('events_fetch', 'limit', 'integer', $$SELECT parley.events_fetch(ARRAY[:'cid'::uuid], ARRAY[0::bigint], %s)$$),
    ('conversation_heads', 'conversation_ids', 'uuid[]', $$SELECT parley.conversation_heads(%s)$$),
    ('events_heads', 'conversation_ids', 'uuid[]', $$SELECT parley.events_heads(%s)$$),
    ('events_changes', 'conversation_id', 'uuid', $$SELECT parley.events_changes(%s, 0, ARRAY['h1'])$$),
    ('events_changes', 'after_change', 'bigint', $$SELECT parley.events_changes(:'cid', %s, ARRAY['h1'])$$),
    ('events_changes', 'guests', 'text[]', $$SELECT parley.events_changes(:'cid', 0, %s)$$),
    ('conversation_update', 'conversation_id', 'uuid', $$SELECT parley.conversation_update(%s, 'h1', 'T')$$),
    ('conversation_update', 'metadata', 'jsonb', $$SELECT parley.conversation_update(:'cid', 'h1', NULL, NULL, %s)$$),
    ('conversation_update', 'frozen', 'boolean', $$SELECT parley.conversation_update(:'cid', 'h1', frozen => %s)$$),
    ('conversation_update', 'slow_mode_s', 'integer', $$SELECT parley.conversation_update(:'cid', 'h1', slow_mode_s => %s)$$),
    ('participant_role_set', 'conversation_id', 'uuid', $$SELECT parley.participant_role_set(%s, 'h1', 'h2', 'admin')$$),
    ('participant_mute', 'conversation_id', 'uuid', $$SELECT parley.participant_mute(%s, 'h1', 'h2')$$),
    ('participant_mute', 'until', 'timestamp with time zone', $$SELECT parley.participant_mute(:'cid', 'h1', 'h2', %s)$$),
    ('participant_unmute', 'conversation_id', 'uuid', $$SELECT parley.participant_unmute(%s, 'h1', 'h2')$$),
    ('participant_ban', 'conversation_id', 'uuid', $$SELECT parley.participant_ban(%s, 'h1', 'h2')$$),
    ('participant_unban', 'conversation_id', 'uuid', $$SELECT parley.participant_unban(%s, 'h1', 'h2')$$),
    ('message_report', 'conversation_id', 'uuid', $$SELECT parley.message_report(%s, 1, 'h2', 'r')$$),
    ('message_report', 'seq', 'bigint', $$SELECT parley.message_report(:'cid', %s, 'h2', 'r')$$);
-- 0.5.0 search and per-guest settings
INSERT INTO typed VALUES
    ('conversation_list', 'archived', 'boolean', $$SELECT parley.conversation_list('h1', NULL, 50, NULL, %s)$$),
    ('message_search_vector', 'conversation_id', 'uuid', $$SELECT parley.message_search_vector(%s, 'x')$$),
    ('message_search', 'conversation_id', 'uuid', $$SELECT parley.message_search(%s, 'h1', 'x')$$),
    ('message_search', 'limit', 'integer', $$SELECT parley.message_search(:'cid', 'h1', 'x', NULL, %s)$$),
    ('guest_message_search', 'limit', 'integer', $$SELECT parley.guest_message_search('h1', 'x', NULL, %s)$$),
    ('conversation_settings_update', 'conversation_id', 'uuid', $$SELECT parley.conversation_settings_update(%s, 'h1', NULL, 'true')$$),
    ('conversation_settings_update', 'notifications_off_until', 'jsonb', $$SELECT parley.conversation_settings_update(:'cid', 'h1', %s)$$),
    ('conversation_settings_update', 'archived', 'jsonb', $$SELECT parley.conversation_settings_update(:'cid', 'h1', NULL, %s)$$),
    ('conversation_settings_update', 'pinned', 'jsonb', $$SELECT parley.conversation_settings_update(:'cid', 'h1', NULL, NULL, %s)$$);
-- 0.4.0 guest streams
INSERT INTO typed VALUES
    ('events_guest_fetch', 'limit', 'integer', $$SELECT count(*) FROM parley.events_guest_fetch('h1', NULL, %s)$$),
    ('events_guests_fetch', 'guest_ids', 'text[]', $$SELECT count(*) FROM parley.events_guests_fetch(%s, ARRAY[NULL::text])$$),
    ('events_guests_fetch', 'afters', 'text[]', $$SELECT count(*) FROM parley.events_guests_fetch(ARRAY['h1'], %s)$$),
    ('events_guests_fetch', 'limit', 'integer', $$SELECT count(*) FROM parley.events_guests_fetch(ARRAY['h1'], ARRAY[NULL::text], %s)$$),
    ('conversation_touched', 'conversation_id', 'uuid', $$SELECT parley.conversation_touched(%s)$$);
-- 0.4.0 presence and typing
INSERT INTO typed VALUES
    ('presence_set', 'activity', 'jsonb', $$SELECT parley.presence_set('h1', 'away', %s)$$),
    ('presence_set', 'online', 'boolean', $$SELECT parley.presence_set('h1', 'away', NULL, NULL, %s)$$),
    ('presence_get', 'ids', 'text[]', $$SELECT parley.presence_get('h1', %s)$$),
    ('presence_get', 'online', 'text[]', $$SELECT parley.presence_get('h1', ARRAY['h2'], %s)$$),
    ('presence_audience', 'guest_ids', 'text[]', $$SELECT parley.presence_audience(%s)$$),
    ('presence_audience', 'online', 'text[]', $$SELECT parley.presence_audience(ARRAY['h1'], %s)$$),
    ('presence_seen', 'guest_ids', 'text[]', $$SELECT parley.presence_seen(%s)$$),
    ('typing_check', 'conversation_id', 'uuid', $$SELECT parley.typing_check(%s, 'h1')$$);

-- psql variables are not expanded inside dollar quotes: put the id in.
UPDATE templates SET q = replace(q, ':''cid''', quote_literal(:'cid'));
UPDATE typed SET q = replace(q, ':''cid''', quote_literal(:'cid'));
UPDATE hostile_typed SET v = replace(v, ':''cid''', quote_literal(:'cid'));

-- The matrix is complete: every argument of every function of schema
-- parley (at the installed version; test/api-catalog.sh proves these are
-- api/api.txt's) has rows in templates, and every argument that is not
-- text has rows in typed as well.  Each row this query returns says what
-- to add (a function of a new version: its arguments' rows in both
-- tables, and their new results in expected/60_hostile.out); a row of the
-- tables that names no argument (a typo, a renamed argument) or calls
-- another function is listed too.  It must return no rows.
WITH api_args AS (
    SELECT p.proname::text AS fn, a.name AS arg, format_type(a.type, NULL) AS type
      FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
     CROSS JOIN LATERAL unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargnames,
                               coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs])))
                        AS a(type, name, mode)
     WHERE n.nspname = 'parley' AND a.mode IN ('i', 'b', 'v')
), matrix AS (
    SELECT 'templates' AS tab, fn, split_part(split_part(arg, '[', 1), ' ', 1) AS arg, q FROM templates
    UNION ALL
    SELECT 'typed', fn, split_part(split_part(arg, '[', 1), ' ', 1), q FROM typed
)
SELECT a.fn, a.arg, a.type,
       'add a row to templates: every text value as ' ||
       CASE WHEN a.type LIKE '%[]' THEN 'its element, arg ''' || a.arg || '[1]'''
            WHEN a.type = 'text' THEN 'the argument'
            ELSE 'the argument, cast to ' || a.type END AS missing
  FROM api_args a
 WHERE NOT EXISTS (SELECT 1 FROM matrix m WHERE m.tab = 'templates' AND (m.fn, m.arg) = (a.fn, a.arg))
UNION ALL
SELECT a.fn, a.arg, a.type,
       'add a row to typed: the ' || a.type || ' values of hostile_typed' ||
       CASE WHEN EXISTS (SELECT 1 FROM hostile_typed h WHERE h.type = a.type) THEN ''
            ELSE ', which has none: add them' END
  FROM api_args a
 WHERE a.type <> 'text'
   AND NOT EXISTS (SELECT 1 FROM matrix m WHERE m.tab = 'typed' AND (m.fn, m.arg) = (a.fn, a.arg))
UNION ALL
SELECT m.fn, m.arg, NULL,
       'a row of ' || m.tab || ' names no argument of parley.' || m.fn || ' or calls another function'
  FROM matrix m
 WHERE NOT EXISTS (SELECT 1 FROM api_args a WHERE (a.fn, a.arg) = (m.fn, m.arg))
    OR m.q NOT LIKE '%parley.' || m.fn || '(%'
 ORDER BY 1, 2, 4;

-- Every argument against every text value, and every typed argument
-- against every value of its type.
CREATE TEMP TABLE outcomes AS
SELECT t.fn, t.arg, 'text' AS type, h.label,
       pg_temp.try(format(t.q, quote_nullable(h.v))) AS result
  FROM templates t, hostile_text h
UNION ALL
SELECT t.fn, t.arg, t.type, h.label, pg_temp.try(format(t.q, h.v))
  FROM typed t JOIN hostile_typed h USING (type);

SELECT fn, arg, string_agg(result || ': ' || labels, ' | ' ORDER BY result) AS outcomes
  FROM (SELECT fn, arg, result, string_agg(label, ',' ORDER BY label) AS labels
          FROM outcomes WHERE type = 'text' GROUP BY fn, arg, result) g
 GROUP BY fn, arg ORDER BY fn, arg;

SELECT fn, arg, type, string_agg(result || ': ' || labels, ' | ' ORDER BY result) AS outcomes
  FROM (SELECT fn, arg, type, result, string_agg(label, ',' ORDER BY label) AS labels
          FROM outcomes WHERE type <> 'text' GROUP BY fn, arg, type, result) g
 GROUP BY fn, arg, type ORDER BY fn, arg;

-- Nothing is an internal error (XX000) or a crash-class error.
SELECT fn, arg, label, result FROM outcomes
 WHERE result LIKE 'XX%' OR result LIKE '58%' OR result LIKE '57%' ORDER BY 1, 2, 3;

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
-- A keep retention_set() accepted (a positive interval) may stand for the
-- group: lift it (a NULL keep follows the default), leaving no policy.
SELECT parley.retention_set(:'cid', NULL);
SELECT count(*) AS policies FROM parley.retention;
