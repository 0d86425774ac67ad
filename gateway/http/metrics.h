/*
 * metrics.h
 *	  Prometheus metrics: requests by route and status, latency histogram,
 *	  pool gauges, database errors.
 */
#ifndef PARLEY_METRICS_H
#define PARLEY_METRICS_H

#include <event2/buffer.h>

#include "events/events.h"
#include "db/pool.h"
#include "db/replica.h"

/* route: index into routes[], or -1 for a request that matched none. */
void		metrics_request(int route, int status, double ms);

/* A statement that ended in a database error, by API code. */
void		metrics_db_error(const char *code);

/* The text exposition format (version 0.0.4) into out. */
void		metrics_render(struct evbuffer *out, const struct pool_stats *pool,
						   const struct events_stats *events,
						   const struct replica_stats *replica, int in_flight);

#endif							/* PARLEY_METRICS_H */
