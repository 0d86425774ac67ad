/*
 * decimal.h
 *	  Decimal integers from requests (path segments, query parameters,
 *	  headers, JSON numbers), checked as digits and bound to a PostgreSQL
 *	  integer type without ever going through a double.
 *
 *	  A value of the right form that does not fit the type is clamped to
 *	  the type's bound rather than refused: for a seq or a cursor that is
 *	  "past the end" (API.md section 6), for a page size it is a value the
 *	  extension refuses with its own message.  Either way PostgreSQL never
 *	  sees text its integer input functions reject.  No state, no
 *	  dependency on any other module.
 */
#ifndef PARLEY_DECIMAL_H
#define PARLEY_DECIMAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for any int64 in decimal, sign and NUL included. */
#define DECIMAL_BUFLEN 24

/* INT64_MAX, bigint's largest value: "past the end" for a seq. */
#define DECIMAL_INT64_MAX_TEXT "9223372036854775807"

/*
 * Parse s[0..len): an optional '-' (only when allow_minus) and one or more
 * ASCII digits, nothing else (no '+', no spaces, no fraction, no exponent;
 * leading zeros are fine).  On success writes the value clamped to
 * [min, max] to out (DECIMAL_BUFLEN bytes) in canonical form and returns
 * true; the number of digits is not limited.  Returns false, out
 * untouched, for anything else.
 */
bool		decimal_clamp(const char *s, size_t len, bool allow_minus,
						  int64_t min, int64_t max, char *out);

#endif							/* PARLEY_DECIMAL_H */
