/*
 * routes.h
 *	  The route table: every HTTP route of parleyd, with the one SQL
 *	  statement it runs and where each statement parameter comes from.
 *	  OpenAPI (openapi.c), metrics labels and prepared statement names are
 *	  all derived from this table; its rows are generated from api/api.txt
 *	  (routes.c includes them), the structs stay here.
 */
#ifndef PARLEY_ROUTES_H
#define PARLEY_ROUTES_H

#include <stdbool.h>

#include "json_check.h"

enum http_method
{
	METHOD_GET = 1 << 0,
	METHOD_POST = 1 << 1,
	METHOD_PUT = 1 << 2,
	METHOD_PATCH = 1 << 3,
	METHOD_DELETE = 1 << 4,
	METHOD_HEAD = 1 << 5,		/* no row of its own: routed as GET */
	METHOD_OTHER = 1 << 6		/* OPTIONS, TRACE, ...: never routed */
};

enum route_kind
{
	ROUTE_SQL,					/* one statement on a pool connection */
	ROUTE_EVENTS,				/* parameters bound as for ROUTE_SQL, then handed to events */
	ROUTE_PAGES,				/* as ROUTE_SQL, a page at a time: (part, next) */
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_METRICS,
	ROUTE_OPENAPI
};

/*
 * Integers (path seqs, *_INT, *_SEQ) are digits, checked as digits and
 * never as doubles; a value too large for its PostgreSQL type is clamped
 * to the type's bound (decimal.h), so a huge seq is "past the end".
 */
enum param_source
{
	PARAM_PATH_TEXT,			/* a path segment, passed as text */
	PARAM_PATH_UUID,			/* a path segment cast to uuid in SQL */
	PARAM_PATH_SEQ,				/* a path segment: positive, any number of digits; bigint */
	PARAM_QUERY,				/* optional query parameter, text */
	PARAM_QUERY_REQUIRED,		/* required query parameter, text */
	PARAM_QUERY_INT,			/* optional query parameter, an integer (int4) */
	PARAM_QUERY_SEQ,			/* optional query parameter, a seq cursor (bigint) */
	PARAM_QUERY_ENUM,			/* optional query parameter, one of choices */
	PARAM_BODY,					/* the raw request body, one text parameter */
	PARAM_BODY_SEQ,				/* body field name, a JF_INTEGER seq (bigint) */
	PARAM_GATEWAY				/* what the gateway knows (name "online"):
								 * NULL after request_bind(), filled in by
								 * events_gateway_value() */
};

#define ROUTE_MAX_PARAMS 8
#define ROUTE_COUNT_MAX 48		/* bound of nroutes, for fixed arrays */

struct route_param
{
	enum param_source source;
	const char *name;			/* path {name} or query name; NULL for body */
	const char *description;	/* for OpenAPI */
	const char *choices;		/* PARAM_QUERY_ENUM: "a|b|c"; else NULL */
};

struct route
{
	enum route_kind kind;
	enum http_method method;
	const char *pattern;		/* "/v1/guests/{guest_id}" */
	const char *name;			/* operationId and metrics label */
	const char *summary;
	const char *sql;			/* ROUTE_SQL: $1.. in params order */
	int			nparams;
	struct route_param params[ROUTE_MAX_PARAMS];
	const struct json_field *body;	/* fields of the body; NULL = no body */
	int			status;			/* success status; 0 = column 2 of the row */
	bool		public;			/* no service key needed */
	bool		service_only;	/* a service key only: a guest token gets 403
								 * service_key_required (api/api.txt's
								 * "service"; enforced by the auth step) */
};

extern const struct route routes[];
extern const int nroutes;

/* "GET", "POST", ... */
const char *http_method_name(enum http_method m);

#endif							/* PARLEY_ROUTES_H */
