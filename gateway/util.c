/*
 * util.c
 *	  Small helpers shared by every layer (util.h).
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "util.h"

double
util_ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

int
util_backoff_next(int cur_ms, int min_ms, int max_ms)
{
	if (cur_ms == 0)
		return min_ms;
	return cur_ms * 2 > max_ms ? max_ms : cur_ms * 2;
}

struct timeval
util_timeval_ms(long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	return tv;
}

void
util_array_begin(struct evbuffer *b)
{
	evbuffer_drain(b, evbuffer_get_length(b));
	evbuffer_add(b, "{", 1);
}

void
util_array_add(struct evbuffer *b, const char *elem, bool quote)
{
	if (evbuffer_get_length(b) > 1)
		evbuffer_add(b, ",", 1);
	if (!quote)
	{
		evbuffer_add(b, elem, strlen(elem));
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (const char *p = elem; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			evbuffer_add(b, "\\", 1);
		evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

char *
util_array_end(struct evbuffer *b)
{
	size_t		len;
	char	   *out;

	evbuffer_add(b, "}", 2);	/* with the NUL */
	len = evbuffer_get_length(b);
	out = malloc(len);
	if (out != NULL)
		evbuffer_remove(b, out, len);
	else
		evbuffer_drain(b, len);
	return out;
}
