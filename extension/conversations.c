/*
 * conversations.c
 *	  conversation_create(), conversation_get(), conversation_list().
 *
 * A conversation is answered as its row (CONVERSATION_COLUMNS) plus its
 * participants ordered by joined_at, guest_id; in lists also "unread".
 *
 * Direct conversations have a derived id (ids.h), so the unique key of the
 * pair is the primary key itself: two guests creating their conversation at
 * the same time both run INSERT ... ON CONFLICT (id) DO NOTHING; the second
 * waits for the first to commit and then finds its row.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "access.h"
#include "conversations.h"
#include "cursor.h"
#include "friends.h"
#include "ids.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "settings.h"
#include "validate.h"

/* Primary key of guests. */
static ParleyQuery q_guest_exists = {
	"SELECT 1 FROM parley.guests WHERE guest_id = $1",
	1, {TEXTOID}
};

/*
 * The first id of a sorted array that names no guest.  One primary key probe
 * of guests per element.
 */
static ParleyQuery q_unknown_guest = {
	"SELECT u.g FROM unnest($1::text[]) WITH ORDINALITY AS u(g, n)"
	" WHERE NOT EXISTS (SELECT 1 FROM parley.guests x WHERE x.guest_id = u.g)"
	" ORDER BY u.n LIMIT 1",
	1, {TEXTARRAYOID}
};

/*
 * A direct conversation that exists already (the pair's derived id) inserts
 * nothing; ON CONFLICT waits for a concurrent inserter of the same id to
 * finish, so after it the row is committed and the next statement sees it.
 */
#define INSERT_CONVERSATION_SQL(extra) \
	"INSERT INTO parley.conversations (id, kind, title, created_by)" \
	" VALUES ($1, $2, $3, $4)" \
	" ON CONFLICT (id) DO NOTHING" \
	" RETURNING " CONVERSATION_COLUMNS extra

/* 0.5.0 and 0.6.0: the columns they add (render.h). */
static ParleyQuery q_insert_conversation[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {INSERT_CONVERSATION_SQL(""), 4, {UUIDOID, TEXTOID, TEXTOID, TEXTOID}},
	[PARLEY_API_0_5] = {INSERT_CONVERSATION_SQL(CONVERSATION_EXTRA_0_5), 4, {UUIDOID, TEXTOID, TEXTOID, TEXTOID}},
	[PARLEY_API_0_6] = {INSERT_CONVERSATION_SQL(CONVERSATION_EXTRA_0_6), 4, {UUIDOID, TEXTOID, TEXTOID, TEXTOID}},
};

/* $3 is the owner, NULL for a direct conversation (both are members). */
static ParleyQuery q_insert_participants = {
	"INSERT INTO parley.participants (conversation_id, guest_id, role)"
	" SELECT $1, u.g, CASE WHEN u.g = $3 THEN 'owner' ELSE 'member' END"
	"   FROM unnest($2::text[]) AS u(g)",
	3, {UUIDOID, TEXTARRAYOID, TEXTOID}
};

/* Primary key of conversations; 0.5.0 and 0.6.0: the columns they add. */
#define CONVERSATION_SQL(extra) \
	"SELECT " CONVERSATION_COLUMNS extra " FROM parley.conversations WHERE id = $1"
static ParleyQuery q_conversation[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {CONVERSATION_SQL(""), 1, {UUIDOID}},
	[PARLEY_API_0_5] = {CONVERSATION_SQL(CONVERSATION_EXTRA_0_5), 1, {UUIDOID}},
	[PARLEY_API_0_6] = {CONVERSATION_SQL(CONVERSATION_EXTRA_0_6), 1, {UUIDOID}},
};

/*
 * conversation_get(): the row and whether the actor takes part, in one
 * statement: primary key of conversations, then primary key of participants
 * (conversation_id, guest_id).
 */
#define CONVERSATION_FOR_ACTOR_SQL(extra) \
	"SELECT " CONVERSATION_COLUMNS "," \
	"       EXISTS (SELECT 1 FROM parley.participants p" \
	"                WHERE p.conversation_id = c.id AND p.guest_id = $2)" extra \
	"  FROM parley.conversations c WHERE c.id = $1"
static ParleyQuery q_conversation_for_actor[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {CONVERSATION_FOR_ACTOR_SQL(""), 2, {UUIDOID, TEXTOID}},
	[PARLEY_API_0_5] = {CONVERSATION_FOR_ACTOR_SQL(CONVERSATION_EXTRA_0_5), 2, {UUIDOID, TEXTOID}},
	[PARLEY_API_0_6] = {CONVERSATION_FOR_ACTOR_SQL(CONVERSATION_EXTRA_0_6), 2, {UUIDOID, TEXTOID}},
};

/* Range scan of the participants primary key, then a sort (<= 1000 rows). */
static ParleyQuery q_participants = {
	"SELECT " PARTICIPANT_COLUMNS " FROM parley.participants"
	" WHERE conversation_id = $1 ORDER BY joined_at, guest_id",
	1, {UUIDOID}
};

/*
 * conversation_list(): participants_guest_idx (guest_id, conversation_id)
 * finds the guest's conversations, each joined by the conversations primary
 * key; then a top-N sort on activity.  Activity lives in conversations and
 * membership in participants, so no single index yields this order: a page
 * costs O(the guest's conversations), not O(limit).  The column lists of
 * the two tables do not overlap, so CONVERSATION_COLUMNS needs no alias.
 */
#define LIST_SELECT_COLS(settings, extra) \
	"SELECT " CONVERSATION_COLUMNS ", p.last_read_seq," \
	"       COALESCE(c.last_message_at, c.created_at) AS activity" settings extra \
	"  FROM parley.participants p" \
	"  JOIN parley.conversations c ON c.id = p.conversation_id" \
	" WHERE p.guest_id = $1"
#define LIST_SELECT LIST_SELECT_COLS("", "")
#define LIST_ORDER \
	" ORDER BY activity DESC, c.id DESC LIMIT $2"
#define LIST_BEFORE \
	"   AND (COALESCE(c.last_message_at, c.created_at), c.id) < ($3, $4)"
#define LIST_COL_LAST_READ	(CONVERSATION_NCOLUMNS + 1)
#define LIST_COL_ACTIVITY	(CONVERSATION_NCOLUMNS + 2)

/* -- 0.5.0 per-guest settings (API.md section 9; settings.c) -------------- */
/*
 * From 0.5.0 a list entry also carries G's settings (participants columns)
 * and the list takes archived ($5: NULL all, else only those archived or
 * not).  Both statements take the same five parameters; the first page
 * leaves $3 and $4 unused.
 */
#define LIST_SETTINGS_COLS \
	", p.notifications_off_until, p.archived, p.pinned"
#define LIST_ARCHIVED \
	"   AND ($5::boolean IS NULL OR p.archived = $5)"
#define LIST_COL_SETTINGS	(CONVERSATION_NCOLUMNS + 3)
#define LIST_ARGS_0_5 \
	5, {TEXTOID, INT8OID, TIMESTAMPTZOID, UUIDOID, BOOLOID}
/* -- end of 0.5.0 per-guest settings --------------------------------------- */

/*
 * 0.5.0 and 0.6.0 also select the conversation columns they add
 * (CONVERSATION_EXTRA_*, rendered by name), after the settings.
 */
static ParleyQuery q_list_first[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {LIST_SELECT LIST_ORDER, 2, {TEXTOID, INT8OID}},
	[PARLEY_API_0_5] = {LIST_SELECT_COLS(LIST_SETTINGS_COLS, CONVERSATION_EXTRA_0_5) LIST_ARCHIVED LIST_ORDER,
	LIST_ARGS_0_5},
	[PARLEY_API_0_6] = {LIST_SELECT_COLS(LIST_SETTINGS_COLS, CONVERSATION_EXTRA_0_6) LIST_ARCHIVED LIST_ORDER,
	LIST_ARGS_0_5},
};

static ParleyQuery q_list_before[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {LIST_SELECT LIST_BEFORE LIST_ORDER,
	4, {TEXTOID, INT8OID, TIMESTAMPTZOID, UUIDOID}},
	[PARLEY_API_0_5] = {LIST_SELECT_COLS(LIST_SETTINGS_COLS, CONVERSATION_EXTRA_0_5) LIST_BEFORE LIST_ARCHIVED
	LIST_ORDER, LIST_ARGS_0_5},
	[PARLEY_API_0_6] = {LIST_SELECT_COLS(LIST_SETTINGS_COLS, CONVERSATION_EXTRA_0_6) LIST_BEFORE LIST_ARCHIVED
	LIST_ORDER, LIST_ARGS_0_5},
};

/*
 * settings.c: one conversation as conversation_list() (0.5.0) answers it,
 * for guest $1: the primary key of participants, then of conversations.
 */
static ParleyQuery q_list_one[PARLEY_API_COUNT] = {
	[PARLEY_API_0_5] = {LIST_SELECT_COLS(LIST_SETTINGS_COLS, CONVERSATION_EXTRA_0_5) "   AND p.conversation_id = $2",
	2, {TEXTOID, UUIDOID}},
	[PARLEY_API_0_6] = {LIST_SELECT_COLS(LIST_SETTINGS_COLS, CONVERSATION_EXTRA_0_6) "   AND p.conversation_id = $2",
	2, {TEXTOID, UUIDOID}},
};

/*
 * The participants of a whole page in one statement: for each id of the
 * array (in page order) a range scan of the participants primary key.
 */
static ParleyQuery q_list_participants = {
	"SELECT u.n, " PARTICIPANT_COLUMNS
	"  FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)"
	"  JOIN parley.participants p ON p.conversation_id = u.id"
	" ORDER BY u.n, p.joined_at, p.guest_id",
	1, {UUIDARRAYOID}
};

/* Add the "participants" array of one conversation from rows [from, to). */
static void
render_participant_rows(JsonOut *jo, SPITupleTable *tt, uint64 from, uint64 to, int firstcol)
{
	jo_begin_array(jo, "participants");
	for (uint64 i = from; i < to; i++)
		render_participant(jo, NULL, tt, i, firstcol);
	jo_end_array(jo);
}

/*
 * The conversation of row of conv (CONVERSATION_COLUMNS from column 1) with
 * its participants, as one object.
 */
static void
render_conversation_full(JsonOut *jo, SPITupleTable *conv, uint64 row, bool read_only)
{
	bool		isnull;
	Datum		id = parley_col(conv, row, 1, &isnull);
	uint64		n;

	jo_begin_object(jo, NULL);
	render_conversation_fields(jo, conv, row, 1);
	n = parley_query_exec(&q_participants, &id, NULL, read_only, 0);
	render_participant_rows(jo, SPI_tuptable, 0, n, 1);
	jo_end_object(jo);
}

static int
cmp_cstring(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static Datum
cstrings_to_text_array(char **ids, int n)
{
	Datum	   *elems = palloc(Max(n, 1) * sizeof(Datum));

	for (int i = 0; i < n; i++)
		elems[i] = CStringGetTextDatum(ids[i]);
	return PointerGetDatum(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * The other participants of a create: the valid guest ids of the array,
 * sorted, without duplicates and without the actor.  A NULL array is empty.
 */
static char **
other_participants(FunctionCallInfo fcinfo, int argno, const char *actor, int *count)
{
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **ids;
	int			kept = 0;

	*count = 0;
	if (PG_ARGISNULL(argno))
		return NULL;
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("participants must be a one-dimensional array")));
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);

	ids = palloc(Max(n, 1) * sizeof(char *));
	for (int i = 0; i < n; i++)
	{
		text	   *t;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("participants must not contain NULL"),
					 errdetail("Element %d is NULL.", i + 1)));
		t = DatumGetTextPP(elems[i]);
		parley_check_guest_id(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), "participant id");
		ids[i] = text_to_cstring(t);
	}

	qsort(ids, n, sizeof(char *), cmp_cstring);
	for (int i = 0; i < n; i++)
	{
		if (strcmp(ids[i], actor) == 0)
			continue;
		if (kept > 0 && strcmp(ids[kept - 1], ids[i]) == 0)
			continue;
		ids[kept++] = ids[i];
	}
	*count = kept;
	return ids;
}

/*
 * The arguments of a create, checked: the actor, the kind, the others
 * (sorted, without duplicates and without the actor), everyone (the actor
 * included, sorted) and the title.
 */
typedef struct CreateArgs
{
	char	   *actor;
	char	   *kind;
	bool		direct;
	char	  **others;
	int			nothers;
	char	  **all;
	text	   *title;			/* NULL: none */
} CreateArgs;

/* Arguments 0-3 of conversation_create() and conversation_create_at(). */
static void
create_args(FunctionCallInfo fcinfo, CreateArgs *a)
{
	a->actor = parley_guest_id_arg(fcinfo, 0, "actor");
	a->title = NULL;

	parley_require_arg(fcinfo, 1, "kind");
	a->kind = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(a->kind, "direct") == 0)
		a->direct = true;
	else if (strcmp(a->kind, "group") == 0)
		a->direct = false;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kind must be \"direct\" or \"group\"")));

	a->others = other_participants(fcinfo, 2, a->actor, &a->nothers);

	if (!PG_ARGISNULL(3))
	{
		a->title = PG_GETARG_TEXT_PP(3);
		parley_check_title(a->title);
	}

	if (a->direct && a->nothers != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a direct conversation needs exactly one other participant"),
				 errdetail("%d other participants were given.", a->nothers)));
	if (!a->direct && a->nothers + 1 > PARLEY_GROUP_MAX_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a group has at most %d participants", PARLEY_GROUP_MAX_SIZE),
				 errdetail("%d were given, counting the creator.", a->nothers + 1)));

	/* Everyone, the actor included, sorted (others is sorted already). */
	a->all = palloc((a->nothers + 1) * sizeof(char *));
	{
		int			j = 0;
		bool		placed = false;

		for (int i = 0; i < a->nothers; i++)
		{
			if (!placed && strcmp(a->actor, a->others[i]) < 0)
			{
				a->all[j++] = a->actor;
				placed = true;
			}
			a->all[j++] = a->others[i];
		}
		if (!placed)
			a->all[j++] = a->actor;
	}
}

/*
 * Create the conversation a describes with the given id, or (a direct
 * conversation's id is the pair's) find the one that exists.  From API
 * 0.2.0 a block between the pair stops a direct conversation.
 */
static Datum
create_conversation(CreateArgs *a, pg_uuid_t *id, ParleyApi api)
{
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	Datum		others_array = cstrings_to_text_array(a->others, a->nothers);
	SPITupleTable *conv;
	JsonOut		jo = {0};
	int			status = 201;

	SPI_connect();

	values[0] = CStringGetTextDatum(a->actor);
	if (parley_query_exec(&q_guest_exists, values, NULL, false, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", a->actor),
				 errdetail("The acting guest must exist to create a conversation.")));
	values[0] = others_array;
	if (parley_query_exec(&q_unknown_guest, values, NULL, false, 1) > 0)
	{
		bool		isnull;
		char	   *unknown = TextDatumGetCString(parley_col(SPI_tuptable, 0, 1, &isnull));

		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", unknown),
				 errdetail("Participant \"%s\" names no guest.", unknown)));
	}
	if (api >= PARLEY_API_0_2 && a->direct && parley_pair_blocked(a->actor, a->others[0]))
		parley_raise_blocked(a->actor, a->others[0], "open a direct conversation with");

	values[0] = UUIDPGetDatum(id);
	values[1] = CStringGetTextDatum(a->kind);
	values[2] = a->title ? PointerGetDatum(a->title) : (Datum) 0;
	nulls[2] = a->title ? ' ' : 'n';
	values[3] = CStringGetTextDatum(a->actor);
	if (parley_query_exec(parley_query_at(q_insert_conversation, api), values, nulls, false, 0) == 1)
	{
		conv = SPI_tuptable;
		values[1] = cstrings_to_text_array(a->all, a->nothers + 1);
		values[2] = a->direct ? (Datum) 0 : CStringGetTextDatum(a->actor);
		nulls[2] = a->direct ? 'n' : ' ';
		parley_query_exec(&q_insert_participants, values, nulls, false, 0);
	}
	else
	{
		/*
		 * Only a direct conversation's id can exist: the pair's one.  A
		 * group's id is new (a UUIDv7 of ours, or one a proxy chose).
		 */
		if (!a->direct)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("conversation %s exists already",
							parley_uuid_string(UUIDPGetDatum(id)))));
		if (parley_query_exec(parley_query_at(q_conversation, api), values, NULL, false, 1) != 1)
			elog(ERROR, "parley: direct conversation vanished after a conflict");
		conv = SPI_tuptable;
		status = 200;
	}

	render_conversation_full(&jo, conv, 0, false);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, status));
}

/*
 * conversation_create() of every API version: a direct conversation gets
 * the pair's derived id, a group a new UUIDv7.
 */
static Datum
conversation_create_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	CreateArgs	a;
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));

	create_args(fcinfo, &a);
	if (a.direct)
		parley_direct_conversation_id(a.actor, a.others[0], id);
	else
		parley_uuidv7(id);
	return create_conversation(&a, id, api);
}

/* The symbols of the 0.1.0 SQL and of 0.2.0 (no direct conversation while a block stands). */
PARLEY_API_ENTRY(conversation_create, conversation_create_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(conversation_create_v0_2, conversation_create_impl, PARLEY_API_0_2)
/* 0.5.0 and 0.6.0: the conversation JSON gains what they add. */
PARLEY_API_ENTRY(conversation_create_v0_5, conversation_create_impl, PARLEY_API_0_5)
PARLEY_API_ENTRY(conversation_create_v0_6, conversation_create_impl, PARLEY_API_0_6)

/*
 * conversation_create_at(actor, kind, participants, title, conversation_id):
 * a group with the given id, for a proxy that routes by id (docs/scaling.md).
 * Declared by the 0.1.0 SQL and never changed since (blocks concern direct
 * conversations only).
 */
static Datum
conversation_create_at_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	CreateArgs	a;

	create_args(fcinfo, &a);
	/* A direct conversation's id is the pair's: no one may choose it. */
	if (a.direct)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("conversation_create_at creates groups only"),
				 errhint("A direct conversation's id is derived from the pair: use conversation_create.")));
	parley_require_arg(fcinfo, 4, "conversation_id");
	/* The 0.1.0 rules (no blocks) under every version's JSON. */
	return create_conversation(&a, PG_GETARG_UUID_P(4), api >= PARLEY_API_0_5 ? api : PARLEY_API_0_1);
}

PARLEY_API_ENTRY(conversation_create_at, conversation_create_at_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(conversation_create_at_v0_5, conversation_create_at_impl, PARLEY_API_0_5)
PARLEY_API_ENTRY(conversation_create_at_v0_6, conversation_create_at_impl, PARLEY_API_0_6)

static Datum
conversation_get_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	pg_uuid_t  *id;
	char	   *actor;
	Datum		values[2];
	SPITupleTable *conv;
	bool		isnull;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	id = PG_GETARG_UUID_P(0);
	actor = parley_guest_id_arg(fcinfo, 1, "actor");

	values[0] = UUIDPGetDatum(id);
	values[1] = CStringGetTextDatum(actor);

	SPI_connect();
	if (parley_query_exec(parley_query_at(q_conversation_for_actor, api), values, NULL, true, 1) == 0)
		parley_raise_conversation_not_found(values[0]);
	conv = SPI_tuptable;
	if (!DatumGetBool(parley_col(conv, 0, CONVERSATION_NCOLUMNS + 1, &isnull)))
		parley_raise_not_a_participant(values[0], actor);

	render_conversation_full(&jo, conv, 0, true);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* 0.5.0 and 0.6.0: the conversation JSON gains what they add. */
PARLEY_API_ENTRY(conversation_get, conversation_get_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(conversation_get_v0_5, conversation_get_impl, PARLEY_API_0_5)
PARLEY_API_ENTRY(conversation_get_v0_6, conversation_get_impl, PARLEY_API_0_6)

/*
 * conversations.h: the conversation cid as conversation_get() answers it,
 * for the functions that change one (conversation_update.c).
 */
Jsonb *
parley_conversation_answer(Datum cid, ParleyApi api, int status)
{
	JsonOut		jo = {0};

	if (parley_query_exec(parley_query_at(q_conversation, api), &cid, NULL, false, 1) != 1)
		parley_raise_conversation_not_found(cid);
	render_conversation_full(&jo, SPI_tuptable, 0, false);
	return parley_return_jsonb(&jo, status);
}

/*
 * The cursor of conversation_list() (cursor.h): the activity of the last
 * conversation of a page, and its id to break ties.
 */
static void
list_cursor_decode(text *cursor, TimestampTz *activity, pg_uuid_t *id)
{
	int			n;
	uint8	   *key = parley_cursor_decode(cursor, activity, UUID_LEN, UUID_LEN, &n);

	memcpy(id->data, key, UUID_LEN);
	pfree(key);
}

/*
 * One entry of a list: the conversation of row i of page with its
 * participants (rows [from, to) of parts, from column 2), "unread" and,
 * from 0.5.0, the guest's settings.
 */
static void
render_list_entry(JsonOut *jo, SPITupleTable *page, uint64 i, SPITupleTable *parts,
				  uint64 from, uint64 to, ParleyApi api)
{
	bool		isnull;
	int64		last_seq = DatumGetInt64(parley_col(page, i, CONVERSATION_NCOLUMNS, &isnull));
	int64		last_read = DatumGetInt64(parley_col(page, i, LIST_COL_LAST_READ, &isnull));

	jo_begin_object(jo, NULL);
	render_conversation_fields(jo, page, i, 1);
	render_participant_rows(jo, parts, from, to, 2);
	jo_int64(jo, "unread", last_seq - last_read);
	/* -- 0.5.0 per-guest settings -- */
	if (api >= PARLEY_API_0_5)
	{
		render_col_timestamptz(jo, "notifications_off_until", page, i, LIST_COL_SETTINGS);
		jo_bool(jo, "archived", DatumGetBool(parley_col(page, i, LIST_COL_SETTINGS + 1, &isnull)));
		jo_bool(jo, "pinned", DatumGetBool(parley_col(page, i, LIST_COL_SETTINGS + 2, &isnull)));
	}
	jo_end_object(jo);
}

/*
 * The participants of the npage conversations of page (column 1: the id),
 * in page order: answers their rows and count.
 */
static SPITupleTable *
list_participants(SPITupleTable *page, uint64 npage, uint64 *nparts)
{
	Datum	   *ids = palloc(Max(npage, 1) * sizeof(Datum));
	Datum		arr;
	bool		isnull;

	for (uint64 i = 0; i < npage; i++)
		ids[i] = parley_col(page, i, 1, &isnull);
	arr = PointerGetDatum(construct_array(ids, npage, UUIDOID, UUID_LEN,
										  false, TYPALIGN_CHAR));
	*nparts = parley_query_exec(&q_list_participants, &arr, NULL, true, 0);
	return SPI_tuptable;
}

/*
 * settings.c (0.5.0): add conversation cid as guest_id's list shows it.
 * The caller is connected to SPI and knows guest_id takes part.
 */
void
parley_render_list_conversation(JsonOut *jo, const char *guest_id, Datum cid, ParleyApi api)
{
	Datum		values[2];
	SPITupleTable *page;
	SPITupleTable *parts;
	uint64		nparts;

	values[0] = CStringGetTextDatum(guest_id);
	values[1] = cid;
	if (parley_query_exec(parley_query_at(q_list_one, api), values, NULL, false, 1) != 1)
		elog(ERROR, "parley: participant vanished while rendering its conversation");
	page = SPI_tuptable;
	parts = list_participants(page, 1, &nparts);
	render_list_entry(jo, page, 0, parts, 0, nparts, api);
}

/*
 * conversation_list(guest_id, before, limit, actor) and, from 0.5.0,
 * archived (argument 4): true or false lists only the archived ones or
 * only the others.
 */
/* 0.4.0: the unread count over all of a guest's conversations. */
static ParleyQuery q_unread_total = {
	"SELECT COALESCE(sum(c.last_seq - p.last_read_seq), 0)::bigint"
	"  FROM parley.participants p"
	"  JOIN parley.conversations c ON c.id = p.conversation_id"
	" WHERE p.guest_id = $1",
	1, {TEXTOID}
};

static Datum
conversation_list_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	int			limit = parley_page_limit(fcinfo, 2);
	bool		has_cursor = !PG_ARGISNULL(1);
	TimestampTz before_activity = 0;
	pg_uuid_t	before_id;
	char	   *actor = NULL;
	Datum		values[5] = {0};
	char		nulls[5] = {' ', ' ', ' ', ' ', 'n'};
	uint64		n;
	uint64		npage;
	SPITupleTable *page;
	SPITupleTable *parts;
	uint64		nparts;
	uint64		p = 0;
	int64		unread_total = 0;
	JsonOut		jo = {0};

	if (has_cursor)
		list_cursor_decode(PG_GETARG_TEXT_PP(1), &before_activity, &before_id);
	if (!PG_ARGISNULL(3))
		actor = parley_guest_id_arg(fcinfo, 3, "actor");
	if (api >= PARLEY_API_0_5 && !PG_ARGISNULL(4))
	{
		values[4] = PG_GETARG_DATUM(4);
		nulls[4] = ' ';
	}

	values[0] = CStringGetTextDatum(guest_id);

	SPI_connect();
	if (parley_query_exec(&q_guest_exists, values, NULL, true, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));
	if (actor != NULL && strcmp(actor, guest_id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_FORBIDDEN),
				 errmsg("guest \"%s\" may not list the conversations of guest \"%s\"",
						actor, guest_id)));

	/* One row more than the page tells whether there is another page. */
	values[1] = Int64GetDatum((int64) limit + 1);
	values[2] = TimestampTzGetDatum(before_activity);
	values[3] = UUIDPGetDatum(&before_id);
	if (has_cursor)
		n = parley_query_exec(parley_query_at(q_list_before, api), values, nulls, true, 0);
	else
		n = parley_query_exec(parley_query_at(q_list_first, api), values, nulls, true, 0);
	page = SPI_tuptable;
	npage = Min(n, (uint64) limit);

	/* The participants of the whole page, in page order. */
	parts = list_participants(page, npage, &nparts);

	/* 0.4.0: "unread_total" over every conversation of the guest, not only the page. */
	if (api >= PARLEY_API_0_4)
	{
		bool		isnull;

		values[0] = CStringGetTextDatum(guest_id);
		parley_query_exec(&q_unread_total, values, NULL, true, 1);
		unread_total = DatumGetInt64(parley_col(SPI_tuptable, 0, 1, &isnull));
	}

	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "conversations");
	for (uint64 i = 0; i < npage; i++)
	{
		bool		isnull;
		uint64		from = p;

		while (p < nparts &&
			   DatumGetInt64(parley_col(parts, p, 1, &isnull)) == (int64) i + 1)
			p++;
		render_list_entry(&jo, page, i, parts, from, p, api);
	}
	jo_end_array(&jo);
	jo_bool(&jo, "has_more", n > npage);
	if (n > npage)
	{
		bool		isnull;
		TimestampTz activity = DatumGetTimestampTz(parley_col(page, npage - 1,
															   LIST_COL_ACTIVITY, &isnull));
		pg_uuid_t  *last_id = DatumGetUUIDP(parley_col(page, npage - 1, 1, &isnull));

		jo_cstring(&jo, "next_before", parley_cursor_encode(activity, last_id->data, UUID_LEN));
	}
	else
		jo_null(&jo, "next_before");
	if (api >= PARLEY_API_0_4)
		jo_int64(&jo, "unread_total", unread_total);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* The symbols of the 0.1.0 SQL, 0.4.0 (unread_total), 0.5.0 (settings,
 * archived, the conversation's description and metadata) and 0.6.0 (frozen,
 * slow mode). */
PARLEY_API_ENTRY(conversation_list, conversation_list_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(conversation_list_v0_4, conversation_list_impl, PARLEY_API_0_4)
PARLEY_API_ENTRY(conversation_list_v0_5, conversation_list_impl, PARLEY_API_0_5)
PARLEY_API_ENTRY(conversation_list_v0_6, conversation_list_impl, PARLEY_API_0_6)
