/*
 * replica.h
 *	  Reads on a streaming replica (PARLEY_READ_URL) with read-your-writes
 *	  per acting guest.
 *
 *	  A second pool (the read pool) runs the GET routes' statements on the
 *	  replica; writes, streams and the key cache stay on the primary pool.
 *	  The HTTP layer asks replica_read_on_replica() for each GET and tells
 *	  replica_wrote() after each write that reached the database.
 *
 *	  Read-your-writes: a guest that wrote reads from the primary until the
 *	  replica has replayed a WAL position at or past the commit of that
 *	  write, or until PARLEY_READ_WINDOW_MS have passed since the write.
 *	  The commit position is learned without a round trip on the request's
 *	  path: a write marks its guest as waiting for the next *probe*, a
 *	  `SELECT pg_current_wal_insert_lsn()` on the primary sent after the
 *	  write's commit (so its answer is at or past the commit record's end).
 *	  At most one probe is in flight; all writes that completed before it
 *	  was sent share its answer, so probes cost at most one statement per
 *	  primary round trip under any write load, and one per
 *	  PARLEY_READ_POLL_MS when idle.  The replica's replay position is
 *	  polled once per PARLEY_READ_POLL_MS on the read pool
 *	  (`pg_last_wal_replay_lsn()`), never per request.
 *
 *	  Memory is a fixed table of REPLICA_BUCKETS buckets indexed by a hash
 *	  of the guest id; guests that share a bucket share its constraint (the
 *	  latest write's probe), which is only ever more conservative (a read
 *	  goes to the primary that could have gone to the replica), never
 *	  wrong.  Every call is O(1).
 *
 *	  When the read pool has no connection up, or the replica's replay
 *	  position is unknown (it is not a replica: a proxy database, say),
 *	  guests inside their window read from the primary, and others from the
 *	  read pool if it is up, else from the primary.
 */
#ifndef PARLEY_REPLICA_H
#define PARLEY_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "db/pool.h"

#define REPLICA_BUCKETS 4096	/* power of two */
#define REPLICA_PROBE_RING 64	/* recent probe answers kept */

struct replica_options
{
	const char *conninfo;		/* PARLEY_READ_URL; "" = no read pool */
	int			size;			/* read pool connections */
	int			queue_size;
	bool		prepared;
	int			pipeline;
	const char *check_sql;		/* as the primary pool's */
	pool_check_fn check;
	int			window_ms;		/* read-your-writes window after a write */
	int			poll_ms;		/* replay position poll period */
	int			timeout_ms;		/* for the poll and the probe */
};

struct replica_stats
{
	bool		configured;		/* PARLEY_READ_URL is set */
	bool		up;				/* the read pool has a connection up */
	bool		replay_known;	/* the last poll gave a replay position */
	uint64_t	replay_lsn;
	uint64_t	primary_lsn;	/* the last probe's answer */
	uint64_t	reads_replica;	/* GETs sent to the read pool */
	uint64_t	reads_primary_recent;	/* to the primary: the guest's write not replayed */
	uint64_t	reads_primary_down; /* to the primary: the read pool is down */
	uint64_t	reads_retried;	/* failed on the read pool, run again on the primary */
	uint64_t	probes;			/* probe answers */
	struct pool_stats pool;
};

/*
 * Set up before pool_start(primary): registers the probe on the primary
 * pool and, with a read URL, makes the read pool.  False when out of
 * memory.  Without a read URL every other call is a cheap no-op and reads
 * go to the primary.
 */
bool		replica_setup(struct event_base *base, struct pool *primary,
						  const struct replica_options *opts);

/* The read pool, or NULL without PARLEY_READ_URL; register statements on it before replica_start(). */
struct pool *replica_pool(void);

/* Connect the read pool and start the poll timer. */
void		replica_start(void);

/*
 * Should guest's read (guest may be NULL: no acting guest) go to the read
 * pool now?  Counts the decision.
 */
bool		replica_read_on_replica(const char *guest);

/* A read that failed on the read pool runs again on the primary: counted. */
void		replica_read_retried(void);

/* A write of guest (may be NULL) reached the database (whatever its answer). */
void		replica_wrote(const char *guest);

void		replica_get_stats(struct replica_stats *st);

/* Stop the timer, fail jobs in flight, close the read pool. */
void		replica_shutdown(void);

/* "16/B374D848" -> its 64-bit position; false if malformed.  (Pure, for tests.) */
bool		replica_parse_lsn(const char *s, uint64_t *lsn);

#endif							/* PARLEY_REPLICA_H */
