/*
 * messages.c
 *	  message_post(), message_list(), message_edit(), message_delete().
 *
 * seq.  A conversation's row holds last_seq; a post takes the next value
 * with UPDATE ... SET last_seq = last_seq + 1 and keeps the row lock (FOR NO
 * KEY UPDATE, so foreign key checks of other sessions are not blocked) until
 * it commits or aborts.  Posters of one conversation therefore run one at a
 * time: seq is strictly increasing in commit order, and an aborted post
 * gives its value back (the UPDATE is rolled back with it), so seq is also
 * gapless.  In READ COMMITTED a waiting UPDATE re-reads the newest row
 * version once the lock is free, so it never reuses a value.
 *
 * Idempotency.  (conversation_id, sender_id, client_msg_id) is unique
 * (messages_client_msg_id_key).  A post with a client_msg_id locks the
 * conversation row first and only then looks for an earlier message with
 * that key, in a statement of its own and so with a snapshot taken after the
 * lock: a concurrent retry that committed while we waited is seen, one that
 * aborted is not.  Only when there is none does it take a seq, so retries
 * make exactly one message and never burn a seq.  body_digest (SHA-256 of
 * the body as first posted) tells a replay from a conflicting reuse of the
 * key even after the stored body was edited or deleted.
 *
 * Every function checks in the API's order: arguments (400), conversation
 * (404), acting guest takes part (403), then the rest.
 *
 * 0.5.0 (API.md section 9).  The message JSON gains reactions, reply_to,
 * reply_count and attachments, all columns of the message row
 * (MESSAGE_COLUMNS_V05), so a page costs what it did.  A post may reply to
 * an existing message of its conversation: the same statement checks that
 * the message exists (it adds to the membership check) and adds one to its
 * reply_count, under the conversation's row lock like everything a post
 * does; replies are never removed, so reply_count counts deleted ones too.
 * A thread (the replies to S) pages messages_thread_idx; around=S reads the
 * primary key both ways from S.  A delete empties the tombstone's
 * reactions and attachments and drops its reaction rows in one statement.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "access.h"
#include "ids.h"
#include "moderation.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "attachments.h"
#include "validate.h"

/*
 * The post itself, one statement: bump last_seq (primary key of
 * conversations, row lock), move the sender's read marker to the new seq
 * (primary key of participants), insert the message (primary key
 * (conversation_id, seq) and, with a client_msg_id, the unique index).
 *
 * The marker UPDATE joins the new seq, so it runs after the conversation row
 * is locked (the same lock order as participant_remove: conversation, then
 * participant), and it is also the membership check: it matches no row when
 * the sender takes no part (or was removed while we waited for the lock),
 * the INSERT then has no row to insert, the statement answers nothing and
 * the caller raises, which rolls the bump back.  So the successful hot path
 * is this one statement.
 */
/*
 * POST_SQL(cond): cond is added to the marker UPDATE, i.e. to the membership
 * check, so a refused post is still one statement that answers nothing.
 * POST_SQL_AT(cret, pset, cond): cret is added to what the conversation's
 * UPDATE returns (for cond to test), pset to the marker's SET list.
 */
#define POST_SQL(cond) POST_SQL_AT("", "", cond)
#define POST_SQL_AT(cret, pset, cond) \
	"WITH c AS (" \
	"  UPDATE parley.conversations SET last_seq = last_seq + 1, last_message_at = now()" \
	"   WHERE id = $1" \
	"  RETURNING last_seq" cret \
	"), r AS (" \
	"  UPDATE parley.participants p SET last_read_seq = GREATEST(p.last_read_seq, c.last_seq)" pset \
	"    FROM c" \
	"   WHERE p.conversation_id = $1 AND p.guest_id = $2" cond \
	"  RETURNING c.last_seq" \
	"), m AS (" \
	"  INSERT INTO parley.messages (conversation_id, seq, id, sender_id, body, metadata," \
	"                               client_msg_id, body_digest)" \
	"  SELECT $1, r.last_seq, $3, $2, $4, $5, $6, $7 FROM r" \
	"  RETURNING " MESSAGE_COLUMNS \
	")" \
	" SELECT " MESSAGE_COLUMNS " FROM m"

/*
 * 0.5.0: POST_SQL with reply_to ($8, checked in the marker UPDATE: no row
 * when it names no message of the conversation) and attachments ($9), and
 * the replied-to message's reply_count (primary key of messages).
 */
#define POST_SQL_V05(cond) POST_SQL_V05_AT("", "", cond)
#define POST_SQL_V05_AT(cret, pset, cond) \
	"WITH c AS (" \
	"  UPDATE parley.conversations SET last_seq = last_seq + 1, last_message_at = now()" \
	"   WHERE id = $1" \
	"  RETURNING last_seq" cret \
	"), r AS (" \
	"  UPDATE parley.participants p SET last_read_seq = GREATEST(p.last_read_seq, c.last_seq)" pset \
	"    FROM c" \
	"   WHERE p.conversation_id = $1 AND p.guest_id = $2" cond \
	"     AND ($8::bigint IS NULL OR EXISTS (SELECT 1 FROM parley.messages x" \
	"                                        WHERE x.conversation_id = $1 AND x.seq = $8))" \
	"  RETURNING c.last_seq" \
	"), m AS (" \
	"  INSERT INTO parley.messages (conversation_id, seq, id, sender_id, body, metadata," \
	"                               client_msg_id, body_digest, reply_to, attachments)" \
	"  SELECT $1, r.last_seq, $3, $2, $4, $5, $6, $7, $8, $9 FROM r" \
	"  RETURNING " MESSAGE_COLUMNS_V05 \
	"), t AS (" \
	"  UPDATE parley.messages pm SET reply_count = pm.reply_count + 1" \
	"    FROM m WHERE pm.conversation_id = $1 AND pm.seq = m.reply_to" \
	")" \
	" SELECT " MESSAGE_COLUMNS_V05 " FROM m"

/*
 * 0.2.0 (the blocks table): no row either when the conversation is direct
 * and the sender holds a block row with the other guest (primary key of
 * blocks: both directions are stored on the sender's side).  Groups skip
 * the probe.  The caller tells the reasons apart only on failure.
 */
#define POST_BLOCKED_COND \
	"   AND NOT EXISTS (SELECT 1 FROM parley.conversations d" \
	"                     JOIN parley.participants o" \
	"                       ON o.conversation_id = d.id AND o.guest_id <> $2" \
	"                     JOIN parley.blocks b" \
	"                       ON b.guest_id = $2 AND b.other_id = o.guest_id" \
	"                    WHERE d.id = $1 AND d.kind = 'direct')"

/*
 * 0.6.0: no row either when the sender is muted, or is a member and the
 * conversation is frozen or in slow mode since the sender's last post:
 * columns of the two rows the statement updates anyway, so a post that
 * waited for a moderator's lock tests them on the rows the moderator
 * committed (a subquery would see the statement's older snapshot).  The
 * marker's UPDATE keeps last_post_at.  So moderation costs a post no
 * statement of its own; moderation.c explains a refusal.
 */
#define POST_MODERATION_COND \
	"   AND (p.muted_until IS NULL OR p.muted_until <= now())" \
	"   AND (p.role <> 'member' OR (NOT c.frozen AND (c.slow_mode_s = 0 OR p.last_post_at IS NULL" \
	"        OR p.last_post_at <= now() - make_interval(secs => c.slow_mode_s))))"

static ParleyQuery q_post[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {
		POST_SQL(""),
		7, {UUIDOID, TEXTOID, UUIDOID, TEXTOID, JSONBOID, TEXTOID, BYTEAOID}
	},
	[PARLEY_API_0_2] = {
		POST_SQL(POST_BLOCKED_COND),
		7, {UUIDOID, TEXTOID, UUIDOID, TEXTOID, JSONBOID, TEXTOID, BYTEAOID}
	},
	[PARLEY_API_0_5] = {
		POST_SQL_V05(POST_BLOCKED_COND),
		9, {UUIDOID, TEXTOID, UUIDOID, TEXTOID, JSONBOID, TEXTOID, BYTEAOID, INT8OID, JSONBOID}
	},
	/* 0.6.0: 0.5.0's statement with moderation (POST_MODERATION_COND). */
	[PARLEY_API_0_6] = {
		POST_SQL_V05_AT(", frozen, slow_mode_s", ", last_post_at = now()",
						POST_BLOCKED_COND POST_MODERATION_COND),
		9, {UUIDOID, TEXTOID, UUIDOID, TEXTOID, JSONBOID, TEXTOID, BYTEAOID, INT8OID, JSONBOID}
	},
};

/*
 * 0.2.0 only (the blocks table): a direct conversation (primary key) whose
 * sender $2 takes part (primary key of participants) and holds a block row
 * with the other guest, either way (primary key of blocks: both directions
 * are stored on the sender's side).  No row when it is not direct or the
 * sender takes no part.
 */
static ParleyQuery q_direct_blocked = {
	"SELECT EXISTS (SELECT 1 FROM parley.participants o"
	"                 JOIN parley.blocks b ON b.guest_id = $2 AND b.other_id = o.guest_id"
	"                WHERE o.conversation_id = $1 AND o.guest_id <> $2)"
	"  FROM parley.conversations c"
	" WHERE c.id = $1 AND c.kind = 'direct'"
	"   AND EXISTS (SELECT 1 FROM parley.participants me"
	"                WHERE me.conversation_id = $1 AND me.guest_id = $2)",
	2, {UUIDOID, TEXTOID}
};

/*
 * Access check: the conversation (primary key) and whether the actor takes
 * part (primary key of participants).  No row: 404; false: 403.
 */
static ParleyQuery q_access = {
	"SELECT EXISTS (SELECT 1 FROM parley.participants p"
	"                WHERE p.conversation_id = c.id AND p.guest_id = $2)"
	"  FROM parley.conversations c WHERE c.id = $1",
	2, {UUIDOID, TEXTOID}
};

/*
 * Idempotent posts, step 1: lock the conversation row (primary key), the
 * lock q_post would take, so that retries with one client_msg_id queue here.
 */
static ParleyQuery q_lock_conversation = {
	"SELECT 1 FROM parley.conversations WHERE id = $1 FOR NO KEY UPDATE",
	1, {UUIDOID}
};

/*
 * Step 2, with a snapshot taken after the lock: membership (primary key of
 * participants) and the earlier message with this key, if any
 * (messages_client_msg_id_key).  Always one row; the message columns are
 * NULL when there is none.
 */
#define REPLAY_SQL(columns) \
	"SELECT EXISTS (SELECT 1 FROM parley.participants p" \
	"                WHERE p.conversation_id = $1 AND p.guest_id = $2)," \
	"       m.body_digest, " columns \
	"  FROM (SELECT) AS one" \
	"  LEFT JOIN parley.messages m" \
	"    ON m.conversation_id = $1 AND m.sender_id = $2 AND m.client_msg_id = $3"

/* 0.5.0: the message's new columns. */
static ParleyQuery q_replay[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {REPLAY_SQL(MESSAGE_COLUMNS), 3, {UUIDOID, TEXTOID, TEXTOID}},
	[PARLEY_API_0_5] = {REPLAY_SQL(MESSAGE_COLUMNS_V05), 3, {UUIDOID, TEXTOID, TEXTOID}},
};
#define REPLAY_COL_MEMBER	1
#define REPLAY_COL_DIGEST	2
#define REPLAY_COL_MESSAGE	3
#define REPLAY_COL_SEQ		(REPLAY_COL_MESSAGE + 1)

/*
 * message_list() pages: range scans of the messages primary key
 * (conversation_id, seq), LIMIT (limit + 1) rows, the extra one telling
 * whether there is more in the direction of travel.  Newest first (no
 * cursor, or before): an Index Scan Backward, reversed in C; after: a
 * forward Index Scan.
 */
#define PAGE_NEWEST_SQL(columns) \
	"SELECT " columns " FROM parley.messages" \
	" WHERE conversation_id = $1" \
	" ORDER BY seq DESC LIMIT $2"
#define PAGE_BEFORE_SQL(columns) \
	"SELECT " columns " FROM parley.messages" \
	" WHERE conversation_id = $1 AND seq < $3" \
	" ORDER BY seq DESC LIMIT $2"
#define PAGE_AFTER_SQL(columns) \
	"SELECT " columns " FROM parley.messages" \
	" WHERE conversation_id = $1 AND seq > $3" \
	" ORDER BY seq ASC LIMIT $2"

/* 0.5.0: the message's new columns. */
static ParleyQuery q_page_newest[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {PAGE_NEWEST_SQL(MESSAGE_COLUMNS), 2, {UUIDOID, INT8OID}},
	[PARLEY_API_0_5] = {PAGE_NEWEST_SQL(MESSAGE_COLUMNS_V05), 2, {UUIDOID, INT8OID}},
};

static ParleyQuery q_page_before[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {PAGE_BEFORE_SQL(MESSAGE_COLUMNS), 3, {UUIDOID, INT8OID, INT8OID}},
	[PARLEY_API_0_5] = {PAGE_BEFORE_SQL(MESSAGE_COLUMNS_V05), 3, {UUIDOID, INT8OID, INT8OID}},
};

static ParleyQuery q_page_after[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {PAGE_AFTER_SQL(MESSAGE_COLUMNS), 3, {UUIDOID, INT8OID, INT8OID}},
	[PARLEY_API_0_5] = {PAGE_AFTER_SQL(MESSAGE_COLUMNS_V05), 3, {UUIDOID, INT8OID, INT8OID}},
};

/*
 * 0.5.0 threads: the replies to $4, a range scan of messages_thread_idx
 * (conversation_id, reply_to, seq); no cursor is before the largest seq.
 */
static ParleyQuery q_thread_before = {
	"SELECT " MESSAGE_COLUMNS_V05 " FROM parley.messages"
	" WHERE conversation_id = $1 AND reply_to = $4 AND seq < $3"
	" ORDER BY reply_to DESC, seq DESC LIMIT $2",
	4, {UUIDOID, INT8OID, INT8OID, INT8OID}
};

static ParleyQuery q_thread_after = {
	"SELECT " MESSAGE_COLUMNS_V05 " FROM parley.messages"
	" WHERE conversation_id = $1 AND reply_to = $4 AND seq > $3"
	" ORDER BY reply_to ASC, seq ASC LIMIT $2",
	4, {UUIDOID, INT8OID, INT8OID, INT8OID}
};

/* 0.5.0: the conversation's last_seq (primary key), for thread and around. */
static ParleyQuery q_last_seq = {
	"SELECT last_seq FROM parley.conversations WHERE id = $1",
	1, {UUIDOID}
};

/*
 * Edit and delete, step 1: everything their checks need in one row: the
 * conversation (primary key), the actor's role (primary key of
 * participants) and the message (primary key of messages).  No row: 404.
 */
static ParleyQuery q_message_access = {
	"SELECT c.kind, p.role, m.sender_id, m.deleted_at IS NOT NULL"
	"  FROM parley.conversations c"
	"  LEFT JOIN parley.participants p ON p.conversation_id = c.id AND p.guest_id = $3"
	"  LEFT JOIN parley.messages m ON m.conversation_id = c.id AND m.seq = $2"
	" WHERE c.id = $1",
	3, {UUIDOID, INT8OID, TEXTOID}
};
#define ACCESS_COL_KIND		1
#define ACCESS_COL_ROLE		2
#define ACCESS_COL_SENDER	3
#define ACCESS_COL_DELETED	4

/*
 * Primary key of messages.  "deleted_at IS NULL" is rechecked on the newest
 * row version, so an edit racing a delete finds nothing to edit (409).
 * EDIT_SQL(set): set is added to the SET list.
 */
#define EDIT_SQL(set, columns) \
	"UPDATE parley.messages SET body = $3, edited_at = now()" set \
	" WHERE conversation_id = $1 AND seq = $2 AND deleted_at IS NULL" \
	" RETURNING " columns

/* 0.3.0: recording the conversation's change_seq $4; 0.5.0: new columns. */
static ParleyQuery q_edit[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {EDIT_SQL("", MESSAGE_COLUMNS), 3, {UUIDOID, INT8OID, TEXTOID}},
	[PARLEY_API_0_3] = {EDIT_SQL(", change_seq = $4", MESSAGE_COLUMNS), 4, {UUIDOID, INT8OID, TEXTOID, INT8OID}},
	[PARLEY_API_0_5] = {EDIT_SQL(", change_seq = $4", MESSAGE_COLUMNS_V05), 4, {UUIDOID, INT8OID, TEXTOID, INT8OID}},
};

/*
 * Primary key of messages; a tombstone is left alone.  DELETE_SQL(set): set
 * is added to the SET list.
 */
#define DELETE_SQL(set) \
	"UPDATE parley.messages SET body = NULL, metadata = '{}', deleted_at = now()" set \
	" WHERE conversation_id = $1 AND seq = $2 AND deleted_at IS NULL"

/* 0.3.0: recording the conversation's change_seq $3. */
static ParleyQuery q_delete[PARLEY_API_COUNT] = {
	[PARLEY_API_0_1] = {DELETE_SQL(""), 2, {UUIDOID, INT8OID}},
	[PARLEY_API_0_3] = {DELETE_SQL(", change_seq = $3"), 3, {UUIDOID, INT8OID, INT8OID}},
	/* 0.5.0: a tombstone loses its reactions (their rows too) and attachments. */
	[PARLEY_API_0_5] = {
		"WITH r AS (DELETE FROM parley.reactions WHERE conversation_id = $1 AND seq = $2) "
		DELETE_SQL(", change_seq = $3, reactions = '{}', attachments = '[]'"),
		3, {UUIDOID, INT8OID, INT8OID}
	},
};

static void
raise_message_not_found(Datum cid, int64 seq)
{
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_MESSAGE_NOT_FOUND),
			 errmsg("message " INT64_FORMAT " of conversation %s does not exist",
					seq, parley_uuid_string(cid))));
}

static void
raise_blocked(Datum cid, const char *sender)
{
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_BLOCKED),
			 errmsg("guest \"%s\" cannot post in direct conversation %s: a block stands between its guests",
					sender, parley_uuid_string(cid)),
			 errhint("Only the guest who blocked can lift the block.")));
}

/* 404 unless the conversation exists, 403 unless actor takes part. */
static void
check_access(Datum cid, const char *actor, bool read_only)
{
	Datum		values[2];
	bool		isnull;

	values[0] = cid;
	values[1] = CStringGetTextDatum(actor);
	if (parley_query_exec(&q_access, values, NULL, read_only, 1) == 0)
		parley_raise_conversation_not_found(cid);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull)))
		parley_raise_not_a_participant(cid, actor);
}

/* A seq argument of edit and delete: present and positive. */
static int64
seq_arg(FunctionCallInfo fcinfo, int argno)
{
	int64		seq;

	parley_require_arg(fcinfo, argno, "seq");
	seq = PG_GETARG_INT64(argno);
	if (seq <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("seq must be a positive integer"),
				 errdetail("It is " INT64_FORMAT ".", seq)));
	return seq;
}

/*
 * The checks of edit and delete up to "the message exists" (404, 403, 404),
 * from one row of q_message_access.  Returns that row's table; *deleted
 * tells whether the message is a tombstone.
 */
static SPITupleTable *
message_access(Datum cid, int64 seq, const char *actor, bool *deleted)
{
	Datum		values[3];
	SPITupleTable *tt;
	bool		isnull;

	values[0] = cid;
	values[1] = Int64GetDatum(seq);
	values[2] = CStringGetTextDatum(actor);
	if (parley_query_exec(&q_message_access, values, NULL, false, 1) == 0)
		parley_raise_conversation_not_found(cid);
	tt = SPI_tuptable;
	if (parley_col_isnull(tt, 0, ACCESS_COL_ROLE))
		parley_raise_not_a_participant(cid, actor);
	if (parley_col_isnull(tt, 0, ACCESS_COL_SENDER))
		raise_message_not_found(cid, seq);
	*deleted = DatumGetBool(parley_col(tt, 0, ACCESS_COL_DELETED, &isnull));
	return tt;
}

static bool
col_text_equals(SPITupleTable *tt, int col, const char *s)
{
	bool		isnull;
	Datum		d = parley_col(tt, 0, col, &isnull);
	text	   *t;

	if (isnull)
		return false;
	t = DatumGetTextPP(d);
	return VARSIZE_ANY_EXHDR(t) == strlen(s) &&
		memcmp(VARDATA_ANY(t), s, VARSIZE_ANY_EXHDR(t)) == 0;
}

/*
 * 0.2.0: whether values[1] takes part in direct conversation values[0] and a
 * block stands between it and the other guest.
 */
static bool
direct_conversation_blocked(Datum *values)
{
	bool		isnull;

	if (parley_query_exec(&q_direct_blocked, values, NULL, false, 1) == 0)
		return false;
	return DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull));
}

/*
 * message_post() of every API version.  From 0.2.0 a block stops posts in
 * a direct conversation (under the 0.1.0 SQL the blocks table does not
 * exist).  From 0.5.0 it takes reply_to (argument 5) and attachments
 * (argument 6); with at least one attachment the body may be empty (or
 * NULL, stored as '').
 */
static Datum
message_post_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	char	   *sender;
	text	   *body;
	text	   *client_msg_id = NULL;
	Jsonb	   *metadata;
	pg_uuid_t  *id = palloc(sizeof(pg_uuid_t));
	bytea	   *digest = NULL;
	Datum		values[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', 'n', 'n', 'n', ' '};
	int64		reply_to = 0;
	Jsonb	   *attachments = NULL;
	int			nattachments = 0;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	sender = parley_guest_id_arg(fcinfo, 1, "sender");
	if (api >= PARLEY_API_0_5)
	{
		if (!PG_ARGISNULL(5))
		{
			reply_to = PG_GETARG_INT64(5);
			if (reply_to <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("reply_to must be a positive integer"),
						 errdetail("It is " INT64_FORMAT ".", reply_to)));
		}
		if (!PG_ARGISNULL(6))
		{
			attachments = PG_GETARG_JSONB_P(6);
			nattachments = parley_check_attachments(attachments);
		}
		else
			attachments = parley_empty_attachments();
	}
	if (nattachments > 0 && (PG_ARGISNULL(2) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(2)) == 0))
		body = cstring_to_text("");
	else
	{
		parley_require_arg(fcinfo, 2, "body");
		body = PG_GETARG_TEXT_PP(2);
		parley_check_body(body);
	}
	if (api >= PARLEY_API_0_6)
		body = parley_filter_body(body);
	if (!PG_ARGISNULL(3))
	{
		client_msg_id = PG_GETARG_TEXT_PP(3);
		parley_check_client_msg_id(client_msg_id);
	}
	parley_require_arg(fcinfo, 4, "metadata");
	metadata = PG_GETARG_JSONB_P(4);
	parley_check_metadata(metadata, "metadata");

	values[0] = cid;
	values[1] = CStringGetTextDatum(sender);

	SPI_connect();

	if (client_msg_id != NULL)
	{
		SPITupleTable *tt;
		bool		isnull;

		digest = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
		SET_VARSIZE(digest, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
		parley_sha256(VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), (uint8 *) VARDATA(digest));

		if (parley_query_exec(&q_lock_conversation, values, NULL, false, 1) == 0)
			parley_raise_conversation_not_found(cid);

		values[2] = PointerGetDatum(client_msg_id);
		parley_query_exec(parley_query_at(q_replay, api), values, NULL, false, 1);
		tt = SPI_tuptable;
		if (!DatumGetBool(parley_col(tt, 0, REPLAY_COL_MEMBER, &isnull)))
			parley_raise_not_a_participant(cid, sender);
		/* A block stops replays too (values[1] is still the sender). */
		if (api >= PARLEY_API_0_2 && direct_conversation_blocked(values))
			raise_blocked(cid, sender);
		if (!parley_col_isnull(tt, 0, REPLAY_COL_SEQ))
		{
			Datum		d = parley_col(tt, 0, REPLAY_COL_DIGEST, &isnull);
			bytea	   *stored = isnull ? NULL : DatumGetByteaPP(d);

			if (stored == NULL ||
				VARSIZE_ANY_EXHDR(stored) != PG_SHA256_DIGEST_LENGTH ||
				memcmp(VARDATA_ANY(stored), VARDATA(digest), PG_SHA256_DIGEST_LENGTH) != 0)
				ereport(ERROR,
						(errcode(ERRCODE_PARLEY_IDEMPOTENCY_CONFLICT),
						 errmsg("client_msg_id \"%s\" was already used with a different body",
								text_to_cstring(client_msg_id)),
						 errdetail("It names message " INT64_FORMAT " of conversation %s.",
								   DatumGetInt64(parley_col(tt, 0, REPLAY_COL_SEQ, &isnull)),
								   parley_uuid_string(cid)),
						 errhint("Use a new client_msg_id for a new message.")));

			/* A replay: the message as it is now (edited, or a tombstone). */
			render_message_at(&jo, NULL, tt, 0, REPLAY_COL_MESSAGE, api);
			PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
		}
	}

	parley_uuidv7(id);
	values[2] = UUIDPGetDatum(id);
	values[3] = PointerGetDatum(body);
	values[4] = JsonbPGetDatum(metadata);
	if (client_msg_id != NULL)
	{
		values[5] = PointerGetDatum(client_msg_id);
		values[6] = PointerGetDatum(digest);
		nulls[5] = nulls[6] = ' ';
	}
	if (reply_to > 0)
	{
		values[7] = Int64GetDatum(reply_to);
		nulls[7] = ' ';
	}
	values[8] = JsonbPGetDatum(attachments);

	if (parley_query_exec(parley_query_at(q_post, api), values, nulls, false, 0) != 1)
	{
		/*
		 * Nothing posted: no conversation, not a participant, or (0.2.0) a
		 * block.  Raising rolls back the seq the statement may have taken.
		 */
		check_access(cid, sender, false);
		if (api >= PARLEY_API_0_2 && direct_conversation_blocked(values))
			raise_blocked(cid, sender);
		if (api >= PARLEY_API_0_6)
			parley_explain_refused_post(cid, sender);
		/* 0.5.0: a member's post fails only for want of its reply_to. */
		if (reply_to > 0)
			raise_message_not_found(cid, reply_to);
		parley_raise_not_a_participant(cid, sender);
	}
	render_message_at(&jo, NULL, SPI_tuptable, 0, 1, api);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 201));
}

/* The symbols of the 0.1.0, 0.2.0 and 0.5.0 SQL. */
PARLEY_API_ENTRY(message_post, message_post_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(message_post_v0_2, message_post_impl, PARLEY_API_0_2)
PARLEY_API_ENTRY(message_post_v0_5, message_post_impl, PARLEY_API_0_5)
/* 0.6.0: filters, mutes, frozen, slow mode. */
PARLEY_API_ENTRY(message_post_v0_6, message_post_impl, PARLEY_API_0_6)

/*
 * message_list() of every API version.  0.5.0 adds thread (argument 5: the
 * replies to that seq, paged like the conversation) and around (argument 6:
 * the message at that seq, up to (limit - 1) / 2 before it and the rest of
 * limit after, {"messages", "has_more_before", "has_more_after"}).  A thread
 * or around seq past last_seq names no message: 404.  around takes no
 * before, after or thread.
 */
static Datum
message_list_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	char	   *actor;
	int64		before = 0;
	int64		after = 0;
	int64		thread = 0;
	int64		around = 0;
	bool		has_before;
	bool		has_after;
	bool		has_thread = false;
	bool		has_around = false;
	int			limit;
	Datum		values[4];
	uint64		n;
	uint64		npage;
	SPITupleTable *tt;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	actor = parley_guest_id_arg(fcinfo, 1, "actor");
	has_before = parley_seq_cursor_arg(fcinfo, 2, "before", &before);
	has_after = parley_seq_cursor_arg(fcinfo, 3, "after", &after);
	if (has_before && has_after)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("before and after cannot be used together"),
				 errhint("Page backwards with before, forwards with after.")));
	limit = parley_page_limit(fcinfo, 4);
	if (api >= PARLEY_API_0_5)
	{
		has_thread = parley_seq_cursor_arg(fcinfo, 5, "thread", &thread);
		has_around = parley_seq_cursor_arg(fcinfo, 6, "around", &around);
		if ((has_thread && thread == 0) || (has_around && around == 0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must be a positive integer", has_thread && thread == 0 ? "thread" : "around")));
		if (has_around && (has_before || has_after || has_thread))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("around cannot be used with before, after or thread"),
					 errhint("around answers the page that holds a message; page on from it with before or after.")));
	}

	SPI_connect();
	check_access(cid, actor, true);

	if (has_thread || has_around)
	{
		bool		isnull;
		int64		target = has_thread ? thread : around;

		parley_query_exec(&q_last_seq, &cid, NULL, true, 1);
		if (target > DatumGetInt64(parley_col(SPI_tuptable, 0, 1, &isnull)))
			raise_message_not_found(cid, target);
	}

	values[0] = cid;
	if (has_around)
	{
		int			nbefore = (limit - 1) / 2;
		int			nafter = limit - 1 - nbefore;
		uint64		nb;
		uint64		na;
		uint64		pb;
		uint64		pa;
		SPITupleTable *tb;

		/* Before S, newest first; then S and after it, oldest first. */
		values[1] = Int64GetDatum((int64) nbefore + 1);
		values[2] = Int64GetDatum(around);
		nb = parley_query_exec(parley_query_at(q_page_before, api), values, NULL, true, 0);
		tb = SPI_tuptable;
		values[1] = Int64GetDatum((int64) nafter + 2);
		values[2] = Int64GetDatum(around - 1);
		na = parley_query_exec(parley_query_at(q_page_after, api), values, NULL, true, 0);
		tt = SPI_tuptable;
		pb = Min(nb, (uint64) nbefore);
		pa = Min(na, (uint64) nafter + 1);

		jo_begin_object(&jo, NULL);
		jo_begin_array(&jo, "messages");
		for (uint64 i = 0; i < pb; i++)
			render_message_at(&jo, NULL, tb, pb - 1 - i, 1, api);
		for (uint64 i = 0; i < pa; i++)
			render_message_at(&jo, NULL, tt, i, 1, api);
		jo_end_array(&jo);
		jo_bool(&jo, "has_more_before", nb > pb);
		jo_bool(&jo, "has_more_after", na > pa);
		jo_end_object(&jo);
		PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
	}

	values[1] = Int64GetDatum((int64) limit + 1);
	if (has_thread)
	{
		values[2] = Int64GetDatum(has_after ? after : has_before ? before : PG_INT64_MAX);
		values[3] = Int64GetDatum(thread);
		n = parley_query_exec(has_after ? &q_thread_after : &q_thread_before, values, NULL, true, 0);
	}
	else if (has_after)
	{
		values[2] = Int64GetDatum(after);
		n = parley_query_exec(parley_query_at(q_page_after, api), values, NULL, true, 0);
	}
	else if (has_before)
	{
		values[2] = Int64GetDatum(before);
		n = parley_query_exec(parley_query_at(q_page_before, api), values, NULL, true, 0);
	}
	else
		n = parley_query_exec(parley_query_at(q_page_newest, api), values, NULL, true, 0);
	tt = SPI_tuptable;
	npage = Min(n, (uint64) limit);

	/* Always ascending seq: the newest-first pages are read in reverse. */
	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "messages");
	for (uint64 i = 0; i < npage; i++)
		render_message_at(&jo, NULL, tt, has_after ? i : npage - 1 - i, 1, api);
	jo_end_array(&jo);
	jo_bool(&jo, "has_more", n > npage);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* The symbols of the 0.1.0 and 0.5.0 SQL. */
PARLEY_API_ENTRY(message_list, message_list_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(message_list_v0_5, message_list_impl, PARLEY_API_0_5)

/*
 * message_edit() of every API version.  From 0.3.0 the edit bumps the
 * conversation's change_seq (its row lock first, as a post takes it) and
 * the message records it.
 */
static Datum
message_edit_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	int64		seq;
	char	   *actor;
	text	   *body;
	bool		deleted;
	Datum		values[4];
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	seq = seq_arg(fcinfo, 1);
	actor = parley_guest_id_arg(fcinfo, 2, "actor");
	parley_require_arg(fcinfo, 3, "body");
	body = PG_GETARG_TEXT_PP(3);
	parley_check_body(body);
	if (api >= PARLEY_API_0_6)
		body = parley_filter_body(body);

	SPI_connect();
	{
		SPITupleTable *tt = message_access(cid, seq, actor, &deleted);

		if (!col_text_equals(tt, ACCESS_COL_SENDER, actor))
			ereport(ERROR,
					(errcode(ERRCODE_PARLEY_NOT_THE_SENDER),
					 errmsg("guest \"%s\" is not the sender of message " INT64_FORMAT,
							actor, seq),
					 errdetail("Only the sender edits a message.")));
		/* 0.6.0: muted, or a member in a frozen conversation. */
		if (api >= PARLEY_API_0_6)
			parley_check_may_write(cid, actor);
	}

	values[0] = cid;
	values[1] = Int64GetDatum(seq);
	values[2] = PointerGetDatum(body);
	if (api >= PARLEY_API_0_3 && !deleted)
		values[3] = Int64GetDatum(parley_count_change(cid));
	if (deleted || parley_query_exec(parley_query_at(q_edit, api), values, NULL, false, 0) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_MESSAGE_DELETED),
				 errmsg("message " INT64_FORMAT " of conversation %s is deleted",
						seq, parley_uuid_string(cid)),
				 errdetail("A deleted message cannot be edited.")));
	render_message_at(&jo, NULL, SPI_tuptable, 0, 1, api);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

/* The symbols of the 0.1.0, 0.3.0 and 0.5.0 SQL. */
PARLEY_API_ENTRY(message_edit, message_edit_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(message_edit_v0_3, message_edit_impl, PARLEY_API_0_3)
PARLEY_API_ENTRY(message_edit_v0_5, message_edit_impl, PARLEY_API_0_5)
/* 0.6.0: filters, mutes, frozen. */
PARLEY_API_ENTRY(message_edit_v0_6, message_edit_impl, PARLEY_API_0_6)

/*
 * message_delete() of every API version; 0.3.0 counts it as edits; 0.5.0
 * empties the tombstone's reactions and attachments.
 */
static Datum
message_delete_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	int64		seq;
	char	   *actor;
	bool		deleted;
	Datum		values[3];

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	seq = seq_arg(fcinfo, 1);
	actor = parley_guest_id_arg(fcinfo, 2, "actor");

	SPI_connect();
	{
		SPITupleTable *tt = message_access(cid, seq, actor, &deleted);

		/*
		 * 0.6.0: an admin of a group deletes the messages of members
		 * (senders who took no part any more count as members).
		 */
		if (api >= PARLEY_API_0_6 &&
			!col_text_equals(tt, ACCESS_COL_SENDER, actor) &&
			col_text_equals(tt, ACCESS_COL_KIND, "group") &&
			col_text_equals(tt, ACCESS_COL_ROLE, "admin"))
		{
			bool		isnull;
			char	   *sender = TextDatumGetCString(parley_col(tt, 0, ACCESS_COL_SENDER, &isnull));

			parley_require_may_moderate(cid, actor, "admin", sender,
										parley_participant_role(cid, sender));
		}
		else if (!col_text_equals(tt, ACCESS_COL_SENDER, actor) &&
			!(col_text_equals(tt, ACCESS_COL_KIND, "group") &&
			  col_text_equals(tt, ACCESS_COL_ROLE, "owner")))
			ereport(ERROR,
					(errcode(ERRCODE_PARLEY_NOT_THE_SENDER),
					 errmsg("guest \"%s\" may not delete message " INT64_FORMAT,
							actor, seq),
					 errdetail("Only the sender, or the owner of a group, deletes a message.")));
	}

	/* A tombstone stays as it is: deleting it again changes nothing. */
	if (!deleted)
	{
		values[0] = cid;
		values[1] = Int64GetDatum(seq);
		if (api >= PARLEY_API_0_3)
			values[2] = Int64GetDatum(parley_count_change(cid));
		parley_query_exec(parley_query_at(q_delete, api), values, NULL, false, 0);
	}
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

/* The symbols of the 0.1.0, 0.3.0 and 0.5.0 SQL. */
PARLEY_API_ENTRY(message_delete, message_delete_impl, PARLEY_API_0_1)
PARLEY_API_ENTRY(message_delete_v0_3, message_delete_impl, PARLEY_API_0_3)
PARLEY_API_ENTRY(message_delete_v0_5, message_delete_impl, PARLEY_API_0_5)
/* 0.6.0: admins delete members' messages. */
PARLEY_API_ENTRY(message_delete_v0_6, message_delete_impl, PARLEY_API_0_6)
