/*
 * events_hub.h
 *	  Inside the live-event hub: what events.c (conversations, streams,
 *	  notifications in) and deliver.c (fetching and sending events) share.
 *	  Not for other files: they use events.h.
 */
#ifndef PARLEY_EVENTS_HUB_H
#define PARLEY_EVENTS_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "events.h"
#include "notify.h"
#include "pool.h"

#define GUEST_MAX		64

struct stream;

/* A conversation that this gateway streams. */
struct conv
{
	char		cid[CID_LEN + 1];
	struct conv *hnext;			/* hash chain */
	struct stream *streams;
	int			nstreams;
	bool		queued;			/* waits for the next fetch (deliver.c) */
	bool		fetching;		/* in the running fetch */
	bool		dirty;			/* fetch again when it ends */
	int64_t		fetch_from;		/* the running fetch reads seq > this */
	struct conv *pnext;			/* in deliver.c's pending list */
};

struct stream
{
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct conv *conv;
	struct stream *next;		/* in conv->streams */
	struct stream *prev;
	struct stream *all_next;	/* in the hub's list of all streams */
	struct stream *all_prev;
	int64_t		cursor;			/* the last seq sent (or the client's) */
	bool		chunked;		/* evhttp chose chunked encoding (HTTP/1.1) */
	char		guest[GUEST_MAX + 1];
};

/* events.c */
struct conv *hub_conv_find(const char *cid);
void		hub_conv_release(struct conv *c);	/* free it if nothing uses it */
int64_t		hub_min_cursor(const struct conv *c);

/*
 * Send buf (drained) to s.  False when s was dropped for having more than
 * PARLEY_SSE_BUFFER bytes unsent: s is freed then, and c too if it was its
 * last stream and no fetch holds it.
 */
bool		hub_stream_send(struct stream *s, struct evbuffer *buf);

/* deliver.c */
bool		deliver_setup(struct pool *pool, int fetch_stmt);
void		deliver_kick(struct conv *c);	/* fetch what is new for c's streams */
void		deliver_posted(const char *cid, int64_t seq, const char *json, size_t len);
void		deliver_change(const char *cid, int64_t seq, bool deleted);
void		deliver_shutdown(void);
void		deliver_get_stats(struct events_stats *st);	/* fetches, direct */

#endif							/* PARLEY_EVENTS_HUB_H */
