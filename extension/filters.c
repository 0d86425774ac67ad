/*
 * filters.c
 *	  Word filters (0.6.0, API.md section 10): filter_add(), filter_remove()
 *	  and parley_filter_body(), which every post and edit runs (messages.c),
 *	  whoever calls them.
 *
 * A pattern is a literal word or phrase, stored folded (lower case, white
 * space runs as one space).  It matches case-insensitively where it starts
 * and ends on a word boundary: the characters around the match are not
 * word characters (when the pattern's own first or last one is).  A space
 * of a phrase matches any run of white space.  reject refuses the post
 * (400 message_rejected) and wins over mask, which replaces each character
 * of the match with '*'.
 *
 * Compiled once per backend.  The list is read into backend memory on
 * first use and kept until it changes: the statement trigger on
 * parley.filters (parley.filters_changed()) registers a relcache
 * invalidation of the table, which PostgreSQL sends to every backend at
 * commit (and applies to our own at the next command); our callback marks
 * the list stale.  So a post never reads the filter table unless the list
 * changed since the backend last read it.
 *
 * Case folding is our own, per code point (ASCII, Latin-1, Latin
 * Extended-A, Greek, Cyrillic), so it does not depend on the database's
 * collation: lower() of a C-collated database folds ASCII only.  Word
 * characters are ASCII letters, digits and '_' and every non-ASCII code
 * point but white space, punctuation, symbols and emoji of the blocks
 * is_word() lists.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "moderation.h"
#include "parley.h"
#include "query.h"
#include "render.h"
#include "validate.h"

#define PARLEY_PATTERN_MAX_CHARS 200

typedef struct Filter
{
	pg_wchar   *w;				/* folded; a space matches any white space */
	int			len;
	bool		reject;
} Filter;

static Filter *filters;
static int	nfilters;
static bool filters_valid = false;
static bool callback_registered = false;
static Oid	filters_relid = InvalidOid;
static MemoryContext filters_cxt = NULL;

static ParleyQuery q_load = {
	"SELECT pattern, action = 'reject' FROM parley.filters",
	0, {InvalidOid}
};

static ParleyQuery q_add = {
	"INSERT INTO parley.filters (pattern, action) VALUES ($1, $2)"
	" ON CONFLICT (pattern) DO UPDATE SET action = EXCLUDED.action"
	" RETURNING pattern, action, created_at",
	2, {TEXTOID, TEXTOID}
};

static ParleyQuery q_remove = {
	"DELETE FROM parley.filters WHERE pattern = $1",
	1, {TEXTOID}
};

static pg_wchar
fold(pg_wchar c)
{
	if (c < 0x80)
		return (c >= 'A' && c <= 'Z') ? c + 0x20 : c;
	if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) ||	/* Latin-1 */
		(c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||	/* Greek */
		(c >= 0x410 && c <= 0x42F))	/* Cyrillic */
		return c + 0x20;
	if (c >= 0x400 && c <= 0x40F)
		return c + 0x50;
	/* Latin Extended-A: pairs, upper case even, but for the runs below. */
	if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) ||
		(c >= 0x14A && c <= 0x177))
		return (c % 2 == 0) ? c + 1 : c;
	if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
		return (c % 2 == 1) ? c + 1 : c;
	if (c == 0x178)
		return 0xFF;
	return c;
}

static bool
is_space(pg_wchar c)
{
	return parley_is_unicode_space(c);
}

static bool
is_word(pg_wchar c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_';
	if (is_space(c))
		return false;
	if ((c >= 0xA0 && c <= 0xBF) || c == 0xD7 || c == 0xF7 ||
		(c >= 0x2000 && c <= 0x2BFF) ||	/* punctuation, symbols, arrows */
		(c >= 0x3000 && c <= 0x303F) ||	/* CJK punctuation */
		(c >= 0xFE00 && c <= 0xFE0F) ||	/* variation selectors */
		(c >= 0xFF00 && c <= 0xFF0F) ||
		(c >= 0x1F000 && c <= 0x1FAFF))	/* emoji */
		return false;
	return true;
}

/* s as code points; *offs (n + 1 entries) their byte offsets. */
static pg_wchar *
decode(const char *s, int len, int *n, int **offs)
{
	pg_wchar   *w = palloc((len + 1) * sizeof(pg_wchar));
	int		   *o = offs ? palloc((len + 1) * sizeof(int)) : NULL;
	int			i = 0;
	int			k = 0;

	while (i < len)
	{
		int			l = pg_utf_mblen((const unsigned char *) s + i);

		if (o)
			o[k] = i;
		w[k++] = utf8_to_unicode((const unsigned char *) s + i);
		i += l;
	}
	if (o)
	{
		o[k] = len;
		*offs = o;
	}
	*n = k;
	return w;
}

/* The stored form of a pattern: folded, white space runs as one space, trimmed. */
static pg_wchar *
normalize(const char *s, int len, int *n)
{
	int			m;
	pg_wchar   *w = decode(s, len, &m, NULL);
	int			k = 0;

	for (int i = 0; i < m; i++)
	{
		if (is_space(w[i]))
		{
			if (k > 0 && w[k - 1] != ' ')
				w[k++] = ' ';
			continue;
		}
		w[k++] = fold(w[i]);
	}
	while (k > 0 && w[k - 1] == ' ')
		k--;
	*n = k;
	return w;
}

static void
filters_inval(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == filters_relid || filters_relid == InvalidOid)
		filters_valid = false;
}

/* The list, read again when it changed (the caller may be connected to SPI). */
static void
filters_load(void)
{
	uint64		n;
	MemoryContext old;

	if (filters_valid)
		return;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(filters_inval, (Datum) 0);
		callback_registered = true;
	}
	if (filters_cxt == NULL)
		filters_cxt = AllocSetContextCreate(TopMemoryContext, "parley filters",
											ALLOCSET_SMALL_SIZES);

	/*
	 * Valid from here: an invalidation that arrives while we read (taking
	 * the table's lock accepts them) marks it stale again.
	 */
	filters_valid = true;
	filters_relid = get_relname_relid("filters", get_namespace_oid("parley", false));
	MemoryContextReset(filters_cxt);
	filters = NULL;
	nfilters = 0;

	SPI_connect();
	n = parley_query_exec(&q_load, NULL, NULL, true, 0);
	old = MemoryContextSwitchTo(filters_cxt);
	filters = palloc0(Max(n, 1) * sizeof(Filter));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;
		text	   *p = DatumGetTextPP(parley_col(SPI_tuptable, i, 1, &isnull));
		Filter	   *f = &filters[nfilters];

		f->w = normalize(VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p), &f->len);
		f->reject = DatumGetBool(parley_col(SPI_tuptable, i, 2, &isnull));
		if (f->len > 0)
			nfilters++;
	}
	MemoryContextSwitchTo(old);
	SPI_finish();
}

/* The end (exclusive) of a match of f at i of w (folded), or -1. */
static int
match_at(const Filter *f, const pg_wchar *w, const pg_wchar *fw, int n, int i)
{
	int			j = i;

	if (i > 0 && is_word(w[i - 1]) && is_word(f->w[0]))
		return -1;
	for (int k = 0; k < f->len; k++)
	{
		if (f->w[k] == ' ')
		{
			if (j >= n || !is_space(w[j]))
				return -1;
			while (j < n && is_space(w[j]))
				j++;
			continue;
		}
		if (j >= n || fw[j] != f->w[k])
			return -1;
		j++;
	}
	if (j < n && is_word(w[j]) && is_word(f->w[f->len - 1]))
		return -1;
	return j;
}

text *
parley_filter_body(text *body)
{
	const char *s = VARDATA_ANY(body);
	int			len = VARSIZE_ANY_EXHDR(body);
	int			n;
	int		   *offs;
	pg_wchar   *w;
	pg_wchar   *fw;
	bool	   *masked = NULL;
	StringInfoData out;

	filters_load();
	if (nfilters == 0)
		return body;

	w = decode(s, len, &n, &offs);
	fw = palloc((n + 1) * sizeof(pg_wchar));
	for (int i = 0; i < n; i++)
		fw[i] = fold(w[i]);

	for (int i = 0; i < n; i++)
		for (int k = 0; k < nfilters; k++)
		{
			const Filter *f = &filters[k];
			int			end;

			if (f->w[0] != fw[i] || (end = match_at(f, w, fw, n, i)) < 0)
				continue;
			if (f->reject)
				ereport(ERROR,
						(errcode(ERRCODE_PARLEY_MESSAGE_REJECTED),
						 errmsg("the message contains a word that is not allowed"),
						 errdetail("A word filter refuses it (parley.filters).")));
			if (masked == NULL)
				masked = palloc0(n * sizeof(bool));
			for (int j = i; j < end; j++)
				masked[j] = true;
		}
	if (masked == NULL)
		return body;

	initStringInfo(&out);
	for (int i = 0; i < n; i++)
	{
		if (masked[i])
			appendStringInfoChar(&out, '*');
		else
			appendBinaryStringInfo(&out, s + offs[i], offs[i + 1] - offs[i]);
	}
	return cstring_to_text_with_len(out.data, out.len);
}

/* The pattern argument: 1-200 characters, no control characters, normalized. */
static text *
pattern_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *t;
	pg_wchar   *w;
	int			n;
	char	   *utf8;
	int			k = 0;

	parley_require_arg(fcinfo, argno, "pattern");
	t = PG_GETARG_TEXT_PP(argno);
	w = normalize(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &n);
	if (n == 0 || n > PARLEY_PATTERN_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pattern must be 1-%d characters, not only white space",
						PARLEY_PATTERN_MAX_CHARS)));
	utf8 = palloc(n * 4 + 1);
	for (int i = 0; i < n; i++)
	{
		if (w[i] < 0x20 || (w[i] >= 0x7F && w[i] < 0xA0))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pattern must not contain control characters")));
		unicode_to_utf8(w[i], (unsigned char *) utf8 + k);
		k += pg_utf_mblen((unsigned char *) utf8 + k);
	}
	return cstring_to_text_with_len(utf8, k);
}

PG_FUNCTION_INFO_V1(filter_add);
Datum
filter_add(PG_FUNCTION_ARGS)
{
	text	   *pattern = pattern_arg(fcinfo, 0);
	char	   *action;
	Datum		values[2];
	JsonOut		jo = {0};

	parley_require_arg(fcinfo, 1, "action");
	action = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (strcmp(action, "reject") != 0 && strcmp(action, "mask") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("action must be \"reject\" or \"mask\"")));

	SPI_connect();
	values[0] = PointerGetDatum(pattern);
	values[1] = CStringGetTextDatum(action);
	parley_query_exec(&q_add, values, NULL, false, 0);
	jo_begin_object(&jo, NULL);
	render_col_text(&jo, "pattern", SPI_tuptable, 0, 1);
	render_col_text(&jo, "action", SPI_tuptable, 0, 2);
	render_col_timestamptz(&jo, "created_at", SPI_tuptable, 0, 3);
	jo_end_object(&jo);
	PG_RETURN_JSONB_P(parley_return_jsonb(&jo, 200));
}

PG_FUNCTION_INFO_V1(filter_remove);
Datum
filter_remove(PG_FUNCTION_ARGS)
{
	text	   *pattern = pattern_arg(fcinfo, 0);
	Datum		values[1];
	uint64		n;

	SPI_connect();
	values[0] = PointerGetDatum(pattern);
	n = parley_query_exec(&q_remove, values, NULL, false, 0);
	SPI_finish();
	parley_set_status(200);
	PG_RETURN_BOOL(n > 0);
}

/* The statement trigger on parley.filters: every backend reads the list again. */
PG_FUNCTION_INFO_V1(filters_changed);
Datum
filters_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "parley.filters_changed() is a trigger");
	CacheInvalidateRelcache(td->tg_relation);
	return PointerGetDatum(NULL);
}
