/*
 * events.c
 *	  What a gateway needs to serve live event streams (Server-Sent Events):
 *	  events_subscribe(), events_fetch(), events_heads(), events_changes()
 *	  (and conversation_heads(), the 0.2.0 poll), plus the change counter
 *	  that edits, deletes and removals bump (parley_count_change()).
 *
 * Writes do not notify.  NOTIFY inside a writing transaction takes a
 * database-wide lock at commit and so serialises every commit; instead the
 * gateway that relayed a write sends a batch of ids (pg_notify, outside any
 * write transaction) and every gateway fetches what is new here, by seq.
 * So these functions are read-only: a subscription checks access and
 * names the conversation's last_seq; a fetch reads messages after a seq;
 * a heads call reads last_seq and change_seq of many conversations at
 * once, for the gateway's periodic safety poll that catches writes made
 * straight in SQL or notifications lost with a crashed gateway.
 *
 * Changes (0.3.0): an edit, a delete or a participant removal bumps the
 * conversation's change_seq in its own transaction (the row its post-style
 * lock already holds, or one more row lock per conversation; no NOTIFY),
 * and an edited or deleted message records it.  A gateway that sees
 * change_seq move asks events_changes() what changed since the value it
 * has: the changed messages, and which of its streaming guests are gone.
 *
 * events_fetch(), events_heads() and events_changes() check no actor: only a gateway
 * that has already subscribed its clients through events_subscribe() calls
 * them.  They are granted to the gateway role only.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "access.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

/* Page size bound of events_fetch(); the gateway asks for 200. */
#define EVENTS_FETCH_MAX 1000

/* Changed messages per events_changes() call; the caller asks again. */
#define EVENTS_CHANGES_MAX 200

/*
 * The conversation (primary key) and whether actor takes part.
 * SUBSCRIBE_SQL(more): more columns after these two.
 */
#define SUBSCRIBE_SQL(more) \
	"SELECT c.last_seq," \
	"       EXISTS (SELECT 1 FROM parley.participants p" \
	"                WHERE p.conversation_id = c.id AND p.guest_id = $2)" more \
	"  FROM parley.conversations c WHERE c.id = $1"

/* 0.3.0: and the change counter (column 3). */
static ParleyQuery q_subscribe[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {SUBSCRIBE_SQL(""), 2, {UUIDOID, TEXTOID}},
	[PARLEY_API_0_3] = {SUBSCRIBE_SQL(", c.change_seq"), 2, {UUIDOID, TEXTOID}},
};

/* Primary key of conversations; the row lock orders changes like posts. */
static ParleyQuery q_count_change = {
	"UPDATE parley.conversations SET change_seq = change_seq + 1"
	" WHERE id = $1 RETURNING change_seq",
	1, {UUIDOID}
};

/*
 * Per (conversation, after) pair, a forward range scan of the messages
 * primary key; pairs in the order given, each ascending seq.
 */
#define FETCH_SQL(columns) \
	"SELECT m.* FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS w(cid, after, ord)" \
	" CROSS JOIN LATERAL (SELECT " columns " FROM parley.messages" \
	"                      WHERE conversation_id = w.cid AND seq > w.after" \
	"                      ORDER BY seq ASC LIMIT $3) AS m" \
	" ORDER BY w.ord, m.seq"

/* 0.5.0: the message's new columns. */
static ParleyQuery q_fetch[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {FETCH_SQL(MESSAGE_COLUMNS), 3, {UUIDARRAYOID, INT8ARRAYOID, INT8OID}},
	[PARLEY_API_0_5] = {FETCH_SQL(MESSAGE_COLUMNS_V05), 3, {UUIDARRAYOID, INT8ARRAYOID, INT8OID}},
};

/*
 * Primary key lookups of conversations; unknown ids are left out.
 * HEADS_SQL(more): more columns after id and last_seq.
 */
#define HEADS_SQL(more) \
	"SELECT id::text, last_seq" more " FROM parley.conversations WHERE id = ANY ($1)"

/* 0.3.0 (events_heads()): and the change counter (column 3). */
static ParleyQuery q_heads[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {HEADS_SQL(""), 1, {UUIDARRAYOID}},
	[PARLEY_API_0_3] = {HEADS_SQL(", change_seq"), 1, {UUIDARRAYOID}},
};

/* Primary key of conversations. */
static ParleyQuery q_change_head = {
	"SELECT change_seq FROM parley.conversations WHERE id = $1",
	1, {UUIDOID}
};

/*
 * The partial index messages_changes_idx, in change order.
 * CHANGES_SQL(columns): the message's columns, then change_seq and whether
 * a reaction was its last change (always false before 0.5.0).
 */
#define CHANGES_SQL(columns, reacted) \
	"SELECT " columns ", change_seq, " reacted " FROM parley.messages" \
	" WHERE conversation_id = $1 AND change_seq > $2" \
	" ORDER BY change_seq LIMIT $3"

/* 0.5.0: the message's new columns, and reactions as changes. */
static ParleyQuery q_changes[PARLEY_API_COUNT] = {
	[PARLEY_API_0_3] = {CHANGES_SQL(MESSAGE_COLUMNS, "false"), 3, {UUIDOID, INT8OID, INT8OID}},
	[PARLEY_API_0_5] = {
		CHANGES_SQL(MESSAGE_COLUMNS_V05,
					"deleted_at IS NULL AND reacted_change_seq IS NOT DISTINCT FROM change_seq"),
		3, {UUIDOID, INT8OID, INT8OID}
	},
};

/* Per given guest, a primary key probe of participants; in the order given. */
static ParleyQuery q_gone = {
	"SELECT u.g FROM unnest($2::text[]) WITH ORDINALITY AS u(g, i)"
	" WHERE NOT EXISTS (SELECT 1 FROM parley.participants p"
	"                    WHERE p.conversation_id = $1 AND p.guest_id = u.g)"
	" ORDER BY u.i",
	2, {UUIDOID, TEXTARRAYOID}
};

int64
parley_count_change(Datum cid)
{
	bool		isnull;

	if (parley_query_exec(&q_count_change, &cid, NULL, false, 1) != 1)
		parley_raise_conversation_not_found(cid);
	return DatumGetInt64(parley_col(SPI_tuptable, 0, 1, &isnull));
}

/*
 * events_subscribe(conversation_id, actor, after): 404 unless the
 * conversation exists, 403 unless actor takes part, 400 for a negative
 * cursor; answers {"last_seq": N} and, from 0.3.0, "change_seq".  The
 * gateway registers the stream before it fetches anything, so a message
 * committed after this answer is found by its first fetch, and a change
 * committed after it by its first events_changes().
 */
static Datum
events_subscribe_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	char	   *actor;
	int64		after = 0;
	Datum		values[2];
	bool		isnull;
	SPITupleTable *tt;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	actor = parley_guest_id_arg(fcinfo, 1, "actor");
	(void) parley_seq_cursor_arg(fcinfo, 2, "after", &after);

	SPI_connect();
	values[0] = cid;
	values[1] = CStringGetTextDatum(actor);
	if (parley_query_exec(parley_query_at(q_subscribe, api), values, NULL, true, 1) == 0)
		parley_raise_conversation_not_found(cid);
	tt = SPI_tuptable;
	if (!DatumGetBool(parley_col(tt, 0, 2, &isnull)))
		parley_raise_not_a_participant(cid, actor);

	jo_begin_object(&jo, NULL);
	jo_int64(&jo, "last_seq", DatumGetInt64(parley_col(tt, 0, 1, &isnull)));
	if (api >= PARLEY_API_0_3)
		jo_int64(&jo, "change_seq", DatumGetInt64(parley_col(tt, 0, 3, &isnull)));
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* The symbols of the 0.1.0 and 0.3.0 SQL (with the change counter). */
PARLEY_API_ENTRY(events_subscribe, events_subscribe_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(events_subscribe_v0_3, events_subscribe_impl, PARLEY_API_0_3)

/*
 * events_fetch(conversation_ids, afters, limit): for each conversation the
 * oldest limit messages with seq > its after, as {"messages": [...]}, in
 * the order of the ids, each ascending seq.  One call serves every
 * conversation a gateway has to catch up, so fan-out costs one round trip
 * per batch of notifications, not one per post.  No actor check (see the
 * file header); unknown conversations have no messages.
 */
static Datum
events_fetch_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	ArrayType  *ids;
	ArrayType  *afters;
	int32		limit = 200;
	Datum	   *after_values;
	bool	   *after_nulls;
	int			nafters;
	Datum		values[3];
	uint64		n;
	SPITupleTable *tt;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_ids");
	parley_require_arg(fcinfo, 1, "afters");
	ids = PG_GETARG_ARRAYTYPE_P(0);
	afters = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_NDIM(ids) > 1 || ARR_NDIM(afters) > 1 ||
		ArrayGetNItems(ARR_NDIM(ids), ARR_DIMS(ids)) !=
		ArrayGetNItems(ARR_NDIM(afters), ARR_DIMS(afters)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversation_ids and afters must be one-dimensional arrays of the same length")));
	deconstruct_array(afters, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE,
					  &after_values, &after_nulls, &nafters);
	for (int i = 0; i < nafters; i++)
		if (after_nulls[i] || DatumGetInt64(after_values[i]) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("every after must be a non-negative seq")));
	if (!PG_ARGISNULL(2))
		limit = PG_GETARG_INT32(2);
	if (limit < 1 || limit > EVENTS_FETCH_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("limit must be between 1 and %d", EVENTS_FETCH_MAX),
				 errdetail("It is %d.", limit)));

	SPI_connect();
	values[0] = PointerGetDatum(ids);
	values[1] = PointerGetDatum(afters);
	values[2] = Int64GetDatum((int64) limit);
	n = parley_query_exec(parley_query_at(q_fetch, api), values, NULL, true, 0);
	tt = SPI_tuptable;

	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "messages");
	for (uint64 i = 0; i < n; i++)
		render_message_at(&jo, NULL, tt, i, 1, api);
	jo_end_array(&jo);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* The symbols of the 0.1.0 and 0.5.0 SQL (the new message fields). */
PARLEY_API_ENTRY(events_fetch, events_fetch_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(events_fetch_v0_5, events_fetch_impl, PARLEY_API_0_5)

/*
 * The heads of API 0.1.0, conversation_heads(ids): {"<conversation id>":
 * last_seq, ...}, and of 0.3.0, events_heads(ids): {"<conversation id>":
 * [last_seq, change_seq], ...}, for the ids that exist.  One call covers
 * every conversation a gateway streams.  (0.3.0 made the new answer a new
 * function, so conversation_heads keeps its 0.1.0 answer at every version.)
 */
static Datum
heads_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		values[1];
	uint64		n;
	SPITupleTable *tt;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_ids");
	values[0] = PointerGetDatum(PG_GETARG_ARRAYTYPE_P(0));

	SPI_connect();
	n = parley_query_exec(parley_query_at(q_heads, api), values, NULL, true, 0);
	tt = SPI_tuptable;
	jo_begin_object(&jo, NULL);
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		char	   *id = TextDatumGetCString(parley_col(tt, i, 1, &isnull));
		int64		last_seq = DatumGetInt64(parley_col(tt, i, 2, &isnull));

		if (api < PARLEY_API_0_3)
		{
			jo_int64(&jo, id, last_seq);
			continue;
		}
		jo_begin_array(&jo, id);
		jo_int64(&jo, NULL, last_seq);
		jo_int64(&jo, NULL, DatumGetInt64(parley_col(tt, i, 3, &isnull)));
		jo_end_array(&jo);
	}
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

PARLEY_API_ENTRY(conversation_heads, heads_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(events_heads, heads_impl, PARLEY_API_0_3)

/*
 * events_changes(conversation_id, after_change, guests): what changed in a
 * conversation since change_seq after_change, for a gateway's streams:
 * {"change_seq": N, "messages": [...], "gone": [...]}.  messages are the
 * ones edited or deleted after after_change, in change order, at most
 * EVENTS_CHANGES_MAX; change_seq is how far the answer goes (the last
 * message's when there may be more, else the conversation's), to be passed
 * as after_change next time.  gone lists the given guests that take no
 * part (any more), in the order given: all of them when the conversation
 * does not exist.  From 0.5.0 the messages have the new fields, reactions
 * are changes too, and "reacted" says for each message whether a reaction
 * was its last change (a message_reacted event, not message_edited).
 */
static Datum
events_changes_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	int64		after;
	ArrayType  *guests;
	Datum		values[3];
	int64		head = 0;
	uint64		n;
	uint64		ngone;
	SPITupleTable *tt;
	SPITupleTable *gone;
	bool		isnull;
	int			ncols;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	parley_require_arg(fcinfo, 1, "after_change");
	(void) parley_seq_cursor_arg(fcinfo, 1, "after_change", &after);
	parley_require_arg(fcinfo, 2, "guests");
	guests = PG_GETARG_ARRAYTYPE_P(2);
	if (ARR_NDIM(guests) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("guests must be a one-dimensional array")));

	SPI_connect();
	if (parley_query_exec(&q_change_head, &cid, NULL, true, 1) == 1)
		head = DatumGetInt64(parley_col(SPI_tuptable, 0, 1, &isnull));
	values[0] = cid;
	values[1] = Int64GetDatum(after);
	values[2] = Int64GetDatum((int64) EVENTS_CHANGES_MAX);
	n = parley_query_exec(parley_query_at(q_changes, api), values, NULL, true, 0);
	tt = SPI_tuptable;
	ncols = api >= PARLEY_API_0_5 ? MESSAGE_NCOLUMNS_V05 : MESSAGE_NCOLUMNS;
	if (n == EVENTS_CHANGES_MAX)
		head = DatumGetInt64(parley_col(tt, n - 1, ncols + 1, &isnull));
	values[1] = PointerGetDatum(guests);
	ngone = parley_query_exec(&q_gone, values, NULL, true, 0);
	gone = SPI_tuptable;

	jo_begin_object(&jo, NULL);
	jo_int64(&jo, "change_seq", Max(head, after));
	jo_begin_array(&jo, "messages");
	for (uint64 i = 0; i < n; i++)
		render_message_at(&jo, NULL, tt, i, 1, api);
	jo_end_array(&jo);
	if (api >= PARLEY_API_0_5)
	{
		jo_begin_array(&jo, "reacted");
		for (uint64 i = 0; i < n; i++)
			jo_bool(&jo, NULL, DatumGetBool(parley_col(tt, i, ncols + 2, &isnull)));
		jo_end_array(&jo);
	}
	jo_begin_array(&jo, "gone");
	for (uint64 i = 0; i < ngone; i++)
		render_col_text(&jo, NULL, gone, i, 1);
	jo_end_array(&jo);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* The symbols of the 0.3.0 and 0.5.0 SQL (the new fields, reactions). */
PARLEY_API_ENTRY(events_changes, events_changes_impl, PARLEY_API_0_3)
PARLEY_API_ENTRY(events_changes_v0_5, events_changes_impl, PARLEY_API_0_5)
