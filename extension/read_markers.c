/*
 * read_markers.c
 *	  read_mark(): read markers that only move forward; read_mark_unread()
 *	  (0.5.0): the one move back.
 *
 * The marker is participants.last_read_seq.  It moves in one UPDATE whose
 * new value is GREATEST(current, LEAST(seq, last_seq)) and which matches
 * only when that is a move forward: the row lock serialises concurrent marks
 * of one guest, and in READ COMMITTED a waiting UPDATE re-evaluates both the
 * condition and the new value on the newest row version, so a slower call
 * with a smaller seq never undoes a faster one with a larger seq.  last_seq
 * is read from the statement's snapshot; it only grows, so the clamp never
 * lets the marker pass the real last_seq.
 *
 * A mark that changes nothing (backwards, equal, or NULL result) writes no
 * row version: the UPDATE matches nothing and a read answers instead, which
 * also tells 404 from 403.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

#include "access.h"
#include "parley.h"
#include "query.h"
#include "validate.h"

/*
 * Primary key of participants (conversation_id, guest_id) joined to the
 * primary key of conversations.
 */
static ParleyQuery q_mark = {
	"UPDATE parley.participants p"
	"   SET last_read_seq = LEAST($3, c.last_seq)"
	"  FROM parley.conversations c"
	" WHERE c.id = $1 AND p.conversation_id = $1 AND p.guest_id = $2"
	"   AND p.last_read_seq < LEAST($3, c.last_seq)"
	" RETURNING p.last_read_seq",
	3, {UUIDOID, TEXTOID, INT8OID}
};

/* No move: the conversation (primary key), and the marker if a participant. */
static ParleyQuery q_marker = {
	"SELECT (SELECT p.last_read_seq FROM parley.participants p"
	"         WHERE p.conversation_id = c.id AND p.guest_id = $2)"
	"  FROM parley.conversations c WHERE c.id = $1",
	2, {UUIDOID, TEXTOID}
};

PG_FUNCTION_INFO_V1(read_mark);
Datum
read_mark(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *guest_id;
	int64		seq;
	Datum		values[3];
	Datum		marker;
	bool		isnull;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	guest_id = parley_guest_id_arg(fcinfo, 1, "guest_id");
	parley_require_arg(fcinfo, 2, "seq");
	(void) parley_seq_cursor_arg(fcinfo, 2, "seq", &seq);

	values[0] = cid;
	values[1] = CStringGetTextDatum(guest_id);
	values[2] = Int64GetDatum(seq);

	SPI_connect();
	if (parley_query_exec(&q_mark, values, NULL, false, 0) == 1)
		marker = parley_col(SPI_tuptable, 0, 1, &isnull);
	else
	{
		if (parley_query_exec(&q_marker, values, NULL, false, 1) == 0)
			parley_raise_conversation_not_found(cid);
		marker = parley_col(SPI_tuptable, 0, 1, &isnull);
		if (isnull)
			parley_raise_not_a_participant(cid, guest_id);
	}

	jo_begin_object(&jo, NULL);
	jo_uuid(&jo, "conversation_id", DatumGetUUIDP(cid));
	jo_cstring(&jo, "guest_id", guest_id);
	jo_int64(&jo, "last_read_seq", DatumGetInt64(marker));
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/*
 * 0.5.0, mark unread: the marker becomes seq - 1, clamped to last_seq: the
 * one move backwards (API.md section 9).  Primary key of participants
 * joined to the primary key of conversations; the row lock serialises it
 * with read_mark() of the same guest, and the last to commit wins.  Only a
 * change writes a row version.
 */
static ParleyQuery q_unmark = {
	"UPDATE parley.participants p"
	"   SET last_read_seq = LEAST($3 - 1, c.last_seq)"
	"  FROM parley.conversations c"
	" WHERE c.id = $1 AND p.conversation_id = $1 AND p.guest_id = $2"
	"   AND p.last_read_seq <> LEAST($3 - 1, c.last_seq)"
	" RETURNING p.last_read_seq",
	3, {UUIDOID, TEXTOID, INT8OID}
};

/*
 * read_mark_unread(conversation_id, guest_id, seq): mark seq and what
 * follows unread; seq must be positive.  Answers as read_mark().
 */
PG_FUNCTION_INFO_V1(read_mark_unread);
Datum
read_mark_unread(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *guest_id;
	int64		seq;
	Datum		values[3];
	Datum		marker;
	bool		isnull;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	guest_id = parley_guest_id_arg(fcinfo, 1, "guest_id");
	parley_require_arg(fcinfo, 2, "seq");
	seq = PG_GETARG_INT64(2);
	if (seq <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("seq must be a positive integer"),
				 errdetail("It is " INT64_FORMAT ".", seq),
				 errhint("The marker becomes seq - 1: seq 1 marks the whole conversation unread.")));

	values[0] = cid;
	values[1] = CStringGetTextDatum(guest_id);
	values[2] = Int64GetDatum(seq);

	SPI_connect();
	if (parley_query_exec(&q_unmark, values, NULL, false, 0) == 1)
		marker = parley_col(SPI_tuptable, 0, 1, &isnull);
	else
	{
		if (parley_query_exec(&q_marker, values, NULL, false, 1) == 0)
			parley_raise_conversation_not_found(cid);
		marker = parley_col(SPI_tuptable, 0, 1, &isnull);
		if (isnull)
			parley_raise_not_a_participant(cid, guest_id);
	}

	jo_begin_object(&jo, NULL);
	jo_uuid(&jo, "conversation_id", DatumGetUUIDP(cid));
	jo_cstring(&jo, "guest_id", guest_id);
	jo_int64(&jo, "last_read_seq", DatumGetInt64(marker));
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}
