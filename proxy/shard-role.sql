-- Grants, on a shard database, for the role parley_proxy connects as (the
-- user of the proxy's USER MAPPING for server parley_shards): the API, the
-- internal conversation_create_at, service keys (partition 0), and the
-- activity columns that the proxy's merge of conversation lists reads.
-- Nothing else: no other table access.  Run as the extension's owner:
--   psql -d shard0 -v role=parley_shard -f proxy/shard-role.sql
-- The role must exist (CREATE ROLE parley_shard LOGIN PASSWORD '...').

-- What a gateway may run (extension/gateway-role.sql), and more.
\ir ../extension/gateway-role.sql
GRANT EXECUTE ON FUNCTION
    parley.conversation_create_at(text, text, text[], text, uuid),
    parley.events_guest_fetch(text, text, integer),
    parley.service_key_create(text),
    parley.service_key_revoke(text)
TO :"role";
GRANT SELECT (id, created_at, last_message_at) ON parley.conversations TO :"role";
