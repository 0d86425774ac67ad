/*
 * attachments.c
 *	  Validation of a message's attachments (0.5.0): the rules of API.md
 *	  section 9, checked on the jsonb the caller passed, which is then
 *	  stored as sent.
 *
 * Each element must be an object with exactly the known fields: the count
 * of fields found by key lookup (findJsonbValueFromContainer, a binary
 * search of the object) must equal the object's size, so an unknown field
 * is refused without walking the object.  An optional field that is JSON
 * null counts as absent.  Numbers must be integers written without a
 * fraction (jsonb keeps 1.0 as 1.0; 1e3 becomes 1000).
 */
#include "postgres.h"

#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "attachments.h"

static void
bad(int i, const char *fmt, const char *field)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("attachments[%d]: %s %s", i, field, fmt)));
}

/* The value of key in object container c, or NULL when absent or JSON null. */
static JsonbValue *
field(JsonbContainer *c, const char *key, int *found)
{
	JsonbValue	k;
	JsonbValue *v;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(c, JB_FOBJECT, &k);
	if (v == NULL)
		return NULL;
	(*found)++;
	return v->type == jbvNull ? NULL : v;
}

/* An integer in [min, max] (max < 0: no upper bound), else 400. */
static void
check_integer(int i, JsonbValue *v, const char *name, int64 min, int64 max)
{
	char	   *s;
	int64		n;
	char	   *end;

	if (v->type != jbvNumeric)
		bad(i, "must be an integer", name);
	s = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
	for (const char *p = (*s == '-') ? s + 1 : s; *p; p++)
		if (*p < '0' || *p > '9')
			bad(i, "must be an integer", name);
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || (max >= 0 && n > max))
	{
		if (max >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("attachments[%d]: %s must be between " INT64_FORMAT " and " INT64_FORMAT,
							i, name, min, max),
					 errdetail("It is %s.", s)));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("attachments[%d]: %s must be an integer of at least " INT64_FORMAT,
						i, name, min),
				 errdetail("It is %s.", s)));
	}
}

/* RFC 6838 restricted-name characters (after the first, alphanumeric). */
static bool
mime_char(char c, bool first)
{
	if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return true;
	return !first && strchr("!#$&^_.+-", c) != NULL;
}

/* type/subtype, each 1-127 restricted-name characters. */
static bool
mime_type_ok(const char *s, int len)
{
	int			part = 0;
	int			n = 0;

	for (int k = 0; k < len; k++)
	{
		if (s[k] == '/')
		{
			if (part == 1 || n == 0)
				return false;
			part = 1;
			n = 0;
			continue;
		}
		if (!mime_char(s[k], n == 0) || ++n > 127)
			return false;
	}
	return part == 1 && n > 0;
}

/*
 * https://, case-insensitive, then at least a host: no white space, no
 * control characters (the URL is stored and handed to clients as sent).
 */
static bool
url_ok(const char *s, int len)
{
	if (len <= 8 || pg_strncasecmp(s, "https://", 8) != 0 || s[8] == '/')
		return false;
	for (int k = 0; k < len; k++)
	{
		unsigned char c = (unsigned char) s[k];

		if (c <= 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

int
parley_check_attachments(Jsonb *attachments)
{
	JsonbContainer *root = &attachments->root;
	int			n;

	if (!JB_ROOT_IS_ARRAY(attachments) || JB_ROOT_IS_SCALAR(attachments))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("attachments must be a JSON array")));
	n = JsonContainerSize(root);
	if (n > PARLEY_ATTACHMENTS_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a message has at most %d attachments", PARLEY_ATTACHMENTS_MAX),
				 errdetail("It has %d.", n)));

	for (int i = 0; i < n; i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(root, i);
		JsonbContainer *o;
		JsonbValue *v;
		int			found = 0;

		if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("attachments[%d] must be a JSON object", i)));
		o = e->val.binary.data;

		v = field(o, "url", &found);
		if (v == NULL)
			bad(i, "is required", "url");
		if (v->type != jbvString)
			bad(i, "must be a string", "url");
		if (v->val.string.len > PARLEY_ATTACHMENT_URL_MAX)
			bad(i, "must be at most 2048 bytes long", "url");
		if (!url_ok(v->val.string.val, v->val.string.len))
			bad(i, "must be an https URL", "url");

		v = field(o, "mime_type", &found);
		if (v == NULL)
			bad(i, "is required", "mime_type");
		if (v->type != jbvString || !mime_type_ok(v->val.string.val, v->val.string.len))
			bad(i, "must be a MIME type, type/subtype", "mime_type");

		v = field(o, "size", &found);
		if (v == NULL)
			bad(i, "is required", "size");
		check_integer(i, v, "size", 0, -1);

		if ((v = field(o, "name", &found)) != NULL)
		{
			if (v->type != jbvString)
				bad(i, "must be a string", "name");
			if (pg_mbstrlen_with_len(v->val.string.val, v->val.string.len) > PARLEY_ATTACHMENT_NAME_MAX)
				bad(i, "must be at most 255 characters long", "name");
		}
		if ((v = field(o, "width", &found)) != NULL)
			check_integer(i, v, "width", 1, PARLEY_ATTACHMENT_DIM_MAX);
		if ((v = field(o, "height", &found)) != NULL)
			check_integer(i, v, "height", 1, PARLEY_ATTACHMENT_DIM_MAX);
		if ((v = field(o, "duration_ms", &found)) != NULL)
			check_integer(i, v, "duration_ms", 0, -1);

		if (found != JsonContainerSize(o))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("attachments[%d] has an unknown field", i),
					 errhint("The fields are url, mime_type, size, name, width, height and duration_ms.")));
	}
	return n;
}

Jsonb *
parley_empty_attachments(void)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("[]")));
}
