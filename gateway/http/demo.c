/*
 * demo.c
 *	  The dev-only token endpoint's route row (demo.h).
 */
#include <string.h>

#include "demo.h"

static const struct json_field demo_body[] = {
	{"guest_id", JF_STRING, true},
	{"display_name", JF_STRING, true},
	{NULL, 0, false}
};

const struct route demo_route = {
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

bool
demo_matches(enum http_method method, const char *path)
{
	return method == METHOD_POST && path != NULL && strcmp(path, DEMO_PATH) == 0;
}
