/*
 * sdnotify.c
 *	  The sd_notify protocol, spoken directly: one AF_UNIX datagram of
 *	  "NAME=value" lines to the socket named by $NOTIFY_SOCKET (a path, or
 *	  "@name" for the abstract namespace).
 *
 *	  Why not libsystemd's sd_notify(3): the protocol is a documented, stable
 *	  interface that systemd itself invites other programs to implement
 *	  (sd_notify(3), "Notes"), it is the few lines below, and the gateway
 *	  stays buildable and runnable where libsystemd is absent (other
 *	  distributions, containers, s6/runit-style supervisors that speak the
 *	  same protocol).  What libsystemd adds (vsock addresses, fd passing,
 *	  barriers) parleyd does not need.
 *
 *	  Readiness is polled, not pushed: "ready" is the conjunction of the
 *	  pool having a connection (db/) and the service keys being loaded
 *	  (http/auth.c), and a push would need a callback out of both layers for
 *	  this one use.  A 100 ms timer that checks the caller's predicate and
 *	  deletes itself the first time it holds costs nothing after start-up.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "sdnotify.h"

#define SDNOTIFY_CHECK_MS 100

static struct event *ready_timer;
static sdnotify_ready_fn ready_check;

bool
sdnotify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t		len;
	ssize_t		sent;
	int			fd;
	int			saved;

	if (path == NULL || path[0] == '\0')
		return true;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len < 2 || len > sizeof(sa.sun_path))
	{
		log_warn("NOTIFY_SOCKET \"%s\" is not a socket path; the service manager is not told \"%s\"",
				 path, state);
		return false;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace: no terminating NUL */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		log_warn("NOTIFY_SOCKET: cannot make a socket: %s", strerror(errno));
		return false;
	}
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *) &sa,
				  (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len));
	saved = errno;
	close(fd);
	if (sent < 0)
	{
		log_warn("NOTIFY_SOCKET \"%s\": cannot send \"%s\": %s", path, state, strerror(saved));
		return false;
	}
	log_debug("told the service manager: %s", state);
	return true;
}

static void
on_ready_timer(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	if (!ready_check())
		return;
	event_del(ready_timer);
	sdnotify("READY=1");
}

bool
sdnotify_when_ready(struct event_base *base, sdnotify_ready_fn ready)
{
	struct timeval tv = {0, SDNOTIFY_CHECK_MS * 1000};
	const char *path = getenv("NOTIFY_SOCKET");

	if (path == NULL || path[0] == '\0')
		return true;
	ready_check = ready;
	ready_timer = event_new(base, -1, EV_PERSIST, on_ready_timer, NULL);
	if (ready_timer == NULL)
		return false;
	event_add(ready_timer, &tv);
	return true;
}

void
sdnotify_shutdown(void)
{
	if (ready_timer != NULL)
		event_free(ready_timer);
	ready_timer = NULL;
}
