/*
 * jsonout.c
 *	  JsonbValue builder for the API functions' results.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "catalog/pg_type.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#include "utils/json.h"
#include "utils/numeric.h"

#include "jsonout.h"

static void
push_key(JsonOut *jo, const char *key)
{
	JsonbValue	k;

	if (key == NULL)
		return;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(&jo->state, WJB_KEY, &k);
}

/* Add a scalar as the value of key, or as an array element. */
static void
push_scalar(JsonOut *jo, const char *key, JsonbValue *v)
{
	push_key(jo, key);
	pushJsonbValue(&jo->state, key ? WJB_VALUE : WJB_ELEM, v);
}

void
jo_begin_object(JsonOut *jo, const char *key)
{
	push_key(jo, key);
	pushJsonbValue(&jo->state, WJB_BEGIN_OBJECT, NULL);
}

void
jo_end_object(JsonOut *jo)
{
	jo->root = pushJsonbValue(&jo->state, WJB_END_OBJECT, NULL);
}

void
jo_begin_array(JsonOut *jo, const char *key)
{
	push_key(jo, key);
	pushJsonbValue(&jo->state, WJB_BEGIN_ARRAY, NULL);
}

void
jo_end_array(JsonOut *jo)
{
	jo->root = pushJsonbValue(&jo->state, WJB_END_ARRAY, NULL);
}

void
jo_null(JsonOut *jo, const char *key)
{
	JsonbValue	v;

	v.type = jbvNull;
	push_scalar(jo, key, &v);
}

void
jo_bool(JsonOut *jo, const char *key, bool value)
{
	JsonbValue	v;

	v.type = jbvBool;
	v.val.boolean = value;
	push_scalar(jo, key, &v);
}

void
jo_int64(JsonOut *jo, const char *key, int64 value)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(value);
	push_scalar(jo, key, &v);
}

void
jo_string(JsonOut *jo, const char *key, const char *value, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) value;
	v.val.string.len = len;
	push_scalar(jo, key, &v);
}

void
jo_cstring(JsonOut *jo, const char *key, const char *value)
{
	if (value == NULL)
		jo_null(jo, key);
	else
		jo_string(jo, key, value, strlen(value));
}

void
jo_text(JsonOut *jo, const char *key, text *value)
{
	if (value == NULL)
		jo_null(jo, key);
	else
		jo_string(jo, key, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value));
}

/*
 * RFC 3339 in UTC ("2026-11-23T09:30:00.123456+00:00"), whatever the
 * session's TimeZone, so answers do not depend on who asks.
 */
void
jo_timestamptz(JsonOut *jo, const char *key, TimestampTz value)
{
	char		buf[MAXDATELEN + 1];
	const int	utc = 0;

	JsonEncodeDateTime(buf, TimestampTzGetDatum(value), TIMESTAMPTZOID, &utc);
	jo_cstring(jo, key, pstrdup(buf));
}

void
jo_uuid(JsonOut *jo, const char *key, const pg_uuid_t *value)
{
	static const char hex[] = "0123456789abcdef";
	char		buf[37];
	int			p = 0;

	for (int i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			buf[p++] = '-';
		buf[p++] = hex[value->data[i] >> 4];
		buf[p++] = hex[value->data[i] & 0x0F];
	}
	buf[p] = '\0';
	jo_string(jo, key, pstrdup(buf), p);
}

void
jo_jsonb(JsonOut *jo, const char *key, Jsonb *value)
{
	JsonbValue	v;

	/* pushJsonbValue unpacks a binary container given as a value/element. */
	v.type = jbvBinary;
	v.val.binary.data = &value->root;
	v.val.binary.len = VARSIZE(value) - VARHDRSZ;
	push_scalar(jo, key, &v);
}

Jsonb *
jo_finish(JsonOut *jo)
{
	Assert(jo->state == NULL && jo->root != NULL);
	return JsonbValueToJsonb(jo->root);
}
