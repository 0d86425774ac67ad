/*
 * request.h
 *	  The pure part of handling a request: route matching, percent-decoding
 *	  and validation of path segments and query parameters, body checks,
 *	  and binding the statement parameters.  No network, no database, no
 *	  globals: a fuzz target can drive it directly.
 */
#ifndef PARLEY_REQUEST_H
#define PARLEY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "decimal.h"
#include "errors.h"
#include "routes.h"

#define REQUEST_MAX_SEGMENTS 8
#define REQUEST_MAX_QUERY 16

struct query_item
{
	char	   *name;
	char	   *value;
};

struct request_parse
{
	const struct route *route;	/* set by request_route() */

	/*
	 * The guest of a verified guest token, set before request_bind() (NULL
	 * for a service key): the query parameter "as" defaults to it, and an
	 * "as" naming another guest is 403 guest_mismatch (API.md section 7).
	 */
	const char *acting_guest;

	char	   *path_buf;		/* decoded segments point in here */
	int			nsegments;
	char	   *segments[REQUEST_MAX_SEGMENTS];
	bool		segment_bad[REQUEST_MAX_SEGMENTS];	/* bad %-escape or NUL */

	char	   *query_buf;		/* decoded names and values point in here */
	int			nquery;
	struct query_item query[REQUEST_MAX_QUERY];

	char	   *body;			/* NUL-terminated copy of the body */
	size_t		body_len;

	struct json_span body_spans[JSON_MAX_FIELDS];	/* of route->body's fields */

	int			nvalues;		/* statement parameters, $1.. */
	const char *values[ROUTE_MAX_PARAMS];
	char		numbuf[ROUTE_MAX_PARAMS][DECIMAL_BUFLEN];	/* integers, clamped */
};

void		request_parse_init(struct request_parse *rp);
void		request_parse_free(struct request_parse *rp);

/*
 * Find the route for method + raw path (not yet percent-decoded, no query).
 * HEAD finds the GET route of the path (rp->route->method is then GET; the
 * HTTP layer sends the reply without its body).  On failure fills p (404,
 * or 405 with the allowed methods written to allow as "GET, HEAD, PUT")
 * and returns false.
 */
bool		request_route(struct request_parse *rp, enum http_method method,
						  const char *path, struct problem *p,
						  char *allow, size_t allowlen);

/*
 * Check the rest of a routed request and fill rp->values: body size (413),
 * content type (415), a body on a route that takes none (400), path and
 * query parameters, then the JSON body (400).  query is the raw query
 * string or NULL; content_type NULL when absent.
 *
 * Integers are bound in canonical form and clamped to their PostgreSQL
 * type (decimal.h): a seq or cursor beyond bigint is INT64_MAX, which the
 * extension reads as past the end (404 for a message, the last message
 * for a read mark, nothing after it for after=, the newest page for
 * before=).  An empty query value is an absent parameter, except for a
 * parameter with a fixed set of values, which refuses it.
 */
bool		request_bind(struct request_parse *rp, const char *query,
						 const char *content_type, const char *body,
						 size_t body_len, size_t max_body, struct problem *p);

/* The value of a hex digit (either case), or -1. */
int			hex_digit_value(char c);

/*
 * Percent-decode s[0..len) into out (room for len + 1 bytes); '+' becomes
 * a space when plus_is_space.  Returns the decoded length, or -1 for a
 * malformed escape or a decoded NUL byte.
 */
long		percent_decode(const char *s, size_t len, bool plus_is_space, char *out);

#endif							/* PARLEY_REQUEST_H */
