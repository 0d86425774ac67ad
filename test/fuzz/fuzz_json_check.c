/*
 * fuzz_json_check.c
 *	  libFuzzer target: json_check_body() against the body fields of every
 *	  route that takes a body (byte 0 picks the route), as a JSON body
 *	  reaches it after the size and content-type checks.
 *
 *	  Invariants: an accepted body is valid JSON for cJSON, an object, and
 *	  holds no NUL byte, no white space but RFC 8259's four outside strings
 *	  and no container deeper than JSON_MAX_DEPTH; each field's span lies
 *	  inside the body, and a JF_INTEGER field's span is -?[0-9]+ and reads
 *	  back as the number cJSON parsed (to a double's precision).  A
 *	  refused body is a 400 invalid_json or validation_failed problem.
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
	struct json_span spans[JSON_MAX_FIELDS];
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
	memset(spans, 0xA5, sizeof(spans));
	if (json_check_body(body, size, fields, spans, &p))
	{
		cJSON	   *doc = cJSON_ParseWithLength(body, size);
		bool		in_string = false;
		int			depth = 0;
		int			maxdepth = 0;

		FUZZ_ASSERT(memchr(body, '\0', size) == NULL, "accepted body has no NUL byte");
		FUZZ_ASSERT(doc != NULL, "accepted body parses");
		FUZZ_ASSERT(cJSON_IsObject(doc), "accepted body is an object");
		for (size_t i = 0; i < size; i++)
		{
			unsigned char c = (unsigned char) body[i];

			if (in_string)
			{
				FUZZ_ASSERT(c >= 0x20, "no raw control character in a string");
				if (c == '\\')
					i++;
				else if (c == '"')
					in_string = false;
				continue;
			}
			FUZZ_ASSERT(c > 0x20 || c == ' ' || c == '\t' || c == '\n' || c == '\r',
						"only RFC 8259 white space between tokens");
			FUZZ_ASSERT(c < 0x7F, "only ASCII between tokens");
			if (c == '"')
				in_string = true;
			else if (c == '{' || c == '[')
				maxdepth = ++depth > maxdepth ? depth : maxdepth;
			else if (c == '}' || c == ']')
				depth--;
		}
		FUZZ_ASSERT(maxdepth <= JSON_MAX_DEPTH, "no container deeper than JSON_MAX_DEPTH");
		for (int k = 0; fields[k].name != NULL; k++)
		{
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, fields[k].name);

			if (fields[k].required)
				FUZZ_ASSERT(v != NULL, "required fields are present");
			FUZZ_ASSERT((v == NULL) == (spans[k].len == 0), "a span for each present field");
			if (v == NULL)
				continue;
			FUZZ_ASSERT(spans[k].off < size && spans[k].len <= size - spans[k].off,
						"the span lies inside the body");
			if (fields[k].type == JF_INTEGER)
			{
				char		text[64];
				size_t		n = spans[k].len;

				FUZZ_ASSERT(strspn(body + spans[k].off, "-0123456789") >= n, "an integer is digits");
				if (n < sizeof(text))
				{
					memcpy(text, body + spans[k].off, n);
					text[n] = '\0';
					FUZZ_ASSERT(strtod(text, NULL) == v->valuedouble, "the span is the number cJSON read");
				}
			}
		}
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
