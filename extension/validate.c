/*
 * validate.c
 *	  The data rules of API.md section 1 (and the fine points of section 6).
 *
 * Text is checked in the database encoding, which must be UTF-8 (the install
 * script refuses any other), so "characters" are Unicode code points.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "validate.h"

void
parley_require_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be NULL", argname)));
}

void
parley_check_guest_id(const char *id, int len, const char *argname)
{
	if (len < 1 || len > PARLEY_ID_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be 1 to %d bytes long", argname, PARLEY_ID_MAX_BYTES),
				 errdetail("It is %d bytes long.", len)));

	for (int i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) id[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') ||
			c == '.' || c == '_' || c == ':' || c == '@' || c == '-')
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s contains a character that is not allowed", argname),
				 errdetail("Byte %d is 0x%02x.", i + 1, c),
				 errhint("Use only letters A-Z and a-z, digits and . _ : @ -")));
	}
}

char *
parley_guest_id_arg(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	text	   *t;

	parley_require_arg(fcinfo, argno, argname);
	t = PG_GETARG_TEXT_PP(argno);
	parley_check_guest_id(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), argname);
	return text_to_cstring(t);
}

bool
parley_is_unicode_space(pg_wchar c)
{
	return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 ||
		c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
		c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
		c == 0x3000;
}

static bool
is_control(pg_wchar c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

/*
 * Decode s[0..len) into a palloc'd array of code points; *nchars gets the
 * count.  The input is valid UTF-8 (it came from a text datum).
 */
static pg_wchar *
to_wchars(const char *s, int len, int *nchars)
{
	pg_wchar   *w = palloc((len + 1) * sizeof(pg_wchar));

	*nchars = pg_mb2wchar_with_len(s, w, len);
	return w;
}

text *
parley_display_name(text *raw)
{
	const char *s = VARDATA_ANY(raw);
	int			len = VARSIZE_ANY_EXHDR(raw);
	int			n;
	pg_wchar   *w = to_wchars(s, len, &n);
	int			first = 0;
	int			last = n - 1;
	int			start_byte = 0;
	int			end_byte = len;

	while (first <= last && parley_is_unicode_space(w[first]))
		first++;
	while (last >= first && parley_is_unicode_space(w[last]))
		last--;

	if (last < first)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("display_name must not be empty"),
				 errdetail("It is empty or only white space.")));
	if (last - first + 1 > PARLEY_NAME_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("display_name must be at most %d characters long", PARLEY_NAME_MAX_CHARS),
				 errdetail("It is %d characters long after trimming.", last - first + 1)));

	for (int i = first; i <= last; i++)
		if (is_control(w[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("display_name must not contain control characters"),
					 errdetail("Character %d is U+%04X.", i - first + 1, (unsigned) w[i])));

	/* Byte offsets of the trimmed range. */
	for (int i = 0; i < first; i++)
		start_byte += pg_mblen(s + start_byte);
	end_byte = start_byte;
	for (int i = first; i <= last; i++)
		end_byte += pg_mblen(s + end_byte);

	pfree(w);
	return cstring_to_text_with_len(s + start_byte, end_byte - start_byte);
}

void
parley_check_metadata(Jsonb *metadata, const char *argname)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	int			depth = 0;
	char	   *text_form;
	int			text_len;

	if (!JB_ROOT_IS_OBJECT(metadata) || JB_ROOT_IS_SCALAR(metadata))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a JSON object", argname)));

	it = JsonbIteratorInit(&metadata->root);
	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if (tok == WJB_BEGIN_OBJECT || tok == WJB_BEGIN_ARRAY)
		{
			if (++depth > PARLEY_METADATA_MAX_DEPTH)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("%s is nested more than %d levels deep",
								argname, PARLEY_METADATA_MAX_DEPTH)));
		}
		else if (tok == WJB_END_OBJECT || tok == WJB_END_ARRAY)
			depth--;
	}

	/* The limit is on PostgreSQL's own output form, metadata::text. */
	text_form = JsonbToCString(NULL, &metadata->root, VARSIZE(metadata));
	text_len = strlen(text_form);
	pfree(text_form);
	if (text_len > PARLEY_METADATA_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at most %d bytes as JSON text",
						argname, PARLEY_METADATA_MAX_BYTES),
				 errdetail("It is %d bytes.", text_len)));
}

void
parley_check_body(text *body)
{
	const char *s = VARDATA_ANY(body);
	int			len = VARSIZE_ANY_EXHDR(body);
	int			n;
	pg_wchar   *w;
	bool		only_space = true;

	/* Cheap bound first: 4000 code points are at most 16000 bytes. */
	if (len > PARLEY_BODY_MAX_CHARS * 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("body must be at most %d characters long", PARLEY_BODY_MAX_CHARS)));

	w = to_wchars(s, len, &n);
	if (n > PARLEY_BODY_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("body must be at most %d characters long", PARLEY_BODY_MAX_CHARS),
				 errdetail("It is %d characters long.", n)));
	for (int i = 0; i < n && only_space; i++)
		only_space = parley_is_unicode_space(w[i]);
	pfree(w);
	if (only_space)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("body must not be empty"),
				 errdetail("It is empty or only white space.")));
}

void
parley_check_client_msg_id(text *id)
{
	int			len = VARSIZE_ANY_EXHDR(id);

	if (len < 1 || len > PARLEY_ID_MAX_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("client_msg_id must be 1 to %d bytes long", PARLEY_ID_MAX_BYTES),
				 errdetail("It is %d bytes long.", len)));
}

void
parley_check_title(text *title)
{
	const char *s = VARDATA_ANY(title);
	int			len = VARSIZE_ANY_EXHDR(title);
	int			n;
	pg_wchar   *w;

	if (len > PARLEY_TITLE_MAX_CHARS * 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("title must be at most %d characters long", PARLEY_TITLE_MAX_CHARS)));
	w = to_wchars(s, len, &n);
	if (n > PARLEY_TITLE_MAX_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("title must be at most %d characters long", PARLEY_TITLE_MAX_CHARS),
				 errdetail("It is %d characters long.", n)));
	for (int i = 0; i < n; i++)
		if (is_control(w[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("title must not contain control characters"),
					 errdetail("Character %d is U+%04X.", i + 1, (unsigned) w[i])));
	pfree(w);
}

int
parley_page_limit(FunctionCallInfo fcinfo, int argno)
{
	int32		limit;

	if (PG_ARGISNULL(argno))
		return PARLEY_PAGE_DEFAULT;
	limit = PG_GETARG_INT32(argno);
	if (limit < 1 || limit > PARLEY_PAGE_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("limit must be between 1 and %d", PARLEY_PAGE_MAX),
				 errdetail("It is %d.", limit)));
	return limit;
}

bool
parley_seq_cursor_arg(FunctionCallInfo fcinfo, int argno, const char *argname, int64 *value)
{
	if (PG_ARGISNULL(argno))
		return false;
	*value = PG_GETARG_INT64(argno);
	if (*value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", argname),
				 errdetail("It is " INT64_FORMAT ".", *value)));
	return true;
}
