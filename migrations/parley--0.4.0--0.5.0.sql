/* parley 0.4.0 -> 0.5.0: messages (API.md section 9): reactions, replies
 * and threads, pages around a message, search, attachments, conversation
 * updates, per-guest conversation settings and mark unread.
 *
 * Each part below is one block with its own heading; a fresh install of
 * 0.5.0 runs parley--0.1.0.sql and the update scripts in order, so this
 * script is also what a fresh install runs. */

\echo Use "ALTER EXTENSION parley UPDATE TO '0.5.0'" to load this file. \quit

-- == reactions, replies, around, attachments, mark unread ==================

-- == end of reactions, replies, around, attachments, mark unread ===========


-- == search, per-guest settings ============================================

-- == end of search, per-guest settings =====================================


-- == conversation updates (title, description, metadata) ====================

-- == end of conversation updates ============================================
