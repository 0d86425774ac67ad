/*
 * cursor.h
 *	  The opaque keyset cursors of conversation_list() and friend_list()
 *	  ("next_before"): the sort time of the last row of a page and the key
 *	  that breaks ties, as lowercase hex -- 16 digits of the time (its
 *	  microseconds, two's complement), then two per key byte.
 */
#ifndef PARLEY_CURSOR_H
#define PARLEY_CURSOR_H

#include "postgres.h"

#include "datatype/timestamp.h"

extern char *parley_cursor_encode(TimestampTz time, const uint8 *key, int keylen);

/*
 * Decode a cursor whose key is min_key to max_key bytes long; anything else
 * raises 22023 (validation_failed).  Returns the key, palloc'd and
 * NUL-terminated, and its length in *keylen.
 */
extern uint8 *parley_cursor_decode(text *cursor, TimestampTz *time,
								   int min_key, int max_key, int *keylen);

#endif							/* PARLEY_CURSOR_H */
