/* parley_proxy 0.4.0 -> 0.5.0: the parley 0.5.0 API (messages, API.md
 * section 9) in a proxy database.  The shards run parley 0.5.0.  A fresh
 * install runs parley_proxy--0.2.0.sql and then the update scripts. */

\echo Use "ALTER EXTENSION parley_proxy UPDATE TO '0.5.0'" to load this file. \quit
