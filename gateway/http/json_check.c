/*
 * json_check.c
 *	  Request body checks, in this order:
 *
 *	  1. scan_json(): the whole RFC 8259 grammar over the raw bytes, with
 *	     UTF-8, the two strings PostgreSQL cannot store (\u0000 and lone
 *	     surrogates) and the nesting limit.
 *	  2. cJSON builds the tree of the document scan_json() accepted.
 *	  3. A duplicate-key walk (cJSON keeps the first, jsonb the last).
 *	  4. The per-route field types; JF_INTEGER on the number's own text.
 *
 *	  Why a scanner of our own in front of cJSON.  Whatever the gateway
 *	  passes reaches PostgreSQL's json parser, which is exactly RFC 8259,
 *	  while cJSON is lenient: it takes 01, 1., 1.e5, a byte order mark,
 *	  form feeds and other control characters as white space, invalid
 *	  UTF-8 inside strings, and it truncates strings at \u0000.  Each of
 *	  those came back as validation_failed with PostgreSQL's parser text
 *	  instead of invalid_json.  Another library would not remove the need
 *	  for a pass of our own: json-c, jansson and yajl are each lenient or
 *	  strict in other places, none answers \u0000 and lone surrogates as
 *	  PostgreSQL does, and none keeps a number's text (needed for integers
 *	  that are digits, not doubles).  The grammar is small, so the scanner
 *	  is one iterative loop: no allocation, no recursion, one bit of state
 *	  per open container (the depth is bounded by JSON_MAX_DEPTH, so the
 *	  stack is one uint64_t), O(n), and the first error names its byte.
 *	  cJSON is kept for the tree, and only ever sees valid documents at
 *	  most JSON_MAX_DEPTH deep, far inside its own recursion limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_check.h"

_Static_assert(JSON_MAX_DEPTH <= 64, "the container stack is one uint64_t");

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

/* The value of 4 hex digits at s (n bytes available), or -1. */
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

/* RFC 8259 white space: exactly these four. */
static bool
is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static size_t
skip_ws(const unsigned char *s, size_t len, size_t i)
{
	while (i < len && is_ws(s[i]))
		i++;
	return i;
}

static bool
bad_json(struct problem *p, const char *what, size_t at)
{
	problem_set(p, 400, CODE_INVALID_JSON, "body is not valid JSON: %s (at byte %zu)", what, at);
	return false;
}

/*
 * The string starting at s[*i] == '"'; on success *i is just past its
 * closing quote.  Raw control characters, invalid UTF-8 and malformed
 * escapes are invalid_json; \u0000 and lone surrogates, which are valid
 * JSON that PostgreSQL cannot store, are validation_failed.
 */
static bool
scan_string(const unsigned char *s, size_t len, size_t *ip, struct problem *p)
{
	size_t		i = *ip + 1;

	for (;;)
	{
		unsigned char c;

		if (i >= len)
			return bad_json(p, "unterminated string", *ip);
		c = s[i];
		if (c == '"')
			break;
		if (c < 0x20)
			return bad_json(p, "unescaped control character in a string", i);
		if (c >= 0x80)
		{
			size_t		n = utf8_sequence(s + i, len - i);

			if (n == 0)
				return bad_json(p, "invalid UTF-8", i);
			i += n;
			continue;
		}
		if (c != '\\')
		{
			i++;
			continue;
		}
		if (i + 1 >= len)
			return bad_json(p, "unterminated string", *ip);
		if (strchr("\"\\/bfnrt", s[i + 1]) != NULL && s[i + 1] != '\0')
		{
			i += 2;
			continue;
		}
		if (s[i + 1] != 'u')
			return bad_json(p, "invalid escape in a string", i);
		{
			int			u = hex4(s + i + 2, len - i - 2);

			if (u < 0)
				return bad_json(p, "malformed \\u escape", i);
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
			i += 6;
		}
	}
	*ip = i + 1;
	return true;
}

/*
 * The number starting at s[*i]:
 *   [ "-" ] ( "0" / digit1-9 *digit ) [ "." 1*digit ] [ ( "e" / "E" ) [ "+" / "-" ] 1*digit ]
 * On success *i is just past it.  What follows is the caller's to judge.
 */
static bool
scan_number(const unsigned char *s, size_t len, size_t *ip, struct problem *p)
{
	size_t		i = *ip;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i < len && is_digit(s[i]))
		while (i < len && is_digit(s[i]))
			i++;
	else
		return bad_json(p, "malformed number", *ip);
	if (i < len && is_digit(s[i]))
		return bad_json(p, "a number with a leading zero", *ip);
	if (i < len && s[i] == '.')
	{
		if (++i >= len || !is_digit(s[i]))
			return bad_json(p, "a number with no digit after the decimal point", *ip);
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || !is_digit(s[i]))
			return bad_json(p, "a number with no digit in its exponent", *ip);
		while (i < len && is_digit(s[i]))
			i++;
	}
	*ip = i;
	return true;
}

/* What scan_json() expects next. */
enum scan_state
{
	WANT_VALUE,					/* at the start, after ':' or after ',' in an array */
	WANT_VALUE_OR_CLOSE,		/* after '[' */
	WANT_KEY,					/* after ',' in an object */
	WANT_KEY_OR_CLOSE,			/* after '{' */
	WANT_COMMA_OR_CLOSE			/* after a value inside a container */
};

/*
 * The whole document s[0..len) against RFC 8259, iteratively.  stack has
 * bit d set when the container at depth d + 1 is an object.  Nesting
 * deeper than JSON_MAX_DEPTH is validation_failed (valid JSON, a rule of
 * the API), found at the first container too deep, so a 2,000-deep
 * document costs no more than a 34-deep one.
 */
static bool
scan_json(const unsigned char *s, size_t len, struct problem *p)
{
	enum scan_state state = WANT_VALUE;
	uint64_t	stack = 0;
	int			depth = 0;
	size_t		i = 0;

	/* cJSON skips a byte order mark, PostgreSQL's json parser does not. */
	if (len >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF)
		return bad_json(p, "a byte order mark is not JSON", 0);
	for (;;)
	{
		bool		value_done = false;
		bool		in_object = depth > 0 && (stack >> (depth - 1) & 1);
		unsigned char c;

		i = skip_ws(s, len, i);
		if (i >= len)
			return bad_json(p, len == 0 ? "the body is empty" : "unexpected end of the body", i);
		c = s[i];
		switch (state)
		{
			case WANT_KEY_OR_CLOSE:
				if (c == '}')
				{
					i++;
					depth--;
					value_done = true;
					break;
				}
				/* FALLTHROUGH */
			case WANT_KEY:
				if (c != '"')
					return bad_json(p, "expected a member name in double quotes", i);
				if (!scan_string(s, len, &i, p))
					return false;
				i = skip_ws(s, len, i);
				if (i >= len || s[i] != ':')
					return bad_json(p, "expected ':' after a member name", i);
				i++;
				state = WANT_VALUE;
				break;
			case WANT_COMMA_OR_CLOSE:
				if (c == ',')
				{
					i++;
					state = in_object ? WANT_KEY : WANT_VALUE;
					break;
				}
				if (c != (in_object ? '}' : ']'))
					return bad_json(p, in_object ? "expected ',' or '}'" : "expected ',' or ']'", i);
				i++;
				depth--;
				value_done = true;
				break;
			case WANT_VALUE_OR_CLOSE:
				if (c == ']')
				{
					i++;
					depth--;
					value_done = true;
					break;
				}
				/* FALLTHROUGH */
			case WANT_VALUE:
				if (c == '{' || c == '[')
				{
					if (depth == JSON_MAX_DEPTH)
					{
						problem_set(p, 400, CODE_VALIDATION,
									"objects and arrays nest more than %d levels deep below the body (at byte %zu)",
									JSON_MAX_DEPTH - 1, i);
						return false;
					}
					if (c == '{')
						stack |= (uint64_t) 1 << depth;
					else
						stack &= ~((uint64_t) 1 << depth);
					depth++;
					i++;
					state = (c == '{') ? WANT_KEY_OR_CLOSE : WANT_VALUE_OR_CLOSE;
					break;
				}
				if (c == '"')
				{
					if (!scan_string(s, len, &i, p))
						return false;
				}
				else if (c == '-' || is_digit(c))
				{
					if (!scan_number(s, len, &i, p))
						return false;
				}
				else if (len - i >= 4 && memcmp(s + i, "true", 4) == 0)
					i += 4;
				else if (len - i >= 4 && memcmp(s + i, "null", 4) == 0)
					i += 4;
				else if (len - i >= 5 && memcmp(s + i, "false", 5) == 0)
					i += 5;
				else
					return bad_json(p, c < 0x20 ? "a control character that is not white space" :
									"unexpected character", i);
				value_done = true;
				break;
		}
		if (!value_done)
			continue;
		if (depth == 0)
		{
			i = skip_ws(s, len, i);
			if (i < len)
				return bad_json(p, "data after the JSON value", i);
			return true;
		}
		state = WANT_COMMA_OR_CLOSE;
	}
}

/*
 * Offsets in a document scan_json() accepted: past the string at s[i],
 * and past the value at s[i] (a scalar ends at the next delimiter).
 */
static size_t
skip_string(const char *s, size_t i)
{
	for (i++; s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i + 1;
}

static size_t
skip_value(const char *s, size_t len, size_t i)
{
	int			depth = 0;

	do
	{
		switch (s[i])
		{
			case '"':
				i = skip_string(s, i);
				break;
			case '{':
			case '[':
				depth++;
				i++;
				break;
			case '}':
			case ']':
				depth--;
				i++;
				break;
			default:
				if (depth > 0)
					i++;
				else
					while (i < len && !is_ws((unsigned char) s[i]) &&
						   s[i] != ',' && s[i] != '}' && s[i] != ']')
						i++;
				break;
		}
	} while (depth > 0 && i < len);
	return i;
}

/*
 * The text of the value of member number k (from 0, in document order,
 * as cJSON keeps them) of the top-level object of a valid document.
 */
static struct json_span
member_span(const char *s, size_t len, int k)
{
	struct json_span span = {0, 0};
	size_t		i = skip_ws((const unsigned char *) s, len, 0) + 1;		/* past '{' */

	for (int m = 0;; m++)
	{
		size_t		end;

		i = skip_ws((const unsigned char *) s, len, i);
		i = skip_string(s, i);
		i = skip_ws((const unsigned char *) s, len, i) + 1;		/* past ':' */
		i = skip_ws((const unsigned char *) s, len, i);
		end = skip_value(s, len, i);
		if (m == k)
		{
			span.off = i;
			span.len = end - i;
			return span;
		}
		i = skip_ws((const unsigned char *) s, len, end) + 1;	/* past ',' */
	}
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

/*
 * An integer is a JSON number written as digits: no fraction, no exponent.
 * 3.0, 1e2, 1.0000000000000001 and 1e-400 are numbers a double would call
 * integral, and PostgreSQL's cast would round: refused.  The size is not
 * limited here; the binding clamps it (decimal.h).
 */
static bool
is_integer_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_digit((unsigned char) s[i]) && !(i == 0 && s[i] == '-'))
			return false;
	return n > 0;
}

static bool
field_has_type(const cJSON *v, enum json_field_type type, const char *text, size_t textlen)
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
			return cJSON_IsNumber(v) && is_integer_text(text, textlen);
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

/* The index of the member v among root's children, in document order. */
static int
member_index(const cJSON *root, const cJSON *v)
{
	int			k = 0;

	for (const cJSON *c = root->child; c != v; c = c->next)
		k++;
	return k;
}

bool
json_check_body(const char *body, size_t len, const struct json_field *fields,
				struct json_span *spans, struct problem *p)
{
	cJSON	   *root;
	bool		ok = false;
	int			nf = 0;

	if (!scan_json((const unsigned char *) body, len, p))
		return false;

	/*
	 * body[len] is '\0', and the length passed includes it: with
	 * require_null_terminated cJSON then fails on anything after the value.
	 * scan_json() accepted the document, so only memory can fail here.
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
	for (const struct json_field *f = fields; f && f->name; f++, nf++)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, f->name);
		struct json_span span = {0, 0};

		if (v == NULL)
		{
			if (f->required)
			{
				problem_set(p, 400, CODE_WRONG_SHAPE, "field \"%s\" is required", f->name);
				goto done;
			}
		}
		else
		{
			if (spans != NULL || f->type == JF_INTEGER)
				span = member_span(body, len, member_index(root, v));
			if (!field_has_type(v, f->type, body + span.off, span.len))
			{
				problem_set(p, 400, CODE_WRONG_SHAPE, "field \"%s\" must be %s",
							f->name, field_type_name(f->type));
				goto done;
			}
		}
		if (spans != NULL)
			spans[nf] = span;
	}
	ok = true;
done:
	cJSON_Delete(root);
	return ok;
}
