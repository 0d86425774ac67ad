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

	char	   *path_buf;		/* decoded segments point in here */
	int			nsegments;
	char	   *segments[REQUEST_MAX_SEGMENTS];
	bool		segment_bad[REQUEST_MAX_SEGMENTS];	/* bad %-escape or NUL */

	char	   *query_buf;		/* decoded names and values point in here */
	int			nquery;
	struct query_item query[REQUEST_MAX_QUERY];

	char	   *body;			/* NUL-terminated copy of the body */
	size_t		body_len;

	int			nvalues;		/* statement parameters, $1.. */
	const char *values[ROUTE_MAX_PARAMS];
};

void		request_parse_init(struct request_parse *rp);
void		request_parse_free(struct request_parse *rp);

/*
 * Find the route for method + raw path (not yet percent-decoded, no query).
 * On failure fills p (404, or 405 with the allowed methods written to allow
 * as "GET, PUT") and returns false.
 */
bool		request_route(struct request_parse *rp, enum http_method method,
						  const char *path, struct problem *p,
						  char *allow, size_t allowlen);

/*
 * Check the rest of a routed request and fill rp->values: body size (413),
 * content type (415), path and query parameters and the JSON body (400).
 * query is the raw query string or NULL; content_type NULL when absent.
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
