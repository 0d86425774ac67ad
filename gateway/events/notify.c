/*
 * notify.c
 *	  The outgoing side of live events.  After a write that this gateway
 *	  relayed succeeded (http.c calls events_after_write()), a line of ids
 *	  is queued: "m <cid> [<seq>]" (a message), "e <cid> <seq>" (edited),
 *	  "d <cid> <seq>" (deleted), "r <cid> <guest>" (a guest removed).  A
 *	  posted message also goes straight to this gateway's own streams
 *	  (deliver.c).  Every PARLEY_EVENTS_BATCH_MS the queue goes out in one
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

#include <cjson/cJSON.h>

#include "config.h"
#include "events.h"
#include "events_hub.h"
#include "db/listen.h"
#include "log.h"
#include "notify.h"

#define NOTIFY_MAX		7900	/* bytes per pg_notify payload (limit 8000) */
#define OUTQ_MAX		(1024 * 1024)	/* lines queued while the listener is down */

static struct
{
	struct evbuffer *outq;		/* lines not sent yet */
	struct event *timer;
	bool		dropping;
}			nq;

/*
 * PostgreSQL reads a UUID in several spellings (upper case, braces, other
 * hyphenation); the hub keys conversations by the canonical one.  False
 * when in is no UUID at all.
 */
bool
notify_cid_canonical(const char *in, char out[CID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	int			n = 0;

	for (; *in != '\0'; in++)
	{
		const char *d = strchr(hex, *in >= 'A' && *in <= 'F' ? *in - 'A' + 'a' : *in);

		if (*in == '-' || *in == '{' || *in == '}')
			continue;
		if (d == NULL || n == 32)
			return false;
		if (n == 8 || n == 12 || n == 16 || n == 20)
			*out++ = '-';
		*out++ = *d;
		n++;
	}
	*out = '\0';
	return n == 32;
}

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
	struct timeval tv = {0, config.events_batch_ms * 1000};

	if (evbuffer_get_length(nq.outq) > 0 && !evtimer_pending(nq.timer, NULL))
		evtimer_add(nq.timer, &tv);
}

void
notify_flush_later(void)
{
	arm_batch_timer();
}

/* The seq of a message as the extension renders it; 0 when there is none. */
static int64_t
message_seq(const char *json, size_t len)
{
	cJSON	   *m = json ? cJSON_ParseWithLength(json, len) : NULL;
	cJSON	   *seq = cJSON_GetObjectItemCaseSensitive(m, "seq");
	int64_t		v = cJSON_IsNumber(seq) && seq->valuedouble >= 1 ? (int64_t) seq->valuedouble : 0;

	cJSON_Delete(m);
	return v;
}

void
events_after_write(const char *route, const char *const *values,
				   const char *body, size_t body_len)
{
	char		kind;
	const char *arg = NULL;
	char		cid[CID_LEN + 1];
	char		seq_s[24];

	if (!config.events)
		return;
	if (strcmp(route, "message_post") == 0)
		kind = 'm';
	else if (strcmp(route, "message_edit") == 0)
		kind = 'e', arg = values[1];
	else if (strcmp(route, "message_delete") == 0)
		kind = 'd', arg = values[1];
	else if (strcmp(route, "participant_remove") == 0)
		kind = 'r', arg = values[1];
	else
		return;
	if (!notify_cid_canonical(values[0], cid))
		return;
	if (kind == 'm' && hub_conv_find(cid) != NULL)
	{
		int64_t		seq = message_seq(body, body_len);

		/*
		 * Our own streams get it now.  The seq in the line lets this
		 * gateway skip the fetch when the notification comes back; other
		 * gateways cannot have the message yet, so without local streams
		 * the reply is not parsed at all.
		 */
		if (seq > 0)
		{
			deliver_posted(cid, seq, body, body_len);
			snprintf(seq_s, sizeof(seq_s), "%" PRId64, seq);
			arg = seq_s;
		}
	}
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
