/*
 * conversation_update.c
 *	  conversation_update(): a group's title, description and metadata
 *	  (0.5.0, API.md section 9), and from 0.6.0 frozen and slow_mode_s
 *	  (section 10).  The owner or an admin only.
 *
 * An argument that is NULL leaves its field as it is.  The update takes the
 * conversation's row lock (FOR NO KEY UPDATE, as a post does) before it
 * reads the actor's role, and counts one change of the conversation
 * (change_seq, parley_count_change()), so gateways learn of it the way they
 * learn of edits, and calls parley.conversation_touched() where the
 * installed SQL has it (guest streams' conversation_updated); a call that
 * changes nothing counts none.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "access.h"
#include "conversations.h"
#include "moderation.h"
#include "parley.h"
#include "query.h"
#include "validate.h"

#define PARLEY_DESCRIPTION_MAX_CHARS 1000
#define PARLEY_SLOW_MODE_MAX_S 3600

/*
 * Primary key of conversations (row lock), then primary key of
 * participants.  No row: 404; a NULL role: 403.
 */
static ParleyQuery q_lock_for_actor = {
	"SELECT c.kind, (SELECT p.role FROM parley.participants p"
	"                 WHERE p.conversation_id = c.id AND p.guest_id = $2)"
	"  FROM parley.conversations c WHERE c.id = $1 FOR NO KEY UPDATE OF c",
	2, {UUIDOID, TEXTOID}
};

/* Primary key of conversations; NULL leaves a column as it is. */
#define UPDATE_SQL(set) \
	"UPDATE parley.conversations" \
	"   SET title = COALESCE($2, title), description = COALESCE($3, description)," \
	"       metadata = COALESCE($4, metadata)" set \
	" WHERE id = $1"

static ParleyQuery q_update[PARLEY_API_COUNT] = {
	[PARLEY_API_0_5] = {UPDATE_SQL(""), 4, {UUIDOID, TEXTOID, TEXTOID, JSONBOID}},
	[PARLEY_API_0_6] = {UPDATE_SQL(", frozen = COALESCE($5, frozen), slow_mode_s = COALESCE($6, slow_mode_s)"),
	6, {UUIDOID, TEXTOID, TEXTOID, JSONBOID, BOOLOID, INT4OID}},
};

/*
 * The hook of guest streams (docs/gateway.md, conversation_updated):
 * parley.conversation_touched(cid), where the installed SQL has it.
 */
static ParleyQuery q_has_touched = {
	"SELECT to_regprocedure('parley.conversation_touched(uuid)') IS NOT NULL",
	0, {InvalidOid}
};

static void
touch_conversation(Datum cid)
{
	bool		isnull;
	Oid			argtypes[1] = {UUIDOID};

	parley_query_exec(&q_has_touched, NULL, NULL, false, 1);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull)))
		return;
	if (SPI_execute_with_args("SELECT parley.conversation_touched($1)", 1, argtypes,
							  &cid, NULL, false, 0) < 0)
		elog(ERROR, "parley: conversation_touched failed");
}

static void
check_description(text *d)
{
	int			n = pg_mbstrlen_with_len(VARDATA_ANY(d), VARSIZE_ANY_EXHDR(d));

	if (n > PARLEY_DESCRIPTION_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("description must be at most %d characters long",
						PARLEY_DESCRIPTION_MAX_CHARS),
				 errdetail("It is %d characters long.", n)));
	/* Line breaks and tabs are text; other control characters are not. */
	for (int i = 0; i < (int) VARSIZE_ANY_EXHDR(d); i++)
	{
		unsigned char c = ((const unsigned char *) VARDATA_ANY(d))[i];

		if ((c < 0x20 && c != '\n' && c != '\r' && c != '\t') || c == 0x7F)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("description must not contain control characters other than line breaks and tabs")));
	}
}

static Datum
conversation_update_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	char	   *actor;
	Datum		values[6];
	char		nulls[6] = {' ', 'n', 'n', 'n', 'n', 'n'};
	bool		changes = false;
	bool		isnull;
	char	   *kind;

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	actor = parley_guest_id_arg(fcinfo, 1, "actor");
	values[0] = cid;
	if (!PG_ARGISNULL(2))
	{
		parley_check_title(PG_GETARG_TEXT_PP(2));
		values[1] = PointerGetDatum(PG_GETARG_TEXT_PP(2));
		nulls[1] = ' ';
	}
	if (!PG_ARGISNULL(3))
	{
		check_description(PG_GETARG_TEXT_PP(3));
		values[2] = PointerGetDatum(PG_GETARG_TEXT_PP(3));
		nulls[2] = ' ';
	}
	if (!PG_ARGISNULL(4))
	{
		parley_check_metadata(PG_GETARG_JSONB_P(4), "metadata");
		values[3] = PointerGetDatum(PG_GETARG_JSONB_P(4));
		nulls[3] = ' ';
	}
	if (!PG_ARGISNULL(5) || !PG_ARGISNULL(6))
	{
		if (api < PARLEY_API_0_6)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("frozen and slow_mode_s need parley 0.6.0"),
					 errhint("ALTER EXTENSION parley UPDATE.")));
		if (!PG_ARGISNULL(5))
		{
			values[4] = BoolGetDatum(PG_GETARG_BOOL(5));
			nulls[4] = ' ';
		}
		if (!PG_ARGISNULL(6))
		{
			int32		s = PG_GETARG_INT32(6);

			if (s < 0 || s > PARLEY_SLOW_MODE_MAX_S)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("slow_mode_s must be between 0 and %d", PARLEY_SLOW_MODE_MAX_S),
						 errdetail("It is %d.", s)));
			values[5] = Int32GetDatum(s);
			nulls[5] = ' ';
		}
	}
	for (int i = 1; i < 6; i++)
		changes |= nulls[i] == ' ';

	SPI_connect();
	values[1] = CStringGetTextDatum(actor);
	if (parley_query_exec(&q_lock_for_actor, values, NULL, false, 1) == 0)
		parley_raise_conversation_not_found(cid);
	kind = TextDatumGetCString(parley_col(SPI_tuptable, 0, 1, &isnull));
	if (parley_col_isnull(SPI_tuptable, 0, 2))
		parley_raise_not_a_participant(cid, actor);
	if (strcmp(kind, "direct") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_CONVERSATION_IS_DIRECT),
				 errmsg("conversation %s is direct", parley_uuid_string(cid)),
				 errdetail("Only groups have a title, description, metadata and moderation.")));
	{
		char	   *role = TextDatumGetCString(parley_col(SPI_tuptable, 0, 2, &isnull));

		if (strcmp(role, "owner") != 0 && strcmp(role, "admin") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_PARLEY_INSUFFICIENT_ROLE),
					 errmsg("guest \"%s\" may not update conversation %s",
							actor, parley_uuid_string(cid)),
					 errdetail("Only the owner and admins update a group.")));
	}

	if (changes)
	{
		values[1] = nulls[1] == ' ' ? PointerGetDatum(PG_GETARG_TEXT_PP(2)) : (Datum) 0;
		parley_query_exec(parley_query_at(q_update, api), values, nulls, false, 0);
		(void) parley_count_change(cid);
		touch_conversation(cid);
	}
	PG_RETURN_JSONB_P(parley_conversation_answer(cid, api, 200));
}

/* The symbols of the 0.5.0 and 0.6.0 SQL. */
PARLEY_API_ENTRY(conversation_update, conversation_update_impl, PARLEY_API_0_5)
PARLEY_API_ENTRY(conversation_update_v0_6, conversation_update_impl, PARLEY_API_0_6)
