/*
 * gstream.h
 *	  Guest streams (GET /v1/guests/{G}/events, API.md section 8): one
 *	  stream per guest for every conversation it takes part in, resumable
 *	  with an opaque cursor (parley.events_guest_fetch; docs/gateway.md,
 *	  "One stream per guest").  A guest stream is a hub stream that joins
 *	  no conversation: the hub writes it, beats its heart and ends it; this
 *	  module subscribes it, fetches its events (many streams per round
 *	  trip) and knows which conversations each one is in, to route
 *	  notifications and the events that are not fetched (read, typing,
 *	  presence, friend, edits).
 */
#ifndef PARLEY_GSTREAM_H
#define PARLEY_GSTREAM_H

#include <stdbool.h>

#include <event2/event.h>

#include "sink.h"
#include "db/pool.h"

struct evbuffer;

bool		gstream_setup(struct event_base *base, struct pool *pool,
						  const struct pool_stmt *subscribe, const struct pool_stmt *fetch,
						  const struct pool_stmt *message, int retry_ms);
void		gstream_shutdown(void);

/*
 * Open the guest stream of guest from cursor after (NULL: live from now)
 * on conn; the subscribe check answers through ops (refuse or start).
 * NULL when out of memory (refused with 500 then).
 */
struct events_stream *gstream_open(const struct events_sink_ops *ops, void *conn,
								   const char *guest, const char *after);

/* Fetch for the guest streams of guest / of the participants of cid (a notification said so). */
void		gstream_kick_guest(const char *guest);
void		gstream_kick_conversation(const char *cid);

/* Fetch for every guest stream (the safety poll). */
void		gstream_kick_all(void);

/*
 * Send buf (an event without id, not drained) to the guest streams of
 * guest / of cid's participants except skip_guest (NULL: none); returns
 * how many got it.  buf is drained at the end.
 */
int			gstream_send_guest(const char *guest, struct evbuffer *buf);
int			gstream_send_conversation(const char *cid, const char *skip_guest, struct evbuffer *buf);

/* Message cid/seq was edited (deleted: or deleted): fetch it once, send it to cid's guest streams. */
void		gstream_changed(const char *cid, const char *seq, bool deleted);

/* 1: a guest stream of guest here is in cid; 0: one is and cid is not among its conversations; -1: none here. */
int			gstream_in_conversation(const char *guest, const char *cid);

#endif							/* PARLEY_GSTREAM_H */
