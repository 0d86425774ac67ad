/*
 * search.c
 *	  message_search(), guest_message_search() and the index expression
 *	  message_search_vector() (API.md section 9; docs/search.md argues the
 *	  design).
 *
 * Words.  A word is a run of Unicode letters and decimal digits (combining
 * marks inside a run are part of it).  Text is folded before it is split:
 * compatibility decomposition (NFKD), full case folding, and the
 * non-spacing marks dropped, so "Café", "CAFE" and "cafe" are one word.
 * ICU does the Unicode work (u_strFoldCase, the NFKD normalizer, general
 * categories): it is the library PostgreSQL itself uses for collations,
 * and it makes the result independent of the database's locale, which an
 * index expression must be.  Words are cut at PARLEY_SEARCH_WORD_MAX code
 * points, on both sides.
 *
 * Index.  messages_search_idx is a GIN index over the tsvector that
 * message_search_vector(conversation_id, body) builds: the message's words,
 * plus one lexeme naming its conversation ('#' and the id's 32 hex digits,
 * which no word can be, since '#' is neither a letter nor a digit).  It is
 * partial (body IS NOT NULL): tombstones are not in it, and an edit
 * replaces the message's entries with those of its new text.  A query is a
 * tsquery: each word of q as a prefix ('w':*), AND the conversation lexeme,
 * or for a guest's search AND (one lexeme per conversation of the guest,
 * OR'ed).  So the index itself keeps the search inside the conversations
 * the guest is in: the heap rows of other conversations are never read.
 *
 * Pages.  In a conversation: newest first by seq, the cursor is the last
 * seq.  Across a guest's conversations: newest first by (created_at, id),
 * the cursor is both (the proxy merges the shards' pages by the same key).
 */
#include "postgres.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utf16.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "tsearch/ts_type.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "access.h"
#include "cursor.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

/* Longest word kept, in code points; longer ones are cut (both sides). */
#define PARLEY_SEARCH_WORD_MAX 64
/* q: 1-200 characters (API.md section 9). */
#define PARLEY_SEARCH_Q_MAX 200

static void
raise_icu(const char *what, UErrorCode status)
{
	ereport(ERROR,
			(errcode(ERRCODE_INTERNAL_ERROR),
			 errmsg("parley: ICU %s failed: %s", what, u_errorName(status))));
}

/* UTF-16 of text in the server encoding (palloc'd); *ulen its length. */
static UChar *
to_utf16(const char *s, int len, int32_t *ulen)
{
	char	   *utf8 = pg_server_to_any(s, len, PG_UTF8);
	int			utf8len = (utf8 == s) ? len : (int) strlen(utf8);
	UErrorCode	status = U_ZERO_ERROR;
	UChar	   *u = palloc((utf8len + 1) * sizeof(UChar));

	u_strFromUTF8(u, utf8len + 1, ulen, utf8, utf8len, &status);
	if (U_FAILURE(status))
		raise_icu("UTF-8 conversion", status);
	return u;
}

/* Run an ICU string transform into a palloc'd buffer, growing it once. */
typedef int32_t (*UTransform) (const void *arg, UChar *dest, int32_t cap,
							   const UChar *src, int32_t len, UErrorCode *status);

static int32_t
nfkd_transform(const void *arg, UChar *dest, int32_t cap, const UChar *src, int32_t len,
			   UErrorCode *status)
{
	return unorm2_normalize((const UNormalizer2 *) arg, src, len, dest, cap, status);
}

static int32_t
fold_transform(const void *arg, UChar *dest, int32_t cap, const UChar *src, int32_t len,
			   UErrorCode *status)
{
	return u_strFoldCase(dest, cap, src, len, U_FOLD_CASE_DEFAULT, status);
}

static UChar *
transform(UTransform fn, const void *arg, const char *what, const UChar *src, int32_t len,
		  int32_t *outlen)
{
	int32_t		cap = len * 2 + 16;
	UChar	   *dest = palloc(cap * sizeof(UChar));
	UErrorCode	status = U_ZERO_ERROR;
	int32_t		n = fn(arg, dest, cap, src, len, &status);

	if (status == U_BUFFER_OVERFLOW_ERROR)
	{
		pfree(dest);
		cap = n + 1;
		dest = palloc(cap * sizeof(UChar));
		status = U_ZERO_ERROR;
		n = fn(arg, dest, cap, src, len, &status);
	}
	if (U_FAILURE(status))
		raise_icu(what, status);
	*outlen = n;
	return dest;
}

/*
 * The folded words of s (server encoding) as quoted tsvector/tsquery
 * operands, each followed by suffix, separated by sep, appended to out.
 * Answers the number of words.
 */
static int
append_words(StringInfo out, const char *s, int len, const char *sep, const char *suffix)
{
	UErrorCode	status = U_ZERO_ERROR;
	const UNormalizer2 *nfkd = unorm2_getNFKDInstance(&status);
	int32_t		ulen;
	int32_t		dlen;
	int32_t		flen;
	UChar	   *u;
	UChar	   *d;
	UChar	   *f;
	StringInfoData word;
	int			wordlen = 0;	/* code points in word */
	int			nwords = 0;
	int32_t		i = 0;

	if (U_FAILURE(status))
		raise_icu("NFKD normalizer", status);
	u = to_utf16(s, len, &ulen);
	d = transform(nfkd_transform, nfkd, "normalization", u, ulen, &dlen);
	f = transform(fold_transform, NULL, "case folding", d, dlen, &flen);
	pfree(u);
	pfree(d);

	initStringInfo(&word);
	while (i <= flen)
	{
		UChar32		c = 0;
		int8_t		cat = U_UNASSIGNED;
		bool		in_word;

		if (i < flen)
		{
			U16_NEXT(f, i, flen, c);
			cat = u_charType(c);
			if (cat == U_NON_SPACING_MARK)
				continue;		/* accents: dropped, the word goes on */
			in_word = (U_MASK(cat) & (U_GC_L_MASK | U_GC_ND_MASK |
									  U_GC_MC_MASK | U_GC_ME_MASK)) != 0;
		}
		else
		{
			i++;				/* the end closes the last word */
			in_word = false;
		}

		if (in_word)
		{
			if (wordlen < PARLEY_SEARCH_WORD_MAX)
			{
				unsigned char utf8[4];

				unicode_to_utf8((pg_wchar) c, utf8);
				appendBinaryStringInfo(&word, (char *) utf8, pg_utf_mblen(utf8));
				wordlen++;
			}
			continue;
		}
		if (wordlen > 0)
		{
			char	   *w = pg_any_to_server(word.data, word.len, PG_UTF8);

			if (nwords > 0)
				appendStringInfoString(out, sep);
			/* Letters and digits only: nothing to escape inside quotes. */
			appendStringInfo(out, "'%s'%s", w, suffix);
			nwords++;
			resetStringInfo(&word);
			wordlen = 0;
		}
	}
	pfree(f);
	pfree(word.data);
	return nwords;
}

/* The lexeme that names conversation cid: '#' and 32 hex digits, quoted. */
static void
append_conversation_lexeme(StringInfo out, const pg_uuid_t *cid)
{
	appendStringInfoString(out, "'#");
	for (int i = 0; i < UUID_LEN; i++)
		appendStringInfo(out, "%02x", cid->data[i]);
	appendStringInfoChar(out, '\'');
}

/*
 * message_search_vector(conversation_id uuid, body text) RETURNS tsvector,
 * IMMUTABLE: the expression of messages_search_idx.  NULL for a NULL
 * argument (a tombstone's body), as STRICT would, but the schema declares
 * no function STRICT.
 */
PG_FUNCTION_INFO_V1(message_search_vector);
Datum
message_search_vector(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *cid;
	text	   *body;
	StringInfoData s;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	cid = PG_GETARG_UUID_P(0);
	body = PG_GETARG_TEXT_PP(1);

	initStringInfo(&s);
	if (append_words(&s, VARDATA_ANY(body), VARSIZE_ANY_EXHDR(body), " ", "") > 0)
		appendStringInfoChar(&s, ' ');
	append_conversation_lexeme(&s, cid);
	return DirectFunctionCall1(tsvectorin, CStringGetDatum(s.data));
}

/*
 * The words of argument q as "'w1':* & 'w2':*", checked: 1-200 characters
 * and at least one word, else 400.
 */
static void
search_words_arg(FunctionCallInfo fcinfo, int argno, StringInfo out)
{
	text	   *q;
	int			nchars;

	parley_require_arg(fcinfo, argno, "q");
	q = PG_GETARG_TEXT_PP(argno);
	nchars = pg_mbstrlen_with_len(VARDATA_ANY(q), VARSIZE_ANY_EXHDR(q));
	if (nchars < 1 || nchars > PARLEY_SEARCH_Q_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("q must be 1 to %d characters long", PARLEY_SEARCH_Q_MAX),
				 errdetail("It is %d characters long.", nchars)));
	if (append_words(out, VARDATA_ANY(q), VARSIZE_ANY_EXHDR(q), " & ", ":*") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("q has no word to search for"),
				 errhint("Words are runs of letters and digits.")));
}

static Datum
tsquery_datum(StringInfo s)
{
	return DirectFunctionCall1(tsqueryin, CStringGetDatum(s->data));
}

/* conversation (primary key) and whether actor takes part (primary key). */
static ParleyQuery q_access = {
	"SELECT EXISTS (SELECT 1 FROM parley.participants p"
	"                WHERE p.conversation_id = c.id AND p.guest_id = $2)"
	"  FROM parley.conversations c WHERE c.id = $1",
	2, {UUIDOID, TEXTOID}
};

/*
 * One conversation: the GIN index (the words AND the conversation's
 * lexeme) or, where the planner finds it cheaper, the primary key backwards
 * with the match as a filter; LIMIT (limit + 1).
 */
static ParleyQuery q_search_conversation = {
	"SELECT " MESSAGE_COLUMNS_V05 " FROM parley.messages"
	" WHERE conversation_id = $1 AND body IS NOT NULL"
	"   AND parley.message_search_vector(conversation_id, body) @@ $2"
	"   AND seq < $3"
	" ORDER BY seq DESC LIMIT $4",
	4, {UUIDOID, TSQUERYOID, INT8OID, INT8OID}
};

/* The guest exists (primary key of guests) and its conversations. */
static ParleyQuery q_guest_conversations = {
	"SELECT EXISTS (SELECT 1 FROM parley.guests WHERE guest_id = $1),"
	"       ARRAY(SELECT p.conversation_id FROM parley.participants p"
	"              WHERE p.guest_id = $1 ORDER BY p.conversation_id)",
	1, {TEXTOID}
};

/*
 * A guest's conversations: the GIN index with the guest's conversation
 * lexemes in the query (and conversation_id = ANY for the planner's other
 * choice, the primary key), then a top-N sort.
 */
static ParleyQuery q_search_guest = {
	"SELECT " MESSAGE_COLUMNS_V05 " FROM parley.messages"
	" WHERE conversation_id = ANY ($1) AND body IS NOT NULL"
	"   AND parley.message_search_vector(conversation_id, body) @@ $2"
	"   AND (created_at, id) < ($3, $4)"
	" ORDER BY created_at DESC, id DESC LIMIT $5",
	5, {UUIDARRAYOID, TSQUERYOID, TIMESTAMPTZOID, UUIDOID, INT8OID}
};

#define MSG_COL_SEQ			2
#define MSG_COL_ID			3
#define MSG_COL_CREATED_AT	8

/* {"messages": [rows 0..npage), "has_more", "next_before"} with cursor. */
static Jsonb *
search_page(SPITupleTable *tt, uint64 n, int limit, bool by_seq)
{
	uint64		npage = Min(n, (uint64) limit);
	JsonOut		jo = {0};

	jo_begin_object(&jo, NULL);
	jo_begin_array(&jo, "messages");
	for (uint64 i = 0; i < npage; i++)
		render_message_v05(&jo, NULL, tt, i, 1);
	jo_end_array(&jo);
	jo_bool(&jo, "has_more", n > npage);
	if (n > npage)
	{
		bool		isnull;

		if (by_seq)
		{
			int64		seq = DatumGetInt64(parley_col(tt, npage - 1, MSG_COL_SEQ, &isnull));
			uint8		key[8];

			for (int b = 0; b < 8; b++)
				key[b] = (uint8) (((uint64) seq) >> (56 - 8 * b));
			jo_cstring(&jo, "next_before", parley_cursor_encode(0, key, 8));
		}
		else
		{
			TimestampTz t = DatumGetTimestampTz(parley_col(tt, npage - 1, MSG_COL_CREATED_AT, &isnull));
			pg_uuid_t  *id = DatumGetUUIDP(parley_col(tt, npage - 1, MSG_COL_ID, &isnull));

			jo_cstring(&jo, "next_before", parley_cursor_encode(t, id->data, UUID_LEN));
		}
	}
	else
		jo_null(&jo, "next_before");
	jo_end_object(&jo);
	return parley_return_jsonb(&jo, 200);
}

/*
 * message_search(conversation_id uuid, actor text, q text,
 *                before text DEFAULT NULL, "limit" integer DEFAULT 50)
 */
PG_FUNCTION_INFO_V1(message_search);
Datum
message_search(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *cid;
	char	   *actor;
	int			limit = parley_page_limit(fcinfo, 4);
	int64		before_seq = PG_INT64_MAX;
	StringInfoData tsq;
	Datum		values[4];
	bool		isnull;
	uint64		n;

	parley_require_arg(fcinfo, 0, "conversation_id");
	cid = PG_GETARG_UUID_P(0);
	actor = parley_guest_id_arg(fcinfo, 1, "actor");
	initStringInfo(&tsq);
	appendStringInfoChar(&tsq, '(');
	search_words_arg(fcinfo, 2, &tsq);
	appendStringInfoString(&tsq, ") & ");
	append_conversation_lexeme(&tsq, cid);
	if (!PG_ARGISNULL(3))
	{
		TimestampTz t;
		int			keylen;
		uint8	   *key = parley_cursor_decode(PG_GETARG_TEXT_PP(3), &t, 8, 8, &keylen);
		uint64		v = 0;

		for (int b = 0; b < 8; b++)
			v = (v << 8) | key[b];
		if (t != 0 || (int64) v < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("before is not a valid cursor"),
					 errhint("Pass the next_before of the previous page unchanged.")));
		before_seq = (int64) v;
	}

	values[0] = UUIDPGetDatum(cid);
	values[1] = CStringGetTextDatum(actor);

	SPI_connect();
	if (parley_query_exec(&q_access, values, NULL, true, 1) == 0)
		parley_raise_conversation_not_found(values[0]);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull)))
		parley_raise_not_a_participant(values[0], actor);

	values[1] = tsquery_datum(&tsq);
	values[2] = Int64GetDatum(before_seq);
	values[3] = Int64GetDatum((int64) limit + 1);
	n = parley_query_exec(&q_search_conversation, values, NULL, true, 0);
	PG_RETURN_JSONB_P(search_page(SPI_tuptable, n, limit, true));
}

/*
 * guest_message_search(guest_id text, q text, before text DEFAULT NULL,
 *                      "limit" integer DEFAULT 50, actor text DEFAULT NULL)
 */
PG_FUNCTION_INFO_V1(guest_message_search);
Datum
guest_message_search(PG_FUNCTION_ARGS)
{
	char	   *guest_id = parley_guest_id_arg(fcinfo, 0, "guest_id");
	int			limit = parley_page_limit(fcinfo, 3);
	char	   *actor = NULL;
	StringInfoData words;
	StringInfoData tsq;
	TimestampTz before_time = DT_NOEND;
	pg_uuid_t	before_id;
	Datum		values[5];
	bool		isnull;
	ArrayType  *convs;
	Datum	   *ids;
	int			nids;
	uint64		n;

	initStringInfo(&words);
	search_words_arg(fcinfo, 1, &words);
	memset(before_id.data, 0xff, UUID_LEN);
	if (!PG_ARGISNULL(2))
	{
		int			keylen;
		uint8	   *key = parley_cursor_decode(PG_GETARG_TEXT_PP(2), &before_time,
											   UUID_LEN, UUID_LEN, &keylen);

		memcpy(before_id.data, key, UUID_LEN);
	}
	if (!PG_ARGISNULL(4))
		actor = parley_guest_id_arg(fcinfo, 4, "actor");

	values[0] = CStringGetTextDatum(guest_id);

	SPI_connect();
	parley_query_exec(&q_guest_conversations, values, NULL, true, 1);
	if (!DatumGetBool(parley_col(SPI_tuptable, 0, 1, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_GUEST_NOT_FOUND),
				 errmsg("guest \"%s\" does not exist", guest_id)));
	if (actor != NULL && strcmp(actor, guest_id) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PARLEY_FORBIDDEN),
				 errmsg("guest \"%s\" may not search the messages of guest \"%s\"",
						actor, guest_id)));
	convs = DatumGetArrayTypeP(parley_col(SPI_tuptable, 0, 2, &isnull));
	deconstruct_array(convs, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR, &ids, NULL, &nids);

	if (nids == 0)
		PG_RETURN_JSONB_P(search_page(NULL, 0, limit, false));

	/* (words) & ('#c1' | '#c2' | ...): the guest's conversations only. */
	initStringInfo(&tsq);
	appendStringInfo(&tsq, "(%s) & (", words.data);
	for (int i = 0; i < nids; i++)
	{
		if (i > 0)
			appendStringInfoString(&tsq, " | ");
		append_conversation_lexeme(&tsq, DatumGetUUIDP(ids[i]));
	}
	appendStringInfoChar(&tsq, ')');

	values[0] = PointerGetDatum(convs);
	values[1] = tsquery_datum(&tsq);
	values[2] = TimestampTzGetDatum(before_time);
	values[3] = UUIDPGetDatum(&before_id);
	values[4] = Int64GetDatum((int64) limit + 1);
	n = parley_query_exec(&q_search_guest, values, NULL, true, 0);
	PG_RETURN_JSONB_P(search_page(SPI_tuptable, n, limit, false));
}
