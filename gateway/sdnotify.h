/*
 * sdnotify.h
 *	  Readiness for a service manager (systemd's Type=notify, the unit in
 *	  debian/parleyd.service): "READY=1" once parleyd can serve, "STOPPING=1"
 *	  when it starts draining.  Without $NOTIFY_SOCKET (started by hand, by
 *	  the tests, under another supervisor) every call does nothing.
 */
#ifndef PARLEY_SDNOTIFY_H
#define PARLEY_SDNOTIFY_H

#include <stdbool.h>

#include <event2/event.h>

/* Is parleyd ready to serve?  The caller's notion (main.c: what /readyz says). */
typedef bool (*sdnotify_ready_fn) (void);

/*
 * Send one state datagram ("READY=1", "STOPPING=1") to $NOTIFY_SOCKET.
 * Returns true when sent or when there is no service manager to tell;
 * logs a warning and returns false when the send fails.
 */
bool		sdnotify(const char *state);

/*
 * Send "READY=1" the first time ready() holds, checked on base every
 * SDNOTIFY_CHECK_MS until then.  Does nothing without $NOTIFY_SOCKET.
 * Returns false only when the timer cannot be made.
 */
bool		sdnotify_when_ready(struct event_base *base, sdnotify_ready_fn ready);

/* Free the readiness timer (if any); call before freeing base. */
void		sdnotify_shutdown(void);

#endif							/* PARLEY_SDNOTIFY_H */
