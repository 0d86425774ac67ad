/*
 * demo.h
 *	  The dev-only token endpoint of the demo page (PARLEY_DEMO=1, never by
 *	  default): POST /demo/token {"guest_id", "display_name"} creates or
 *	  renames the guest and answers a guest token for it, with no key.
 *	  Anyone who can reach it can act as any guest: it exists so that the
 *	  demo page works without a game server; production never enables it.
 *	  Off, the path is an unknown route (404).
 *
 *	  Two statements, one after the other (guest_token_claims is STABLE and
 *	  would not see a guest created in its own statement): the route below
 *	  upserts, then DEMO_CLAIMS_SQL answers the claims that http.c signs.
 */
#ifndef PARLEY_DEMO_H
#define PARLEY_DEMO_H

#include <stdbool.h>
#include <string.h>

#include "routes.h"

#define DEMO_PATH "/demo/token"
#define DEMO_TTL "3600"
#define DEMO_CLAIMS_SQL "SELECT parley.guest_token_claims($1, " DEMO_TTL ")::text"

/*
 * Header only (included by http.c alone), so that the folder keeps its
 * size: a route row for request_bind() (the body's two fields, one
 * statement) and the match.
 */
static const struct json_field demo_body[] = {
	{"guest_id", JF_STRING, true},
	{"display_name", JF_STRING, true},
	{NULL, 0, false}
};

static const struct route demo_route = {
	.kind = ROUTE_SQL,
	.method = METHOD_POST,
	.pattern = DEMO_PATH,
	.name = "demo_token",
	.summary = "Dev only (PARLEY_DEMO=1): create the guest and mint a token",
	.sql = "SELECT parley.guest_upsert(($1::jsonb)->>'guest_id', ($1::jsonb)->>'display_name',"
	" '{}'::jsonb, NULL)::text",
	.nparams = 1,
	.params = {{.source = PARAM_BODY}},
	.body = demo_body,
	.status = 200,
	.public = true,
	.service_only = false,
};

/* Is this request the demo endpoint (method and raw path)? */
static inline bool
demo_matches(enum http_method method, const char *path)
{
	return method == METHOD_POST && path != NULL && strcmp(path, DEMO_PATH) == 0;
}

#endif							/* PARLEY_DEMO_H */
