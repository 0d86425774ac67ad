/*
 * fuzz_request.c
 *	  libFuzzer target: one whole request through the pure path, as
 *	  http.c drives it: request_route() then request_bind().
 *
 *	  Input: byte 0 picks the method; the rest is
 *	  path NUL query NUL content-type NUL body.
 *	  Invariants: a refusal is a valid problem with a 4xx status (never a
 *	  5xx for bad input); an accepted request binds exactly the route's
 *	  parameters, each a NUL-terminated string without an interior NUL;
 *	  integers are bound in canonical form inside their type (a path seq
 *	  positive), an enum is one of its choices, and a route without a body
 *	  accepted none.  HEAD routes only to GET routes.
 */
#include <errno.h>

#include "fuzz_common.h"
#include "http/request.h"

static const enum http_method methods[] = {
	METHOD_GET, METHOD_POST, METHOD_PUT, METHOD_PATCH, METHOD_DELETE, METHOD_OTHER,
	METHOD_HEAD
};

/* Is s the canonical decimal form of an integer in [min, max]? */
static bool
canonical_integer(const char *s, long long min, long long max)
{
	char		again[32];
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < min || v > max)
		return false;
	snprintf(again, sizeof(again), "%lld", v);
	return strcmp(again, s) == 0;
}

/* Does an accepted value obey its parameter's kind? */
static void
check_value(const struct route_param *param, const char *v)
{
	const char *c;
	size_t		n;

	switch (param->source)
	{
		case PARAM_PATH_SEQ:
			FUZZ_ASSERT(v != NULL && canonical_integer(v, 1, INT64_MAX), "a path seq is a positive bigint");
			break;
		case PARAM_QUERY_INT:
			FUZZ_ASSERT(v == NULL || canonical_integer(v, INT32_MIN, INT32_MAX), "an int4 parameter");
			break;
		case PARAM_QUERY_SEQ:
		case PARAM_BODY_SEQ:
			FUZZ_ASSERT(v == NULL || canonical_integer(v, INT64_MIN, INT64_MAX), "a bigint parameter");
			break;
		case PARAM_QUERY_ENUM:
			if (v == NULL)
				break;
			n = strlen(v);
			FUZZ_ASSERT(n > 0, "an enum value is not empty");
			for (c = param->choices; c != NULL; c = strchr(c, '|') ? strchr(c, '|') + 1 : NULL)
				if (strncmp(c, v, n) == 0 && (c[n] == '|' || c[n] == '\0'))
					break;
			FUZZ_ASSERT(c != NULL, "an enum value is one of its choices");
			break;
		default:
			break;
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct request_parse rp;
	struct problem p;
	char		allow[64];
	enum http_method m;
	size_t		path_len, query_len, ct_len, body_len;
	char	   *path, *query, *ct, *body;

	if (size < 1)
		return 0;
	m = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	data++;
	size--;
	path = fuzz_next_piece(&data, &size, &path_len);
	query = fuzz_next_piece(&data, &size, &query_len);
	ct = fuzz_next_piece(&data, &size, &ct_len);
	body = fuzz_next_piece(&data, &size, &body_len);

	memset(&p, 0, sizeof(p));
	request_parse_init(&rp);
	if (!request_route(&rp, m, path, &p, allow, sizeof(allow)))
	{
		FUZZ_ASSERT(p.status == 404 || p.status == 405, "routing refuses with 404/405");
		FUZZ_ASSERT(memchr(allow, '\0', sizeof(allow)) != NULL, "Allow is terminated");
		fuzz_check_problem(&p);
	}
	else
	{
		FUZZ_ASSERT(rp.route != NULL, "a routed request has a route");
		FUZZ_ASSERT(rp.route->method == (m == METHOD_HEAD ? METHOD_GET : m), "the route has the method");
		if (rp.route->kind == ROUTE_SQL)
		{
			/* An empty query piece stands for "no query string". */
			if (request_bind(&rp, query_len ? query : NULL, ct_len ? ct : NULL,
							 body, body_len, 65536, &p))
			{
				FUZZ_ASSERT(rp.nvalues == rp.route->nparams, "one value per parameter");
				FUZZ_ASSERT(rp.route->body != NULL || body_len == 0, "no body on a bodiless route");
				for (int i = 0; i < rp.nvalues; i++)
				{
					if (rp.values[i] != NULL)
						FUZZ_ASSERT(strlen(rp.values[i]) < (size_t) 1 << 24, "values are terminated");
					check_value(&rp.route->params[i], rp.values[i]);
				}
			}
			else
			{
				FUZZ_ASSERT(p.status >= 400 && p.status < 500, "bad input is a 4xx");
				fuzz_check_problem(&p);
			}
		}
	}
	request_parse_free(&rp);
	free(path);
	free(query);
	free(ct);
	free(body);
	return 0;
}
