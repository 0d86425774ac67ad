/*
 * ratelimit.c
 *	  Token buckets per service key name, and per guest for guest tokens
 *	  (a separate table with its own rate, PARLEY_GUEST_RATE_*).  A bucket holds up to `burst`
 *	  tokens and gains `rate` a second; each request takes one.  Buckets
 *	  live in a small array searched linearly: a deployment has a handful
 *	  of keys, and the check runs on the event loop without allocation in
 *	  the common case.
 *
 *	  The table is bounded (MAX_BUCKETS).  When it is full, a bucket that
 *	  has refilled completely is dropped: a full bucket behaves exactly like
 *	  a new one, so forgetting it changes nothing.  If every bucket is
 *	  still draining the request passes unlimited rather than failing:
 *	  only an operator with more than MAX_BUCKETS busy keys sees that.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ratelimit.h"

#define MAX_BUCKETS 4096
#define KEY_NAME_MAX 64

struct bucket
{
	char		name[KEY_NAME_MAX + 1];
	double		tokens;
	double		updated;		/* monotonic seconds of the last refill */
};

struct limiter
{
	double		rate;
	double		burst;
	struct bucket *buckets;
	int			nbuckets;
	int			capacity;
	bool		warned_full;
	const char *what;			/* "keys" or "guests", for the log */
};

/* [0]: per service key (PARLEY_RATE_*); [1]: per guest (PARLEY_GUEST_RATE_*). */
static struct limiter limiters[2] = {{.what = "keys"}, {.what = "guests"}};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
ratelimit_setup(int rate, int burst)
{
	limiters[0].rate = rate;
	limiters[0].burst = burst > 0 ? burst : rate;
}

void
ratelimit_setup_guest(int rate, int burst)
{
	limiters[1].rate = rate;
	limiters[1].burst = burst > 0 ? burst : rate;
}

static void
refill(struct limiter *rl, struct bucket *b, double now)
{
	b->tokens += (now - b->updated) * rl->rate;
	if (b->tokens > rl->burst)
		b->tokens = rl->burst;
	b->updated = now;
}

/* A bucket for name: the existing one, a reused full one, or a new one. */
static struct bucket *
bucket_for(struct limiter *rl, const char *name, double now)
{
	struct bucket *b;

	for (int i = 0; i < rl->nbuckets; i++)
		if (strcmp(rl->buckets[i].name, name) == 0)
			return &rl->buckets[i];

	if (rl->nbuckets == rl->capacity)
	{
		/* Drop buckets that have refilled; they equal fresh ones. */
		int			kept = 0;

		for (int i = 0; i < rl->nbuckets; i++)
		{
			refill(rl, &rl->buckets[i], now);
			if (rl->buckets[i].tokens < rl->burst)
				rl->buckets[kept++] = rl->buckets[i];
		}
		rl->nbuckets = kept;
	}
	if (rl->nbuckets == rl->capacity)
	{
		int			cap = rl->capacity ? rl->capacity * 2 : 16;

		if (cap > MAX_BUCKETS)
			return NULL;
		b = realloc(rl->buckets, (size_t) cap * sizeof(*b));
		if (b == NULL)
			return NULL;
		rl->buckets = b;
		rl->capacity = cap;
	}
	b = &rl->buckets[rl->nbuckets++];
	/* Key names are at most 64 bytes (the extension checks); cut longer. */
	strncpy(b->name, name, KEY_NAME_MAX);
	b->name[KEY_NAME_MAX] = '\0';
	b->tokens = rl->burst;
	b->updated = now;
	return b;
}

static bool
take(struct limiter *rl, const char *key_name, int *retry_after_s)
{
	double		now;
	struct bucket *b;

	if (rl->rate <= 0)
		return true;
	now = now_s();
	b = bucket_for(rl, key_name ? key_name : "", now);
	if (b == NULL)
	{
		if (!rl->warned_full)
			log_warn("rate limit: more than %d %s are busy; the others pass unlimited",
					 MAX_BUCKETS, rl->what);
		rl->warned_full = true;
		return true;
	}
	refill(rl, b, now);
	if (b->tokens >= 1.0)
	{
		b->tokens -= 1.0;
		return true;
	}
	*retry_after_s = (int) ceil((1.0 - b->tokens) / rl->rate);
	if (*retry_after_s < 1)
		*retry_after_s = 1;
	return false;
}

bool
ratelimit_take(const char *key_name, int *retry_after_s)
{
	return take(&limiters[0], key_name, retry_after_s);
}

bool
ratelimit_take_guest(const char *guest, int *retry_after_s)
{
	return take(&limiters[1], guest, retry_after_s);
}

void
ratelimit_free(void)
{
	for (int i = 0; i < 2; i++)
	{
		free(limiters[i].buckets);
		limiters[i].buckets = NULL;
		limiters[i].nbuckets = limiters[i].capacity = 0;
	}
}
