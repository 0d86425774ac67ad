/*
 * decimal.c
 *	  Decimal integers clamped to a PostgreSQL integer type (decimal.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "decimal.h"

bool
decimal_clamp(const char *s, size_t len, bool allow_minus, int64_t min, int64_t max,
			  char *out)
{
	bool		negative = false;
	bool		overflow = false;
	uint64_t	magnitude = 0;
	size_t		i = 0;
	int64_t		v;

	if (len > 0 && s[0] == '-' && allow_minus)
	{
		negative = true;
		i = 1;
	}
	if (i == len)
		return false;
	for (; i < len; i++)
	{
		unsigned	d = (unsigned char) s[i] - '0';

		if (d > 9)
			return false;
		/* Keep reading after an overflow: the rest must still be digits. */
		if (magnitude > (UINT64_MAX - d) / 10)
			overflow = true;
		else
			magnitude = magnitude * 10 + d;
	}

	/* |INT64_MIN| is INT64_MAX + 1; anything beyond is past either bound. */
	if (!negative)
		v = (overflow || magnitude > (uint64_t) INT64_MAX) ? INT64_MAX : (int64_t) magnitude;
	else if (overflow || magnitude > (uint64_t) INT64_MAX + 1)
		v = INT64_MIN;
	else if (magnitude == (uint64_t) INT64_MAX + 1)
		v = INT64_MIN;
	else
		v = -(int64_t) magnitude;
	if (v < min)
		v = min;
	if (v > max)
		v = max;
	snprintf(out, DECIMAL_BUFLEN, "%" PRId64, v);
	return true;
}
