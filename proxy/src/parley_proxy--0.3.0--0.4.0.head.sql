/* parley_proxy 0.3.0 -> 0.4.0: the parley 0.4.0 API (guest sessions, API.md
 * section 7) in a proxy database.  guest_upsert takes the acting guest
 * (every shard checks it); guest_tokens_revoke runs on every shard, like
 * the other guest writes; guest_token_claims reads the guest's home
 * partition; guest_tokens_revoked_since, the gateways' poll, asks every
 * shard and merges.  The shards run parley 0.4.0.  A fresh install of
 * 0.4.0 runs parley_proxy--0.2.0.sql and then the update scripts. */

\echo Use "ALTER EXTENSION parley_proxy UPDATE TO '0.4.0'" to load this file. \quit

-- Section 8, one stream per guest: a guest's conversations are on every
-- shard, and a snapshot is per database, so a guest stream's fetch runs on
-- all of them; its cursor has one part per shard ('|' between), each shard
-- reads its own part and answers only it (the gateway puts the parts
-- together).  docs/gateway.md, "One stream per guest".
CREATE FUNCTION parley_proxy.events_guest_fetch(guest_id text, after text, "limit" integer)
RETURNS TABLE (event text, id text, data jsonb)
LANGUAGE plproxy AS $$
    CLUSTER 'parley_shards';
    RUN ON ALL;
    SELECT event, id, data FROM parley.events_guest_fetch($1, $2, $3);
$$;

CREATE FUNCTION parley.events_guests_fetch(guest_ids text[], afters text[], "limit" integer DEFAULT 200)
RETURNS TABLE (n integer, event text, id text, data text)
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
    SELECT u.n::integer, f.event, f.id, f.data::text
      FROM unnest($1, $2) WITH ORDINALITY AS u(g, c, n),
           LATERAL parley_proxy.events_guest_fetch(u.g, u.c, $3) AS f
$$;
REVOKE ALL ON FUNCTION parley_proxy.events_guest_fetch(text, text, integer),
    parley.events_guests_fetch(text[], text[], integer) FROM PUBLIC;
