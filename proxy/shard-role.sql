-- Grants, on a shard database, for the role parley_proxy connects as (the
-- user of the proxy's USER MAPPING for server parley_shards): the API, the
-- internal conversation_create_at, service keys (partition 0), and the
-- activity columns that the proxy's merge of conversation lists reads.
-- Nothing else: no other table access.  Run as the extension's owner:
--   psql -d shard0 -v role=parley_shard -f proxy/shard-role.sql
-- The role must exist (CREATE ROLE parley_shard LOGIN PASSWORD '...').

GRANT USAGE ON SCHEMA parley TO :"role";
GRANT EXECUTE ON FUNCTION
    parley.guest_upsert(text, text, jsonb),
    parley.guest_get(text),
    parley.conversation_create(text, text, text[], text),
    parley.conversation_create_at(text, text, text[], text, uuid),
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
    parley.events_subscribe(uuid, text, bigint),
    parley.events_fetch(uuid[], bigint[], integer),
    parley.conversation_heads(uuid[]),
    parley.service_key_create(text),
    parley.service_key_revoke(text),
    parley.service_key_hashes(),
    parley.last_status(),
    parley.version()
TO :"role";
GRANT SELECT (id, created_at, last_message_at) ON parley.conversations TO :"role";
