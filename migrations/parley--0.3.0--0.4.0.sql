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

-- section 7: friends and blocks with the acting guest
-- The five friend and block functions take the acting guest (a guest
-- token's; NULL for a service) as a last argument, actor: when given it
-- must be guest_id (403 guest_mismatch, raised in extension/friends.c), so
-- a guest token may call their routes.  As for guest_upsert: the new
-- signatures, the old ones' EXECUTE grants copied to them, the old ones
-- dropped.  Kept before the pg_init_privs clean-up below, which must stay
-- last (it drops the copied grants from the extension's initial ones).
CREATE FUNCTION parley.friend_request(guest_id text, other_id text, actor text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'friend_request_v0_4'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.friend_request(text, text, text) IS 'Ask other_id to be friends (last_status() 201, "outgoing"), or accept its request (200, "accepted").  actor: the acting guest, who must be guest_id; NULL for a service.';

CREATE FUNCTION parley.friend_remove(guest_id text, other_id text, actor text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'friend_remove_v0_4'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.friend_remove(text, text, text) IS 'Unfriend, cancel an outgoing request or decline an incoming one.  actor: the acting guest, who must be guest_id; NULL for a service.';

CREATE FUNCTION parley.guest_block(guest_id text, other_id text, actor text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'guest_block_v0_4'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_block(text, text, text) IS 'Block other_id: ends any friendship or request between the two.  actor: the acting guest, who must be guest_id; NULL for a service.';

CREATE FUNCTION parley.guest_unblock(guest_id text, other_id text, actor text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'guest_unblock_v0_4'
LANGUAGE C VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.guest_unblock(text, text, text) IS 'Lift a block guest_id holds against other_id.  actor: the acting guest, who must be guest_id; NULL for a service.';

CREATE FUNCTION parley.friend_list(guest_id text, status text DEFAULT 'accepted',
                                   before text DEFAULT NULL, "limit" integer DEFAULT 50,
                                   actor text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'friend_list_v0_4'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION parley.friend_list(text, text, text, integer, text) IS 'A guest''s friends or requests (status accepted, incoming or outgoing), newest first; {"friends", "has_more", "next_before"}.  actor: the acting guest, who must be guest_id; NULL for a service.';

REVOKE ALL ON FUNCTION
    parley.friend_request(text, text, text),
    parley.friend_remove(text, text, text),
    parley.guest_block(text, text, text),
    parley.guest_unblock(text, text, text),
    parley.friend_list(text, text, text, integer, text)
FROM PUBLIC;

DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.friend_request(text, text)', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION parley.friend_request(text, text, text),'
                                  ' parley.friend_remove(text, text, text),'
                                  ' parley.guest_block(text, text, text),'
                                  ' parley.guest_unblock(text, text, text),'
                                  ' parley.friend_list(text, text, text, integer, text) TO %I', r);
    END LOOP;
END
$$;

DROP FUNCTION parley.friend_request(text, text);
DROP FUNCTION parley.friend_remove(text, text);
DROP FUNCTION parley.guest_block(text, text);
DROP FUNCTION parley.guest_unblock(text, text);
DROP FUNCTION parley.friend_list(text, text, text, integer);

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

-- section 8: one stream per guest
--
-- GET /v1/guests/{G}/events resumes losslessly across all of G's
-- conversations with a cursor built from PostgreSQL snapshots, as PgQ
-- does (docs/gateway.md, "One stream per guest", has the argument):
-- "everything visible in snapshot S has been delivered".  What it needs
-- here is the id of the transaction that wrote each message and each
-- membership change: one column on messages (filled by its default, no
-- extra write) and a log of joins, leaves and role changes (one row per
-- change, none per message or per recipient).

-- The posting transaction.  NULL for messages from before 0.4.0: they are
-- older than any cursor, visible in every snapshot.  Added without a
-- table rewrite; the default fills new rows.
ALTER TABLE parley.messages ADD COLUMN tx xid8;
ALTER TABLE parley.messages ALTER COLUMN tx SET DEFAULT pg_catalog.pg_current_xact_id();
COMMENT ON COLUMN parley.messages.tx IS 'The transaction that posted the message (guest streams resume by snapshot visibility); NULL before 0.4.0.';

CREATE TABLE parley.conversation_log (
    id              bigserial   PRIMARY KEY,
    conversation_id uuid        NOT NULL,
    guest_id        text,
    kind            "char"      NOT NULL CHECK (kind IN ('a', 'r', 'o', 'u')),
    seq             bigint      NOT NULL DEFAULT 0,
    tx              xid8        NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    at              timestamptz NOT NULL DEFAULT now()
);
-- events_guest_fetch(): a guest's rows of one conversation in id order
-- (for one guest and conversation, id order is commit order: the changes
-- conflict on the participants row).  events_guest_fetch(): the
-- conversations a guest joined or left recently.
CREATE INDEX conversation_log_guest_idx ON parley.conversation_log (guest_id, conversation_id, id);
-- events_guest_fetch(): did a conversation change since a snapshot?
CREATE INDEX conversation_log_conversation_idx ON parley.conversation_log (conversation_id, tx);
COMMENT ON TABLE parley.conversation_log IS 'Membership changes and other updates of conversations, with the writing transaction, for guest streams (one row per change, none per recipient).';
COMMENT ON COLUMN parley.conversation_log.id IS 'Order of the rows; for one guest and conversation, commit order.';
COMMENT ON COLUMN parley.conversation_log.conversation_id IS 'The conversation.';
COMMENT ON COLUMN parley.conversation_log.guest_id IS 'The participant that joined, left or changed role; NULL when the conversation itself changed.';
COMMENT ON COLUMN parley.conversation_log.kind IS 'a: joined, r: left or removed, o: role changed, u: the conversation changed (title, metadata, ...).';
COMMENT ON COLUMN parley.conversation_log.seq IS 'For a join: the conversation''s last_seq as the joining transaction saw it; the guest''s stream gets the messages after it.';
COMMENT ON COLUMN parley.conversation_log.tx IS 'The transaction that made the change.';
COMMENT ON COLUMN parley.conversation_log.at IS 'When.';
-- Not dumped (pg_extension_config_dump): a restored database is another
-- database (its transaction ids and stream_identity differ, so every guest
-- cursor gets a reset), and the participants trigger below logs a join for
-- each participant pg_restore copies back.

-- The identity of this database in guest cursors: a cursor of another
-- database (another shard, a restored copy whose transaction ids differ)
-- is not resumed here.  Not dumped: a restore makes a new one.
CREATE TABLE parley.stream_identity (
    identity text NOT NULL DEFAULT pg_catalog.md5(pg_catalog.random()::text || pg_catalog.clock_timestamp()::text),
    horizon  xid8 NOT NULL DEFAULT '0'
);
COMMENT ON TABLE parley.stream_identity IS 'One row: this database''s identity in guest stream cursors, and the oldest transaction a cursor may still name (raised when conversation_log is pruned).';
COMMENT ON COLUMN parley.stream_identity.identity IS 'Random, made at install: a cursor of another database is not resumed here.';
COMMENT ON COLUMN parley.stream_identity.horizon IS 'Cursors whose snapshot xmin is older get a reset (raise it when pruning conversation_log).';
INSERT INTO parley.stream_identity DEFAULT VALUES;

CREATE FUNCTION parley.participants_log() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO parley.conversation_log (conversation_id, guest_id, kind, seq)
        VALUES (NEW.conversation_id, NEW.guest_id, 'a',
                COALESCE((SELECT c.last_seq FROM parley.conversations c WHERE c.id = NEW.conversation_id), 0));
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO parley.conversation_log (conversation_id, guest_id, kind)
        VALUES (OLD.conversation_id, OLD.guest_id, 'r');
    ELSE
        INSERT INTO parley.conversation_log (conversation_id, guest_id, kind)
        VALUES (NEW.conversation_id, NEW.guest_id, 'o');
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION parley.participants_log() IS 'Trigger: log a join, a leave or a role change for guest streams.';
CREATE TRIGGER participants_log AFTER INSERT OR DELETE ON parley.participants
    FOR EACH ROW EXECUTE FUNCTION parley.participants_log();
CREATE TRIGGER participants_role_log AFTER UPDATE OF role ON parley.participants
    FOR EACH ROW WHEN (OLD.role IS DISTINCT FROM NEW.role) EXECUTE FUNCTION parley.participants_log();

-- The general mechanism of conversation_updated: whatever changes a
-- conversation's state that participants see (title, metadata, ...)
-- calls this in its transaction.
CREATE FUNCTION parley.conversation_touched(conversation_id uuid) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF $1 IS NULL THEN
        RAISE EXCEPTION 'conversation_id must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM parley.conversations c WHERE c.id = $1) THEN
        RAISE EXCEPTION 'conversation % does not exist', $1 USING ERRCODE = 'PR002';
    END IF;
    INSERT INTO parley.conversation_log (conversation_id, guest_id, kind) VALUES ($1, NULL, 'u');
END
$$;
COMMENT ON FUNCTION parley.conversation_touched(uuid) IS 'Record that a conversation changed: guest streams of its participants get conversation_updated.';

-- In events_guest_fetch(), whether guest g took part in conversation c
-- as of snapshot s: the last join or leave visible in s; with none
-- visible, the state before the first one logged (a leave: g was in
-- before the log began); with none at all, the state now.  And the last
-- seq of c visible in s: within a conversation commit order is seq order
-- (the post holds the conversation's row lock to its commit), so what s
-- sees is a prefix; walking back from the newest, the first visible
-- message is the answer.

-- The subscribe check of GET /v1/guests/{G}/events: G exists; the cursor
-- to start from (the client's, or '': live from the first fetch).
CREATE FUNCTION parley.events_guest_subscribe(guest_id text, after text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM parley.guests g WHERE g.guest_id = $1) THEN
        RAISE EXCEPTION 'guest "%" does not exist', $1 USING ERRCODE = 'PR001';
    END IF;
    IF $2 IS NOT NULL AND (length($2) > 8000 OR $2 !~ '^[A-Za-z0-9~:,.|-]*$') THEN
        RAISE EXCEPTION 'the cursor is not one this stream gave' USING ERRCODE = '22023';
    END IF;
    -- '': live from the stream's first fetch (on every shard)
    RETURN jsonb_build_object('cursor', COALESCE($2, ''));
END
$$;
COMMENT ON FUNCTION parley.events_guest_subscribe(text, text) IS 'The subscribe check of a guest stream: the guest exists; the cursor to start from (after, or live from now).';

-- A guest stream's fetch: the events of guest $1 after cursor $2 ('' or
-- NULL: live from now; one part per shard, '|' between, through the proxy,
-- and only this database's part in what it answers), at most
-- $3 of them, then one row with event NULL whose id is the stream's cursor
-- after them and whose data is {"more": bool, "conversations": [ids]}
-- (more: call again at once; conversations: G's now, for the gateway's
-- routing of notifications).  A cursor is (A, B, k): the window from
-- snapshot A to snapshot B, delivered in conversation id order up to k =
-- (conversation, seq); conversations before k as of B, after k as of A.
-- docs/gateway.md, "One stream per guest", has the argument.
CREATE FUNCTION parley.events_guest_fetch(guest_id text, after text, "limit" integer DEFAULT 200)
RETURNS TABLE (event text, id text, data jsonb)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    g text := $1;
    lim integer := least(greatest(COALESCE($3, 200), 1), 1000);
    me text;
    hz xid8;
    now_s pg_snapshot := pg_current_snapshot();
    parts text[];
    a pg_snapshot;
    b pg_snapshot;
    kc uuid;
    ks bigint;
    budget integer := lim;
    more boolean := false;
    gap boolean;
    pending bigint;
    last_c uuid;
    last_s bigint;
    cs uuid[];
    mas boolean[];
    mbs boolean[];
    ds bigint[];
    vbs bigint[];
    ups boolean[];
    c uuid;
    ma boolean;
    mb boolean;
    d bigint;
    vb bigint;
    js bigint;
    n integer;
    j jsonb;
    w integer;
BEGIN
    SELECT i.identity, i.horizon INTO me, hz FROM parley.stream_identity i;
    IF $2 IS NOT NULL AND $2 <> '' THEN
        -- through parley_proxy a cursor has one part per shard, '|' between
        -- them: this database's is the one with its identity
        parts := string_to_array(
            (SELECT p FROM unnest(string_to_array($2, '|')) AS p
              WHERE split_part(p, '~', 2) = me LIMIT 1), '~');
        BEGIN
            IF array_length(parts, 1) = 6 AND parts[1] = 'g1' AND parts[2] = me THEN
                a := parts[3]::pg_snapshot;
                b := parts[4]::pg_snapshot;
                kc := NULLIF(parts[5], '')::uuid;
                ks := parts[6]::bigint;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            a := NULL;
        END;
        -- Not ours, not well-formed, from the future or older than what
        -- the log keeps: the client must re-read (one reset event).
        IF a IS NULL OR b IS NULL OR ks IS NULL OR ks < 0
           OR pg_snapshot_xmax(b) > pg_snapshot_xmax(now_s)
           OR pg_snapshot_xmin(a) > pg_snapshot_xmin(b)
           OR pg_snapshot_xmin(a) < hz THEN
            event := 'reset'; id := NULL; data := '{}'; RETURN NEXT;
            a := NULL;
        END IF;
    END IF;
    IF a IS NULL THEN
        -- live from now
        a := now_s; b := now_s; kc := NULL; ks := 0;
    ELSIF kc IS NULL THEN
        -- B was delivered whole: the next window is (B, now)
        a := b; b := now_s; ks := 0;
    END IF;

    -- At most two windows: the rest of the cursor's, then (B, now).
    FOR w IN 1..2 LOOP
        cs := '{}'; mas := '{}'; mbs := '{}'; ds := '{}'; vbs := '{}'; ups := '{}';
        pending := 0;
        -- The plan of the window: per conversation, membership as of A and
        -- B, the seq delivered, the seq to deliver up to.
        FOR c IN
            SELECT u.x FROM (
                SELECT p.conversation_id AS x FROM parley.participants p WHERE p.guest_id = g
                UNION
                SELECT l.conversation_id FROM parley.conversation_log l
                 WHERE l.guest_id = g AND l.tx >= pg_snapshot_xmin(a)
            ) u
             WHERE kc IS NULL OR u.x >= kc
             ORDER BY u.x
        LOOP
            mb := COALESCE(
                (SELECT l.kind = 'a' FROM parley.conversation_log l
                  WHERE l.guest_id = g AND l.conversation_id = c AND l.kind IN ('a', 'r')
                    AND pg_visible_in_snapshot(l.tx, b)
                  ORDER BY l.id DESC LIMIT 1),
                (SELECT l.kind = 'r' FROM parley.conversation_log l
                  WHERE l.guest_id = g AND l.conversation_id = c AND l.kind IN ('a', 'r')
                  ORDER BY l.id LIMIT 1),
                EXISTS (SELECT 1 FROM parley.participants p
                         WHERE p.conversation_id = c AND p.guest_id = g));
            -- the seq G joined at (the last join visible in B; 0 if none)
            js := 0;
            IF mb THEN
                js := COALESCE(
                    (SELECT l.seq FROM parley.conversation_log l
                      WHERE l.guest_id = g AND l.conversation_id = c AND l.kind = 'a'
                        AND pg_visible_in_snapshot(l.tx, b)
                      ORDER BY l.id DESC LIMIT 1), 0);
            END IF;
            IF c = kc THEN
                -- its membership event (if any) went out already
                ma := mb;
                IF NOT mb THEN CONTINUE; END IF;
                vb := COALESCE(
                (SELECT m.seq FROM parley.messages m
                  WHERE m.conversation_id = c AND (m.tx IS NULL OR pg_visible_in_snapshot(m.tx, b))
                  ORDER BY m.seq DESC LIMIT 1), 0);
                IF ks > 0 THEN
                    d := ks;
                ELSIF COALESCE(
                (SELECT l.kind = 'a' FROM parley.conversation_log l
                  WHERE l.guest_id = g AND l.conversation_id = c AND l.kind IN ('a', 'r')
                    AND pg_visible_in_snapshot(l.tx, a)
                  ORDER BY l.id DESC LIMIT 1),
                (SELECT l.kind = 'r' FROM parley.conversation_log l
                  WHERE l.guest_id = g AND l.conversation_id = c AND l.kind IN ('a', 'r')
                  ORDER BY l.id LIMIT 1),
                EXISTS (SELECT 1 FROM parley.participants p
                         WHERE p.conversation_id = c AND p.guest_id = g)) THEN
                    d := COALESCE(
                (SELECT m.seq FROM parley.messages m
                  WHERE m.conversation_id = c AND (m.tx IS NULL OR pg_visible_in_snapshot(m.tx, a))
                  ORDER BY m.seq DESC LIMIT 1), 0);
                ELSE
                    d := js;	-- conversation_added: the messages after the join
                END IF;
            ELSE
                ma := COALESCE(
                (SELECT l.kind = 'a' FROM parley.conversation_log l
                  WHERE l.guest_id = g AND l.conversation_id = c AND l.kind IN ('a', 'r')
                    AND pg_visible_in_snapshot(l.tx, a)
                  ORDER BY l.id DESC LIMIT 1),
                (SELECT l.kind = 'r' FROM parley.conversation_log l
                  WHERE l.guest_id = g AND l.conversation_id = c AND l.kind IN ('a', 'r')
                  ORDER BY l.id LIMIT 1),
                EXISTS (SELECT 1 FROM parley.participants p
                         WHERE p.conversation_id = c AND p.guest_id = g));
                IF NOT ma AND NOT mb THEN CONTINUE; END IF;
                vb := 0;
                IF mb THEN
                    vb := COALESCE(
                (SELECT m.seq FROM parley.messages m
                  WHERE m.conversation_id = c AND (m.tx IS NULL OR pg_visible_in_snapshot(m.tx, b))
                  ORDER BY m.seq DESC LIMIT 1), 0);
                END IF;
                d := vb;
                IF NOT ma AND mb THEN
                    d := js;
                ELSIF ma AND mb THEN
                    d := COALESCE(
                (SELECT m.seq FROM parley.messages m
                  WHERE m.conversation_id = c AND (m.tx IS NULL OR pg_visible_in_snapshot(m.tx, a))
                  ORDER BY m.seq DESC LIMIT 1), 0);
                END IF;
            END IF;
            cs := cs || c; mas := mas || ma; mbs := mbs || mb; ds := ds || d; vbs := vbs || vb;
            ups := ups || (c IS DISTINCT FROM kc AND ma AND mb AND EXISTS (
                SELECT 1 FROM parley.conversation_log l
                 WHERE l.conversation_id = c AND l.tx >= pg_snapshot_xmin(a)
                   AND pg_visible_in_snapshot(l.tx, b) AND NOT pg_visible_in_snapshot(l.tx, a)));
            IF mb AND vb > d THEN
                pending := pending + (vb - d);
            END IF;
        END LOOP;
        gap := pending > 1000;

        n := COALESCE(array_length(cs, 1), 0);
        FOR i IN 1..n LOOP
            c := cs[i]; ma := mas[i]; mb := mbs[i]; d := ds[i]; vb := vbs[i];
            IF c IS DISTINCT FROM kc THEN
                IF budget <= 0 THEN more := true; EXIT; END IF;
                IF ma AND NOT mb THEN
                    event := 'conversation_removed';
                    data := jsonb_build_object('conversation_id', c);
                ELSIF NOT ma THEN
                    event := 'conversation_added';
                    IF EXISTS (SELECT 1 FROM parley.participants p
                                WHERE p.conversation_id = c AND p.guest_id = g) THEN
                        data := parley.conversation_get(c, g);
                    ELSE
                        data := jsonb_build_object('id', c);
                    END IF;
                    data := data || jsonb_build_object('last_seq', vb, 'unread', greatest(vb - COALESCE(
                        (SELECT p.last_read_seq FROM parley.participants p
                          WHERE p.conversation_id = c AND p.guest_id = g), 0), 0));
                ELSIF ups[i] THEN
                    event := 'conversation_updated';
                    IF EXISTS (SELECT 1 FROM parley.participants p
                                WHERE p.conversation_id = c AND p.guest_id = g) THEN
                        data := parley.conversation_get(c, g);
                    ELSE
                        data := jsonb_build_object('id', c);
                    END IF;
                ELSE
                    event := NULL;
                END IF;
                IF event IS NOT NULL THEN
                    id := concat('g1~', me, '~', a, '~', b, '~', c, '~', 0);
                    RETURN NEXT;
                    budget := budget - 1; last_c := c; last_s := 0;
                END IF;
            END IF;
            IF NOT mb OR vb <= d THEN CONTINUE; END IF;
            IF budget <= 0 THEN more := true; EXIT; END IF;
            IF gap THEN
                event := 'gap';
                data := jsonb_build_object('conversation_id', c, 'after_seq', d, 'last_seq', vb);
                id := concat('g1~', me, '~', a, '~', b, '~', c, '~', vb);
                RETURN NEXT;
                budget := budget - 1; last_c := c; last_s := vb;
                CONTINUE;
            END IF;
            FOR j IN
                SELECT m.value FROM jsonb_array_elements(
                    parley.events_fetch(ARRAY[c], ARRAY[d], least(vb - d, budget)::integer)->'messages') AS m
                 WHERE (m.value->>'seq')::bigint <= vb
            LOOP
                event := 'message';
                data := j;
                last_c := c; last_s := (j->>'seq')::bigint;
                id := concat('g1~', me, '~', a, '~', b, '~', c, '~', last_s);
                RETURN NEXT;
                budget := budget - 1;
            END LOOP;
            IF last_s IS DISTINCT FROM vb OR last_c IS DISTINCT FROM c THEN
                more := true; EXIT;	-- the budget ran out inside c
            END IF;
        END LOOP;
        IF more THEN
            EXIT;
        END IF;
        -- the window is delivered whole
        IF b::text = now_s::text THEN
            last_c := NULL;
            a := b;
            EXIT;
        END IF;
        IF budget <= 0 THEN
            -- no room for the next window: resume from B delivered whole
            more := true;
            a := b;
            last_c := NULL;
            EXIT;
        END IF;
        a := b; b := now_s; kc := NULL; ks := 0; last_c := NULL; last_s := 0;
    END LOOP;

    event := NULL;
    IF more AND last_c IS NULL THEN
        -- stopped before the window's first event: A is delivered whole
        id := concat('g1~', me, '~', a, '~', a, '~', NULL, '~', 0);
    ELSIF more THEN
        id := concat('g1~', me, '~', a, '~', b, '~', last_c, '~', last_s);
    ELSE
        id := concat('g1~', me, '~', b, '~', b, '~', NULL, '~', 0);
    END IF;
    data := jsonb_build_object('more', more, 'conversations',
        (SELECT COALESCE(jsonb_agg(p.conversation_id ORDER BY p.conversation_id), '[]')
           FROM parley.participants p WHERE p.guest_id = g));
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION parley.events_guest_fetch(text, text, integer) IS 'A guest stream''s events after a cursor (no actor check: gateway only), then a row with the cursor after them.';

-- Many guest streams in one round trip (a gateway's batched fetch).
CREATE FUNCTION parley.events_guests_fetch(guest_ids text[], afters text[], "limit" integer DEFAULT 200)
RETURNS TABLE (n integer, event text, id text, data text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.n::integer, f.event, f.id, f.data::text
      FROM unnest($1, $2) WITH ORDINALITY AS u(g, c, n),
           LATERAL parley.events_guest_fetch(u.g, u.c, $3) AS f
$$;
COMMENT ON FUNCTION parley.events_guests_fetch(text[], text[], integer) IS 'events_guest_fetch() of many guest streams in one call, rows tagged with the stream''s position.';

REVOKE ALL ON FUNCTION
    parley.participants_log(),
    parley.conversation_touched(uuid),
    parley.events_guest_subscribe(text, text),
    parley.events_guest_fetch(text, text, integer),
    parley.events_guests_fetch(text[], text[], integer)
FROM PUBLIC;

-- A gateway role (it may run events_fetch) may open guest streams.
DO $$
DECLARE
    r name;
BEGIN
    FOR r IN
        SELECT a.rolname FROM pg_catalog.pg_roles a
         WHERE NOT a.rolsuper
           AND pg_catalog.has_function_privilege(a.oid, 'parley.events_fetch(uuid[], bigint[], integer)', 'EXECUTE')
    LOOP
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION parley.events_guest_subscribe(text, text),'
                                  ' parley.events_guests_fetch(text[], text[], integer) TO %I', r);
    END LOOP;
END
$$;
-- As above: keep only the extension's own grants of these in pg_init_privs.
UPDATE pg_catalog.pg_init_privs i
   SET initprivs = ARRAY(SELECT a FROM pg_catalog.unnest(i.initprivs) AS a
                          WHERE (SELECT e.grantee FROM pg_catalog.aclexplode(ARRAY[a]) AS e LIMIT 1)
                                IN (0, p.proowner))
  FROM pg_catalog.pg_proc p
 WHERE i.classoid = 'pg_catalog.pg_proc'::regclass AND i.objoid = p.oid AND i.objsubid = 0
   AND p.oid IN ('parley.events_guest_subscribe(text, text)'::regprocedure,
                 'parley.events_guests_fetch(text[], text[], integer)'::regprocedure);

-- conversation_list answers "unread_total" (all of the guest's conversations).
CREATE OR REPLACE FUNCTION parley.conversation_list(guest_id text, before text DEFAULT NULL,
                                                    "limit" integer DEFAULT 50,
                                                    actor text DEFAULT NULL)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'conversation_list_v0_4'
LANGUAGE C STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

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
