/* parley_proxy 0.5.0 -> 0.6.0: the parley 0.6.0 API (moderation and data
 * rights, API.md section 10) in a proxy database.  The shards run parley
 * 0.6.0.  A fresh install runs parley_proxy--0.2.0.sql and then the update
 * scripts. */

\echo Use "ALTER EXTENSION parley_proxy UPDATE TO '0.6.0'" to load this file. \quit

-- Export is not routed through the proxy yet (docs/operations.md): a
-- guest's messages are on every shard and its memberships with each
-- conversation's shard; run parley.guest_export() on each shard.  The
-- function exists so that the gateway's role and statements are the same
-- on a proxy; a call is refused (501 not_supported).
CREATE FUNCTION parley.guest_export_page(guest_id text, after text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'guest_export_page() is not routed by parley_proxy'
        USING ERRCODE = 'PR071',
              HINT = 'Run parley.guest_export() on each shard (docs/operations.md).';
END
$$;
REVOKE ALL ON FUNCTION parley.guest_export_page(text, text) FROM PUBLIC;
