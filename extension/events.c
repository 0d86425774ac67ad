/*
 * events.c
 *	  What a gateway needs to serve live event streams (Server-Sent Events):
 *	  events_subscribe(), events_fetch(), conversation_heads().
 *
 * Writes do not notify.  NOTIFY inside a writing transaction takes a
 * database-wide lock at commit and so serialises every commit; instead the
 * gateway that relayed a write sends a batch of ids (pg_notify, outside any
 * write transaction) and every gateway fetches what is new here, by seq.
 * So these functions are read-only: a subscription checks access and
 * names the conversation's last_seq; a fetch reads messages after a seq;
 * a heads call reads last_seq of many conversations at once, for the
 * gateway's periodic safety poll that catches writes made straight in SQL
 * or notifications lost with a crashed gateway.
 *
 * events_fetch() and conversation_heads() check no actor: only a gateway
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

/* The conversation (primary key) and whether actor takes part. */
static ParleyQuery q_subscribe = {
	"SELECT c.last_seq,"
	"       EXISTS (SELECT 1 FROM parley.participants p"
	"                WHERE p.conversation_id = c.id AND p.guest_id = $2)"
	"  FROM parley.conversations c WHERE c.id = $1",
	2, {UUIDOID, TEXTOID}
};

/*
 * Per (conversation, after) pair, a forward range scan of the messages
 * primary key; pairs in the order given, each ascending seq.
 */
static ParleyQuery q_fetch = {
	"SELECT m.* FROM unnest($1::uuid[], $2::bigint[]) WITH ORDINALITY AS w(cid, after, ord)"
	" CROSS JOIN LATERAL (SELECT " MESSAGE_COLUMNS " FROM parley.messages"
	"                      WHERE conversation_id = w.cid AND seq > w.after"
	"                      ORDER BY seq ASC LIMIT $3) AS m"
	" ORDER BY w.ord, m.seq",
	3, {UUIDARRAYOID, INT8ARRAYOID, INT8OID}
};

/* Primary key lookups of conversations; unknown ids are left out. */
static ParleyQuery q_heads = {
	"SELECT id::text, last_seq FROM parley.conversations WHERE id = ANY ($1)",
	1, {UUIDARRAYOID}
};

/*
 * events_subscribe(conversation_id, actor, after): 404 unless the
 * conversation exists, 403 unless actor takes part, 400 for a negative
 * cursor; answers {"last_seq": N}.  The gateway registers the stream
 * before it fetches anything, so a message committed after this answer is
 * found by its first fetch.
 */
PG_FUNCTION_INFO_V1(events_subscribe);
Datum
events_subscribe(PG_FUNCTION_ARGS)
{
	Datum		cid;
	char	   *actor;
	int64		after = 0;
	Datum		values[2];
	bool		isnull;
	int64		last_seq;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	actor = parley_guest_id_arg(fcinfo, 1, "actor");
	(void) parley_seq_cursor_arg(fcinfo, 2, "after", &after);

	SPI_connect();
	values[0] = cid;
	values[1] = CStringGetTextDatum(actor);
	if (parley_query_exec(&q_subscribe, values, NULL, true, 1) == 0)
		parley_raise_conversation_not_found(cid);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 2, &isnull)))
		parley_raise_not_a_participant(cid, actor);
	last_seq = DatumGetInt64(parley_col(SPI_tuptable, 0, 1, &isnull));

	jo_begin_object(&jo, NULL);
	jo_int64(&jo, "last_seq", last_seq);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/*
 * events_fetch(conversation_ids, afters, limit): for each conversation the
 * oldest limit messages with seq > its after, as {"messages": [...]}, in
 * the order of the ids, each ascending seq.  One call serves every
 * conversation a gateway has to catch up, so fan-out costs one round trip
 * per batch of notifications, not one per post.  No actor check (see the
 * file header); unknown conversations have no messages.
 */
PG_FUNCTION_INFO_V1(events_fetch);
Datum
events_fetch(PG_FUNCTION_ARGS)
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
	n = parley_query_exec(&q_fetch, values, NULL, true, 0);
	tt = SPI_tuptable;

	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "messages");
	for (uint64 i = 0; i < n; i++)
		render_message(&jo, NULL, tt, i, 1);
	jo_end_array(&jo);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/*
 * conversation_heads(ids): {"<conversation id>": last_seq, ...} for the
 * ids that exist.  One call covers every conversation a gateway streams.
 */
PG_FUNCTION_INFO_V1(conversation_heads);
Datum
conversation_heads(PG_FUNCTION_ARGS)
{
	Datum		values[1];
	uint64		n;
	SPITupleTable *tt;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_ids");
	values[0] = PointerGetDatum(PG_GETARG_ARRAYTYPE_P(0));

	SPI_connect();
	n = parley_query_exec(&q_heads, values, NULL, true, 0);
	tt = SPI_tuptable;
	jo_begin_object(&jo, NULL);
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		char	   *id = TextDatumGetCString(parley_col(tt, i, 1, &isnull));

		jo_int64(&jo, id, DatumGetInt64(parley_col(tt, i, 2, &isnull)));
	}
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}
