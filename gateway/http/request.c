/*
 * request.c
 *	  Routing and parameter binding, as pure functions over strings.
 */
#include <ctype.h>
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

bool
request_route(struct request_parse *rp, enum http_method method, const char *path,
			  struct problem *p, char *allow, size_t allowlen)
{
	unsigned	allowed = 0;

	if (allowlen > 0)
		allow[0] = '\0';
	if (split_path(rp, path))
	{
		for (int i = 0; i < nroutes; i++)
		{
			if (!pattern_matches(routes[i].pattern, rp))
				continue;
			if (routes[i].method == method)
			{
				rp->route = &routes[i];
				return true;
			}
			allowed |= routes[i].method;
		}
	}
	if (allowed == 0)
	{
		problem_set(p, 404, CODE_NOT_FOUND, "no such route");
		return false;
	}
	for (unsigned m = 1; m < METHOD_OTHER; m <<= 1)
	{
		if (!(allowed & m))
			continue;
		if (allow[0] != '\0')
			strncat(allow, ", ", allowlen - strlen(allow) - 1);
		strncat(allow, http_method_name((enum http_method) m), allowlen - strlen(allow) - 1);
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
 * The value of a query parameter; NULL when absent or empty.  A parameter
 * given twice is an error: which one would win is not obvious.
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
	if (*value != NULL && (*value)[0] == '\0')
		*value = NULL;
	return true;
}

/* 1 to 18 ASCII digits (fits a bigint), optionally a leading minus. */
static bool
is_integer(const char *s, bool allow_minus)
{
	size_t		n = 0;

	if (allow_minus && *s == '-')
		s++;
	for (; s[n] != '\0'; n++)
		if (!isdigit((unsigned char) s[n]))
			return false;
	return n >= 1 && n <= 18;
}

static bool
is_positive_integer(const char *s)
{
	if (!is_integer(s, false))
		return false;
	while (*s == '0')
		s++;
	return *s != '\0';
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

static bool
bind_body(struct request_parse *rp, const char *content_type, const char *body,
		  size_t body_len, size_t max_body, struct problem *p)
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

bool
request_bind(struct request_parse *rp, const char *query, const char *content_type,
			 const char *body, size_t body_len, size_t max_body, struct problem *p)
{
	const struct route *r = rp->route;

	/* 413 and 415 come before anything is said about the contents. */
	if (r->body != NULL && !bind_body(rp, content_type, body, body_len, max_body, p))
		return false;
	if (!split_query(rp, query, p))
		return false;

	rp->nvalues = r->nparams;
	for (int i = 0; i < r->nparams; i++)
	{
		const struct route_param *param = &r->params[i];
		const char *v = NULL;
		bool		bad = false;

		switch (param->source)
		{
			case PARAM_PATH_TEXT:
			case PARAM_PATH_UUID:
			case PARAM_PATH_SEQ:
				v = path_param(rp, param->name, &bad);
				if (bad)
				{
					problem_set(p, 400, CODE_VALIDATION,
								"path segment {%s} has a malformed percent-escape or a NUL byte",
								param->name);
					return false;
				}
				if (param->source == PARAM_PATH_SEQ && !is_positive_integer(v))
				{
					problem_set(p, 400, CODE_VALIDATION, "seq in the path must be a positive integer");
					return false;
				}
				break;
			case PARAM_QUERY:
			case PARAM_QUERY_REQUIRED:
			case PARAM_QUERY_INT:
				if (!query_get(rp, param->name, &v, p))
					return false;
				if (v == NULL && param->source == PARAM_QUERY_REQUIRED)
				{
					problem_set(p, 400, CODE_VALIDATION,
								"query parameter \"%s\" is required", param->name);
					return false;
				}
				if (v != NULL && param->source == PARAM_QUERY_INT && !is_integer(v, true))
				{
					problem_set(p, 400, CODE_VALIDATION,
								"query parameter \"%s\" must be an integer", param->name);
					return false;
				}
				break;
			case PARAM_BODY:
				if (!json_check_body(rp->body, rp->body_len, r->body, p))
					return false;
				v = rp->body;
				break;
		}
		rp->values[i] = v;
	}
	return true;
}
