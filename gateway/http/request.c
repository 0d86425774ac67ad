/*
 * request.c
 *	  Routing and parameter binding, as pure functions over strings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"

void
request_parse_init(struct request_parse *rp)
{
	memset(rp, 0, sizeof(*rp));
}

void
request_parse_free(struct request_parse *rp)
{
	free(rp->path_buf);
	free(rp->query_buf);
	free(rp->body);
	memset(rp, 0, sizeof(*rp));
}

int
hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
percent_decode(const char *s, size_t len, bool plus_is_space, char *out)
{
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (c == '%')
		{
			int			hi,
						lo;

			if (i + 2 >= len)
				return -1;
			hi = hex_digit_value(s[i + 1]);
			lo = hex_digit_value(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char) (hi * 16 + lo);
			i += 2;
		}
		else if (c == '+' && plus_is_space)
			c = ' ';
		if (c == '\0')
			return -1;
		out[o++] = c;
	}
	out[o] = '\0';
	return (long) o;
}

/*
 * Split the raw path into segments and decode each in place.  The path is
 * split before decoding, so %2F stays inside its segment.
 */
static bool
split_path(struct request_parse *rp, const char *path)
{
	char	   *s;

	if (path == NULL || path[0] != '/')
		return false;
	rp->path_buf = strdup(path + 1);
	if (rp->path_buf == NULL)
		return false;
	s = rp->path_buf;
	for (;;)
	{
		char	   *slash = strchr(s, '/');
		size_t		len = slash ? (size_t) (slash - s) : strlen(s);

		if (rp->nsegments == REQUEST_MAX_SEGMENTS)
			return false;
		if (slash)
			*slash = '\0';
		rp->segment_bad[rp->nsegments] = percent_decode(s, len, false, s) < 0;
		rp->segments[rp->nsegments++] = s;
		if (slash == NULL)
			break;
		s = slash + 1;
	}
	return true;
}

/* Does the pattern match the segments?  Literal segments must be equal. */
static bool
pattern_matches(const char *pattern, const struct request_parse *rp)
{
	const char *p = pattern + 1;
	int			i = 0;

	for (; i < rp->nsegments; i++)
	{
		const char *end = strchr(p, '/');
		size_t		len = end ? (size_t) (end - p) : strlen(p);

		if (p[0] != '{')
		{
			if (rp->segment_bad[i] || strlen(rp->segments[i]) != len ||
				memcmp(rp->segments[i], p, len) != 0)
				return false;
		}
		else if (rp->segments[i][0] == '\0')
			return false;		/* an empty id is no path */
		if (end == NULL)
			return i + 1 == rp->nsegments;
		p = end + 1;
	}
	return false;
}

/* The order of methods in an Allow header. */
static const enum http_method allow_order[] = {
	METHOD_GET, METHOD_HEAD, METHOD_POST, METHOD_PUT, METHOD_PATCH, METHOD_DELETE
};

bool
request_route(struct request_parse *rp, enum http_method method, const char *path,
			  struct problem *p, char *allow, size_t allowlen)
{
	/* RFC 9110 section 9.3.2: HEAD is GET without the body. */
	enum http_method want = (method == METHOD_HEAD) ? METHOD_GET : method;
	unsigned	allowed = 0;

	if (allowlen > 0)
		allow[0] = '\0';
	if (split_path(rp, path))
	{
		for (int i = 0; i < nroutes; i++)
		{
			if (!pattern_matches(routes[i].pattern, rp))
				continue;
			if (routes[i].method == want)
			{
				rp->route = &routes[i];
				return true;
			}
			allowed |= routes[i].method;
			if (routes[i].method == METHOD_GET)
				allowed |= METHOD_HEAD;
		}
	}
	if (allowed == 0)
	{
		problem_set(p, 404, CODE_NOT_FOUND, "no such route");
		return false;
	}
	for (size_t i = 0; i < sizeof(allow_order) / sizeof(allow_order[0]) && allowlen > 0; i++)
	{
		if (!(allowed & allow_order[i]))
			continue;
		if (allow[0] != '\0')
			strncat(allow, ", ", allowlen - strlen(allow) - 1);
		strncat(allow, http_method_name(allow_order[i]), allowlen - strlen(allow) - 1);
	}
	problem_set(p, 405, CODE_METHOD, "method not allowed on this route");
	return false;
}

/* Split the raw query at & and =, decode in place ('+' is a space). */
static bool
split_query(struct request_parse *rp, const char *query, struct problem *p)
{
	char	   *s;

	if (query == NULL || query[0] == '\0')
		return true;
	rp->query_buf = strdup(query);
	if (rp->query_buf == NULL)
	{
		problem_set(p, 500, CODE_INTERNAL, "out of memory");
		return false;
	}
	s = rp->query_buf;
	while (s != NULL)
	{
		char	   *amp = strchr(s, '&');
		char	   *eq;
		char	   *value;

		if (amp)
			*amp = '\0';
		if (*s != '\0')
		{
			eq = strchr(s, '=');
			value = eq ? eq + 1 : s + strlen(s);
			if (eq)
				*eq = '\0';
			if (rp->nquery == REQUEST_MAX_QUERY)
			{
				problem_set(p, 400, CODE_VALIDATION, "too many query parameters");
				return false;
			}
			if (percent_decode(s, strlen(s), true, s) < 0 ||
				percent_decode(value, strlen(value), true, value) < 0)
			{
				problem_set(p, 400, CODE_VALIDATION,
							"malformed percent-encoding in the query string");
				return false;
			}
			rp->query[rp->nquery].name = s;
			rp->query[rp->nquery].value = value;
			rp->nquery++;
		}
		s = amp ? amp + 1 : NULL;
	}
	return true;
}

/*
 * The value of a query parameter: NULL when absent, "" when given empty.
 * A parameter given twice is an error: which one would win is not obvious.
 */
static bool
query_get(const struct request_parse *rp, const char *name, const char **value,
		  struct problem *p)
{
	*value = NULL;
	for (int i = 0; i < rp->nquery; i++)
	{
		if (strcmp(rp->query[i].name, name) != 0)
			continue;
		if (*value != NULL)
		{
			problem_set(p, 400, CODE_VALIDATION, "query parameter \"%s\" is given twice", name);
			return false;
		}
		*value = rp->query[i].value;
	}
	return true;
}

/* Is value one of choices ("a|b|c")?  The empty string never is. */
static bool
is_choice(const char *value, const char *choices)
{
	size_t		n = strlen(value);

	while (n > 0 && choices != NULL)
	{
		const char *bar = strchr(choices, '|');
		size_t		len = bar ? (size_t) (bar - choices) : strlen(choices);

		if (len == n && memcmp(value, choices, n) == 0)
			return true;
		choices = bar ? bar + 1 : NULL;
	}
	return false;
}

/* choices "a|b|c" as "a, b or c", for a message. */
static void
choices_text(const char *choices, char *out, size_t outlen)
{
	const char *last = strrchr(choices, '|');
	size_t		o = 0;

	for (const char *c = choices; *c != '\0' && o + 5 < outlen; c++)
	{
		if (*c != '|')
			out[o++] = *c;
		else if (c == last)
		{
			memcpy(out + o, " or ", 4);
			o += 4;
		}
		else
		{
			memcpy(out + o, ", ", 2);
			o += 2;
		}
	}
	out[o] = '\0';
}

/* Is the media type application/json?  Parameters such as charset are fine. */
static bool
is_json_media_type(const char *ct)
{
	static const char json[] = "application/json";
	size_t		n = sizeof(json) - 1;

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, json, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* The decoded path segment for {name} of the route's pattern. */
static const char *
path_param(const struct request_parse *rp, const char *name, bool *bad)
{
	const char *p = rp->route->pattern + 1;
	size_t		namelen = strlen(name);

	for (int i = 0; i < rp->nsegments && p != NULL; i++)
	{
		if (p[0] == '{' && strncmp(p + 1, name, namelen) == 0 && p[1 + namelen] == '}')
		{
			*bad = rp->segment_bad[i];
			return rp->segments[i];
		}
		p = strchr(p, '/');
		if (p)
			p++;
	}
	*bad = true;
	return NULL;
}

/* 413 and 415: what is said of any body before its contents. */
static bool
body_acceptable(const char *content_type, size_t body_len, size_t max_body,
				struct problem *p)
{
	if (body_len > max_body)
	{
		problem_set(p, 413, CODE_TOO_LARGE, "request body is over %zu bytes", max_body);
		return false;
	}
	if (!is_json_media_type(content_type))
	{
		problem_set(p, 415, CODE_MEDIA_TYPE, "the body must be sent as Content-Type: application/json");
		return false;
	}
	return true;
}

/* Does every body field of the route have a default (none is required)? */
static bool
body_optional(const struct json_field *fields)
{
	for (const struct json_field *f = fields; f->name != NULL; f++)
		if (f->required)
			return false;
	return true;
}

/*
 * A body-taking route's body.  When none of its fields is required, no body
 * at all (empty, no Content-Type) is the empty object: API.md section 7's
 * minting body is optional.
 */
static bool
bind_body(struct request_parse *rp, const char *content_type, const char *body,
		  size_t body_len, size_t max_body, struct problem *p)
{
	if (body_len == 0 && content_type == NULL && body_optional(rp->route->body))
	{
		body = "{}";
		body_len = 2;
	}
	else if (!body_acceptable(content_type, body_len, max_body, p))
		return false;
	rp->body = malloc(body_len + 1);
	if (rp->body == NULL)
	{
		problem_set(p, 500, CODE_INTERNAL, "out of memory");
		return false;
	}
	if (body_len > 0)
		memcpy(rp->body, body, body_len);
	rp->body[body_len] = '\0';
	rp->body_len = body_len;
	return true;
}

/*
 * A route that takes no body refuses one as any unexpected body is
 * refused (API.md section 6): 413 over the limit, 415 when it is not
 * JSON, and a JSON body is a 400.  An empty body is no body.
 */
static bool
refuse_body(const char *content_type, size_t body_len, size_t max_body, struct problem *p)
{
	if (body_len == 0)
		return true;
	if (!body_acceptable(content_type, body_len, max_body, p))
		return false;
	problem_set(p, 400, CODE_VALIDATION, "this route takes no request body");
	return false;
}

/* Bind one integer, clamped (decimal.h), as rp->values[i]. */
static bool
bind_integer(struct request_parse *rp, int i, const char *s, size_t len, bool allow_minus,
			 int64_t min, int64_t max)
{
	if (!decimal_clamp(s, len, allow_minus, min, max, rp->numbuf[i]))
		return false;
	rp->values[i] = rp->numbuf[i];
	return true;
}

/* A path parameter as rp->values[i]. */
static bool
bind_path(struct request_parse *rp, int i, const struct route_param *param, struct problem *p)
{
	bool		bad = false;
	const char *v = path_param(rp, param->name, &bad);

	if (bad)
	{
		problem_set(p, 400, CODE_VALIDATION,
					"path segment {%s} has a malformed percent-escape or a NUL byte",
					param->name);
		return false;
	}
	rp->values[i] = v;
	if (param->source != PARAM_PATH_SEQ)
		return true;
	/* Positive, any number of digits: beyond bigint it is past the end. */
	if (!bind_integer(rp, i, v, strlen(v), false, 0, INT64_MAX) ||
		strcmp(rp->numbuf[i], "0") == 0)
	{
		problem_set(p, 400, CODE_VALIDATION, "seq in the path must be a positive integer");
		return false;
	}
	return true;
}

/* A query parameter as rp->values[i]. */
static bool
bind_query(struct request_parse *rp, int i, const struct route_param *param, struct problem *p)
{
	const char *v;
	char		text[128];

	if (!query_get(rp, param->name, &v, p))
		return false;
	if (param->source == PARAM_QUERY_ENUM)
	{
		if (v != NULL && !is_choice(v, param->choices))
		{
			choices_text(param->choices, text, sizeof(text));
			problem_set(p, 400, CODE_VALIDATION, "query parameter \"%s\" must be %s",
						param->name, text);
			return false;
		}
		rp->values[i] = v;
		return true;
	}
	if (v != NULL && v[0] == '\0')
		v = NULL;				/* as=, limit=: as if absent */
	if (rp->acting_guest != NULL && strcmp(param->name, "as") == 0)
	{
		if (v != NULL && strcmp(v, rp->acting_guest) != 0)
		{
			problem_set(p, 403, CODE_GUEST_MISMATCH,
						"\"as\" names another guest than the token's");
			return false;
		}
		v = rp->acting_guest;
	}
	rp->values[i] = v;
	switch (param->source)
	{
		case PARAM_QUERY_REQUIRED:
			if (v != NULL)
				return true;
			problem_set(p, 400, CODE_VALIDATION, "query parameter \"%s\" is required", param->name);
			return false;
		case PARAM_QUERY_INT:
			if (v == NULL || bind_integer(rp, i, v, strlen(v), true, INT32_MIN, INT32_MAX))
				return true;
			break;
		case PARAM_QUERY_SEQ:
			if (v == NULL || bind_integer(rp, i, v, strlen(v), true, INT64_MIN, INT64_MAX))
				return true;
			break;
		default:
			return true;
	}
	problem_set(p, 400, CODE_VALIDATION, "query parameter \"%s\" must be an integer", param->name);
	return false;
}

/* The index of field name in fields (below JSON_MAX_FIELDS), or -1. */
static int
field_index(const struct json_field *fields, const char *name)
{
	for (int i = 0; fields != NULL && fields[i].name != NULL && i < JSON_MAX_FIELDS; i++)
		if (strcmp(fields[i].name, name) == 0)
			return i;
	return -1;
}

/* A parameter taken from the body, which json_check_body() accepted. */
static bool
bind_from_body(struct request_parse *rp, int i, const struct route_param *param,
			   struct problem *p)
{
	int			f;
	const struct json_span *span;

	if (param->source == PARAM_BODY)
	{
		rp->values[i] = rp->body;
		return true;
	}
	/* PARAM_BODY_SEQ: json_check_body() made it -?[0-9]+ (JF_INTEGER). */
	f = field_index(rp->route->body, param->name);
	if (f < 0 || rp->route->body[f].type != JF_INTEGER)
	{
		problem_set(p, 500, CODE_INTERNAL, "route %s: \"%s\" is not an integer field of its body",
					rp->route->name, param->name);
		return false;
	}
	span = &rp->body_spans[f];
	if (span->len == 0)
		rp->values[i] = NULL;	/* an optional field, absent */
	else if (!bind_integer(rp, i, rp->body + span->off, span->len, true, INT64_MIN, INT64_MAX))
	{
		problem_set(p, 400, CODE_WRONG_SHAPE, "field \"%s\" must be an integer", param->name);
		return false;
	}
	return true;
}

bool
request_bind(struct request_parse *rp, const char *query, const char *content_type,
			 const char *body, size_t body_len, size_t max_body, struct problem *p)
{
	const struct route *r = rp->route;
	int			nfields = 0;

	/* 413, 415 and an unexpected body come before anything else is said. */
	if (r->body != NULL ? !bind_body(rp, content_type, body, body_len, max_body, p) :
		!refuse_body(content_type, body_len, max_body, p))
		return false;
	if (!split_query(rp, query, p))
		return false;

	/* Path and query first, then the body: a bad id is named before a bad body. */
	rp->nvalues = r->nparams;
	for (int i = 0; i < r->nparams; i++)
	{
		const struct route_param *param = &r->params[i];

		rp->values[i] = NULL;
		switch (param->source)
		{
			case PARAM_PATH_TEXT:
			case PARAM_PATH_UUID:
			case PARAM_PATH_SEQ:
				if (!bind_path(rp, i, param, p))
					return false;
				break;
			case PARAM_QUERY:
			case PARAM_QUERY_REQUIRED:
			case PARAM_QUERY_INT:
			case PARAM_QUERY_SEQ:
			case PARAM_QUERY_ENUM:
				if (!bind_query(rp, i, param, p))
					return false;
				break;
			case PARAM_BODY:
			case PARAM_BODY_SEQ:
			case PARAM_GATEWAY:
				break;
		}
	}
	if (r->body == NULL)
		return true;
	while (r->body[nfields].name != NULL)
		nfields++;
	if (nfields > JSON_MAX_FIELDS)
	{
		problem_set(p, 500, CODE_INTERNAL, "route %s: more than %d body fields", r->name,
					JSON_MAX_FIELDS);
		return false;
	}
	if (!json_check_body(rp->body, rp->body_len, r->body, rp->body_spans, p))
		return false;
	for (int i = 0; i < r->nparams; i++)
		if ((r->params[i].source == PARAM_BODY || r->params[i].source == PARAM_BODY_SEQ) &&
			!bind_from_body(rp, i, &r->params[i], p))
			return false;
	return true;
}
