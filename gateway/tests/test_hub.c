/*
 * test_hub.c
 *	  Unit tests of the live-event registry (events/hub.c): conversations
 *	  and streams in and out, lookups, cursors, the work lists and the
 *	  hand-back of deferred fetches, the slow-consumer bound, the pacing of
 *	  replays.  Streams write to a fake sink; fetchers are counters.  No
 *	  network, no database.  `make -C gateway check` runs it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "events/hub.h"
#include "log.h"

static int	failures;
static int	checks;

#define CHECK(cond, ...) \
	do { \
		checks++; \
		if (!(cond)) { \
			failures++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

#define CID_A "0190d6a4-0000-7000-8000-00000000000a"
#define CID_B "0190d6a4-0000-7000-8000-00000000000b"
#define BOUND 1000				/* the slow-consumer bound of these tests */

/* ---- a fake sink ---------------------------------------------------------- */

struct fake_conn
{
	int			started;
	int			refused;
	int			ended;
	int			aborted;
	size_t		written;		/* bytes taken */
	size_t		queued;			/* what write() and queued() answer */
	char		last[256];		/* the last write */
};

static void
fake_start(void *conn)
{
	((struct fake_conn *) conn)->started++;
}

static void
fake_refuse(void *conn, const struct problem *p)
{
	(void) p;
	((struct fake_conn *) conn)->refused++;
}

static size_t
fake_write(void *conn, const char *data, size_t len)
{
	struct fake_conn *fc = conn;

	fc->written += len;
	snprintf(fc->last, sizeof(fc->last), "%.*s", (int) len, data);
	return fc->queued;
}

static size_t
fake_queued(void *conn)
{
	return ((struct fake_conn *) conn)->queued;
}

static void
fake_end(void *conn)
{
	((struct fake_conn *) conn)->ended++;
}

static void
fake_abort(void *conn)
{
	((struct fake_conn *) conn)->aborted++;
}

static const struct events_sink_ops fake_ops = {
	.start = fake_start,
	.refuse = fake_refuse,
	.write = fake_write,
	.queued = fake_queued,
	.end = fake_end,
	.abort = fake_abort,
};

/* ---- fake fetchers -------------------------------------------------------- */

static int	message_kicks;
static int	change_kicks;
static struct hub_conv *last_kicked;

static void
kick_messages(struct hub_conv *c)
{
	message_kicks++;
	last_kicked = c;
}

static void
kick_changes(struct hub_conv *c)
{
	change_kicks++;
	last_kicked = c;
}

static const struct hub_fetcher messages = {.kick = kick_messages};
static const struct hub_fetcher changes = {.kick = kick_changes};

/* A started stream of guest in cid at cursor. */
static struct events_stream *
open_stream(struct fake_conn *fc, const char *guest, const char *cid, int64_t cursor)
{
	struct events_stream *s = hub_stream_new(&fake_ops, fc, guest);

	if (s == NULL || !hub_stream_join(s, cid, cursor, 10, 3))
		return NULL;
	hub_stream_start(s);
	return s;
}

static void
test_canonical(void)
{
	char		out[HUB_CID_LEN + 1];

	CHECK(hub_cid_canonical(CID_A, out) && strcmp(out, CID_A) == 0, "canonical stays");
	CHECK(hub_cid_canonical("{0190D6A4-0000-7000-8000-00000000000A}", out) &&
		  strcmp(out, CID_A) == 0, "upper case and braces");
	CHECK(hub_cid_canonical("0190d6a400007000800000000000000a", out) &&
		  strcmp(out, CID_A) == 0, "no hyphens");
	CHECK(!hub_cid_canonical("0190d6a4-0000-7000-8000-00000000000", out), "31 digits");
	CHECK(!hub_cid_canonical("0190d6a4-0000-7000-8000-00000000000a0", out), "33 digits");
	CHECK(!hub_cid_canonical("0190d6a4-0000-7000-8000-00000000000g", out), "not hex");
}

static void
test_registry(void)
{
	struct fake_conn f1 = {0},
				f2 = {0},
				f3 = {0};
	struct events_stream *s1 = open_stream(&f1, "alice", CID_A, 5);
	struct events_stream *s2 = open_stream(&f2, "bob", CID_A, 8);
	struct events_stream *s3 = open_stream(&f3, "bob", CID_B, 10);
	struct hub_conv *a = hub_conv_find(CID_A);
	char	   *ids;

	CHECK(s1 && s2 && s3, "streams open");
	CHECK(f1.started == 1 && f3.started == 1, "started once each");
	CHECK(hub_nstreams() == 3, "three streams, got %d", hub_nstreams());
	CHECK(a != NULL && a->nstreams == 2, "conversation A has two streams");
	CHECK(hub_conv_find(CID_B) != NULL && hub_conv_find(CID_B)->nstreams == 1, "B has one");
	CHECK(hub_conv_find("0190d6a4-0000-7000-8000-00000000000c") == NULL, "unknown: NULL");
	CHECK(a->head == 10 && a->change_seen == 3 && a->change_head == 3, "seeded from the subscription");
	CHECK(hub_min_cursor(a) == 5, "min cursor 5, got %lld", (long long) hub_min_cursor(a));

	ids = hub_conv_ids();
	CHECK(ids != NULL && strlen(ids) == 2 + 2 * HUB_CID_LEN + 1 &&
		  strstr(ids, CID_A) && strstr(ids, CID_B) && ids[0] == '{', "ids literal: %s", ids ? ids : "NULL");
	free(ids);

	/* A second subscription does not move what the first one seeded. */
	{
		struct fake_conn f4 = {0};
		struct events_stream *s4 = hub_stream_new(&fake_ops, &f4, "carol");

		CHECK(hub_stream_join(s4, CID_A, 2, 12, 9), "join");
		CHECK(a->head == 12 && a->change_seen == 3, "head moves up, change_seen stays");
		CHECK(hub_min_cursor(a) == 2, "min cursor 2");
		hub_stream_remove(s4);
		CHECK(f4.ended == 0 && f4.aborted == 0, "a removed stream is not written to");
		CHECK(hub_min_cursor(a) == 5, "min cursor back to 5");
	}

	hub_guest_gone(a, "bob");
	CHECK(f2.ended == 1, "bob's stream in A ended");
	CHECK(f3.ended == 0, "bob's stream in B not");
	CHECK(a->nstreams == 1, "A has one stream left");

	hub_stream_end(s1);
	CHECK(f1.ended == 1, "ended");
	CHECK(hub_conv_find(CID_A) == NULL, "A is freed with its last stream");
	hub_stream_remove(s3);
	CHECK(hub_conv_find(CID_B) == NULL && hub_nstreams() == 0, "all gone");
	CHECK(hub_conv_ids() == NULL, "no ids without streams");
}

static void
test_send(void)
{
	struct fake_conn f1 = {0},
				f2 = {0},
				fp = {0};
	struct evbuffer *buf = evbuffer_new();
	struct events_stream *s1 = open_stream(&f1, "alice", CID_A, 0);
	struct events_stream *pending = hub_stream_new(&fake_ops, &fp, "dave");
	struct problem p = {.status = 403};
	unsigned long long dropped0 = hub_dropped();

	(void) open_stream(&f2, "bob", CID_A, 0);
	evbuffer_add(buf, "hello", 5);
	CHECK(hub_stream_send(s1, buf) && f1.written == 5 && strcmp(f1.last, "hello") == 0, "sent");
	CHECK(evbuffer_get_length(buf) == 0, "buffer drained");

	evbuffer_add(buf, ":\n\n", 3);
	CHECK(hub_stream_send_all(buf) == 0, "heartbeat to all");
	CHECK(f1.written == 8 && f2.written == 3 && fp.written == 0, "not to a stream not started");

	f2.queued = BOUND + 1;
	evbuffer_add(buf, "x", 1);
	CHECK(hub_stream_send_all(buf) == 1, "one dropped");
	CHECK(f2.aborted == 1 && hub_dropped() == dropped0 + 1, "the slow one is aborted and counted");
	CHECK(hub_conv_find(CID_A)->nstreams == 1, "one stream left in A");

	hub_stream_refuse(pending, &p);
	CHECK(fp.refused == 1 && fp.started == 0, "refused, never started");
	hub_stream_end(s1);
	CHECK(hub_nstreams() == 0, "all gone");
	evbuffer_free(buf);
}

static void
test_work(void)
{
	struct hub_worklist fetches = {0};
	struct hub_worklist changelist = {0};
	struct fake_conn f1 = {0},
				f2 = {0};
	struct events_stream *s1 = open_stream(&f1, "alice", CID_A, 0);
	struct events_stream *s2 = open_stream(&f2, "bob", CID_B, 0);
	struct hub_conv *a = hub_conv_find(CID_A);
	struct hub_conv *b = hub_conv_find(CID_B);
	struct hub_work *w;

	hub_work_queue(&fetches, &a->fetch);
	hub_work_queue(&fetches, &b->fetch);
	hub_work_queue(&fetches, &a->fetch);
	CHECK(a->fetch.queued && b->fetch.queued, "both queued");
	w = hub_work_next(&fetches);
	CHECK(w == &a->fetch && w->running && !w->queued, "A first, running");
	CHECK(hub_work_next(&fetches) == &b->fetch, "then B, once");
	CHECK(hub_work_next(&fetches) == NULL, "then none");

	/* Asked for while running: once more after. */
	hub_work_queue(&fetches, &a->fetch);
	CHECK(a->fetch.again && !a->fetch.queued, "again, not queued");

	/* A change fetch of A waits while A's message fetch runs, and is handed back. */
	hub_work_queue(&changelist, &a->change);
	CHECK(hub_work_next(&changelist) == NULL && a->change.deferred, "change deferred");
	change_kicks = 0;
	hub_work_ended(&a->fetch);
	CHECK(!a->fetch.running && change_kicks == 1 && last_kicked == a && !a->change.deferred,
		  "the message fetch ended: the changes fetcher gets A back");
	hub_work_ended(&b->fetch);
	CHECK(change_kicks == 1, "B had nothing deferred");

	/* A queued fetch holds its conversation past its last stream; the list lets it go. */
	hub_work_queue(&fetches, &a->fetch);
	hub_stream_remove(s1);
	CHECK(hub_conv_find(CID_A) == a, "held by its queued fetch");
	hub_work_queue(&fetches, &a->fetch);
	CHECK(hub_work_next(&fetches) == NULL, "no stream: not fetched");
	CHECK(hub_conv_find(CID_A) == NULL, "and released");

	/* A running fetch holds it too; the fetcher releases it at the end. */
	hub_work_queue(&fetches, &b->fetch);
	w = hub_work_next(&fetches);
	hub_stream_remove(s2);
	CHECK(hub_conv_find(CID_B) == b, "held by its running fetch");
	hub_work_queue(&fetches, &b->fetch);
	CHECK(!b->fetch.queued, "a conversation without streams is not queued");
	hub_work_ended(w);
	hub_conv_release(b);
	CHECK(hub_conv_find(CID_B) == NULL, "released after the fetch");
}

static void
test_pause(struct event_base *base)
{
	struct fake_conn f1 = {0};
	struct events_stream *s1 = open_stream(&f1, "alice", CID_A, 0);
	struct timeval tv = {0, 30 * 1000};

	f1.queued = 100;
	hub_stream_pause(s1);
	hub_stream_pause(s1);
	CHECK(s1->paused, "paused");
	message_kicks = 0;
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	CHECK(s1->paused && message_kicks == 0, "still paused while the client has not read");

	f1.queued = 0;
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	CHECK(!s1->paused && message_kicks == 1 && last_kicked == s1->conv,
		  "the client read everything: its conversation is fetched again (kicks %d)", message_kicks);

	f1.queued = 100;
	hub_stream_pause(s1);
	hub_stream_remove(s1);		/* a paused stream may go away */
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	CHECK(hub_nstreams() == 0 && message_kicks == 1, "nothing left to resume");
}

int
main(void)
{
	struct event_base *base = event_base_new();

	log_min_level = LOG_LEVEL_ERROR;
	if (base == NULL || !hub_setup(base, &messages, &changes, BOUND))
	{
		printf("setup failed\n");
		return 1;
	}
	test_canonical();
	test_registry();
	test_send();
	test_work();
	test_pause(base);
	hub_shutdown();
	event_base_free(base);
	printf("%d checks, %d failures\n", checks, failures);
	return failures == 0 ? 0 : 1;
}
