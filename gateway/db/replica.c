/*
 * replica.c
 *	  The read pool on a streaming replica and the read-your-writes table
 *	  (replica.h has the rule and its costs).
 *
 *	  Probe ids: probe_next is the id the next probe sent will carry; ids
 *	  grow by one per probe sent, and one probe at most is in flight, so
 *	  answers come in id order.  A write stamps its guest's bucket with
 *	  probe_next: any probe with that id or a later one was sent after the
 *	  write committed.  A bucket's constraint is resolved with the answer
 *	  of its own probe if the ring still holds it, else with the latest
 *	  answer (later, so larger: conservative).  A failed probe leaves no
 *	  answer; the next one covers its buckets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/replica.h"
#include "log.h"
#include "util.h"

#define PROBE_SQL	"SELECT pg_catalog.pg_current_wal_insert_lsn()::text"
#define POLL_SQL	"SELECT pg_catalog.pg_last_wal_replay_lsn()::text"

struct bucket
{
	uint64_t	probe;			/* id of the probe covering the latest write; 0 = none */
	int64_t		expires_ms;		/* the window's end (monotonic ms) */
};

struct probe_answer
{
	uint64_t	id;
	uint64_t	lsn;
};

static struct
{
	bool		configured;
	bool		closing;
	struct replica_options opts;
	struct pool *primary;
	struct pool *read;
	struct event *timer;
	const struct pool_stmt *probe_stmt;
	const struct pool_stmt *poll_stmt;

	/* probes on the primary */
	struct pool_job probe_job;
	bool		probe_in_flight;
	uint64_t	probe_in_flight_id;
	uint64_t	probe_next;		/* id of the next probe to send; from 1 */
	uint64_t	probe_done;		/* id of the latest answered probe; 0 = none */
	uint64_t	probe_lsn;		/* its answer */
	bool		probe_wanted;	/* a write since the in-flight probe was sent */
	struct probe_answer ring[REPLICA_PROBE_RING];

	/* the replay position, polled on the read pool */
	struct pool_job poll_job;
	bool		poll_in_flight;
	bool		replay_known;
	uint64_t	replay_lsn;
	bool		was_up;			/* for the log: the read pool's last state */

	struct bucket buckets[REPLICA_BUCKETS];

	uint64_t	reads_replica;
	uint64_t	reads_primary_recent;
	uint64_t	reads_primary_down;
	uint64_t	reads_retried;
	uint64_t	probes;
}			rp;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* FNV-1a over the guest id; "" for no guest. */
static struct bucket *
bucket_of(const char *guest)
{
	uint64_t	h = 14695981039346656037ULL;

	for (const unsigned char *s = (const unsigned char *) (guest ? guest : ""); *s; s++)
	{
		h ^= *s;
		h *= 1099511628211ULL;
	}
	return &rp.buckets[h & (REPLICA_BUCKETS - 1)];
}

bool
replica_parse_lsn(const char *s, uint64_t *lsn)
{
	unsigned int hi,
				lo;
	int			n = 0;

	if (s == NULL || sscanf(s, "%X/%X%n", &hi, &lo, &n) != 2 || s[n] != '\0')
		return false;
	*lsn = ((uint64_t) hi << 32) | lo;
	return true;
}

/* One text column, one row, not NULL: its LSN; else false. */
static bool
result_lsn(PGresult *res, const struct problem *err, uint64_t *lsn)
{
	if (err != NULL || res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
		PQntuples(res) != 1 || PQgetisnull(res, 0, 0))
		return false;
	return replica_parse_lsn(PQgetvalue(res, 0, 0), lsn);
}

static void probe_send(void);

static void
on_probe_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	uint64_t	lsn;

	(void) job;
	rp.probe_in_flight = false;
	if (result_lsn(res, err, &lsn))
	{
		struct probe_answer *a = &rp.ring[rp.probe_in_flight_id % REPLICA_PROBE_RING];

		a->id = rp.probe_in_flight_id;
		a->lsn = lsn;
		rp.probe_done = rp.probe_in_flight_id;
		rp.probe_lsn = lsn;
		rp.probes++;
	}
	else if (!rp.closing)
		log_debug("read replica: the primary's WAL position probe failed: %s",
				  err ? err->detail : res ? PQresultErrorMessage(res) : "?");
	/* Writes since it was sent wait for the next one. */
	if (rp.probe_wanted && !rp.closing)
		probe_send();
}

/* Send a probe now unless one is in flight (then it is sent when that one ends). */
static void
probe_send(void)
{
	struct problem p;

	if (rp.probe_in_flight || rp.closing)
		return;
	pool_job_init(&rp.probe_job, rp.probe_stmt, 0, NULL, true, on_probe_done, NULL);
	rp.probe_in_flight_id = rp.probe_next++;
	rp.probe_wanted = false;
	if (pool_submit(rp.primary, &rp.probe_job, rp.opts.timeout_ms, false, &p))
		rp.probe_in_flight = true;
	else
		rp.probe_wanted = true; /* the timer tries again */
}

static void
on_poll_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	uint64_t	lsn;

	(void) job;
	rp.poll_in_flight = false;
	if (result_lsn(res, err, &lsn))
	{
		rp.replay_known = true;
		rp.replay_lsn = lsn;
		return;
	}
	if (rp.replay_known && !rp.closing)
		log_info("read replica: replay position unknown (%s); recent writers read from the primary",
				 err ? err->detail : "not a replica in recovery");
	rp.replay_known = false;
}

static void
poll_send(void)
{
	struct problem p;

	if (rp.poll_in_flight || rp.closing)
		return;
	pool_job_init(&rp.poll_job, rp.poll_stmt, 0, NULL, true, on_poll_done, NULL);
	if (pool_submit(rp.read, &rp.poll_job, rp.opts.timeout_ms, false, &p))
		rp.poll_in_flight = true;
}

/* Each PARLEY_READ_POLL_MS: the replay position, and a probe for the lag. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	bool		up = pool_is_up(rp.read);

	(void) fd;
	(void) what;
	(void) arg;
	if (up != rp.was_up)
	{
		if (up)
			log_info("read replica: connected; GETs go to the replica");
		else
			log_warn("read replica: no connection up (%s); GETs go to the primary",
					 pool_last_error(rp.read));
		rp.was_up = up;
	}
	if (!up)
		rp.replay_known = false;	/* it may come back elsewhere, or behind */
	else
		poll_send();
	if (pool_is_up(rp.primary))
		probe_send();
}

bool
replica_setup(struct event_base *base, struct pool *primary, const struct replica_options *opts)
{
	struct pool_options po;

	memset(&rp, 0, sizeof(rp));
	rp.opts = *opts;
	rp.primary = primary;
	rp.probe_next = 1;
	if (opts->conninfo == NULL || opts->conninfo[0] == '\0')
		return true;
	rp.configured = true;
	memset(&po, 0, sizeof(po));
	po.conninfo = opts->conninfo;
	po.size = opts->size;
	po.queue_size = opts->queue_size;
	po.prepared = opts->prepared;
	po.pipeline = opts->pipeline;
	po.check_sql = opts->check_sql;
	po.check = opts->check;
	po.label = "read replica";
	rp.read = pool_new(base, &po);
	rp.timer = event_new(base, -1, EV_PERSIST, on_timer, NULL);
	if (rp.read == NULL || rp.timer == NULL)
		return false;
	rp.probe_stmt = pool_statement(primary, "wal_position", PROBE_SQL);
	rp.poll_stmt = pool_statement(rp.read, "replay_position", POLL_SQL);
	return rp.probe_stmt != NULL && rp.poll_stmt != NULL;
}

struct pool *
replica_pool(void)
{
	return rp.read;
}

void
replica_start(void)
{
	struct timeval tv;

	if (!rp.configured)
		return;
	tv = util_timeval_ms(rp.opts.poll_ms);
	pool_start(rp.read);
	event_add(rp.timer, &tv);
	log_info("read replica: pool %d, read-your-writes window %d ms, poll %d ms",
			 rp.opts.size, rp.opts.window_ms, rp.opts.poll_ms);
}

bool
replica_read_on_replica(const char *guest)
{
	struct bucket *b;
	const struct probe_answer *a;
	uint64_t	need;

	if (!rp.configured)
		return false;
	if (!pool_is_up(rp.read))
	{
		rp.reads_primary_down++;
		return false;
	}
	b = bucket_of(guest);
	if (b->probe != 0 && now_ms() >= b->expires_ms)
		b->probe = 0;			/* the window is over */
	if (b->probe == 0)
	{
		rp.reads_replica++;
		return true;
	}
	if (b->probe <= rp.probe_done && rp.replay_known)
	{
		a = &rp.ring[b->probe % REPLICA_PROBE_RING];
		need = a->id == b->probe ? a->lsn : rp.probe_lsn;
		if (rp.replay_lsn >= need)
		{
			b->probe = 0;		/* replayed: the bucket is free again */
			rp.reads_replica++;
			return true;
		}
	}
	rp.reads_primary_recent++;
	return false;
}

void
replica_read_retried(void)
{
	rp.reads_retried++;
}

void
replica_wrote(const char *guest)
{
	struct bucket *b;

	if (!rp.configured)
		return;
	b = bucket_of(guest);
	b->probe = rp.probe_next;
	b->expires_ms = now_ms() + rp.opts.window_ms;
	rp.probe_wanted = true;
	probe_send();
}

void
replica_get_stats(struct replica_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->configured = rp.configured;
	if (!rp.configured)
		return;
	st->up = pool_is_up(rp.read);
	st->replay_known = rp.replay_known;
	st->replay_lsn = rp.replay_lsn;
	st->primary_lsn = rp.probe_lsn;
	st->reads_replica = rp.reads_replica;
	st->reads_primary_recent = rp.reads_primary_recent;
	st->reads_primary_down = rp.reads_primary_down;
	st->reads_retried = rp.reads_retried;
	st->probes = rp.probes;
	pool_get_stats(rp.read, &st->pool);
}

void
replica_shutdown(void)
{
	rp.closing = true;
	if (rp.timer != NULL)
	{
		event_free(rp.timer);
		rp.timer = NULL;
	}
	pool_free(rp.read);
	rp.read = NULL;
	rp.configured = false;
}
