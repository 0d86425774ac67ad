/*
 * presence.c
 *	  presence_set(), presence_get(), presence_audience(), presence_seen()
 *	  and typing_check() (extension version 0.4.0, API.md section 8).
 *
 * Who is online is not stored: a guest is online while it holds a stream
 * on some gateway, and only the gateways know that (they tell each other
 * with LISTEN/NOTIFY, docs/gateway.md).  A gateway passes what it knows as
 * an argument (online, or the ids online among those asked about); the
 * rules of what others see stay here:
 *
 *	 - blocked either way: "offline", no activity, no last_seen_at;
 *	 - offline, or "invisible": "offline", no activity, last_seen_at;
 *	 - else the status set with presence_set() (default "online"), its
 *	   activity, last_seen_at null.
 *
 * parley.presence holds what a guest set (status, activity) and when it
 * was last seen: one row per guest, written by presence_set() (a PUT) and
 * by presence_seen() when a guest goes offline, never per event.
 * typing_check() writes nothing: the gateway caches its answer.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "access.h"
#include "parley.h"
#include "query.h"
#include "validate.h"

#define PRESENCE_ACTIVITY_MAX_BYTES 1024
#define PRESENCE_IDS_MAX			100

/*
 * Upsert of what the guest sets; $4 false keeps the stored activity (the
 * field was absent).  No row when the guest does not exist.
 */
static ParleyQuery q_set = {
	"INSERT INTO parley.presence AS p (guest_id, status, activity)"
	" SELECT g.guest_id, $2, $3 FROM parley.guests g WHERE g.guest_id = $1"
	" ON CONFLICT (guest_id) DO UPDATE SET status = EXCLUDED.status,"
	"   activity = CASE WHEN $4 THEN EXCLUDED.activity ELSE p.activity END,"
	"   updated_at = now()"
	" RETURNING p.guest_id, p.status, p.activity, p.last_seen_at, $5, false",
	5, {TEXTOID, TEXTOID, JSONBOID, BOOLOID, BOOLOID}
};

/* The columns render_presence() takes: id, status, activity, last_seen_at, online, blocked. */
#define PRESENCE_COLUMNS \
	"g.guest_id, COALESCE(p.status, 'online'), p.activity, p.last_seen_at"

/* The guests asked about that exist, in the order asked; $1 the viewer. */
static ParleyQuery q_get = {
	"SELECT " PRESENCE_COLUMNS ", g.guest_id = ANY($3),"
	"  EXISTS (SELECT 1 FROM parley.blocks b WHERE b.guest_id = $1 AND b.other_id = g.guest_id)"
	" FROM parley.guests g LEFT JOIN parley.presence p ON p.guest_id = g.guest_id"
	" WHERE g.guest_id = ANY($2)"
	" ORDER BY pg_catalog.array_position($2, g.guest_id)",
	3, {TEXTOID, TEXTARRAYOID, TEXTARRAYOID}
};

static ParleyQuery q_guest_exists = {
	"SELECT 1 FROM parley.guests WHERE guest_id = $1",
	1, {TEXTOID}
};

/*
 * Who sees each guest's presence: its accepted friends and the other guest
 * of each of its direct conversations, less anyone a block stands between
 * (a block ends friendships, but not direct conversations).
 */
static ParleyQuery q_audience = {
	"SELECT " PRESENCE_COLUMNS ", g.guest_id = ANY($2), false,"
	"  ARRAY(SELECT a.v FROM ("
	"        SELECT f.other_id FROM parley.friendships f"
	"         WHERE f.guest_id = g.guest_id AND f.status = 'accepted'"
	"        UNION"
	"        SELECT o.guest_id FROM parley.participants me"
	"          JOIN parley.conversations c ON c.id = me.conversation_id AND c.kind = 'direct'"
	"          JOIN parley.participants o ON o.conversation_id = me.conversation_id"
	"                                    AND o.guest_id <> me.guest_id"
	"         WHERE me.guest_id = g.guest_id"
	"        EXCEPT"
	"        SELECT b.other_id FROM parley.blocks b WHERE b.guest_id = g.guest_id"
	"        ) AS a(v) ORDER BY a.v)"
	" FROM parley.guests g LEFT JOIN parley.presence p ON p.guest_id = g.guest_id"
	" WHERE g.guest_id = ANY($1)"
	" ORDER BY g.guest_id",
	2, {TEXTARRAYOID, TEXTARRAYOID}
};

/* In guest order, so two gateways recording at once take the rows' locks alike. */
static ParleyQuery q_seen = {
	"INSERT INTO parley.presence AS p (guest_id, last_seen_at)"
	" SELECT g.guest_id, now() FROM parley.guests g WHERE g.guest_id = ANY($1)"
	" ORDER BY g.guest_id"
	" ON CONFLICT (guest_id) DO UPDATE SET last_seen_at = now()",
	1, {TEXTARRAYOID}
};

/* Primary key of conversations, and whether $2 takes part. */
static ParleyQuery q_typing = {
	"SELECT EXISTS (SELECT 1 FROM parley.participants p"
	"                WHERE p.conversation_id = c.id AND p.guest_id = $2)"
	"  FROM parley.conversations c WHERE c.id = $1",
	2, {UUIDOID, TEXTOID}
};

/*
 * One guest's presence as others see it, from row of tt (columns as
 * PRESENCE_COLUMNS, then online and blocked).
 */
static void
render_presence_fields(JsonOut *jo, SPITupleTable *tt, uint64 row)
{
	bool		isnull;
	char	   *status = TextDatumGetCString(parley_col(tt, row, 2, &isnull));
	bool		online = DatumGetBool(parley_col(tt, row, 5, &isnull)) && !isnull;
	bool		blocked = DatumGetBool(parley_col(tt, row, 6, &isnull)) && !isnull;
	bool		shown = online && !blocked && strcmp(status, "invisible") != 0;
	Datum		d;

	jo_text(jo, "guest_id", DatumGetTextPP(parley_col(tt, row, 1, &isnull)));
	jo_cstring(jo, "status", shown ? status : "offline");
	d = parley_col(tt, row, 3, &isnull);
	if (shown && !isnull)
		jo_jsonb(jo, "activity", DatumGetJsonbP(d));
	else
		jo_null(jo, "activity");
	d = parley_col(tt, row, 4, &isnull);
	if (!shown && !blocked && !isnull)
		jo_timestamptz(jo, "last_seen_at", DatumGetTimestampTz(d));
	else
		jo_null(jo, "last_seen_at");
}

static void
render_presence(JsonOut *jo, const char *key, SPITupleTable *tt, uint64 row)
{
	jo_begin_object(jo, key);
	render_presence_fields(jo, tt, row);
	jo_end_object(jo);
}

/* A text[] argument: one dimension, no NULL elements, each a guest id; its length. */
static int
guest_id_array_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	ArrayType  *a;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	parley_require_arg(fcinfo, argno, argname);
	a = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(a) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be an array of one dimension", argname)));
	deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		text	   *t;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname)));
		t = DatumGetTextPP(elems[i]);
		parley_check_guest_id(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), argname);
	}
	return n;
}

/* The online argument: NULL is nobody; its elements are not checked (they only match). */
static Datum
online_arg(FunctionCallInfo fcinfo, int argno, const char *argname, char *null)
{
	*null = ' ';
	if (PG_ARGISNULL(argno))
	{
		*null = 'n';
		return (Datum) 0;
	}
	if (ARR_NDIM(PG_GETARG_ARRAYTYPE_P(argno)) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be an array of one dimension", argname)));
	return PG_GETARG_DATUM(argno);
}

/*
 * presence_set(guest_id, status, activity, actor, online): what G shows.
 * activity: SQL NULL keeps the stored one (the field was absent), JSON
 * null clears it, else an object of at most 1 KiB as jsonb::text.  actor:
 * the acting guest (a guest token's), who may set only its own presence;
 * NULL for a service.  online: whether G holds a stream now (the gateway
 * knows).  Answers G's presence as others see it.
 */
PG_FUNCTION_INFO_V1(presence_set);
Datum
presence_set(PG_FUNCTION_ARGS)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	char	   *status;
	Datum		values[5];
	char		nulls[5] = {' ', ' ', 'n', ' ', ' '};
	SPITupleTable *tt;
	JsonOut		jo = {0};

	if (!PG_ARGISNULL(3))
	{
		char	   *actor = text_to_cstring(PG_GETARG_TEXT_PP(3));

		if (strcmp(actor, guest_id) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_PARLEY_GUEST_MISMATCH),
					 errmsg("guest \"%s\" may not set the presence of guest \"%s\"",
							actor, guest_id)));
	}
	parley_require_arg(fcinfo, 1, "status");
	status = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(status, "online") != 0 && strcmp(status, "away") != 0 &&
		strcmp(status, "busy") != 0 && strcmp(status, "invisible") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("status must be \"online\", \"away\", \"busy\" or \"invisible\"")));
	values[3] = BoolGetDatum(!PG_ARGISNULL(2));
	if (!PG_ARGISNULL(2))
	{
		Jsonb	   *activity = PG_GETARG_JSONB_P(2);

		if (!(JB_ROOT_IS_SCALAR(activity) && JB_ROOT_COUNT(activity) == 1 &&
			  strcmp(JsonbToCString(NULL, &activity->root, VARSIZE(activity)), "null") == 0))
		{
			char	   *text_form;

			if (!JB_ROOT_IS_OBJECT(activity) || JB_ROOT_IS_SCALAR(activity))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("activity must be a JSON object or null")));
			text_form = JsonbToCString(NULL, &activity->root, VARSIZE(activity));
			if (strlen(text_form) > PRESENCE_ACTIVITY_MAX_BYTES)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("activity must be at most %d bytes as JSON text",
								PRESENCE_ACTIVITY_MAX_BYTES),
						 errdetail("It is %d bytes.", (int) strlen(text_form))));
			values[2] = JsonbPGetDatum(activity);
			nulls[2] = ' ';
		}
	}
	values[4] = BoolGetDatum(!PG_ARGISNULL(4) && PG_GETARG_BOOL(4));

	values[0] = CStringGetTextDatum(guest_id);
	values[1] = CStringGetTextDatum(status);

	SPI_connect();
	if (parley_query_exec(&q_set, values, nulls, false, 0) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));
	tt = SPI_tuptable;
	render_presence(&jo, NULL, tt, 0);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/*
 * presence_get(guest_id, ids, online): the presence of ids as guest_id
 * (the acting guest) sees it, in the order asked, unknown ids left out.
 * ids: 1-100 guest ids; online: those of them the gateway knows online.
 */
PG_FUNCTION_INFO_V1(presence_get);
Datum
presence_get(PG_FUNCTION_ARGS)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	int			n = guest_id_array_arg(fcinfo, 1, "ids");
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	uint64		rows;
	SPITupleTable *tt;
	JsonOut		jo = {0};

	if (n < 1 || n > PRESENCE_IDS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ids must name 1 to %d guests", PRESENCE_IDS_MAX),
				 errdetail("It names %d.", n)));
	values[0] = CStringGetTextDatum(guest_id);
	values[1] = PG_GETARG_DATUM(1);
	values[2] = online_arg(fcinfo, 2, "online", &nulls[2]);

	SPI_connect();
	if (parley_query_exec(&q_guest_exists, values, NULL, true, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));
	rows = parley_query_exec(&q_get, values, nulls, true, 0);
	tt = SPI_tuptable;
	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "presence");
	for (uint64 i = 0; i < rows; i++)
		render_presence(&jo, NULL, tt, i);
	jo_end_array(&jo);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/*
 * presence_audience(guest_ids, online): for a gateway, when the presence
 * of guest_ids changed: {"presence": [{"guest_id", "status", "activity",
 * "last_seen_at", "audience": [ids]}]}, each guest as others see it and
 * who sees it (friends, direct partners, no one across a block).
 */
PG_FUNCTION_INFO_V1(presence_audience);
Datum
presence_audience(PG_FUNCTION_ARGS)
{
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	uint64		rows;
	SPITupleTable *tt;
	JsonOut		jo = {0};

	(void) guest_id_array_arg(fcinfo, 0, "guest_ids");
	values[0] = PG_GETARG_DATUM(0);
	values[1] = online_arg(fcinfo, 1, "online", &nulls[1]);

	SPI_connect();
	rows = parley_query_exec(&q_audience, values, nulls, true, 0);
	tt = SPI_tuptable;
	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "presence");
	for (uint64 i = 0; i < rows; i++)
	{
		bool		isnull;
		Datum		d = parley_col(tt, i, 7, &isnull);
		ArrayType  *a = DatumGetArrayTypeP(d);
		Datum	   *elems;
		bool	   *enulls;
		int			n;

		jo_begin_object(&jo, NULL);
		render_presence_fields(&jo, tt, i);
		deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &elems, &enulls, &n);
		jo_begin_array(&jo, "audience");
		for (int k = 0; k < n; k++)
			jo_text(&jo, NULL, DatumGetTextPP(elems[k]));
		jo_end_array(&jo);
		jo_end_object(&jo);
	}
	jo_end_array(&jo);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/*
 * presence_seen(guest_ids): the gateway that saw these guests' last
 * streams close records last_seen_at (once per guest going offline).
 */
PG_FUNCTION_INFO_V1(presence_seen);
Datum
presence_seen(PG_FUNCTION_ARGS)
{
	Datum		values[1];

	(void) guest_id_array_arg(fcinfo, 0, "guest_ids");
	values[0] = PG_GETARG_DATUM(0);
	SPI_connect();
	parley_query_exec(&q_seen, values, NULL, false, 0);
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

/*
 * typing_check(conversation_id, guest_id): may guest_id send typing in
 * the conversation?  404 or 403, else nothing (204).  It writes nothing;
 * the gateway caches a yes and forwards the typing itself.
 */
PG_FUNCTION_INFO_V1(typing_check);
Datum
typing_check(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *guest_id;
	Datum		values[2];
	bool		isnull;

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	guest_id = parley_guest_id_arg(fcinfo, 1, "guest_id");
	values[0] = cid;
	values[1] = CStringGetTextDatum(guest_id);

	SPI_connect();
	if (parley_query_exec(&q_typing, values, NULL, true, 1) == 0)
		parley_raise_conversation_not_found(cid);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull)))
		parley_raise_not_a_participant(cid, guest_id);
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}
