-- Grants for the role a gateway (parleyd) connects as: it may execute the
-- API functions and nothing else -- no table access, no key management.
-- Run as the extension's owner:
--   psql -v role=parley_gateway -f extension/gateway-role.sql
-- The role must exist (CREATE ROLE parley_gateway LOGIN PASSWORD '...').

GRANT USAGE ON SCHEMA parley TO :"role";
GRANT EXECUTE ON FUNCTION
    parley.guest_upsert(text, text, jsonb, text),
    parley.guest_get(text),
    parley.guest_token_claims(text, integer),
    parley.guest_tokens_revoke(text),
    parley.guest_tokens_revoked_since(timestamptz),
    parley.conversation_create(text, text, text[], text),
    parley.conversation_get(uuid, text),
    parley.conversation_list(text, text, integer, text),
    parley.participant_add(uuid, text, text),
    parley.participant_remove(uuid, text, text),
    parley.message_post(uuid, text, text, text, jsonb),
    parley.message_list(uuid, text, bigint, bigint, integer),
    parley.message_edit(uuid, bigint, text, text),
    parley.message_delete(uuid, bigint, text),
    parley.read_mark(uuid, text, bigint),
    parley.friend_request(text, text),
    parley.friend_remove(text, text),
    parley.guest_block(text, text),
    parley.guest_unblock(text, text),
    parley.friend_list(text, text, text, integer),
    parley.presence_set(text, text, jsonb, text, boolean),
    parley.presence_get(text, text[], text[]),
    parley.presence_audience(text[], text[]),
    parley.presence_seen(text[]),
    parley.typing_check(uuid, text),
    parley.events_subscribe(uuid, text, bigint),
    parley.events_fetch(uuid[], bigint[], integer),
    parley.conversation_heads(uuid[]),
    parley.events_heads(uuid[]),
    parley.events_changes(uuid, bigint, text[]),
    parley.service_key_hashes(),
    parley.last_status(),
    parley.version()
TO :"role";
