/*
 * ratelimit.h
 *	  Per service key rate limiting: one token bucket per key name,
 *	  PARLEY_RATE_LIMIT tokens a second up to PARLEY_RATE_BURST.  Off (every
 *	  request passes) when the rate is 0, the default.
 */
#ifndef PARLEY_RATELIMIT_H
#define PARLEY_RATELIMIT_H

#include <stdbool.h>

/* rate: tokens per second (0 = off); burst: bucket size (0 = rate). */
void		ratelimit_setup(int rate, int burst);

/*
 * Take one token from key_name's bucket.  Returns false when the bucket
 * is empty; *retry_after_s then gets the whole seconds until a token is
 * back (at least 1).
 */
bool		ratelimit_take(const char *key_name, int *retry_after_s);

/* The same per guest (guest tokens), with PARLEY_GUEST_RATE_LIMIT/_BURST. */
void		ratelimit_setup_guest(int rate, int burst);
bool		ratelimit_take_guest(const char *guest, int *retry_after_s);

void		ratelimit_free(void);

#endif							/* PARLEY_RATELIMIT_H */
