/*
 * fuzz_problem.c
 *	  libFuzzer target: problem_from_sqlstate() with whatever a server (or
 *	  a man in the middle of an unencrypted database link) could send as
 *	  SQLSTATE, message and detail, then problem_to_json().
 *
 *	  Input: sqlstate NUL message NUL detail; a piece may be missing
 *	  (NULL, as PQresultErrorField answers for an absent field).
 *	  Invariants: the problem is valid problem+json, 4xx or 5xx; a 5xx
 *	  carries no server text (the seed corpus plants a marker, SECRET).
 */
#include "fuzz_common.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct problem p;
	size_t		l1, l2, l3;
	char	   *sqlstate, *message, *detail;
	uint8_t		absent = size ? data[0] : 0;

	if (size)
	{
		data++;
		size--;
	}
	sqlstate = fuzz_next_piece(&data, &size, &l1);
	message = fuzz_next_piece(&data, &size, &l2);
	detail = fuzz_next_piece(&data, &size, &l3);

	memset(&p, 0, sizeof(p));
	problem_from_sqlstate(&p, (absent & 1) ? NULL : sqlstate,
						  (absent & 2) ? NULL : message,
						  (absent & 4) ? NULL : detail);
	fuzz_check_problem(&p);
	/* A marker in the server's text must never reach a 5xx detail. */
	if (p.status >= 500)
		FUZZ_ASSERT(strstr(p.detail, "SECRET") == NULL, "a 5xx never carries the server's text");
	FUZZ_ASSERT(strlen(p.sqlstate) <= 5, "sqlstate is at most 5 characters");
	free(sqlstate);
	free(message);
	free(detail);
	return 0;
}
