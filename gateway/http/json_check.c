/*
 * json_check.c
 *	  Request body checks: a raw byte scan before cJSON (cJSON passes invalid
 *	  UTF-8 through and truncates strings at \u0000), the cJSON parse, a
 *	  duplicate-key walk (cJSON keeps the first, jsonb the last), and the
 *	  per-route field types.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_check.h"

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
utf8_sequence(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
	if (c >= 0xE0 && c <= 0xEF)
	{
		unsigned char lo = (c == 0xE0) ? 0xA0 : 0x80;
		unsigned char hi = (c == 0xED) ? 0x9F : 0xBF;	/* no UTF-16 surrogates */

		return (n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80) ? 3 : 0;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		unsigned char lo = (c == 0xF0) ? 0x90 : 0x80;
		unsigned char hi = (c == 0xF4) ? 0x8F : 0xBF;	/* max U+10FFFF */

		return (n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 &&
				(s[3] & 0xC0) == 0x80) ? 4 : 0;
	}
	return 0;
}

static int
hex4(const unsigned char *s, size_t n)
{
	int			v = 0;

	if (n < 4)
		return -1;
	for (int i = 0; i < 4; i++)
	{
		unsigned char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

/*
 * The byte scan.  Malformed escapes are left for cJSON to reject; this
 * only looks for what cJSON would let through.
 */
static bool
scan_raw(const unsigned char *s, size_t len, struct problem *p)
{
	bool		in_string = false;
	size_t		i = 0;

	/* cJSON skips a byte order mark, PostgreSQL's json parser does not. */
	if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
	{
		problem_set(p, 400, CODE_INVALID_JSON, "a byte order mark is not JSON");
		return false;
	}
	while (i < len)
	{
		unsigned char c = s[i];
		size_t		n = utf8_sequence(s + i, len - i);

		if (n == 0 || c == '\0')
		{
			problem_set(p, 400, CODE_INVALID_JSON, "body is not valid UTF-8 JSON (at byte %zu)", i);
			return false;
		}
		if (!in_string)
		{
			if (c == '"')
				in_string = true;
			i += n;
			continue;
		}
		if (c == '"')
			in_string = false;
		else if (c < 0x20)
		{
			problem_set(p, 400, CODE_INVALID_JSON,
						"unescaped control character in a string (at byte %zu)", i);
			return false;
		}
		else if (c == '\\' && i + 1 < len)
		{
			if (s[i + 1] == 'u')
			{
				int			u = hex4(s + i + 2, len - i - 2);

				if (u == 0)
				{
					problem_set(p, 400, CODE_VALIDATION, "\\u0000 is not allowed in strings");
					return false;
				}
				if (u >= 0xD800 && u <= 0xDBFF)
				{
					int			lo = -1;

					if (i + 12 <= len && s[i + 6] == '\\' && s[i + 7] == 'u')
						lo = hex4(s + i + 8, len - i - 8);
					if (lo < 0xDC00 || lo > 0xDFFF)
					{
						problem_set(p, 400, CODE_VALIDATION, "lone surrogate \\u%04X in a string", u);
						return false;
					}
					i += 12;
					continue;
				}
				if (u >= 0xDC00 && u <= 0xDFFF)
				{
					problem_set(p, 400, CODE_VALIDATION, "lone surrogate \\u%04X in a string", u);
					return false;
				}
				i += (u < 0) ? 2 : 6;
				continue;
			}
			i += 2;				/* skip the escaped character, e.g. \" */
			continue;
		}
		i += n;
	}
	return true;
}

static int
compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Does any object in the tree hold one key twice?  Sorts, so n log n. */
static bool
has_duplicate_keys(const cJSON *node)
{
	const cJSON *child;

	if (cJSON_IsObject(node))
	{
		size_t		n = 0;
		size_t		i = 0;
		const char **keys;
		bool		dup = false;

		for (child = node->child; child; child = child->next)
			n++;
		if (n > 1)
		{
			keys = malloc(n * sizeof(*keys));
			if (keys == NULL)
				return true;	/* refuse rather than pass it unchecked */
			for (child = node->child; child; child = child->next)
				keys[i++] = child->string;
			qsort(keys, n, sizeof(*keys), compare_keys);
			for (i = 1; i < n && !dup; i++)
				dup = strcmp(keys[i - 1], keys[i]) == 0;
			free(keys);
			if (dup)
				return true;
		}
	}
	if (cJSON_IsObject(node) || cJSON_IsArray(node))
		for (child = node->child; child; child = child->next)
			if (has_duplicate_keys(child))
				return true;
	return false;
}

static bool
field_has_type(const cJSON *v, enum json_field_type type)
{
	const cJSON *e;

	switch (type)
	{
		case JF_STRING:
			return cJSON_IsString(v);
		case JF_STRING_OR_NULL:
			return cJSON_IsString(v) || cJSON_IsNull(v);
		case JF_STRING_ARRAY:
			if (!cJSON_IsArray(v))
				return false;
			cJSON_ArrayForEach(e, v)
				if (!cJSON_IsString(e))
				return false;
			return true;
		case JF_INTEGER:
			/* The value itself reaches PostgreSQL as text, exactly. */
			return cJSON_IsNumber(v) && isfinite(v->valuedouble) &&
				floor(v->valuedouble) == v->valuedouble;
		case JF_ANY:
			return true;
	}
	return false;
}

const char *
json_field_schema_type(enum json_field_type type)
{
	switch (type)
	{
		case JF_STRING:
		case JF_STRING_OR_NULL:
			return "string";
		case JF_STRING_ARRAY:
			return "array";
		case JF_INTEGER:
			return "integer";
		case JF_ANY:
			return "object";
	}
	return "string";
}

static const char *
field_type_name(enum json_field_type type)
{
	switch (type)
	{
		case JF_STRING:
			return "a string";
		case JF_STRING_OR_NULL:
			return "a string or null";
		case JF_STRING_ARRAY:
			return "an array of strings";
		case JF_INTEGER:
			return "an integer";
		case JF_ANY:
			return "a JSON value";
	}
	return "?";
}

bool
json_check_body(const char *body, size_t len, const struct json_field *fields,
				struct problem *p)
{
	cJSON	   *root;
	bool		ok = false;

	if (!scan_raw((const unsigned char *) body, len, p))
		return false;

	/*
	 * body[len] is '\0', and the length passed includes it: with
	 * require_null_terminated cJSON then fails on anything after the value.
	 */
	root = cJSON_ParseWithLengthOpts(body, len + 1, NULL, 1);
	if (root == NULL)
	{
		problem_set(p, 400, CODE_INVALID_JSON, "body is not valid JSON");
		return false;
	}
	if (has_duplicate_keys(root))
	{
		problem_set(p, 400, CODE_INVALID_JSON, "body has a duplicate key in an object");
		goto done;
	}
	if (!cJSON_IsObject(root))
	{
		problem_set(p, 400, CODE_WRONG_SHAPE, "body must be a JSON object");
		goto done;
	}
	for (const struct json_field *f = fields; f && f->name; f++)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, f->name);

		if (v == NULL)
		{
			if (f->required)
			{
				problem_set(p, 400, CODE_WRONG_SHAPE, "field \"%s\" is required", f->name);
				goto done;
			}
			continue;
		}
		if (!field_has_type(v, f->type))
		{
			problem_set(p, 400, CODE_WRONG_SHAPE, "field \"%s\" must be %s",
						f->name, field_type_name(f->type));
			goto done;
		}
	}
	ok = true;
done:
	cJSON_Delete(root);
	return ok;
}
