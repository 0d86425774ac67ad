/*
 * fuzz_json_check.c
 *	  libFuzzer target: json_check_body() against the body fields of every
 *	  route that takes a body (byte 0 picks the route), as a JSON body
 *	  reaches it after the size and content-type checks.
 *
 *	  Invariants: an accepted body is valid JSON for cJSON, an object, and
 *	  holds no NUL byte; a refused one is a 400 invalid_json or
 *	  validation_failed problem.
 */
#include "fuzz_common.h"
#include "http/json_check.h"
#include "http/routes.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct json_field *fields = NULL;
	int			nbody = 0;
	struct problem p;
	char	   *body;
	int			pick;

	if (size < 1)
		return 0;
	for (int i = 0; i < nroutes; i++)
		if (routes[i].body != NULL)
			nbody++;
	pick = nbody ? data[0] % nbody : 0;
	for (int i = 0; i < nroutes; i++)
		if (routes[i].body != NULL && pick-- == 0)
			fields = routes[i].body;
	if (fields == NULL)
		return 0;
	data++;
	size--;
	/* http.c hands over a NUL-terminated copy of exactly size bytes. */
	body = malloc(size + 1);
	if (body == NULL)
		abort();
	memcpy(body, data, size);
	body[size] = '\0';

	memset(&p, 0, sizeof(p));
	if (json_check_body(body, size, fields, &p))
	{
		cJSON	   *doc = cJSON_ParseWithLength(body, size);

		FUZZ_ASSERT(memchr(body, '\0', size) == NULL, "accepted body has no NUL byte");
		FUZZ_ASSERT(doc != NULL, "accepted body parses");
		FUZZ_ASSERT(cJSON_IsObject(doc), "accepted body is an object");
		for (const struct json_field *f = fields; f->name != NULL; f++)
			if (f->required)
				FUZZ_ASSERT(cJSON_GetObjectItemCaseSensitive(doc, f->name) != NULL,
							"required fields are present");
		cJSON_Delete(doc);
	}
	else
	{
		FUZZ_ASSERT(p.status == 400, "a refused body is a 400");
		FUZZ_ASSERT(strcmp(p.code, CODE_INVALID_JSON) == 0 || strcmp(p.code, CODE_VALIDATION) == 0,
					"invalid_json or validation_failed");
		fuzz_check_problem(&p);
	}
	free(body);
	return 0;
}
