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

#include "routes.h"

#define DEMO_PATH "/demo/token"
#define DEMO_TTL "3600"
#define DEMO_CLAIMS_SQL "SELECT parley.guest_token_claims($1, " DEMO_TTL ")::text"

/* A route row for request_bind(): the body's two fields, one statement. */
extern const struct route demo_route;

/* Is this request the demo endpoint (method and raw path)? */
bool		demo_matches(enum http_method method, const char *path);

#endif							/* PARLEY_DEMO_H */
