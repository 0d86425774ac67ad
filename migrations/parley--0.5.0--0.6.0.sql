/* parley 0.5.0 -> 0.6.0: moderation and data rights (API.md section 10):
 * roles, mutes, bans, frozen conversations, slow mode, word filters,
 * reports, export, erase and retention, enforced here so that a SQL caller
 * meets the same rules as an HTTP one.
 *
 * A fresh install of 0.6.0 runs parley--0.1.0.sql and the update scripts in
 * order, so this script is also what a fresh install runs. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.6.0'" to load this file. \quit
