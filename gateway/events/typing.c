/*
 * typing.c
 *	  Typing without a statement per keystroke (typing.h).
 *
 * An entry per (conversation, guest) remembers until when the guest's
 * participant check is trusted (TYPING_CACHE_MS after parley.typing_check
 * passed, or a guest stream here knew it a participant) and when its last
 * typing was forwarded.  A request within TYPING_THROTTLE_MS of that is
 * answered 204 and goes nowhere; else one "T <cid> <guest>" line is queued
 * (notify.c sends the lines of every gateway in batches), and each gateway
 * that receives it, this one included, sends the typing event to its
 * streams of the conversation: the per-conversation streams and the guest
 * streams of the participants, never the typist's own.  A removal ("r"
 * line) drops the entry, so a removed guest is checked again; a removal
 * made straight in SQL is trusted at most TYPING_CACHE_MS.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "hub.h"
#include "notify.h"
#include "typing.h"
#include "util.h"

#define NBUCKETS	4096
#define SWEEP_MS	10000
#define BATCH_MS	200			/* T lines wait this long to share a pg_notify */
#define PENDING_MAX	(256 * 1024)

struct tentry
{
	char		cid[HUB_CID_LEN + 1];
	char		guest[HUB_GUEST_MAX + 1];
	int64_t		ok_until;		/* ms: the check is trusted until then */
	int64_t		last_forward;	/* ms; 0: never */
	struct tentry *next;
};

static struct
{
	struct tentry *buckets[NBUCKETS];
	struct event *sweep;
	struct event *batch;
	struct evbuffer *pending;	/* T lines not handed to notify.c yet */
	const struct typing_callbacks *cb;
	struct typing_stats st;
}			ty;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned
hash2(const char *a, const char *b)
{
	uint32_t	h = 2166136261u;

	for (; *a; a++)
		h = (h ^ (unsigned char) *a) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (; *b; b++)
		h = (h ^ (unsigned char) *b) * 16777619u;
	return h % NBUCKETS;
}

static struct tentry *
entry(const char *cid, const char *guest, bool create)
{
	unsigned	b = hash2(cid, guest);
	struct tentry *e;

	for (e = ty.buckets[b]; e != NULL; e = e->next)
		if (strcmp(e->cid, cid) == 0 && strcmp(e->guest, guest) == 0)
			return e;
	if (!create || strlen(guest) > HUB_GUEST_MAX || (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	snprintf(e->cid, sizeof(e->cid), "%s", cid);
	snprintf(e->guest, sizeof(e->guest), "%s", guest);
	e->next = ty.buckets[b];
	ty.buckets[b] = e;
	return e;
}

/* Forward e's typing unless the throttle holds it. */
static void
forward(struct tentry *e, int64_t now)
{
	char		line[HUB_CID_LEN + HUB_GUEST_MAX + 8];

	if (e->last_forward != 0 && now - e->last_forward < TYPING_THROTTLE_MS)
		return;
	e->last_forward = now;
	ty.st.forwarded++;
	snprintf(line, sizeof(line), "T %s %s\n", e->cid, e->guest);
	if (evbuffer_get_length(ty.pending) < PENDING_MAX)
		evbuffer_add(ty.pending, line, strlen(line));
	if (!evtimer_pending(ty.batch, NULL))
	{
		struct timeval tv = util_timeval_ms(BATCH_MS);

		evtimer_add(ty.batch, &tv);
	}
}

/*
 * Every BATCH_MS the typing lines go to notify.c at once, so that 1,000
 * guests typing cost a few pg_notify a second, not one per
 * PARLEY_EVENTS_BATCH_MS; a typing indicator can wait 200 ms.
 */
static void
on_batch(evutil_socket_t fd, short what, void *arg)
{
	size_t		len = evbuffer_get_length(ty.pending);
	char	   *text;

	(void) fd;
	(void) what;
	(void) arg;
	if (len == 0)
		return;
	text = (char *) evbuffer_pullup(ty.pending, -1);
	text[len - 1] = '\0';		/* the last newline: notify.c adds its own */
	notify_queue_line(text);
	evbuffer_drain(ty.pending, len);
}

bool
typing_request(const char *cid_in, const char *guest)
{
	char		cid[HUB_CID_LEN + 1];
	int64_t		now = now_ms();
	struct tentry *e;

	ty.st.requests++;
	if (!hub_cid_canonical(cid_in, cid))
		return false;			/* the check answers (400 or 404) */
	e = entry(cid, guest, false);
	if (e == NULL || e->ok_until <= now)
	{
		if (ty.cb->in_conversation(guest, cid) != 1)
		{
			ty.st.checks++;
			return false;
		}
		if (e == NULL && (e = entry(cid, guest, true)) == NULL)
			return false;
		e->ok_until = now + TYPING_CACHE_MS;
	}
	forward(e, now);
	return true;
}

void
typing_checked(const char *cid_in, const char *guest)
{
	char		cid[HUB_CID_LEN + 1];
	int64_t		now = now_ms();
	struct tentry *e;

	if (!hub_cid_canonical(cid_in, cid) || (e = entry(cid, guest, true)) == NULL)
		return;
	e->ok_until = now + TYPING_CACHE_MS;
	forward(e, now);
}

void
typing_forget(const char *cid, const char *guest)
{
	struct tentry *e = entry(cid, guest, false);

	if (e != NULL)
		e->ok_until = 0;
}

bool
typing_on_line(const char *line, size_t len)
{
	char		buf[HUB_CID_LEN + HUB_GUEST_MAX + 8];
	char		cid[HUB_CID_LEN + 1];
	char		guest[HUB_GUEST_MAX + 1];
	char		data[HUB_CID_LEN + HUB_GUEST_MAX + 96];

	if (len < 2 || line[0] != 'T' || line[1] != ' ')
		return false;
	if (len >= sizeof(buf))
		return true;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (sscanf(buf, "T %36s %64s", cid, guest) != 2)
		return true;
	/* ids only: a guest id and a uuid need no JSON escaping */
	snprintf(data, sizeof(data),
			 "{\"conversation_id\":\"%s\",\"guest_id\":\"%s\",\"expires_in_ms\":%d}",
			 cid, guest, TYPING_EXPIRES_MS);
	(void) ty.cb->send_except(cid, guest, "typing", data);
	return true;
}

static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	int64_t		now = now_ms();

	(void) fd;
	(void) what;
	(void) arg;
	for (int b = 0; b < NBUCKETS; b++)
	{
		struct tentry **pp = &ty.buckets[b];

		while (*pp != NULL)
		{
			struct tentry *e = *pp;

			if (e->ok_until <= now && now - e->last_forward >= TYPING_THROTTLE_MS)
			{
				*pp = e->next;
				free(e);
			}
			else
				pp = &e->next;
		}
	}
}

void
typing_get_stats(struct typing_stats *st)
{
	*st = ty.st;
}

bool
typing_setup(struct event_base *base, const struct typing_callbacks *cb)
{
	struct timeval tv = util_timeval_ms(SWEEP_MS);

	ty.cb = cb;
	ty.sweep = event_new(base, -1, EV_PERSIST, on_sweep, NULL);
	ty.batch = evtimer_new(base, on_batch, NULL);
	ty.pending = evbuffer_new();
	return ty.sweep != NULL && ty.batch != NULL && ty.pending != NULL &&
		evtimer_add(ty.sweep, &tv) == 0;
}

void
typing_shutdown(void)
{
	if (ty.sweep)
		event_free(ty.sweep);
	if (ty.batch)
		event_free(ty.batch);
	if (ty.pending)
		evbuffer_free(ty.pending);
	for (int b = 0; b < NBUCKETS; b++)
		while (ty.buckets[b] != NULL)
		{
			struct tentry *e = ty.buckets[b];

			ty.buckets[b] = e->next;
			free(e);
		}
	memset(&ty, 0, sizeof(ty));
}
