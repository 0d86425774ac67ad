/*
 * data_rights.c
 *	  Data rights (0.6.0, API.md section 10): export everything about a
 *	  guest, erase a guest, and retention of messages.
 *
 * Export.  guest_export(G) answers one JSON document
 *   {"guest", "friendships", "blocks", "memberships", "messages"}
 * as rows of text that concatenate to it: the head (up to "messages":[),
 * then a row per EXPORT_PAGE messages (objects separated by commas), then
 * "]}".  It is a value-per-call set-returning function reading the messages
 * through a cursor, so this backend never holds a guest's 100,000 messages
 * at once.  guest_export_page() answers the same document a page per call,
 * each a short statement, for a gateway that relays it as it comes (and so
 * holds one page at a time); parley_proxy builds it from the head on the
 * guest's home partition and the messages of every shard.
 *
 * Erase.  guest_erase(G), in one transaction per database:
 *   - G's messages become tombstones (body and metadata gone, like a
 *     delete, and client_msg_id and body_digest too); sender_id and seq
 *     stay, so every conversation's seq stays gapless;
 *   - G leaves every conversation; a group G owned passes to its
 *     earliest-joined participant;
 *   - G's friendships and blocks go (both rows of each pair), and every
 *     token of G is refused (as guest_tokens_revoke());
 *   - the profile keeps only its id: display_name "deleted guest",
 *     metadata {}, erased_at set.  guest_upsert() and guest_token_claims()
 *     of an erased id are 409 guest_erased.
 * Conversations are locked in id order, each as a post locks it, and each
 * tombstone and the removal count one change (change_seq), so open streams
 * get message_deleted and G's streams end, as for any delete and removal.
 * It is idempotent: a retry after a partial failure across shards (the
 * proxy runs it on every shard) converges.
 *
 * Retention.  retention_set(cid, keep) stores a policy per conversation or
 * the default (conversation NULL); retention_run() (a procedure) tombstones
 * messages older than their conversation's keep, in batches of at most
 * RETENTION_BATCH, committing after each.  A batch finds its messages
 * before it takes the conversation's row lock, so the lock (which posts
 * also take) is held only while at most RETENTION_BATCH rows are updated.
 */
#include "postgres.h"

#include <errno.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "access.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

/* Messages per row of an export (and per page). */
#define EXPORT_PAGE		500

/*
 * Messages per transaction of retention_run().  API.md allows up to 1,000;
 * 100 keeps the time a post may wait for the conversation's row lock to one
 * short update (test/bench/retention.sh measures the waits).
 */
#define RETENTION_BATCH	100

/* Conversations per look-up of retention_run(). */
#define RETENTION_CONVERSATIONS	100

/* ---------------------------------------------------------------- export */

/* Primary key of guests. */
static ParleyQuery q_export_guest = {
	"SELECT " GUEST_COLUMNS " FROM parley.guests WHERE guest_id = $1",
	1, {TEXTOID}
};

/* friendships' primary key: the guest's side of each pair. */
static ParleyQuery q_export_friendships = {
	"SELECT " FRIENDSHIP_COLUMNS " FROM parley.friendships"
	" WHERE guest_id = $1 ORDER BY other_id",
	1, {TEXTOID}
};

static ParleyQuery q_export_blocks = {
	"SELECT other_id, direction, since FROM parley.blocks"
	" WHERE guest_id = $1 ORDER BY other_id, direction",
	1, {TEXTOID}
};

/* participants_guest_idx. */
static ParleyQuery q_export_memberships = {
	"SELECT p.conversation_id, c.kind, c.title, p.role, p.joined_at, p.last_read_seq"
	"  FROM parley.participants p JOIN parley.conversations c ON c.id = p.conversation_id"
	" WHERE p.guest_id = $1 ORDER BY p.conversation_id",
	1, {TEXTOID}
};

/* messages_sender_idx, in its order. */
#define EXPORT_MESSAGES_SQL \
	"SELECT " MESSAGE_COLUMNS_V05 " FROM parley.messages" \
	" WHERE sender_id = $1 ORDER BY sender_id, conversation_id, seq"

/* Append the text of jo's finished document to buf. */
static void
append_json(StringInfo buf, JsonOut *jo)
{
	Jsonb	   *j = jo_finish(jo);

	appendStringInfoString(buf, JsonbToCString(NULL, &j->root, VARSIZE(j)));
}

/*
 * The head of the document, up to and including "messages":[, into buf
 * (allocated by the caller, outside SPI).  404 for an unknown guest.
 */
static void
export_head(const char *guest_id, StringInfo buf)
{
	Datum		values[1];
	SPITupleTable *tt;
	JsonOut		jo = {0};

	values[0] = CStringGetTextDatum(guest_id);
	if (parley_query_exec(&q_export_guest, values, NULL, true, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));

	appendStringInfoString(buf, "{\"guest\":");
	render_guest(&jo, NULL, SPI_tuptable, 0, 1);
	append_json(buf, &jo);

	parley_query_exec(&q_export_friendships, values, NULL, true, 0);
	tt = SPI_tuptable;
	memset(&jo, 0, sizeof(jo));
	jo_begin_array(&jo, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
		render_friendship(&jo, NULL, tt, i, 1);
	jo_end_array(&jo);
	appendStringInfoString(buf, ",\"friendships\":");
	append_json(buf, &jo);

	parley_query_exec(&q_export_blocks, values, NULL, true, 0);
	tt = SPI_tuptable;
	memset(&jo, 0, sizeof(jo));
	jo_begin_array(&jo, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		jo_begin_object(&jo, NULL);
		render_col_text(&jo, "other_id", tt, i, 1);
		render_col_text(&jo, "direction", tt, i, 2);
		render_col_timestamptz(&jo, "since", tt, i, 3);
		jo_end_object(&jo);
	}
	jo_end_array(&jo);
	appendStringInfoString(buf, ",\"blocks\":");
	append_json(buf, &jo);

	parley_query_exec(&q_export_memberships, values, NULL, true, 0);
	tt = SPI_tuptable;
	memset(&jo, 0, sizeof(jo));
	jo_begin_array(&jo, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		jo_begin_object(&jo, NULL);
		render_col_uuid(&jo, "conversation_id", tt, i, 1);
		render_col_text(&jo, "kind", tt, i, 2);
		render_col_text(&jo, "title", tt, i, 3);
		render_col_text(&jo, "role", tt, i, 4);
		render_col_timestamptz(&jo, "joined_at", tt, i, 5);
		render_col_int64(&jo, "last_read_seq", tt, i, 6);
		jo_end_object(&jo);
	}
	jo_end_array(&jo);
	appendStringInfoString(buf, ",\"memberships\":");
	append_json(buf, &jo);

	appendStringInfoString(buf, ",\"messages\":[");
}

/* The state of one export between calls. */
typedef struct ExportState
{
	bool		head;			/* the head row is still to come */
	bool		tail;			/* "]}" is still to come */
	bool		done;			/* the cursor is exhausted */
	bool		first;			/* no message sent yet: no comma before */
	char	   *guest_id;
	char	   *portal;			/* the cursor's name */
} ExportState;

/*
 * guest_export(guest_id): the whole document, in rows to concatenate (for
 * SQL callers: psql -At prints a valid document).  Unknown guest: 404; an
 * erased guest exports what is left of it.  One row per call, built in
 * the caller's per-call memory; the SPI memory of each call is freed at
 * its SPI_finish(), so memory stays flat.
 */
PG_FUNCTION_INFO_V1(guest_export);
Datum
guest_export(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	ExportState *st;
	StringInfoData buf;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc0(sizeof(ExportState));
		st->head = true;
		st->tail = true;
		st->first = true;
		st->guest_id = pstrdup(guest_id);
		MemoryContextSwitchTo(old);
		funcctx->user_fctx = st;
	}
	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;

	initStringInfo(&buf);
	SPI_connect();
	if (st->portal == NULL)
	{
		Datum		values[1];
		Oid			types[1] = {TEXTOID};
		Portal		portal;

		if (st->head)
			export_head(st->guest_id, &buf);
		values[0] = CStringGetTextDatum(st->guest_id);
		portal = SPI_cursor_open_with_args(NULL, EXPORT_MESSAGES_SQL, 1, types,
										   values, NULL, true, 0);
		st->portal = MemoryContextStrdup(funcctx->multi_call_memory_ctx, portal->name);
		st->head = false;
		if (buf.len > 0)
		{
			SPI_finish();
			SRF_RETURN_NEXT(funcctx, PointerGetDatum(cstring_to_text_with_len(buf.data, buf.len)));
		}
	}
	if (!st->done)
	{
		Portal		portal = SPI_cursor_find(st->portal);
		SPITupleTable *tt;

		if (portal == NULL)
			elog(ERROR, "parley: guest_export lost its cursor \"%s\"", st->portal);
		SPI_cursor_fetch(portal, true, EXPORT_PAGE);
		tt = SPI_tuptable;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			JsonOut		jo = {0};

			if (!st->first)
				appendStringInfoChar(&buf, ',');
			st->first = false;
			render_message_v05(&jo, NULL, tt, i, 1);
			append_json(&buf, &jo);
		}
		if (SPI_processed < EXPORT_PAGE)
		{
			SPI_cursor_close(portal);
			st->done = true;
		}
	}
	if (st->done && st->tail)
	{
		appendStringInfoString(&buf, "]}");
		st->tail = false;
	}
	SPI_finish();
	if (buf.len > 0)
		SRF_RETURN_NEXT(funcctx, PointerGetDatum(cstring_to_text_with_len(buf.data, buf.len)));
	parley_set_status(200);
	SRF_RETURN_DONE(funcctx);
}

/*
 * guest_export_page(guest_id, after): the document in pages, for a gateway
 * that relays it as it comes (each page one short statement, so no
 * connection is held for the whole export): {"part", "next"}.  The parts
 * concatenate to the document.  after NULL: the head and the first
 * EXPORT_PAGE messages; after = a page's next: the messages after it, and
 * "]}" once they are all out, with next NULL.  A cursor that starts with
 * '~' asks for fragments (parley_proxy's, which joins the shards): no head,
 * no "]}", no comma before the first message of the page ("~" alone: from
 * the first message).  Unknown guest: 404; a cursor that is not one: 400.
 */
static ParleyQuery q_export_page = {
	"SELECT " MESSAGE_COLUMNS_V05 " FROM parley.messages"
	" WHERE sender_id = $1 AND (conversation_id, seq) > ($2, $3)"
	" ORDER BY sender_id, conversation_id, seq LIMIT " CppAsString2(EXPORT_PAGE),
	3, {TEXTOID, UUIDOID, INT8OID}
};

PG_FUNCTION_INFO_V1(guest_export_page);
Datum
guest_export_page(PG_FUNCTION_ARGS)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	char	   *after = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		fragments = after != NULL && after[0] == '~';
	const char *pos = after == NULL ? "" : after + (fragments ? 1 : 0);
	pg_uuid_t	cid;
	int64		seq = 0;
	Datum		values[3];
	StringInfoData buf;
	StringInfoData next;
	SPITupleTable *tt;
	uint64		n;
	JsonOut		jo = {0};

	memset(&cid, 0, sizeof(cid));
	if (*pos != '\0')
	{
		const char *colon = strchr(pos, ':');
		char	   *end;

		if (colon == NULL || colon - pos != 36)
			goto bad_cursor;
		{
			char		uuid[37];

			memcpy(uuid, pos, 36);
			uuid[36] = '\0';
			cid = *DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(uuid)));
		}
		errno = 0;
		seq = strtoll(colon + 1, &end, 10);
		if (errno != 0 || *end != '\0' || end == colon + 1 || seq < 0)
			goto bad_cursor;
	}

	initStringInfo(&buf);
	initStringInfo(&next);
	SPI_connect();
	if (after == NULL)
		export_head(guest_id, &buf);
	values[0] = CStringGetTextDatum(guest_id);
	values[1] = UUIDPGetDatum(&cid);
	values[2] = Int64GetDatum(seq);
	n = parley_query_exec(&q_export_page, values, NULL, true, 0);
	tt = SPI_tuptable;
	for (uint64 i = 0; i < n; i++)
	{
		JsonOut		jo = {0};

		/* A comma before every message but the document's (or fragment's) first. */
		if (i > 0 || *pos != '\0')
			appendStringInfoChar(&buf, ',');
		render_message_v05(&jo, NULL, tt, i, 1);
		append_json(&buf, &jo);
	}
	if (n == EXPORT_PAGE)
	{
		bool		isnull;
		Datum		last_cid = parley_col(tt, n - 1, 1, &isnull);
		int64		last_seq = DatumGetInt64(parley_col(tt, n - 1, 2, &isnull));

		appendStringInfo(&next, "%s%s:" INT64_FORMAT, fragments ? "~" : "",
						 parley_uuid_string(last_cid), last_seq);
	}
	else if (!fragments)
		appendStringInfoString(&buf, "]}");

	jo_begin_object(&jo, NULL);
	jo_string(&jo, "part", buf.data, buf.len);
	if (next.len > 0)
		jo_string(&jo, "next", next.data, next.len);
	else
		jo_null(&jo, "next");
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));

bad_cursor:
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("after is not a cursor of guest_export_page()"),
			 errhint("Pass NULL for the first page, then each page's next.")));
	PG_RETURN_NULL();			/* not reached */
}

/* ----------------------------------------------------------------- erase */

/* Primary key of guests: the row lock orders erases of one guest. */
static ParleyQuery q_erase_lock = {
	"SELECT 1 FROM parley.guests WHERE guest_id = $1 FOR UPDATE",
	1, {TEXTOID}
};

/*
 * Every conversation the guest wrote a live message in (messages_sender_idx)
 * or takes part in (participants_guest_idx), in id order: the order the
 * conversations are locked in.
 */
static ParleyQuery q_erase_conversations = {
	"SELECT conversation_id FROM parley.messages"
	" WHERE sender_id = $1 AND deleted_at IS NULL"
	" UNION"
	" SELECT conversation_id FROM parley.participants WHERE guest_id = $1"
	" ORDER BY 1",
	1, {TEXTOID}
};

/* The conversation's row lock, as a post takes it, and its change_seq. */
static ParleyQuery q_lock_conversation = {
	"SELECT change_seq FROM parley.conversations WHERE id = $1 FOR NO KEY UPDATE",
	1, {UUIDOID}
};

/* The guest's live messages of one conversation (messages_sender_idx). */
static ParleyQuery q_erase_live = {
	"SELECT array_agg(seq ORDER BY seq) FROM parley.messages"
	" WHERE sender_id = $2 AND conversation_id = $1 AND deleted_at IS NULL",
	2, {UUIDOID, TEXTOID}
};

/*
 * Tombstone the messages of one conversation whose seqs are $2 (in seq
 * order), each counting one change, numbered from $3 + 1: a lookup by the
 * primary key per element, whatever the statistics say.  Shared with
 * retention_run(), which keeps client_msg_id and the digest as a delete
 * does ($4 false); an erase clears them ($4 true).
 */
static ParleyQuery q_tombstone = {
	"UPDATE parley.messages m"
	"   SET body = NULL, metadata = '{}', deleted_at = now(), change_seq = $3 + s.n,"
	"       client_msg_id = CASE WHEN $4 THEN NULL ELSE m.client_msg_id END,"
	"       body_digest = CASE WHEN $4 THEN NULL ELSE m.body_digest END"
	"  FROM unnest($2::bigint[]) WITH ORDINALITY AS s(seq, n)"
	" WHERE m.conversation_id = $1 AND m.seq = s.seq",
	4, {UUIDOID, INT8ARRAYOID, INT8OID, BOOLOID}
};

/*
 * The guest's tombstones made before (deletes): their client_msg_id and
 * body digest go too.  No change is counted: nothing a client sees moves.
 */
static ParleyQuery q_erase_tombstones = {
	"UPDATE parley.messages SET client_msg_id = NULL, body_digest = NULL"
	" WHERE sender_id = $1 AND deleted_at IS NOT NULL"
	"   AND (client_msg_id IS NOT NULL OR body_digest IS NOT NULL)",
	1, {TEXTOID}
};

static ParleyQuery q_erase_membership = {
	"DELETE FROM parley.participants WHERE conversation_id = $1 AND guest_id = $2"
	" RETURNING role",
	2, {UUIDOID, TEXTOID}
};

/* A group whose owner left: its earliest-joined participant owns it. */
static ParleyQuery q_pass_ownership = {
	"UPDATE parley.participants SET role = 'owner'"
	" WHERE conversation_id = $1"
	"   AND guest_id = (SELECT guest_id FROM parley.participants"
	"                    WHERE conversation_id = $1"
	"                    ORDER BY joined_at, guest_id LIMIT 1)",
	1, {UUIDOID}
};

static ParleyQuery q_add_changes = {
	"UPDATE parley.conversations SET change_seq = change_seq + $2 WHERE id = $1",
	2, {UUIDOID, INT8OID}
};

/*
 * Both rows of every friendship and block of the guest: its own side by the
 * primary key, the other side by each other guest's primary key.
 */
static ParleyQuery q_erase_friendships = {
	"WITH mine AS (DELETE FROM parley.friendships WHERE guest_id = $1 RETURNING other_id)"
	" DELETE FROM parley.friendships f USING mine"
	" WHERE f.guest_id = mine.other_id AND f.other_id = $1",
	1, {TEXTOID}
};

static ParleyQuery q_erase_blocks = {
	"WITH mine AS (DELETE FROM parley.blocks WHERE guest_id = $1 RETURNING other_id)"
	" DELETE FROM parley.blocks b USING mine"
	" WHERE b.guest_id = mine.other_id AND b.other_id = $1",
	1, {TEXTOID}
};

/* The profile keeps its id; every token issued so far is refused. */
static ParleyQuery q_erase_profile = {
	"UPDATE parley.guests"
	"   SET display_name = 'deleted guest', metadata = '{}', updated_at = now(),"
	"       erased_at = coalesce(erased_at, now()),"
	"       tokens_valid_from = greatest(tokens_valid_from,"
	"           to_timestamp(floor(extract(epoch FROM now())) + 1))"
	" WHERE guest_id = $1",
	1, {TEXTOID}
};

/*
 * guest_erase(guest_id): see the head of this file.  Unknown guest: 404.
 * 204, also for a guest erased before (it runs again and finds less).
 */
PG_FUNCTION_INFO_V1(guest_erase);
Datum
guest_erase(PG_FUNCTION_ARGS)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	Datum		gid = CStringGetTextDatum(guest_id);
	SPITupleTable *convs;
	uint64		nconvs;

	SPI_connect();
	if (parley_query_exec(&q_erase_lock, &gid, NULL, false, 1) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));

	nconvs = parley_query_exec(&q_erase_conversations, &gid, NULL, false, 0);
	convs = SPI_tuptable;
	for (uint64 i = 0; i < nconvs; i++)
	{
		bool		isnull;
		Datum		cid = parley_col(convs, i, 1, &isnull);
		Datum		values[3];
		Datum		base;
		Datum		live;
		int64		changes;

		if (parley_query_exec(&q_lock_conversation, &cid, NULL, false, 1) == 0)
			continue;			/* gone with its conversation */
		base = parley_col(SPI_tuptable, 0, 1, &isnull);
		values[0] = cid;
		values[1] = gid;
		parley_query_exec(&q_erase_live, values, NULL, false, 1);
		live = parley_col(SPI_tuptable, 0, 1, &isnull);
		changes = 0;
		if (!isnull)
		{
			Datum		tv[4] = {cid, live, base, BoolGetDatum(true)};

			changes = (int64) parley_query_exec(&q_tombstone, tv, NULL, false, 0);
		}

		if (parley_query_exec(&q_erase_membership, values, NULL, false, 0) == 1)
		{
			char	   *role = TextDatumGetCString(parley_col(SPI_tuptable, 0, 1, &isnull));

			changes++;			/* the removal, as participant_remove counts it */
			if (strcmp(role, "owner") == 0)
				parley_query_exec(&q_pass_ownership, &cid, NULL, false, 0);
		}
		if (changes > 0)
		{
			values[1] = Int64GetDatum(changes);
			parley_query_exec(&q_add_changes, values, NULL, false, 0);
		}
	}

	parley_query_exec(&q_erase_tombstones, &gid, NULL, false, 0);
	parley_query_exec(&q_erase_friendships, &gid, NULL, false, 0);
	parley_query_exec(&q_erase_blocks, &gid, NULL, false, 0);
	parley_query_exec(&q_erase_profile, &gid, NULL, false, 0);
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------- retention */

static ParleyQuery q_conversation_exists = {
	"SELECT 1 FROM parley.conversations WHERE id = $1",
	1, {UUIDOID}
};

static ParleyQuery q_retention_upsert = {
	"INSERT INTO parley.retention AS r (conversation_id, keep) VALUES ($1, $2)"
	" ON CONFLICT (conversation_id) DO UPDATE"
	"   SET keep = excluded.keep, updated_at = now()",
	2, {UUIDOID, INTERVALOID}
};

static ParleyQuery q_retention_delete = {
	"DELETE FROM parley.retention WHERE conversation_id IS NOT DISTINCT FROM $1",
	1, {UUIDOID}
};

/*
 * retention_set(conversation_id, keep): keep the conversation's messages for
 * keep; a NULL keep follows the default.  A NULL conversation sets the
 * default; a NULL keep there keeps messages forever.  keep must be
 * positive (400); an unknown conversation is 404.  204.
 */
PG_FUNCTION_INFO_V1(retention_set);
Datum
retention_set(PG_FUNCTION_ARGS)
{
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	values[0] = PG_ARGISNULL(0) ? (Datum) 0 : PG_GETARG_DATUM(0);
	if (PG_ARGISNULL(0))
		nulls[0] = 'n';
	if (!PG_ARGISNULL(1))
	{
		Interval   *keep = PG_GETARG_INTERVAL_P(1);
		Interval	zero = {0};

		if (DatumGetBool(DirectFunctionCall2(interval_le, IntervalPGetDatum(keep),
											 IntervalPGetDatum(&zero))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("keep must be a positive interval"),
					 errdetail("It is %s.",
							   DatumGetCString(DirectFunctionCall1(interval_out,
																   IntervalPGetDatum(keep)))),
					 errhint("NULL keeps messages forever (the default) or follows the default (a conversation).")));
		values[1] = IntervalPGetDatum(keep);
	}

	SPI_connect();
	if (!PG_ARGISNULL(0) &&
		parley_query_exec(&q_conversation_exists, values, NULL, false, 1) == 0)
		parley_raise_conversation_not_found(values[0]);
	if (PG_ARGISNULL(1))
		parley_query_exec(&q_retention_delete, values, nulls, false, 0);
	else
		parley_query_exec(&q_retention_upsert, values, nulls, false, 0);
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

/* The default keep, if there is one. */
static ParleyQuery q_retention_default = {
	"SELECT keep FROM parley.retention WHERE conversation_id IS NULL",
	0, {InvalidOid}
};

/*
 * The next conversations after $1 in id order, with their keep: with a
 * default $2, every conversation (the primary key, and the policy of its
 * own where it has one); without, those with a policy of their own.
 */
static ParleyQuery q_retention_next_all = {
	"SELECT c.id, coalesce(r.keep, $2) FROM parley.conversations c"
	"  LEFT JOIN parley.retention r ON r.conversation_id = c.id"
	" WHERE c.id > $1 ORDER BY c.id LIMIT " CppAsString2(RETENTION_CONVERSATIONS),
	2, {UUIDOID, INTERVALOID}
};

static ParleyQuery q_retention_next_own = {
	"SELECT conversation_id, keep FROM parley.retention"
	" WHERE conversation_id > $1 ORDER BY conversation_id LIMIT " CppAsString2(RETENTION_CONVERSATIONS),
	1, {UUIDOID}
};

/*
 * One batch's messages, found without the conversation's lock: live ones
 * older than the keep $2, after seq $3 (a run never reads the same ones
 * twice), in seq order.
 */
static ParleyQuery q_retention_candidates = {
	"SELECT array_agg(seq ORDER BY seq), max(seq) FROM ("
	" SELECT seq FROM parley.messages"
	"  WHERE conversation_id = $1 AND seq > $3 AND deleted_at IS NULL"
	"    AND created_at < now() - $2"
	"  ORDER BY seq LIMIT " CppAsString2(RETENTION_BATCH) ") s",
	3, {UUIDOID, INTERVALOID, INT8OID}
};

/*
 * Under the conversation's lock: which of a batch's messages are still live
 * (a delete or an edit takes the same lock first, so the answer holds until
 * the commit).
 */
static ParleyQuery q_retention_live = {
	"SELECT array_agg(seq ORDER BY seq) FROM parley.messages"
	" WHERE conversation_id = $1 AND seq = ANY ($2) AND deleted_at IS NULL",
	2, {UUIDOID, INT8ARRAYOID}
};

/*
 * CALL retention_run(): see the head of this file.  It commits, so it must
 * be called on its own (not inside a transaction block or a function).
 */
PG_FUNCTION_INFO_V1(retention_run);
Datum
retention_run(PG_FUNCTION_ARGS)
{
	pg_uuid_t	after;
	Datum		next = UUIDPGetDatum(&after);
	int64		total = 0;
	Interval	default_keep = {0};
	bool		has_default = false;

	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		castNode(CallContext, fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("retention_run() commits after each batch, so it cannot run inside a transaction block"),
				 errhint("Run CALL parley.retention_run() on its own (pg_cron does).")));

	memset(&after, 0, sizeof(after));
	SPI_connect_ext(SPI_OPT_NONATOMIC);

	/*
	 * Every statement takes its own snapshot (read_only false): between the
	 * commits there is no outer one.
	 */
	if (parley_query_exec(&q_retention_default, NULL, NULL, false, 1) == 1)
	{
		bool		isnull;

		default_keep = *DatumGetIntervalP(parley_col(SPI_tuptable, 0, 1, &isnull));
		has_default = true;
	}
	for (;;)
	{
		Datum		args[2] = {next, IntervalPGetDatum(&default_keep)};
		uint64		n = parley_query_exec(has_default ? &q_retention_next_all : &q_retention_next_own,
										  args, NULL, false, 0);
		SPITupleTable *convs = SPI_tuptable;
		/* The list outlives the commits below: copy it out of the statement's memory. */
		pg_uuid_t  *ids;
		Interval   *keeps;

		if (n == 0)
			break;
		ids = palloc(n * sizeof(pg_uuid_t));
		keeps = palloc(n * sizeof(Interval));
		for (uint64 i = 0; i < n; i++)
		{
			bool		isnull;

			ids[i] = *DatumGetUUIDP(parley_col(convs, i, 1, &isnull));
			keeps[i] = *DatumGetIntervalP(parley_col(convs, i, 2, &isnull));
		}
		SPI_commit();

		for (uint64 i = 0; i < n; i++)
		{
			int64		from = 0;

			for (;;)
			{
				Datum		values[3];
				bool		isnull;
				Datum		seqs;
				Datum		base;
				Datum		live;
				int64		done;

				values[0] = UUIDPGetDatum(&ids[i]);
				values[1] = IntervalPGetDatum(&keeps[i]);
				values[2] = Int64GetDatum(from);
				parley_query_exec(&q_retention_candidates, values, NULL, false, 1);
				seqs = parley_col(SPI_tuptable, 0, 1, &isnull);
				if (isnull)
					break;
				from = DatumGetInt64(parley_col(SPI_tuptable, 0, 2, &isnull));

				if (parley_query_exec(&q_lock_conversation, values, NULL, false, 1) == 0)
					break;		/* the conversation is gone */
				base = parley_col(SPI_tuptable, 0, 1, &isnull);
				values[1] = seqs;
				parley_query_exec(&q_retention_live, values, NULL, false, 1);
				live = parley_col(SPI_tuptable, 0, 1, &isnull);
				done = 0;
				if (!isnull)
				{
					Datum		tv[4] = {values[0], live, base, BoolGetDatum(false)};

					done = (int64) parley_query_exec(&q_tombstone, tv, NULL, false, 0);
				}
				if (done > 0)
				{
					values[1] = Int64GetDatum(done);
					parley_query_exec(&q_add_changes, values, NULL, false, 0);
				}
				SPI_commit();
				total += done;
			}
		}
		after = ids[n - 1];
		pfree(ids);
		pfree(keeps);
	}
	SPI_finish();
	ereport(DEBUG1, (errmsg("parley: retention_run tombstoned " INT64_FORMAT " messages", total)));
	PG_RETURN_VOID();
}
