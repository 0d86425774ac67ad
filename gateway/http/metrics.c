/*
 * metrics.c
 *	  Counters in fixed arrays: no allocation on the request path.
 */
#include <stdint.h>
#include <string.h>

#include "metrics.h"
#include "routes.h"

static const int statuses[] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413,
415, 429, 500, 503};

#define NSTATUS		(sizeof(statuses) / sizeof(statuses[0]))
#define MAX_ROUTES	64
#define MAX_DB_CODES 32

/* Latency buckets in seconds. */
static const double buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
0.25, 0.5, 1, 2.5, 5};

#define NBUCKETS	(sizeof(buckets) / sizeof(buckets[0]))

struct route_metrics
{
	uint64_t	by_status[NSTATUS + 1];	/* last: any other status */
	uint64_t	hist[NBUCKETS];	/* non-cumulative; summed on output */
	uint64_t	count;
	double		sum;
};

static struct route_metrics per_route[MAX_ROUTES + 1];	/* last: unmatched */

static struct
{
	const char *code;
	uint64_t	count;
}			db_errors[MAX_DB_CODES];

void
metrics_request(int route, int status, double ms)
{
	struct route_metrics *m;
	size_t		s;
	size_t		b;
	double		sec = ms / 1000.0;

	if (route < 0 || route >= nroutes || route >= MAX_ROUTES)
		route = MAX_ROUTES;
	m = &per_route[route];
	for (s = 0; s < NSTATUS && statuses[s] != status; s++)
		;
	m->by_status[s]++;
	for (b = 0; b < NBUCKETS && sec > buckets[b]; b++)
		;
	if (b < NBUCKETS)
		m->hist[b]++;
	m->count++;
	m->sum += sec;
}

void
metrics_db_error(const char *code)
{
	for (int i = 0; i < MAX_DB_CODES; i++)
	{
		/* codes are static strings from the error table */
		if (db_errors[i].code == NULL)
			db_errors[i].code = code;
		if (strcmp(db_errors[i].code, code) == 0)
		{
			db_errors[i].count++;
			return;
		}
	}
}

static const char *
route_label(int i)
{
	return i == MAX_ROUTES ? "unmatched" : routes[i].name;
}

/* PARLEY_READ_URL's read pool and where GETs went (db/replica.h). */
static void
render_replica(struct evbuffer *out, const struct replica_stats *r)
{
	evbuffer_add_printf(out,
						"# HELP parley_reads_total GET statements by the pool that ran them and why.\n"
						"# TYPE parley_reads_total counter\n"
						"parley_reads_total{pool=\"replica\",reason=\"replayed\"} %llu\n"
						"parley_reads_total{pool=\"primary\",reason=\"recent_write\"} %llu\n"
						"parley_reads_total{pool=\"primary\",reason=\"replica_down\"} %llu\n"
						"# HELP parley_replica_retries_total Reads that failed on the replica and ran again on the primary.\n"
						"# TYPE parley_replica_retries_total counter\n"
						"parley_replica_retries_total %llu\n"
						"# HELP parley_replica_up Whether the read pool has a connection up.\n"
						"# TYPE parley_replica_up gauge\n"
						"parley_replica_up %d\n"
						"# HELP parley_replica_connections Read pool connections by state.\n"
						"# TYPE parley_replica_connections gauge\n"
						"parley_replica_connections{state=\"idle\"} %d\n"
						"parley_replica_connections{state=\"in_use\"} %d\n"
						"parley_replica_connections{state=\"starting\"} %d\n"
						"parley_replica_connections{state=\"down\"} %d\n"
						"# HELP parley_replica_wal_probes_total Answers of the primary's WAL position probe.\n"
						"# TYPE parley_replica_wal_probes_total counter\n"
						"parley_replica_wal_probes_total %llu\n",
						(unsigned long long) r->reads_replica,
						(unsigned long long) r->reads_primary_recent,
						(unsigned long long) r->reads_primary_down,
						(unsigned long long) r->reads_retried, r->up ? 1 : 0,
						r->pool.idle, r->pool.busy, r->pool.starting, r->pool.down,
						(unsigned long long) r->probes);
	/* Only when both positions are known: else there is no lag to state. */
	if (r->replay_known && r->primary_lsn != 0)
		evbuffer_add_printf(out,
							"# HELP parley_replica_lag_bytes WAL bytes between the primary's last probed position and the replica's replay position.\n"
							"# TYPE parley_replica_lag_bytes gauge\n"
							"parley_replica_lag_bytes %llu\n",
							(unsigned long long) (r->primary_lsn > r->replay_lsn ?
												  r->primary_lsn - r->replay_lsn : 0));
}

void
metrics_render(struct evbuffer *out, const struct pool_stats *pool,
			   const struct events_stats *events, const struct replica_stats *replica,
			   int in_flight)
{
	int			last = nroutes < MAX_ROUTES ? nroutes : MAX_ROUTES;

	evbuffer_add_printf(out,
						"# HELP parley_http_requests_total HTTP requests by route and status.\n"
						"# TYPE parley_http_requests_total counter\n");
	for (int r = 0; r <= MAX_ROUTES; r++)
	{
		if (r >= last && r != MAX_ROUTES)
			continue;
		for (size_t s = 0; s <= NSTATUS; s++)
		{
			if (per_route[r].by_status[s] == 0)
				continue;
			if (s < NSTATUS)
				evbuffer_add_printf(out, "parley_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
									route_label(r), statuses[s],
									(unsigned long long) per_route[r].by_status[s]);
			else
				evbuffer_add_printf(out, "parley_http_requests_total{route=\"%s\",status=\"other\"} %llu\n",
									route_label(r), (unsigned long long) per_route[r].by_status[s]);
		}
	}

	evbuffer_add_printf(out,
						"# HELP parley_http_request_duration_seconds Time from request to reply.\n"
						"# TYPE parley_http_request_duration_seconds histogram\n");
	for (int r = 0; r <= MAX_ROUTES; r++)
	{
		uint64_t	cum = 0;

		if ((r >= last && r != MAX_ROUTES) || per_route[r].count == 0)
			continue;
		for (size_t b = 0; b < NBUCKETS; b++)
		{
			cum += per_route[r].hist[b];
			evbuffer_add_printf(out,
								"parley_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
								route_label(r), buckets[b], (unsigned long long) cum);
		}
		evbuffer_add_printf(out,
							"parley_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
							"parley_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
							"parley_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
							route_label(r), (unsigned long long) per_route[r].count,
							route_label(r), per_route[r].sum,
							route_label(r), (unsigned long long) per_route[r].count);
	}

	evbuffer_add_printf(out,
						"# HELP parley_pool_connections Database connections by state.\n"
						"# TYPE parley_pool_connections gauge\n"
						"parley_pool_connections{state=\"idle\"} %d\n"
						"parley_pool_connections{state=\"in_use\"} %d\n"
						"parley_pool_connections{state=\"starting\"} %d\n"
						"parley_pool_connections{state=\"down\"} %d\n"
						"# HELP parley_pool_size Configured database connections.\n"
						"# TYPE parley_pool_size gauge\n"
						"parley_pool_size %d\n"
						"# HELP parley_pool_waiting Requests waiting for a database connection.\n"
						"# TYPE parley_pool_waiting gauge\n"
						"parley_pool_waiting %d\n"
						"# HELP parley_pool_connect_failures_total Failed attempts to connect.\n"
						"# TYPE parley_pool_connect_failures_total counter\n"
						"parley_pool_connect_failures_total %llu\n"
						"# HELP parley_pool_connections_lost_total Established connections that broke.\n"
						"# TYPE parley_pool_connections_lost_total counter\n"
						"parley_pool_connections_lost_total %llu\n"
						"# HELP parley_pool_timeouts_total Requests that hit PARLEY_REQUEST_TIMEOUT_MS.\n"
						"# TYPE parley_pool_timeouts_total counter\n"
						"parley_pool_timeouts_total %llu\n"
						"# HELP parley_pool_retries_total Statements run again after a lost connection (only when they had not run).\n"
						"# TYPE parley_pool_retries_total counter\n"
						"parley_pool_retries_total %llu\n"
						"# HELP parley_pool_pipelined_total Statements sent on a connection behind another still in flight.\n"
						"# TYPE parley_pool_pipelined_total counter\n"
						"parley_pool_pipelined_total %llu\n"
						"# HELP parley_http_in_flight Requests being handled.\n"
						"# TYPE parley_http_in_flight gauge\n"
						"parley_http_in_flight %d\n",
						pool->idle, pool->busy, pool->starting, pool->down, pool->size,
						pool->waiting, (unsigned long long) pool->connect_failures,
						(unsigned long long) pool->connections_lost,
						(unsigned long long) pool->timeouts,
						(unsigned long long) pool->retries,
						(unsigned long long) pool->pipelined, in_flight);

	evbuffer_add_printf(out,
						"# HELP parley_events_streams Live event streams open.\n"
						"# TYPE parley_events_streams gauge\n"
						"parley_events_streams %d\n"
						"# HELP parley_events_fetches_total Database reads of new, edited or deleted messages for streams.\n"
						"# TYPE parley_events_fetches_total counter\n"
						"parley_events_fetches_total %llu\n"
						"# HELP parley_events_direct_total Messages sent to a stream straight from the reply of a post through this gateway.\n"
						"# TYPE parley_events_direct_total counter\n"
						"parley_events_direct_total %llu\n"
						"# HELP parley_events_dropped_total Streams disconnected for not keeping up.\n"
						"# TYPE parley_events_dropped_total counter\n"
						"parley_events_dropped_total %llu\n",
						events->streams, events->fetches, events->direct, events->dropped);
	evbuffer_add_printf(out,
						"# HELP parley_presence_online Guests holding a stream on some gateway of the deployment, as this gateway knows.\n"
						"# TYPE parley_presence_online gauge\n"
						"parley_presence_online %d\n"
						"# HELP parley_presence_gateways Gateways of the deployment heard from (this one included).\n"
						"# TYPE parley_presence_gateways gauge\n"
						"parley_presence_gateways %d\n"
						"# HELP parley_typing_requests_total Typing requests (POST .../typing) answered 204.\n"
						"# TYPE parley_typing_requests_total counter\n"
						"parley_typing_requests_total %llu\n"
						"# HELP parley_typing_forwarded_total Typing sent on to the streams (not held by the 2 s throttle).\n"
						"# TYPE parley_typing_forwarded_total counter\n"
						"parley_typing_forwarded_total %llu\n"
						"# HELP parley_typing_checks_total Typing requests whose participant check ran in the database (not cached).\n"
						"# TYPE parley_typing_checks_total counter\n"
						"parley_typing_checks_total %llu\n",
						events->presence_online, events->presence_gateways,
						events->typing_requests, events->typing_forwarded, events->typing_checks);

	if (replica->configured)
		render_replica(out, replica);

	evbuffer_add_printf(out,
						"# HELP parley_db_errors_total Statements that ended in a database error, by code.\n"
						"# TYPE parley_db_errors_total counter\n");
	for (int i = 0; i < MAX_DB_CODES && db_errors[i].code != NULL; i++)
		evbuffer_add_printf(out, "parley_db_errors_total{code=\"%s\"} %llu\n",
							db_errors[i].code, (unsigned long long) db_errors[i].count);
}
