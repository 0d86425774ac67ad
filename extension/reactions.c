/*
 * reactions.c
 *	  reaction_add(), reaction_remove(), reaction_list() (0.5.0, API.md
 *	  section 9), and the check of a reaction key.
 *
 * Rows and counts.  parley.reactions has a row per (message, key, guest);
 * the message row keeps the counts, {"key": count}, so a page of messages
 * renders them with no extra query.  Both change in one transaction, under
 * the conversation's row lock (FOR NO KEY UPDATE, the lock a post, an edit
 * and a delete take first): reactions to one conversation therefore run
 * one at a time, each statement after the lock sees the rows and counts the
 * one before committed, and no count is lost (the isolation spec
 * reactions-concurrent shows it).  The same lock orders a reaction against
 * a delete: a tombstone has no reactions and takes none (409).
 *
 * Events.  A reaction that changes something bumps the conversation's
 * change_seq (as an edit does) and records it in the message as change_seq
 * and reacted_change_seq, so a gateway's change fetch (events_changes())
 * finds it, including reactions made straight in SQL, and tells it from an
 * edit: a message_reacted event.  A repeated reaction changes nothing and
 * bumps nothing.
 *
 * Keys.  1-32 bytes, either [a-z0-9_+:-]+ or only emoji code points
 * (Extended_Pictographic, Emoji_Component, U+200D, U+FE0F; the table below
 * is generated from the Unicode Character Database, see its comment).
 * Stored as sent.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "access.h"
#include "cursor.h"
#include "moderation.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

#define REACTION_KEY_MAX_BYTES	32
#define REACTION_KEYS_MAX		20

/*
 * The code points that may make up an emoji key: Extended_Pictographic and
 * Emoji_Component (Unicode 14.0.0, as Perl's Unicode::UCD has them), U+200D
 * (ZERO WIDTH JOINER) and U+FE0F (VARIATION SELECTOR-16), as sorted,
 * disjoint ranges.  Made by:
 *   perl -MUnicode::UCD=prop_invlist -e '...prop_invlist("Extended_Pictographic"),
 *   prop_invlist("Emoji_Component")...'  (merged into ranges)
 */
static const struct
{
	pg_wchar	lo;
	pg_wchar	hi;
}			emoji_ranges[] = {
	{0x0023, 0x0023},	{0x002A, 0x002A},	{0x0030, 0x0039},	{0x00A9, 0x00A9},
	{0x00AE, 0x00AE},	{0x200D, 0x200D},	{0x203C, 0x203C},	{0x2049, 0x2049},
	{0x20E3, 0x20E3},	{0x2122, 0x2122},	{0x2139, 0x2139},	{0x2194, 0x2199},
	{0x21A9, 0x21AA},	{0x231A, 0x231B},	{0x2328, 0x2328},	{0x2388, 0x2388},
	{0x23CF, 0x23CF},	{0x23E9, 0x23F3},	{0x23F8, 0x23FA},	{0x24C2, 0x24C2},
	{0x25AA, 0x25AB},	{0x25B6, 0x25B6},	{0x25C0, 0x25C0},	{0x25FB, 0x25FE},
	{0x2600, 0x2605},	{0x2607, 0x2612},	{0x2614, 0x2685},	{0x2690, 0x2705},
	{0x2708, 0x2712},	{0x2714, 0x2714},	{0x2716, 0x2716},	{0x271D, 0x271D},
	{0x2721, 0x2721},	{0x2728, 0x2728},	{0x2733, 0x2734},	{0x2744, 0x2744},
	{0x2747, 0x2747},	{0x274C, 0x274C},	{0x274E, 0x274E},	{0x2753, 0x2755},
	{0x2757, 0x2757},	{0x2763, 0x2767},	{0x2795, 0x2797},	{0x27A1, 0x27A1},
	{0x27B0, 0x27B0},	{0x27BF, 0x27BF},	{0x2934, 0x2935},	{0x2B05, 0x2B07},
	{0x2B1B, 0x2B1C},	{0x2B50, 0x2B50},	{0x2B55, 0x2B55},	{0x3030, 0x3030},
	{0x303D, 0x303D},	{0x3297, 0x3297},	{0x3299, 0x3299},	{0xFE0F, 0xFE0F},
	{0x1F000, 0x1F0FF},	{0x1F10D, 0x1F10F},	{0x1F12F, 0x1F12F},	{0x1F16C, 0x1F171},
	{0x1F17E, 0x1F17F},	{0x1F18E, 0x1F18E},	{0x1F191, 0x1F19A},	{0x1F1AD, 0x1F1FF},
	{0x1F201, 0x1F20F},	{0x1F21A, 0x1F21A},	{0x1F22F, 0x1F22F},	{0x1F232, 0x1F23A},
	{0x1F23C, 0x1F23F},	{0x1F249, 0x1F53D},	{0x1F546, 0x1F64F},	{0x1F680, 0x1F6FF},
	{0x1F774, 0x1F77F},	{0x1F7D5, 0x1F7FF},	{0x1F80C, 0x1F80F},	{0x1F848, 0x1F84F},
	{0x1F85A, 0x1F85F},	{0x1F888, 0x1F88F},	{0x1F8AE, 0x1F8FF},	{0x1F90C, 0x1F93A},
	{0x1F93C, 0x1F945},	{0x1F947, 0x1FAFF},	{0x1FC00, 0x1FFFD},	{0xE0020, 0xE007F},
};

static bool
is_emoji_code_point(pg_wchar c)
{
	int			lo = 0;
	int			hi = lengthof(emoji_ranges) - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (c < emoji_ranges[mid].lo)
			hi = mid - 1;
		else if (c > emoji_ranges[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* A reaction key argument, checked; raises 22023 when it breaks a rule. */
static text *
reaction_key_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *key;
	const unsigned char *s;
	int			len;
	bool		ascii = true;

	parley_require_arg(fcinfo, argno, "key");
	key = PG_GETARG_TEXT_PP(argno);
	s = (const unsigned char *) VARDATA_ANY(key);
	len = VARSIZE_ANY_EXHDR(key);
	if (len < 1 || len > REACTION_KEY_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key must be 1 to %d bytes long", REACTION_KEY_MAX_BYTES),
				 errdetail("It is %d bytes long.", len)));
	for (int i = 0; i < len && ascii; i++)
		ascii = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
			s[i] == '_' || s[i] == '+' || s[i] == ':' || s[i] == '-';
	if (!ascii)
	{
		/* The text is valid UTF-8: PostgreSQL checked it on input. */
		for (int i = 0; i < len;)
		{
			int			l = pg_utf_mblen(s + i);

			if (i + l > len || !is_emoji_code_point(utf8_to_unicode(s + i)))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("key must be [a-z0-9_+:-]+ or one emoji"),
						 errhint("An emoji key holds only emoji code points (Extended_Pictographic, Emoji_Component, U+200D, U+FE0F).")));
			i += l;
		}
	}
	return key;
}

/* A positive seq argument. */
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
 * The checks' row: the conversation (primary key), whether actor takes part
 * (primary key of participants), whether the message exists and is a
 * tombstone (primary key of messages).  No row: 404.
 */
static ParleyQuery q_access = {
	"SELECT EXISTS (SELECT 1 FROM parley.participants p"
	"                WHERE p.conversation_id = c.id AND p.guest_id = $3),"
	"       m.seq IS NOT NULL, m.deleted_at IS NOT NULL"
	"  FROM parley.conversations c"
	"  LEFT JOIN parley.messages m ON m.conversation_id = c.id AND m.seq = $2"
	" WHERE c.id = $1",
	3, {UUIDOID, INT8OID, TEXTOID}
};

/* The conversation's row lock (primary key), as a post takes it. */
static ParleyQuery q_lock = {
	"SELECT 1 FROM parley.conversations WHERE id = $1 FOR NO KEY UPDATE",
	1, {UUIDOID}
};

/*
 * Under the lock: the message (primary key) is a tombstone?  Has it key $3?
 * How many keys?
 */
static ParleyQuery q_state = {
	"SELECT deleted_at IS NOT NULL, reactions ? $3,"
	"       (SELECT count(*) FROM jsonb_object_keys(reactions))"
	"  FROM parley.messages WHERE conversation_id = $1 AND seq = $2",
	3, {UUIDOID, INT8OID, TEXTOID}
};

/* Primary key of reactions. */
static ParleyQuery q_insert = {
	"INSERT INTO parley.reactions (conversation_id, seq, key, guest_id)"
	" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
	4, {UUIDOID, INT8OID, TEXTOID, TEXTOID}
};

static ParleyQuery q_delete = {
	"DELETE FROM parley.reactions"
	" WHERE conversation_id = $1 AND seq = $2 AND key = $3 AND guest_id = $4",
	4, {UUIDOID, INT8OID, TEXTOID, TEXTOID}
};

/* The count of key $3 in the message row (primary key) moves by $5. */
static ParleyQuery q_count = {
	"UPDATE parley.messages"
	"   SET reactions = CASE WHEN COALESCE((reactions ->> $3)::integer, 0) + $5 <= 0"
	"                        THEN reactions - $3"
	"                        ELSE jsonb_set(reactions, ARRAY[$3],"
	"                                       to_jsonb(COALESCE((reactions ->> $3)::integer, 0) + $5))"
	"                   END,"
	"       change_seq = $4, reacted_change_seq = $4"
	" WHERE conversation_id = $1 AND seq = $2"
	" RETURNING " MESSAGE_COLUMNS_V05,
	5, {UUIDOID, INT8OID, TEXTOID, INT8OID, INT4OID}
};

static ParleyQuery q_message = {
	"SELECT " MESSAGE_COLUMNS_V05 " FROM parley.messages"
	" WHERE conversation_id = $1 AND seq = $2",
	2, {UUIDOID, INT8OID}
};

/*
 * reaction_list(): one message's reactions (with key $3, or all), newest
 * first, after the cursor ($4, $5, $6) when given: a backward range scan
 * of reactions_list_idx (conversation_id, seq, created_at, guest_id, key).
 */
static ParleyQuery q_list = {
	"SELECT key, guest_id, created_at FROM parley.reactions"
	" WHERE conversation_id = $1 AND seq = $2"
	"   AND ($3::text IS NULL OR key = $3)"
	"   AND ($4::timestamptz IS NULL OR (created_at, guest_id, key) < ($4, $5, $6))"
	" ORDER BY created_at DESC, guest_id DESC, key DESC LIMIT $7",
	7, {UUIDOID, INT8OID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, INT8OID}
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
raise_message_deleted(Datum cid, int64 seq)
{
	ereport(ERROR,
			(errcode(ERRCODE_PARLEY_MESSAGE_DELETED),
			 errmsg("message " INT64_FORMAT " of conversation %s is deleted",
					seq, parley_uuid_string(cid)),
			 errdetail("A deleted message takes no reactions.")));
}

/*
 * 404 unless the conversation exists, 403 unless actor takes part, 404
 * unless the message exists; answers whether it is a tombstone.
 */
static bool
check_access(Datum cid, int64 seq, const char *actor, bool read_only)
{
	Datum		values[3];
	SPITupleTable *tt;
	bool		isnull;

	values[0] = cid;
	values[1] = Int64GetDatum(seq);
	values[2] = CStringGetTextDatum(actor);
	if (parley_query_exec(&q_access, values, NULL, read_only, 1) == 0)
		parley_raise_conversation_not_found(cid);
	tt = SPI_tuptable;
	if (!DatumGetBool(parley_col(tt, 0, 1, &isnull)))
		parley_raise_not_a_participant(cid, actor);
	if (!DatumGetBool(parley_col(tt, 0, 2, &isnull)))
		raise_message_not_found(cid, seq);
	return DatumGetBool(parley_col(tt, 0, 3, &isnull));
}

/*
 * reaction_add(conversation_id, seq, actor, key): the message with its new
 * counts; last_status() 201, or 200 when actor had already reacted with key
 * (nothing changes then).  409 on a tombstone, or for a 21st key.
 */
static Datum
reaction_add_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	int64		seq;
	char	   *actor;
	text	   *key;
	Datum		values[5];
	SPITupleTable *tt;
	bool		isnull;
	int			status = 200;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	seq = seq_arg(fcinfo, 1);
	actor = parley_guest_id_arg(fcinfo, 2, "actor");
	key = reaction_key_arg(fcinfo, 3);

	SPI_connect();
	if (check_access(cid, seq, actor, false))
		raise_message_deleted(cid, seq);
	/* 0.6.0: a muted participant, or a member of a frozen group, cannot react. */
	if (api >= PARLEY_API_0_6)
		parley_check_may_write(cid, actor);

	values[0] = cid;
	values[1] = Int64GetDatum(seq);
	values[2] = PointerGetDatum(key);
	values[3] = CStringGetTextDatum(actor);
	parley_query_exec(&q_lock, values, NULL, false, 1);
	parley_query_exec(&q_state, values, NULL, false, 1);
	tt = SPI_tuptable;
	if (DatumGetBool(parley_col(tt, 0, 1, &isnull)))
		raise_message_deleted(cid, seq);
	if (!DatumGetBool(parley_col(tt, 0, 2, &isnull)) &&
		DatumGetInt64(parley_col(tt, 0, 3, &isnull)) >= REACTION_KEYS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_TOO_MANY_REACTIONS),
				 errmsg("message " INT64_FORMAT " of conversation %s has %d distinct reaction keys already",
						seq, parley_uuid_string(cid), REACTION_KEYS_MAX),
				 errhint("React with one of the keys it has.")));

	if (parley_query_exec(&q_insert, values, NULL, false, 0) == 1)
	{
		values[3] = Int64GetDatum(parley_count_change(cid));
		values[4] = Int32GetDatum(1);
		parley_query_exec(&q_count, values, NULL, false, 0);
		status = 201;
	}
	else
		parley_query_exec(&q_message, values, NULL, false, 1);
	render_message_v05(&jo, NULL, SPI_tuptable, 0, 1);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, status));
}

/* 0.5.0, and 0.6.0 (mutes and frozen groups). */
PARLEY_API_ENTRY(reaction_add, reaction_add_impl, PARLEY_API_0_5)
PARLEY_API_ENTRY(reaction_add_v0_6, reaction_add_impl, PARLEY_API_0_6)

/*
 * reaction_remove(conversation_id, seq, actor, key): takes back actor's
 * reaction; 404 reaction_not_found when there is none (a tombstone has
 * none).
 */
static Datum
reaction_remove_impl(FunctionCallInfo fcinfo, ParleyApi api)
{
	Datum		cid;
	int64		seq;
	char	   *actor;
	text	   *key;
	Datum		values[5];

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	seq = seq_arg(fcinfo, 1);
	actor = parley_guest_id_arg(fcinfo, 2, "actor");
	key = reaction_key_arg(fcinfo, 3);

	SPI_connect();
	(void) check_access(cid, seq, actor, false);
	if (api >= PARLEY_API_0_6)
		parley_check_may_write(cid, actor);

	values[0] = cid;
	values[1] = Int64GetDatum(seq);
	values[2] = PointerGetDatum(key);
	values[3] = CStringGetTextDatum(actor);
	parley_query_exec(&q_lock, values, NULL, false, 1);
	if (parley_query_exec(&q_delete, values, NULL, false, 0) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_REACTION_NOT_FOUND),
				 errmsg("guest \"%s\" has not reacted to message " INT64_FORMAT " with \"%s\"",
						actor, seq, text_to_cstring(key))));
	values[3] = Int64GetDatum(parley_count_change(cid));
	values[4] = Int32GetDatum(-1);
	parley_query_exec(&q_count, values, NULL, false, 0);
	SPI_finish();
	parley_set_status(204);
	PG_RETURN_VOID();
}

/* 0.5.0, and 0.6.0 (mutes and frozen groups). */
PARLEY_API_ENTRY(reaction_remove, reaction_remove_impl, PARLEY_API_0_5)
PARLEY_API_ENTRY(reaction_remove_v0_6, reaction_remove_impl, PARLEY_API_0_6)

/*
 * The cursor of reaction_list(): the last row's created_at, and its
 * guest_id and key with a NUL between them (a guest id has no NUL).
 */
static char *
list_cursor_encode(TimestampTz at, const char *guest, const char *key)
{
	size_t		gl = strlen(guest);
	size_t		kl = strlen(key);
	uint8	   *buf = palloc(gl + 1 + kl);

	memcpy(buf, guest, gl);
	buf[gl] = '\0';
	memcpy(buf + gl + 1, key, kl);
	return parley_cursor_encode(at, buf, gl + 1 + kl);
}

static void
list_cursor_decode(text *cursor, TimestampTz *at, char **guest, char **key)
{
	int			n;
	char	   *buf = (char *) parley_cursor_decode(cursor, at, 3,
												   PARLEY_ID_MAX_BYTES + 1 + REACTION_KEY_MAX_BYTES, &n);
	char	   *nul = memchr(buf, '\0', n);

	if (nul == NULL || nul == buf || nul == buf + n - 1 ||
		memchr(nul + 1, '\0', buf + n - nul - 1) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("before is not a cursor of this list"),
				 errhint("Pass next_before of the previous page.")));
	*guest = buf;
	*key = nul + 1;
}

/*
 * reaction_list(conversation_id, seq, actor, key, before, limit): who
 * reacted, newest first, {"reactions": [{"key", "guest_id", "created_at"}],
 * "has_more", "next_before"}.
 */
PG_FUNCTION_INFO_V1(reaction_list);
Datum
reaction_list(PG_FUNCTION_ARGS)
{
	Datum		cid;
	int64		seq;
	char	   *actor;
	int			limit;
	Datum		values[7];
	char		nulls[7] = {' ', ' ', 'n', 'n', 'n', 'n', ' '};
	uint64		n;
	uint64		npage;
	SPITupleTable *tt;
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = UUIDPGetDatum(PG_GETARG_UUID_P(0));
	seq = seq_arg(fcinfo, 1);
	actor = parley_guest_id_arg(fcinfo, 2, "actor");
	values[0] = cid;
	values[1] = Int64GetDatum(seq);
	if (!PG_ARGISNULL(3))
	{
		values[2] = PointerGetDatum(reaction_key_arg(fcinfo, 3));
		nulls[2] = ' ';
	}
	if (!PG_ARGISNULL(4))
	{
		TimestampTz at;
		char	   *guest;
		char	   *key;

		list_cursor_decode(PG_GETARG_TEXT_PP(4), &at, &guest, &key);
		values[3] = TimestampTzGetDatum(at);
		values[4] = CStringGetTextDatum(guest);
		values[5] = CStringGetTextDatum(key);
		nulls[3] = nulls[4] = nulls[5] = ' ';
	}
	limit = parley_page_limit(fcinfo, 5);
	values[6] = Int64GetDatum((int64) limit + 1);

	SPI_connect();
	(void) check_access(cid, seq, actor, true);
	n = parley_query_exec(&q_list, values, nulls, true, 0);
	tt = SPI_tuptable;
	npage = Min(n, (uint64) limit);

	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "reactions");
	for (uint64 i = 0; i < npage; i++)
	{
		jo_begin_object(&jo, NULL);
		render_col_text(&jo, "key", tt, i, 1);
		render_col_text(&jo, "guest_id", tt, i, 2);
		render_col_timestamptz(&jo, "created_at", tt, i, 3);
		jo_end_object(&jo);
	}
	jo_end_array(&jo);
	jo_bool(&jo, "has_more", n > npage);
	if (n > npage)
	{
		bool		isnull;

		jo_cstring(&jo, "next_before",
				   list_cursor_encode(DatumGetTimestampTz(parley_col(tt, npage - 1, 3, &isnull)),
									  TextDatumGetCString(parley_col(tt, npage - 1, 2, &isnull)),
									  TextDatumGetCString(parley_col(tt, npage - 1, 1, &isnull))));
	}
	else
		jo_null(&jo, "next_before");
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}
