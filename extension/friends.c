/*
 * friends.c
 *	  friend_request(), friend_remove(), guest_block(), guest_unblock(),
 *	  friend_list() (extension version 0.2.0, API.md section 5).
 *
 * A friendship is two directed rows of parley.friendships, one per side, and
 * a block two rows of parley.blocks ("blocking" on the blocker's side,
 * "blocked_by" on the other's), so every question about one guest is a
 * primary key probe of that guest's rows: a proxy sharding by guest id finds
 * them together.
 *
 * Every change of a pair first takes a transaction-level advisory lock on
 * the sorted pair, so two guests asking each other at the same moment, or a
 * request racing a block, run one after the other instead of colliding on
 * the primary key.
 *
 * Checks, in order: arguments (400, also for oneself), the acting guest
 * (0.4.0: 403 guest_mismatch), both guests exist (404), then the rule of
 * the function.
 *
 * 0.4.0 (API.md section 7) adds a last argument, actor: the acting guest
 * (a guest token's guest), NULL for a service.  When given it must be
 * guest_id, the guest whose side of the pair changes or is listed: a guest
 * acts only for itself.  The 0.2.0 symbols (no actor) serve databases at
 * 0.2.0 and 0.3.0.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "cursor.h"
#include "friends.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

/* Primary key of guests. */
static ParleyQuery q_guest_exists = {
	"SELECT 1 FROM parley.guests WHERE guest_id = $1",
	1, {TEXTOID}
};

/*
 * The pair's lock.  '/' cannot occur in a guest id, so "a/b" of the sorted
 * pair names one pair; a hash collision only makes two pairs wait for each
 * other.
 */
static ParleyQuery q_lock_pair = {
	"SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended("
	"  LEAST($1, $2) || '/' || GREATEST($1, $2), 7))",
	2, {TEXTOID, TEXTOID}
};

/* Any block between the two, either way: primary key prefix of $1's rows. */
static ParleyQuery q_blocked = {
	"SELECT 1 FROM parley.blocks WHERE guest_id = $1 AND other_id = $2 LIMIT 1",
	2, {TEXTOID, TEXTOID}
};

/* $1's side of the pair (primary key of friendships). */
static ParleyQuery q_friendship = {
	"SELECT " FRIENDSHIP_COLUMNS " FROM parley.friendships"
	" WHERE guest_id = $1 AND other_id = $2",
	2, {TEXTOID, TEXTOID}
};

/*
 * Under the pair's lock nothing can conflict in READ COMMITTED.  ON CONFLICT
 * is for REPEATABLE READ and SERIALIZABLE callers, whose snapshot may predate
 * a request committed while they waited: PostgreSQL then raises a
 * serialization failure (40001, retry) instead of a unique violation.
 */
static ParleyQuery q_insert_request = {
	"INSERT INTO parley.friendships (guest_id, other_id, status)"
	" VALUES ($1, $2, 'outgoing'), ($2, $1, 'incoming')"
	" ON CONFLICT DO NOTHING",
	2, {TEXTOID, TEXTOID}
};

static ParleyQuery q_accept = {
	"UPDATE parley.friendships SET status = 'accepted', since = now()"
	" WHERE (guest_id = $1 AND other_id = $2) OR (guest_id = $2 AND other_id = $1)",
	2, {TEXTOID, TEXTOID}
};

/* Both sides; answers how many rows went (0 or 2). */
static ParleyQuery q_delete_friendship = {
	"DELETE FROM parley.friendships"
	" WHERE (guest_id = $1 AND other_id = $2) OR (guest_id = $2 AND other_id = $1)",
	2, {TEXTOID, TEXTOID}
};

/* A repeated block keeps its first "since". */
static ParleyQuery q_insert_block = {
	"INSERT INTO parley.blocks (guest_id, other_id, direction)"
	" VALUES ($1, $2, 'blocking'), ($2, $1, 'blocked_by')"
	" ON CONFLICT DO NOTHING",
	2, {TEXTOID, TEXTOID}
};

/* The blocker's row, as the friendship shape with status "blocked". */
static ParleyQuery q_block = {
	"SELECT guest_id, other_id, 'blocked', since FROM parley.blocks"
	" WHERE guest_id = $1 AND other_id = $2 AND direction = 'blocking'",
	2, {TEXTOID, TEXTOID}
};

/* Only the blocker's block: the other side may hold a block of its own. */
static ParleyQuery q_delete_block = {
	"DELETE FROM parley.blocks"
	" WHERE (guest_id = $1 AND other_id = $2 AND direction = 'blocking')"
	"    OR (guest_id = $2 AND other_id = $1 AND direction = 'blocked_by')",
	2, {TEXTOID, TEXTOID}
};

/*
 * friend_list() pages: friendships_list_idx (guest_id, status, since DESC,
 * other_id DESC), LIMIT (limit + 1) rows, the extra one telling whether
 * there is another page.
 */
#define LIST_SELECT \
	"SELECT " FRIENDSHIP_COLUMNS " FROM parley.friendships" \
	" WHERE guest_id = $1 AND status = $2"
#define LIST_ORDER " ORDER BY since DESC, other_id DESC LIMIT $3"

static ParleyQuery q_list_first = {
	LIST_SELECT LIST_ORDER,
	3, {TEXTOID, TEXTOID, INT8OID}
};

static ParleyQuery q_list_before = {
	LIST_SELECT " AND (since, other_id) < ($4, $5)" LIST_ORDER,
	5, {TEXTOID, TEXTOID, INT8OID, TIMESTAMPTZOID, TEXTOID}
};

/*
 * 0.4.0: the actor argument (argno), when given, must be guest: 403
 * guest_mismatch.  "what" names the action ("change the friends of").
 */
static void
check_actor(FunctionCallInfo fcinfo, ParleyApi api, int argno, const char *guest,
			const char *what)
{
	char	   *actor;

	if (api < PARLEY_API_0_4 || PG_ARGISNULL(argno))
		return;
	actor = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(actor, guest) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_MISMATCH),
				 errmsg("guest \"%s\" may not %s guest \"%s\"", actor, what, guest),
				 errhint("A guest acts only for itself: guest_id must be the acting guest.")));
}

/*
 * The two guest id arguments and (0.4.0) the actor, the third; "what"
 * names the action in the error for oneself ("send a friend request to",
 * "block").
 */
static void
pair_args(FunctionCallInfo fcinfo, ParleyApi api, const char *what, char **guest, char **other)
{
	*guest = parley_guest_id_arg(fcinfo, 0, "guest_id");
	*other = parley_guest_id_arg(fcinfo, 1, "other_id");
	check_actor(fcinfo, api, 2, *guest, "change the friends and blocks of");
	if (strcmp(*guest, *other) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a guest cannot %s itself", what),
				 errdetail("guest_id and other_id are both \"%s\".", *guest)));
}

static void
require_guest(const char *id)
{
	Datum		value = CStringGetTextDatum(id);

	if (parley_query_exec(&q_guest_exists, &value, NULL, false, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", id)));
}

/* SPI_connect(), both guests exist, the pair's lock; fills values[0..1]. */
static void
begin_pair_change(const char *guest, const char *other, Datum *values)
{
	SPI_connect();
	require_guest(guest);
	require_guest(other);
	values[0] = CStringGetTextDatum(guest);
	values[1] = CStringGetTextDatum(other);
	parley_query_exec(&q_lock_pair, values, NULL, false, 0);
}

bool
parley_pair_blocked(const char *guest, const char *other)
{
	Datum		values[2];

	values[0] = CStringGetTextDatum(guest);
	values[1] = CStringGetTextDatum(other);
	return parley_query_exec(&q_blocked, values, NULL, false, 1) > 0;
}

void
parley_raise_blocked(const char *guest, const char *other, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_BLOCKED),
			 errmsg("guest \"%s\" cannot %s guest \"%s\": a block stands between them",
					guest, what, other),
			 errhint("Only the guest who blocked can lift the block.")));
}

static Datum
friend_request_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	char	   *guest;
	char	   *other;
	Datum		values[2];
	int			status = 200;
	JsonOut		jo = {0};

	pair_args(fcinfo, api, "send a friend request to", &guest, &other);
	begin_pair_change(guest, other, values);

	if (parley_pair_blocked(guest, other))
		parley_raise_blocked(guest, other, "send a friend request to");

	if (parley_query_exec(&q_friendship, values, NULL, false, 1) == 0)
	{
		parley_query_exec(&q_insert_request, values, NULL, false, 0);
		status = 201;
	}
	else
	{
		bool		isnull;
		char	   *current = TextDatumGetCString(parley_col(SPI_tuptable, 0, 3, &isnull));

		/* F had asked G: asking back accepts.  Repeats change nothing. */
		if (strcmp(current, "incoming") == 0)
			parley_query_exec(&q_accept, values, NULL, false, 0);
	}

	if (parley_query_exec(&q_friendship, values, NULL, false, 1) != 1)
		elog(ERROR, "parley: friendship row missing after friend_request");
	render_friendship(&jo, NULL, SPI_tuptable, 0, 1);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, status));
}

static Datum
friend_remove_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	char	   *guest;
	char	   *other;
	Datum		values[2];

	pair_args(fcinfo, api, "be friends with", &guest, &other);
	begin_pair_change(guest, other, values);

	if (parley_query_exec(&q_delete_friendship, values, NULL, false, 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_FRIENDSHIP_NOT_FOUND),
				 errmsg("guest \"%s\" has no friendship or request with guest \"%s\"",
						guest, other)));

	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

static Datum
guest_block_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	char	   *guest;
	char	   *other;
	Datum		values[2];
	JsonOut		jo = {0};

	pair_args(fcinfo, api, "block", &guest, &other);
	begin_pair_change(guest, other, values);

	parley_query_exec(&q_delete_friendship, values, NULL, false, 0);
	parley_query_exec(&q_insert_block, values, NULL, false, 0);
	if (parley_query_exec(&q_block, values, NULL, false, 1) != 1)
		elog(ERROR, "parley: block row missing after guest_block");
	render_friendship(&jo, NULL, SPI_tuptable, 0, 1);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

static Datum
guest_unblock_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	char	   *guest;
	char	   *other;
	Datum		values[2];

	pair_args(fcinfo, api, "unblock", &guest, &other);
	begin_pair_change(guest, other, values);

	if (parley_query_exec(&q_delete_block, values, NULL, false, 0) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_BLOCK_NOT_FOUND),
				 errmsg("guest \"%s\" does not block guest \"%s\"", guest, other),
				 errhint("Only the guest who blocked can lift the block.")));

	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

/*
 * The cursor of friend_list() (cursor.h): "since" of the last row of a page,
 * and the other guest's id to break ties.
 */
static char *
list_cursor_decode(text *cursor, TimestampTz *since)
{
	int			n;
	char	   *other = (char *) parley_cursor_decode(cursor, since, 1, PARLEY_ID_MAX_BYTES, &n);

	parley_check_guest_id(other, n, "before");
	return other;
}

static Datum
friend_list_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	char	   *guest = parley_guest_id_arg(fcinfo, 0, "guest_id");
	const char *status = "accepted";
	int			limit = parley_page_limit(fcinfo, 3);
	TimestampTz before_since = 0;
	char	   *before_other = NULL;
	Datum		values[5];
	uint64		n;
	uint64		npage;
	SPITupleTable *page;
	JsonOut		jo = {0};

	check_actor(fcinfo, api, 4, guest, "list the friends of");
	if (!PG_ARGISNULL(1))
	{
		status = text_to_cstring(PG_GETARG_TEXT_PP(1));
		if (strcmp(status, "accepted") != 0 && strcmp(status, "incoming") != 0 &&
			strcmp(status, "outgoing") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("status must be \"accepted\", \"incoming\" or \"outgoing\"")));
	}
	if (!PG_ARGISNULL(2))
		before_other = list_cursor_decode(PG_GETARG_TEXT_PP(2), &before_since);

	SPI_connect();
	require_guest(guest);

	values[0] = CStringGetTextDatum(guest);
	values[1] = CStringGetTextDatum(status);
	values[2] = Int64GetDatum((int64) limit + 1);
	if (before_other != NULL)
	{
		values[3] = TimestampTzGetDatum(before_since);
		values[4] = CStringGetTextDatum(before_other);
		n = parley_query_exec(&q_list_before, values, NULL, true, 0);
	}
	else
		n = parley_query_exec(&q_list_first, values, NULL, true, 0);
	page = SPI_tuptable;
	npage = Min(n, (uint64) limit);

	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "friends");
	for (uint64 i = 0; i < npage; i++)
		render_friendship(&jo, NULL, page, i, 1);
	jo_end_array(&jo);
	jo_bool(&jo, "has_more", n > npage);
	if (n > npage)
	{
		bool		isnull;
		TimestampTz since = DatumGetTimestampTz(parley_col(page, npage - 1, 4, &isnull));
		char	   *other = TextDatumGetCString(parley_col(page, npage - 1, 2, &isnull));

		jo_cstring(&jo, "next_before", parley_cursor_encode(since, (const uint8 *) other, strlen(other)));
	}
	else
		jo_null(&jo, "next_before");
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* 0.2.0 and 0.3.0: no actor.  0.4.0: the actor, last. */
PARLEY_API_ENTRY(friend_request, friend_request_impl, PARLEY_API_0_2)
PARLEY_API_ENTRY(friend_request_v0_4, friend_request_impl, PARLEY_API_0_4)
PARLEY_API_ENTRY(friend_remove, friend_remove_impl, PARLEY_API_0_2)
PARLEY_API_ENTRY(friend_remove_v0_4, friend_remove_impl, PARLEY_API_0_4)
PARLEY_API_ENTRY(guest_block, guest_block_impl, PARLEY_API_0_2)
PARLEY_API_ENTRY(guest_block_v0_4, guest_block_impl, PARLEY_API_0_4)
PARLEY_API_ENTRY(guest_unblock, guest_unblock_impl, PARLEY_API_0_2)
PARLEY_API_ENTRY(guest_unblock_v0_4, guest_unblock_impl, PARLEY_API_0_4)
PARLEY_API_ENTRY(friend_list, friend_list_impl, PARLEY_API_0_2)
PARLEY_API_ENTRY(friend_list_v0_4, friend_list_impl, PARLEY_API_0_4)
