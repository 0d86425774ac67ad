/*
 * errors.h
 *	  Problems (RFC 9457 application/problem+json) and the one table that
 *	  maps a SQLSTATE to an HTTP status and a stable code, generated from
 *	  api/errcodes.txt like docs/errors.md.
 */
#ifndef PARLEY_ERRORS_H
#define PARLEY_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The codes: CODE_<CODE> for every line of api/errcodes.txt, generated
 * (errcodes.h).  The short spellings below are the names the callers have
 * always used; each is one of the generated codes.
 */
#include "errcodes.h"

#define CODE_VALIDATION			CODE_VALIDATION_FAILED
#define CODE_METHOD				CODE_METHOD_NOT_ALLOWED
#define CODE_TOO_LARGE			CODE_PAYLOAD_TOO_LARGE
#define CODE_MEDIA_TYPE			CODE_UNSUPPORTED_MEDIA_TYPE
#define CODE_DB_UNAVAILABLE		CODE_DATABASE_UNAVAILABLE
#define CODE_DB_TIMEOUT			CODE_DATABASE_TIMEOUT
#define CODE_INTERNAL			CODE_INTERNAL_ERROR

/*
 * A body that is JSON but has a field of the wrong JSON type or misses a
 * required one.  (api/errcodes.txt lists wrong types under validation_failed, like
 * the extension's answer for a metadata that is not an object.)
 */
#define CODE_WRONG_SHAPE		CODE_VALIDATION

struct problem
{
	int			status;			/* HTTP status */
	const char *code;			/* stable snake_case code */
	char		sqlstate[6];	/* "" when raised by the gateway */
	char		detail[1024];	/* safe to show the client */
};

void		problem_set(struct problem *p, int status, const char *code,
						const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

/*
 * A problem from a PostgreSQL error: the status and code come from the
 * SQLSTATE table; 4xx details carry the server's message (and DETAIL), a
 * 500 carries none (the caller logs the message).
 */
void		problem_from_sqlstate(struct problem *p, const char *sqlstate,
								  const char *message, const char *detail);

/* The response body, malloc'd, NUL-terminated; *len gets its length. */
char	   *problem_to_json(const struct problem *p, size_t *len);

/* 503 and 429 carry Retry-After. */
bool		problem_wants_retry_after(const struct problem *p);

#endif							/* PARLEY_ERRORS_H */
