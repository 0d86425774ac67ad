/*
 * render.h
 *	  The JSON shapes of API.md section 2, rendered from SPI rows.
 *
 * Each shape has a canonical column list; a query that selects
 * "SELECT " MESSAGE_COLUMNS " FROM ..." can hand its rows to render_message()
 * starting at column 1 (or at firstcol when the list is not first).
 */
#ifndef PARLEY_RENDER_H
#define PARLEY_RENDER_H

#include "postgres.h"

#include "executor/spi.h"

#include "jsonout.h"
#include "parley.h"

#define GUEST_COLUMNS \
	"guest_id, display_name, metadata, created_at, updated_at"
#define GUEST_NCOLUMNS 5

#define PARTICIPANT_COLUMNS \
	"guest_id, role, joined_at, last_read_seq"
#define PARTICIPANT_NCOLUMNS 4

#define MESSAGE_COLUMNS \
	"conversation_id, seq, id, sender_id, body, metadata, client_msg_id, " \
	"created_at, edited_at, deleted_at"
#define MESSAGE_NCOLUMNS 10

/*
 * 0.5.0: the message JSON gains reactions, reply_to, reply_count and
 * attachments (render_message_v05()).
 */
#define MESSAGE_COLUMNS_V05 \
	MESSAGE_COLUMNS ", reactions, reply_to, reply_count, attachments"
#define MESSAGE_NCOLUMNS_V05 (MESSAGE_NCOLUMNS + 4)

#define CONVERSATION_COLUMNS \
	"id, kind, title, created_by, created_at, last_seq"
#define CONVERSATION_NCOLUMNS 6

/*
 * What later versions add to a conversation (0.5.0: description, metadata;
 * 0.6.0: frozen, slow_mode_s).  A query puts them last in its select list,
 * and render_conversation_fields() finds them by name, so the columns
 * counted from CONVERSATION_NCOLUMNS stay where they were.  Unqualified:
 * the queries that join participants have no such columns there.
 */
#define CONVERSATION_EXTRA_0_5 ", description, metadata"
#define CONVERSATION_EXTRA_0_6 ", description, metadata, frozen, slow_mode_s"

/* Friendships and blocks (0.2.0), from guest_id's side. */
#define FRIENDSHIP_COLUMNS \
	"guest_id, other_id, status, since"
#define FRIENDSHIP_NCOLUMNS 4

/* Each adds one object (under key, or as an array element when key is NULL). */
extern void render_guest(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int firstcol);
extern void render_participant(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int firstcol);
extern void render_message(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int firstcol);
extern void render_message_v05(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int firstcol);

/* The message of MESSAGE_COLUMNS (api < 0.5.0) or MESSAGE_COLUMNS_V05. */
extern void render_message_at(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row,
							  int firstcol, ParleyApi api);
extern void render_friendship(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int firstcol);

/*
 * Conversations are rendered in two steps because of the nested list:
 * render_conversation_fields() adds the scalar fields to an open object;
 * the caller then adds "participants" (and "unread" in lists) and closes it.
 */
extern void render_conversation_fields(JsonOut *jo, SPITupleTable *tt, uint64 row, int firstcol);

/* Helpers for single columns. */
extern void render_col_text(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col);
extern void render_col_int64(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col);
extern void render_col_timestamptz(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col);
extern void render_col_uuid(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col);
extern void render_col_jsonb(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col);

#endif							/* PARLEY_RENDER_H */
