/*
 * render.c
 *	  Guest, participant, message and conversation objects from SPI rows.
 *	  NULL columns become JSON null.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "query.h"
#include "render.h"

void
render_col_text(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col)
{
	bool		isnull;
	Datum		d = parley_col(tt, row, col, &isnull);

	jo_text(jo, key, isnull ? NULL : DatumGetTextPP(d));
}

void
render_col_int64(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col)
{
	bool		isnull;
	Datum		d = parley_col(tt, row, col, &isnull);

	if (isnull)
		jo_null(jo, key);
	else
		jo_int64(jo, key, DatumGetInt64(d));
}

void
render_col_timestamptz(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col)
{
	bool		isnull;
	Datum		d = parley_col(tt, row, col, &isnull);

	if (isnull)
		jo_null(jo, key);
	else
		jo_timestamptz(jo, key, DatumGetTimestampTz(d));
}

void
render_col_uuid(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col)
{
	bool		isnull;
	Datum		d = parley_col(tt, row, col, &isnull);

	if (isnull)
		jo_null(jo, key);
	else
		jo_uuid(jo, key, DatumGetUUIDP(d));
}

void
render_col_jsonb(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col)
{
	bool		isnull;
	Datum		d = parley_col(tt, row, col, &isnull);

	if (isnull)
		jo_null(jo, key);
	else
		jo_jsonb(jo, key, DatumGetJsonbP(d));
}

void
render_guest(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int c)
{
	jo_begin_object(jo, key);
	render_col_text(jo, "guest_id", tt, row, c);
	render_col_text(jo, "display_name", tt, row, c + 1);
	render_col_jsonb(jo, "metadata", tt, row, c + 2);
	render_col_timestamptz(jo, "created_at", tt, row, c + 3);
	render_col_timestamptz(jo, "updated_at", tt, row, c + 4);
	jo_end_object(jo);
}

void
render_participant(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int c)
{
	jo_begin_object(jo, key);
	render_col_text(jo, "guest_id", tt, row, c);
	render_col_text(jo, "role", tt, row, c + 1);
	render_col_timestamptz(jo, "joined_at", tt, row, c + 2);
	render_col_int64(jo, "last_read_seq", tt, row, c + 3);
	jo_end_object(jo);
}

static void
render_message_fields(JsonOut *jo, SPITupleTable *tt, uint64 row, int c)
{
	render_col_uuid(jo, "conversation_id", tt, row, c);
	render_col_int64(jo, "seq", tt, row, c + 1);
	render_col_uuid(jo, "id", tt, row, c + 2);
	render_col_text(jo, "sender_id", tt, row, c + 3);
	render_col_text(jo, "body", tt, row, c + 4);
	render_col_jsonb(jo, "metadata", tt, row, c + 5);
	render_col_text(jo, "client_msg_id", tt, row, c + 6);
	render_col_timestamptz(jo, "created_at", tt, row, c + 7);
	render_col_timestamptz(jo, "edited_at", tt, row, c + 8);
	jo_bool(jo, "deleted", !parley_col_isnull(tt, row, c + 9));
}

void
render_message(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int c)
{
	jo_begin_object(jo, key);
	render_message_fields(jo, tt, row, c);
	jo_end_object(jo);
}

/*
 * A jsonb column that holds an object (or an array): most messages have
 * no reactions and no attachments, and an empty container is written as
 * such, without unpacking the stored value.
 */
static void
render_container(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int col, bool array)
{
	bool		isnull;
	Datum		d = parley_col(tt, row, col, &isnull);
	Jsonb	   *jb;

	if (isnull)
	{
		jo_null(jo, key);
		return;
	}
	jb = DatumGetJsonbP(d);
	if (JB_ROOT_COUNT(jb) != 0)
	{
		jo_jsonb(jo, key, jb);
		return;
	}
	if (array)
	{
		jo_begin_array(jo, key);
		jo_end_array(jo);
	}
	else
	{
		jo_begin_object(jo, key);
		jo_end_object(jo);
	}
}

/*
 * 0.5.0 (MESSAGE_COLUMNS_V05): reactions ({} when none), reply_to (null
 * when none), reply_count and attachments ([] when none) follow deleted.
 * The columns are NOT NULL but for reply_to; a tombstone's reactions and
 * attachments are emptied by the delete.
 */
void
render_message_v05(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int c)
{
	bool		isnull;
	Datum		d;

	jo_begin_object(jo, key);
	render_message_fields(jo, tt, row, c);
	render_container(jo, "reactions", tt, row, c + MESSAGE_NCOLUMNS, false);
	render_col_int64(jo, "reply_to", tt, row, c + MESSAGE_NCOLUMNS + 1);
	d = parley_col(tt, row, c + MESSAGE_NCOLUMNS + 2, &isnull);
	jo_int64(jo, "reply_count", isnull ? 0 : (int64) DatumGetInt32(d));
	render_container(jo, "attachments", tt, row, c + MESSAGE_NCOLUMNS + 3, true);
	jo_end_object(jo);
}

void
render_message_at(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int c,
				  ParleyApi api)
{
	if (api >= PARLEY_API_0_5)
		render_message_v05(jo, key, tt, row, c);
	else
		render_message(jo, key, tt, row, c);
}

void
render_friendship(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row, int c)
{
	jo_begin_object(jo, key);
	render_col_text(jo, "guest_id", tt, row, c);
	render_col_text(jo, "other_id", tt, row, c + 1);
	render_col_text(jo, "status", tt, row, c + 2);
	render_col_timestamptz(jo, "since", tt, row, c + 3);
	jo_end_object(jo);
}

void
render_conversation_fields(JsonOut *jo, SPITupleTable *tt, uint64 row, int c)
{
	render_col_uuid(jo, "id", tt, row, c);
	render_col_text(jo, "kind", tt, row, c + 1);
	render_col_text(jo, "title", tt, row, c + 2);
	render_col_text(jo, "created_by", tt, row, c + 3);
	render_col_timestamptz(jo, "created_at", tt, row, c + 4);
	render_col_int64(jo, "last_seq", tt, row, c + 5);

	/* 0.5.0 and 0.6.0: the columns of CONVERSATION_EXTRA_*, when selected. */
	{
		int			col;
		bool		isnull;

		if ((col = SPI_fnumber(tt->tupdesc, "description")) > 0)
			render_col_text(jo, "description", tt, row, col);
		if ((col = SPI_fnumber(tt->tupdesc, "metadata")) > 0)
			render_col_jsonb(jo, "metadata", tt, row, col);
		if ((col = SPI_fnumber(tt->tupdesc, "frozen")) > 0)
			jo_bool(jo, "frozen", DatumGetBool(parley_col(tt, row, col, &isnull)));
		if ((col = SPI_fnumber(tt->tupdesc, "slow_mode_s")) > 0)
			jo_int64(jo, "slow_mode_s", DatumGetInt32(parley_col(tt, row, col, &isnull)));
	}
}
