/* parley_proxy 0.2.0 -> 0.3.0: the parley 0.3.0 API (events_heads and
 * events_changes, for a gateway's live streams) in a proxy database, and
 * events_fetch keeping each (id, after) pair's rows together when an id is
 * given twice.  The shards run parley 0.3.0; the other functions relay as
 * before (their 0.3.0 behaviour, counting changes, is the shards').  A
 * fresh install of 0.3.0 runs parley_proxy--0.2.0.sql and then this
 * script. */

\echo Use "ALTER EXTENSION parley_proxy UPDATE TO '0.3.0'" to load this file. \quit
