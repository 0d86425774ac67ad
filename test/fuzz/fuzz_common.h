/*
 * fuzz_common.h
 *	  Small helpers shared by the libFuzzer targets of the gateway's pure
 *	  request path (test/fuzz/fuzz_*.c).  The targets call the same files
 *	  parleyd links (request.c, routes.c, json_check.c, errors.c); no
 *	  network, no database.
 */
#ifndef PARLEY_FUZZ_COMMON_H
#define PARLEY_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"

/* Abort (a finding) with a message when an invariant does not hold. */
#define FUZZ_ASSERT(cond, what) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "invariant broken: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			abort(); \
		} \
	} while (0)

/*
 * Take the next NUL-separated piece of the input as a malloc'd,
 * NUL-terminated string (the last piece runs to the end).  Separate
 * allocations let ASan see reads past each piece.
 */
static inline char *
fuzz_next_piece(const uint8_t **data, size_t *size, size_t *len)
{
	const uint8_t *end = memchr(*data, '\0', *size);
	size_t		n = end ? (size_t) (end - *data) : *size;
	char	   *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, *data, n);
	s[n] = '\0';
	*len = n;
	*data += end ? n + 1 : n;
	*size -= end ? n + 1 : n;
	return s;
}

/* Every problem the gateway can build must be a sane problem+json body. */
static inline void
fuzz_check_problem(const struct problem *p)
{
	size_t		len = 0;
	char	   *body;
	cJSON	   *doc;

	FUZZ_ASSERT(p->status >= 400 && p->status <= 599, "problem status is 4xx/5xx");
	FUZZ_ASSERT(p->code != NULL && p->code[0] != '\0', "problem has a code");
	FUZZ_ASSERT(memchr(p->detail, '\0', sizeof(p->detail)) != NULL, "detail is terminated");
	body = problem_to_json(p, &len);
	FUZZ_ASSERT(body != NULL, "problem_to_json answers");
	FUZZ_ASSERT(strlen(body) == len, "problem body length");
	doc = cJSON_ParseWithLength(body, len);
	FUZZ_ASSERT(doc != NULL, "problem body is JSON");
	FUZZ_ASSERT(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(doc, "status")) &&
				cJSON_GetObjectItemCaseSensitive(doc, "status")->valueint == p->status,
				"problem body carries the status");
	FUZZ_ASSERT(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(doc, "code")), "problem body has a code");
	cJSON_Delete(doc);
	free(body);
}

#endif							/* PARLEY_FUZZ_COMMON_H */
