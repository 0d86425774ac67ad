/*
 * notify.c
 *	  The outgoing side of live events.  After a write that this gateway
 *	  relayed succeeded (events_after_write() in events.c), a line of ids
 *	  is queued: "m <cid> [<seq>]" (a message), "e <cid> <seq>" (edited),
 *	  "d <cid> <seq>" (deleted), "r <cid> <guest>" (a guest removed).
 *	  Every PARLEY_EVENTS_BATCH_MS the queue goes out in one
 *	  pg_notify() on the listener's connection (listen.c), outside any
 *	  write transaction: a NOTIFY inside the writing transaction would take
 *	  PostgreSQL's database-wide notify lock at every commit and serialise
 *	  all posts.  Payloads carry ids only and stay under the 8000-byte
 *	  limit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "config.h"
#include "db/listen.h"
#include "log.h"
#include "notify.h"
#include "util.h"

#define NOTIFY_MAX		7900	/* bytes per pg_notify payload (limit 8000) */
#define OUTQ_MAX		(1024 * 1024)	/* lines queued while the listener is down */

static struct
{
	struct evbuffer *outq;		/* lines not sent yet */
	struct event *timer;
	bool		dropping;
}			nq;

/* Send the next payload of at most NOTIFY_MAX bytes, cut at a line end. */
static void
flush_outq(void)
{
	size_t		len = evbuffer_get_length(nq.outq);
	char		payload[NOTIFY_MAX + 1];
	size_t		n;

	if (len == 0 || !listen_ready())
		return;
	n = len < NOTIFY_MAX ? len : NOTIFY_MAX;
	evbuffer_copyout(nq.outq, payload, n);
	if (n < len)
	{
		while (n > 0 && payload[n - 1] != '\n')
			n--;
	}
	payload[n] = '\0';
	if (n > 0 && payload[n - 1] == '\n')
		payload[n - 1] = '\0';
	if (listen_send(payload))
		evbuffer_drain(nq.outq, n);
}

static void
on_batch_timer(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	flush_outq();
}

static void
arm_batch_timer(void)
{
	struct timeval tv = util_timeval_ms(config.events_batch_ms);

	if (evbuffer_get_length(nq.outq) > 0 && !evtimer_pending(nq.timer, NULL))
		evtimer_add(nq.timer, &tv);
}

void
notify_flush_later(void)
{
	arm_batch_timer();
}

void
notify_queue(char kind, const char *cid, const char *arg)
{
	if (evbuffer_get_length(nq.outq) > OUTQ_MAX)
	{
		/* The listener is down: the safety poll covers new messages. */
		if (!nq.dropping)
			log_warn("events: notification queue full; dropping until the listener is back");
		nq.dropping = true;
		return;
	}
	nq.dropping = false;
	evbuffer_add_printf(nq.outq, arg ? "%c %s %s\n" : "%c %s\n", kind, cid, arg);
	arm_batch_timer();
}

void
notify_queue_line(const char *line)
{
	if (evbuffer_get_length(nq.outq) > OUTQ_MAX)
		return;					/* presence heartbeats repair what is lost */
	evbuffer_add_printf(nq.outq, "%s\n", line);
	arm_batch_timer();
}

bool
notify_setup(struct event_base *base)
{
	nq.outq = evbuffer_new();
	nq.timer = evtimer_new(base, on_batch_timer, NULL);
	return nq.outq != NULL && nq.timer != NULL;
}

void
notify_shutdown(void)
{
	if (nq.timer)
		event_free(nq.timer);
	if (nq.outq)
		evbuffer_free(nq.outq);
	memset(&nq, 0, sizeof(nq));
}
