/*
 * cursor.c
 *	  Keyset cursors (cursor.h).
 */
#include "postgres.h"

#include "cursor.h"

#define TIME_DIGITS 16

static const char hex_digits[] = "0123456789abcdef";

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
parley_cursor_encode(TimestampTz time, const uint8 *key, int keylen)
{
	char	   *buf = palloc(TIME_DIGITS + 2 * keylen + 1);
	uint64		t = (uint64) time;
	int			p = 0;

	for (int shift = 60; shift >= 0; shift -= 4)
		buf[p++] = hex_digits[(t >> shift) & 0x0F];
	for (int i = 0; i < keylen; i++)
	{
		buf[p++] = hex_digits[key[i] >> 4];
		buf[p++] = hex_digits[key[i] & 0x0F];
	}
	buf[p] = '\0';
	return buf;
}

static void
raise_bad_cursor(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("before is not a valid cursor"),
			 errhint("Pass the next_before of the previous page unchanged.")));
}

uint8 *
parley_cursor_decode(text *cursor, TimestampTz *time, int min_key, int max_key, int *keylen)
{
	const char *s = VARDATA_ANY(cursor);
	int			len = VARSIZE_ANY_EXHDR(cursor);
	int			n = (len - TIME_DIGITS) / 2;
	uint64		t = 0;
	uint8	   *key;

	if (len < TIME_DIGITS || (len - TIME_DIGITS) % 2 != 0 || n < min_key || n > max_key)
		raise_bad_cursor();
	for (int i = 0; i < len; i++)
		if (hex_value(s[i]) < 0)
			raise_bad_cursor();

	for (int i = 0; i < TIME_DIGITS; i++)
		t = (t << 4) | hex_value(s[i]);
	*time = (TimestampTz) t;

	key = palloc(n + 1);
	for (int i = 0; i < n; i++)
		key[i] = (uint8) ((hex_value(s[TIME_DIGITS + 2 * i]) << 4) |
						  hex_value(s[TIME_DIGITS + 2 * i + 1]));
	key[n] = '\0';
	*keylen = n;
	return key;
}
