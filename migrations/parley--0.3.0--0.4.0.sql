/* parley 0.3.0 -> 0.4.0: guest sessions (API.md section 7), the SQL side,
 * and the pg_monitor grant.
 *
 * Game and browser clients call parleyd with a guest token (a JWT) that the
 * gateway verifies with a secret the database never sees; no token is
 * stored and nothing is written per token.  The database keeps what every
 * gateway must share: when each guest's tokens were last revoked
 * (guests.tokens_valid_from), the claims a minted token carries
 * (guest_token_claims), and a cheap poll of revocations for gateways
 * (guest_tokens_revoked_since).  The rule a guest acts under stays here:
 * guest_upsert() takes the acting guest, who may write only its own
 * profile.  extension/tokens.c states the invariants.
 *
 * A fresh install of 0.4.0 runs parley--0.1.0.sql and the update scripts
 * up to this one; test/tap/021_upgrade.pl checks that an updated database
 * and a fresh one dump the same schema. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.4.0'" to load this file. \quit

-- docs/operations.md: members of pg_monitor read parley.stats.  0.2.0 granted
-- SELECT on the view but not USAGE on its schema.  USAGE lets them name the
-- schema's objects; every function stays revoked from PUBLIC, every table
-- unreadable.
GRANT USAGE ON SCHEMA parley TO pg_monitor;

-- Added without a table rewrite (NULL).
ALTER TABLE parley.guests ADD COLUMN tokens_valid_from timestamptz;
COMMENT ON COLUMN parley.guests.tokens_valid_from IS 'Guest tokens whose iat is before this whole second are refused (set by guest_tokens_revoke(); NULL: never revoked).';

-- guest_tokens_revoked_since(), polled by every gateway a few times a
-- second: a range scan over the guests ever revoked, and only those.
CREATE INDEX guests_tokens_valid_from_idx ON parley.guests (tokens_valid_from)
    WHERE tokens_valid_from IS NOT NULL;

-- guest_upsert takes the acting guest: a new signature.  The old function
-- goes once the gateway roles that could run it may run the new one (a
-- call with three arguments resolves to the new one).
CREATE FUNCTION parley.guest_upsert(guest_id text, display_name text,
                                    metadata jsonb DEFAULT '{}', actor text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_upsert_v0_4'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_upsert(text, text, jsonb, text) IS 'Create or replace a guest profile; last_status() is 201 when created, 200 when updated.  actor: the acting guest (a guest token''s), who may write only its own profile; NULL for a service.';

CREATE FUNCTION parley.guest_token_claims(guest_id text, ttl integer DEFAULT 3600)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_token_claims'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_token_claims(text, integer) IS 'The claims {"sub", "iat", "exp"} (epoch seconds) of a guest token for a gateway to sign; ttl 60-86400 seconds.';

CREATE FUNCTION parley.guest_tokens_revoke(guest_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'guest_tokens_revoke'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_tokens_revoke(text) IS 'Refuse every token of the guest issued before now (gateways learn it within a poll).';

-- VOLATILE: it reads pg_stat_activity before it takes the snapshot that
-- reads the guests (extension/tokens.c).
CREATE FUNCTION parley.guest_tokens_revoked_since(since timestamptz)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_tokens_revoked_since'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_tokens_revoked_since(timestamptz) IS 'A gateway''s poll of revocations: {"guests": {"<id>": valid_from}, "next_since"}; pass next_since back next time (NULL: the last 24 h).';

REVOKE ALL ON FUNCTION
    parley.guest_upsert(text, text, jsonb, text),
    parley.guest_token_claims(text, integer),
    parley.guest_tokens_revoke(text),
    parley.guest_tokens_revoked_since(timestamptz)
FROM PUBLIC;

-- A gateway role granted the 0.3.0 API (extension/gateway-role.sql) keeps
-- working after the update: it may run the new guest_upsert and the token
-- functions.
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.guest_upsert(text, text, jsonb)', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION parley.guest_upsert(text, text, jsonb, text),'
                                  ' parley.guest_token_claims(text, integer),'
                                  ' parley.guest_tokens_revoke(text),'
                                  ' parley.guest_tokens_revoked_since(timestamptz) TO %I', r);
    END LOOP;
END
$$;

DROP FUNCTION parley.guest_upsert(text, text, jsonb);

-- pg_dump dumps the grants on an extension's objects that differ from
-- pg_init_privs, and a GRANT or REVOKE in an extension's script records the
-- object's whole ACL there: the grants a DBA had made on the schema before
-- this script granted pg_monitor, and the ones the script copied to gateway
-- roles (here and in 0.2.0 -> 0.3.0), would be taken for the extension's
-- own and be lost by a dump and restore.  The extension's own grants are
-- its owner's, PUBLIC's and pg_monitor's: keep only those, as a fresh
-- install records them.
UPDATE pg_catalog.pg_init_privs i
   SET initprivs = ARRAY(SELECT a FROM pg_catalog.unnest(i.initprivs) AS a
                          WHERE (SELECT e.grantee FROM pg_catalog.aclexplode(ARRAY[a]) AS e LIMIT 1)
                                IN (0, o.owner, 'pg_monitor'::regrole))
  FROM (SELECT 'pg_catalog.pg_namespace'::regclass AS classoid, n.oid, n.nspowner AS owner
          FROM pg_catalog.pg_namespace n WHERE n.nspname = 'parley'
        UNION ALL
        SELECT 'pg_catalog.pg_proc'::regclass, p.oid, p.proowner
          FROM pg_catalog.pg_proc p WHERE p.pronamespace = 'parley'::regnamespace) AS o
 WHERE i.classoid = o.classoid AND i.objoid = o.oid AND i.objsubid = 0;

-- section 8: presence and typing
-- Who is online is not stored: the gateways know it (streams) and tell each
-- other with LISTEN/NOTIFY (docs/gateway.md).  parley.presence holds what a
-- guest sets (PUT .../presence) and when it was last seen, written when it
-- goes offline, never per event.  extension/presence.c states the rules.
CREATE TABLE parley.presence (
    guest_id     text        PRIMARY KEY REFERENCES parley.guests (guest_id) ON DELETE CASCADE,
    status       text        NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'away', 'busy', 'invisible')),
    activity     jsonb,
    last_seen_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE parley.presence IS 'What a guest shows while online (presence_set()) and when it was last seen (presence_seen()); online itself is the gateways'' knowledge.';
COMMENT ON COLUMN parley.presence.guest_id IS 'The guest.';
COMMENT ON COLUMN parley.presence.updated_at IS 'When the guest last set its status or activity.';
COMMENT ON COLUMN parley.presence.status IS 'online, away, busy or invisible (shown as offline); shown only while the guest holds a stream.';
COMMENT ON COLUMN parley.presence.activity IS 'A JSON object of at most 1 KiB (jsonb::text), or NULL.';
COMMENT ON COLUMN parley.presence.last_seen_at IS 'When the guest''s last stream closed (or its gateway was found dead).';
SELECT pg_catalog.pg_extension_config_dump('parley.presence', '');

CREATE FUNCTION parley.presence_set(guest_id text, status text, activity jsonb DEFAULT NULL,
                                    actor text DEFAULT NULL, online boolean DEFAULT false)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'presence_set'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.presence_set(text, text, jsonb, text, boolean) IS 'Set the status (online, away, busy, invisible) and activity (NULL keeps it, JSON null clears it) a guest shows; answers its presence as others see it.  actor: the acting guest, who may set only its own; online: whether it holds a stream (the gateway knows).';

CREATE FUNCTION parley.presence_get(guest_id text, ids text[], online text[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'presence_get'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.presence_get(text, text[], text[]) IS '{"presence": [...]}: the presence of 1-100 guests as guest_id sees it (blocks and invisible show offline), unknown ids left out; online: the ids the gateways know online.';

CREATE FUNCTION parley.presence_audience(guest_ids text[], online text[] DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'presence_audience'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.presence_audience(text[], text[]) IS 'For a gateway whose guests'' presence changed: each guest as others see it and its audience (friends, direct partners, none across a block).';

CREATE FUNCTION parley.presence_seen(guest_ids text[])
RETURNS void
AS 'MODULE_PATHNAME', 'presence_seen'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.presence_seen(text[]) IS 'For a gateway: these guests went offline now (last_seen_at).';

CREATE FUNCTION parley.typing_check(conversation_id uuid, guest_id text)
RETURNS void
AS 'MODULE_PATHNAME', 'typing_check'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.typing_check(uuid, text) IS 'May guest_id send typing in the conversation (404, 403)?  Writes nothing; the gateway caches a yes.';

REVOKE ALL ON FUNCTION
    parley.presence_set(text, text, jsonb, text, boolean),
    parley.presence_get(text, text[], text[]),
    parley.presence_audience(text[], text[]),
    parley.presence_seen(text[]),
    parley.typing_check(uuid, text)
FROM PUBLIC;

DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.guest_upsert(text, text, jsonb, text)', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION parley.presence_set(text, text, jsonb, text, boolean),'
                                  ' parley.presence_get(text, text[], text[]),'
                                  ' parley.presence_audience(text[], text[]),'
                                  ' parley.presence_seen(text[]),'
                                  ' parley.typing_check(uuid, text) TO %I', r);
    END LOOP;
END
$$;

-- As above: the grants just copied to gateway roles are not the extension's own.
UPDATE pg_catalog.pg_init_privs i
   SET initprivs = ARRAY(SELECT a FROM pg_catalog.unnest(i.initprivs) AS a
                          WHERE (SELECT e.grantee FROM pg_catalog.aclexplode(ARRAY[a]) AS e LIMIT 1)
                                IN (0, p.proowner))
  FROM pg_catalog.pg_proc p
 WHERE i.classoid = 'pg_catalog.pg_proc'::regclass AND i.objoid = p.oid AND i.objsubid = 0
   AND p.pronamespace = 'parley'::regnamespace
   AND p.proname IN ('presence_set', 'presence_get', 'presence_audience', 'presence_seen', 'typing_check');
