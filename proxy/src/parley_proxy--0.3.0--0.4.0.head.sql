/* parley_proxy 0.3.0 -> 0.4.0: the parley 0.4.0 API (guest sessions, API.md
 * section 7) in a proxy database.  guest_upsert takes the acting guest
 * (every shard checks it); guest_tokens_revoke runs on every shard, like
 * the other guest writes; guest_token_claims reads the guest's home
 * partition; guest_tokens_revoked_since, the gateways' poll, asks every
 * shard and merges.  The shards run parley 0.4.0.  A fresh install of
 * 0.4.0 runs parley_proxy--0.2.0.sql and then the update scripts. */

\echo Use "ALTER EXTENSION parley_proxy UPDATE TO '0.4.0'" to load this file. \quit
