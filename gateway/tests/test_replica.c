/*
 * test_replica.c
 *	  Unit tests of db/replica.c's read-your-writes rule, on fake pools: which
 *	  pool a guest's read goes to after its write, the probe's coalescing,
 *	  the ring, the window, the replica down, LSN parsing.  The fake pool
 *	  answers nothing by itself: the test answers each job with a PGresult
 *	  made by libpq's PQmakeEmptyPGresult/PQsetvalue.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "db/pool.h"
#include "db/replica.h"
#include "log.h"

static int	failures;

#define CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
			failures++; \
		} \
	} while (0)

/* --- the fake pool ---------------------------------------------------------------- */

struct pool
{
	bool		up;
	int			submits;
	struct pool_job *last;		/* the job submitted last, unanswered */
};

static char stmt_handle;

struct pool *
pool_new(struct event_base *base, const struct pool_options *opts)
{
	(void) base;
	(void) opts;
	return calloc(1, sizeof(struct pool));
}

const struct pool_stmt *
pool_statement(struct pool *pool, const char *name, const char *sql)
{
	(void) pool;
	(void) name;
	(void) sql;
	return (const struct pool_stmt *) &stmt_handle;
}

void
pool_start(struct pool *pool)
{
	(void) pool;
}

void
pool_job_init(struct pool_job *job, const struct pool_stmt *stmt, int nparams,
			  const char *const *values, bool read_only, pool_done_fn done, void *arg)
{
	memset(job, 0, sizeof(*job));
	job->stmt = stmt;
	job->nparams = nparams;
	job->values = values;
	job->read_only = read_only;
	job->done = done;
	job->arg = arg;
}

bool
pool_submit(struct pool *pool, struct pool_job *job, int timeout_ms, bool priority,
			struct problem *p)
{
	(void) timeout_ms;
	(void) priority;
	(void) p;
	if (!pool->up)
		return false;
	pool->submits++;
	pool->last = job;
	return true;
}

bool
pool_is_up(const struct pool *pool)
{
	return pool->up;
}

const char *
pool_last_error(const struct pool *pool)
{
	(void) pool;
	return "fake";
}

void
pool_get_stats(const struct pool *pool, struct pool_stats *st)
{
	(void) pool;
	memset(st, 0, sizeof(*st));
}

void
pool_free(struct pool *pool)
{
	if (pool != NULL && pool->last != NULL)
	{
		struct pool_job *job = pool->last;
		struct problem p = {.status = 503, .code = "database_unavailable"};

		pool->last = NULL;
		job->done(job, NULL, &p);
	}
	free(pool);
}

/* Answer the pool's last job with one text value (NULL: SQL NULL). */
static void
answer(struct pool *pool, const char *value)
{
	struct pool_job *job = pool->last;
	PGresult   *res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	PGresAttDesc desc = {.name = (char *) "lsn", .typid = 25, .typlen = -1, .atttypmod = -1};

	pool->last = NULL;
	PQsetResultAttrs(res, 1, &desc);
	if (value != NULL)
		PQsetvalue(res, 0, 0, (char *) value, (int) strlen(value));
	else
		PQsetvalue(res, 0, 0, NULL, -1);
	job->done(job, res, NULL);
	PQclear(res);
}

static void
answer_error(struct pool *pool)
{
	struct pool_job *job = pool->last;
	struct problem p = {.status = 503, .code = "database_timeout"};

	pool->last = NULL;
	job->done(job, NULL, &p);
}

/* --- the tests -------------------------------------------------------------------- */

static struct event_base *base;
static struct pool *primary;

static struct replica_options
options(const char *url, int window_ms)
{
	struct replica_options o = {
		.conninfo = url, .size = 2, .queue_size = 10, .prepared = true, .pipeline = 1,
		.window_ms = window_ms, .poll_ms = 10, .timeout_ms = 1000,
	};

	return o;
}

/* One tick of the poll timer (it is the only event). */
static void
tick(void)
{
	event_base_loop(base, EVLOOP_ONCE);
}

static void
test_parse_lsn(void)
{
	uint64_t	lsn = 0;

	CHECK(replica_parse_lsn("0/16B3748", &lsn) && lsn == 0x16B3748);
	CHECK(replica_parse_lsn("16/B374D848", &lsn) && lsn == 0x16B374D848ULL);
	CHECK(replica_parse_lsn("FFFFFFFF/FFFFFFFF", &lsn) && lsn == UINT64_MAX);
	CHECK(!replica_parse_lsn("", &lsn));
	CHECK(!replica_parse_lsn("16", &lsn));
	CHECK(!replica_parse_lsn("0/1 ", &lsn));
	CHECK(!replica_parse_lsn(NULL, &lsn));
}

static void
test_no_url(void)
{
	struct replica_options o = options("", 1000);
	struct replica_stats st;

	CHECK(replica_setup(base, primary, &o));
	CHECK(replica_pool() == NULL);
	replica_start();
	replica_wrote("g1");
	CHECK(primary->submits == 0);	/* no probe without a read pool */
	CHECK(!replica_read_on_replica("g1"));
	replica_get_stats(&st);
	CHECK(!st.configured);
	replica_shutdown();
}

static void
test_read_your_writes(void)
{
	struct replica_options o = options("host=replica", 600000);
	struct replica_stats st;
	struct pool *read;

	CHECK(replica_setup(base, primary, &o));
	read = replica_pool();
	CHECK(read != NULL);
	replica_start();

	/* The read pool down: the primary. */
	CHECK(!replica_read_on_replica("g1"));
	read->up = true;
	CHECK(replica_read_on_replica("g1"));
	CHECK(replica_read_on_replica(NULL));

	/* The poll: the replay position. */
	tick();
	CHECK(read->last != NULL);
	answer(read, "0/500");
	/* The timer's probe of the primary (for the lag). */
	CHECK(primary->last != NULL);
	answer(primary, "0/500");

	/* g1 writes: a probe at once; until it answers g1 reads the primary. */
	primary->submits = 0;
	replica_wrote("g1");
	CHECK(primary->submits == 1);
	CHECK(!replica_read_on_replica("g1"));
	CHECK(replica_read_on_replica("g2"));

	/* g2 writes while that probe is in flight: no second probe now ... */
	replica_wrote("g2");
	CHECK(primary->submits == 1);
	answer(primary, "0/1000");	/* covers g1 only */
	/* ... but as soon as the first answers. */
	CHECK(primary->submits == 2);
	CHECK(!replica_read_on_replica("g1"));	/* replay 0/500 < 0/1000 */
	CHECK(!replica_read_on_replica("g2"));
	answer(primary, "0/2000");	/* covers g2 */

	tick();
	answer(read, "0/1000");
	CHECK(replica_read_on_replica("g1"));	/* replayed its own probe's answer */
	CHECK(!replica_read_on_replica("g2"));	/* needs 0/2000 */
	if (primary->last)
		answer(primary, "0/2000");
	tick();
	answer(read, "0/2000");
	CHECK(replica_read_on_replica("g2"));
	if (primary->last)
		answer(primary, "0/2000");

	/* A failed probe: the next one (the timer's) covers the write. */
	replica_wrote("g3");
	answer_error(primary);
	CHECK(!replica_read_on_replica("g3"));
	tick();
	if (read->last)
		answer(read, "0/3000");
	CHECK(primary->last != NULL);
	answer(primary, "0/3000");
	CHECK(replica_read_on_replica("g3"));

	/* The replay position unknown (not a replica): writers stay on the primary. */
	replica_wrote("g4");
	answer(primary, "0/3100");
	tick();
	answer(read, NULL);
	CHECK(!replica_read_on_replica("g4"));
	CHECK(replica_read_on_replica("g5"));
	if (primary->last)
		answer(primary, "0/3100");

	/* The read pool goes down: everyone to the primary. */
	read->up = false;
	CHECK(!replica_read_on_replica("g5"));

	replica_get_stats(&st);
	CHECK(st.configured && !st.up);
	CHECK(st.reads_primary_recent >= 6);
	CHECK(st.reads_primary_down == 2);
	CHECK(st.reads_replica >= 6);
	replica_shutdown();
}

static void
test_window(void)
{
	struct replica_options o = options("host=replica", 20);
	struct timespec ts = {0, 40 * 1000 * 1000};
	struct pool *read;

	CHECK(replica_setup(base, primary, &o));
	read = replica_pool();
	read->up = true;
	replica_start();
	replica_wrote("g1");		/* its probe never answers */
	CHECK(!replica_read_on_replica("g1"));
	nanosleep(&ts, NULL);
	CHECK(replica_read_on_replica("g1"));	/* the window is over */
	answer_error(primary);
	replica_shutdown();
}

/* Many guests: the table is bounded, a shared bucket is only conservative. */
static void
test_buckets(void)
{
	struct replica_options o = options("host=replica", 600000);
	struct pool *read;
	char		guest[32];
	int			on_primary = 0;

	CHECK(replica_setup(base, primary, &o));
	read = replica_pool();
	read->up = true;
	replica_start();
	for (int i = 0; i < 3 * REPLICA_BUCKETS; i++)
	{
		snprintf(guest, sizeof(guest), "writer-%d", i);
		replica_wrote(guest);
	}
	/* Every writer, all sharing buckets, still reads the primary. */
	for (int i = 0; i < 3 * REPLICA_BUCKETS; i++)
	{
		snprintf(guest, sizeof(guest), "writer-%d", i);
		on_primary += !replica_read_on_replica(guest);
	}
	CHECK(on_primary == 3 * REPLICA_BUCKETS);
	answer(primary, "0/100");
	CHECK(primary->last != NULL);	/* the writes after the first probe was sent */
	answer(primary, "0/200");
	tick();
	answer(read, "0/200");
	snprintf(guest, sizeof(guest), "writer-%d", 7);
	CHECK(replica_read_on_replica(guest));
	if (primary->last)
		answer(primary, "0/200");
	replica_shutdown();
}

int
main(void)
{
	log_min_level = LOG_LEVEL_WARN;
	base = event_base_new();
	primary = pool_new(base, NULL);
	primary->up = true;
	test_parse_lsn();
	test_no_url();
	test_read_your_writes();
	test_window();
	test_buckets();
	free(primary);
	event_base_free(base);
	if (failures)
	{
		fprintf(stderr, "test_replica: %d FAILED\n", failures);
		return 1;
	}
	printf("test_replica: all passed\n");
	return 0;
}
