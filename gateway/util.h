/*
 * util.h
 *	  Small helpers every layer of parleyd uses: elapsed time, timevals
 *	  from milliseconds, and PostgreSQL array literals.  No state, no
 *	  dependency on any other module of the gateway.
 */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>
#include <time.h>

struct evbuffer;

/* Milliseconds of CLOCK_MONOTONIC since *t0. */
double		util_ms_since(const struct timespec *t0);

/* The next delay of an exponential backoff: min after 0, then doubled up to max. */
int			util_backoff_next(int cur_ms, int min_ms, int max_ms);

/* A timeval of ms milliseconds (ms >= 0). */
struct timeval util_timeval_ms(long ms);

/*
 * PostgreSQL array literals, built in an evbuffer: util_array_begin()
 * writes "{", util_array_add() one element (quoted and escaped when
 * quote is set, as text[] needs; bare for uuid or bigint elements),
 * util_array_end() the closing "}" and returns the literal as a
 * malloc'd NUL-terminated string (NULL when out of memory).  The buffer
 * is drained.
 */
void		util_array_begin(struct evbuffer *b);
void		util_array_add(struct evbuffer *b, const char *elem, bool quote);
char	   *util_array_end(struct evbuffer *b);

#endif							/* PARLEY_UTIL_H */
