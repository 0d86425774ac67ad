/*
 * errors.h
 *	  Problems (RFC 9457 application/problem+json) and the one table that
 *	  maps a SQLSTATE to an HTTP status and a stable code (docs/errors.md).
 */
#ifndef PARLEY_ERRORS_H
#define PARLEY_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

/* Codes raised by the gateway itself. */
#define CODE_INVALID_JSON		"invalid_json"
#define CODE_VALIDATION			"validation_failed"
#define CODE_UNAUTHORIZED		"unauthorized"
#define CODE_NOT_FOUND			"not_found"
#define CODE_METHOD				"method_not_allowed"
#define CODE_TOO_LARGE			"payload_too_large"
#define CODE_MEDIA_TYPE			"unsupported_media_type"
#define CODE_DB_UNAVAILABLE		"database_unavailable"
#define CODE_DB_TIMEOUT			"database_timeout"
#define CODE_INTERNAL			"internal_error"

/* Codes of the HTTP layer itself (http/parse.c, http/client.c). */
#define CODE_BAD_REQUEST		"bad_request"
#define CODE_REQUEST_TIMEOUT	"request_timeout"
#define CODE_URI_TOO_LONG		"uri_too_long"
#define CODE_HEADER_TOO_LARGE	"header_too_large"
#define CODE_NOT_IMPLEMENTED	"not_implemented"
#define CODE_HTTP_VERSION_NOT_SUPPORTED "http_version_not_supported"

/*
 * A body that is JSON but has a field of the wrong JSON type or misses a
 * required one.  (docs/errors.md lists wrong types under invalid_json; the
 * gateway answers validation_failed, like the extension does for a
 * metadata that is not an object.  Change here if the table changes.)
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
