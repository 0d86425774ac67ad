/*
 * notify.h
 *	  The outgoing side of live events: batches of ids sent with pg_notify
 *	  after relayed writes (events_after_write() in events.c queues them),
 *	  on the listener's connection (db/listen.h).
 */
#ifndef PARLEY_NOTIFY_H
#define PARLEY_NOTIFY_H

#include <stdbool.h>

#include <event2/event.h>

/* Queue one line of presence or typing (presence.c, typing.c); under 7900 bytes. */
void		notify_queue_line(const char *line);

bool		notify_setup(struct event_base *base);

/* The listener is idle again: send what queued meanwhile after the batch period. */
void		notify_flush_later(void);

/*
 * Queue the line "<kind> <cid> [<arg>]" for the next batch (cid canonical,
 * arg NULL or free of spaces and newlines).
 */
void		notify_queue(char kind, const char *cid, const char *arg);

void		notify_shutdown(void);

#endif							/* PARLEY_NOTIFY_H */
