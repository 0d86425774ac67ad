/*
 * main.c
 *	  parleyd: set-up order, signals and shutdown.
 *
 *	  Set-up order: settings -> log level -> event base -> pool (starts
 *	  connecting) -> key cache -> OpenAPI document -> HTTP listener ->
 *	  signals -> start-up deadline.  The listener opens before the database
 *	  is reachable so /healthz and /readyz answer during start-up; /v1
 *	  routes answer 503 until the keys are loaded.
 *
 *	  Shutdown: SIGTERM or SIGINT stops accepting, lets in-flight requests
 *	  finish (PARLEY_SHUTDOWN_TIMEOUT at most) and exits 0.  A second signal,
 *	  or the timeout, exits at once with 1.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "http/auth.h"
#include "config.h"
#include "events/events.h"
#include "http/http.h"
#include "log.h"
#include "db/migrate.h"
#include "http/openapi.h"
#include "db/pool.h"
#include "db/replica.h"
#include "db/resolve.h"
#include "http/routes.h"
#include "sdnotify.h"
#include "version.h"

#define PARLEYD_VERSION PARLEY_VERSION

/* The extension's version must have this major and at least this minor. */
#define EXTENSION_MAJOR 0
#define EXTENSION_MINOR 3

/* parley_proxy (proxy/, docs/scaling.md) serves the same API from shards. */
#define EXTENSION_SQL "SELECT extversion FROM pg_catalog.pg_extension" \
	" WHERE extname IN ('parley', 'parley_proxy') ORDER BY extname LIMIT 1"

enum shutdown_mode
{
	SHUTDOWN_NONE,				/* serving */
	SHUTDOWN_DRAINING,			/* not accepting, finishing in-flight work */
	SHUTDOWN_NOW				/* leaving the loop */
};

static struct
{
	struct event_base *base;
	struct pool *pool;
	char	   *openapi;
	struct event *sigterm;
	struct event *sigint;
	struct event *deadline;		/* start-up, then drain */
	enum shutdown_mode mode;
	int			exit_code;
}			app;

static bool
check_extension(const PGresult *res, char *err, size_t errlen)
{
	int			major = -1,
				minor = -1;

	if (PQntuples(res) == 0)
	{
		snprintf(err, errlen, "extension missing: parley is not installed in this database; "
				 "a DBA must run: CREATE EXTENSION parley (or start parleyd once with PARLEY_MIGRATE=1 as a superuser)");
		return false;
	}
	if (sscanf(PQgetvalue(res, 0, 0), "%d.%d", &major, &minor) != 2 ||
		major != EXTENSION_MAJOR || minor < EXTENSION_MINOR)
	{
		snprintf(err, errlen, "extension wrong version: parley %s is installed, parleyd needs %d.%d or a later %d.x; "
				 "a DBA must run: ALTER EXTENSION parley UPDATE (or start parleyd once with PARLEY_MIGRATE=1 as the extension's owner)",
				 PQgetvalue(res, 0, 0), EXTENSION_MAJOR, EXTENSION_MINOR, EXTENSION_MAJOR);
		return false;
	}
	return true;
}

/* Name the cause of a connection failure for the one-line exit reason. */
static const char *
failure_kind(const char *why)
{
	if (strncmp(why, "extension ", 10) == 0)
		return "";
	if (strstr(why, "connection option") || strstr(why, "invalid URI") ||
		strstr(why, "invalid connection"))
		return "bad DATABASE_URL: ";
	if (strstr(why, "authentication failed") || strstr(why, "no pg_hba.conf entry") ||
		strstr(why, "password") || (strstr(why, "role \"") && strstr(why, "does not exist")))
		return "authentication failed: ";
	if (strstr(why, "cannot prepare"))
		return "extension wrong version or missing grants: ";
	if (strstr(why, "permission denied"))
		return "missing grants: ";
	return "database unreachable: ";
}

static void
on_drained(void *arg)
{
	(void) arg;
	if (app.mode != SHUTDOWN_NOW)
	{
		app.mode = SHUTDOWN_NOW;
		event_base_loopexit(app.base, NULL);
	}
}

static void
on_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	(void) arg;
	if (app.mode == SHUTDOWN_DRAINING)
	{
		log_warn("shutdown: %d requests still in flight after PARLEY_SHUTDOWN_TIMEOUT; exiting",
				 http_in_flight());
		app.exit_code = 1;
		app.mode = SHUTDOWN_NOW;
		event_base_loopexit(app.base, NULL);
		return;
	}
	if (!pool_ever_up(app.pool))
	{
		const char *why = pool_last_error(app.pool);

		log_error("cannot start: %s%s", failure_kind(why), why[0] ? why : "no answer from the database");
		fprintf(stderr, "parleyd: cannot start: %s%s\n", failure_kind(why),
				why[0] ? why : "no answer from the database");
		app.exit_code = 1;
		app.mode = SHUTDOWN_NOW;
		event_base_loopexit(app.base, NULL);
	}
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct timeval tv = {config.shutdown_timeout, 0};

	(void) what;
	(void) arg;
	if (app.mode == SHUTDOWN_DRAINING)
	{
		log_warn("second signal: exiting now");
		app.exit_code = 1;
		app.mode = SHUTDOWN_NOW;
		event_base_loopexit(app.base, NULL);
		return;
	}
	if (app.mode != SHUTDOWN_NONE)
		return;
	log_info("%s: draining %d in-flight requests", sig == SIGTERM ? "SIGTERM" : "SIGINT",
			 http_in_flight());
	app.mode = SHUTDOWN_DRAINING;
	sdnotify("STOPPING=1");
	evtimer_del(app.deadline);
	evtimer_add(app.deadline, &tv);
	http_drain(on_drained, NULL);
}

/* What /readyz answers 200 to, while not shutting down: READY=1 (sdnotify.h). */
static bool
is_ready(void)
{
	return app.mode == SHUTDOWN_NONE && pool_is_up(app.pool) && auth_loaded();
}

/* A malformed DATABASE_URL (or PARLEY_READ_URL) never connects: say so now, not in 30 s. */
static bool
check_database_url(const char *name, const char *url, char *err, size_t errlen)
{
	char	   *msg = NULL;
	PQconninfoOption *opts;

	if (url[0] == '\0')
		return true;
	opts = PQconninfoParse(url, &msg);
	if (opts == NULL)
	{
		snprintf(err, errlen, "%s: %.*s", name, msg ? (int) strcspn(msg, "\n") : 13,
				 msg ? msg : "out of memory");
		PQfreemem(msg);
		return false;
	}
	PQconninfoFree(opts);
	return true;
}

/* 1000+ keep-alive clients need more descriptors than the usual 1024. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			log_warn("cannot raise the open file limit");
	}
}

int
main(int argc, char **argv)
{
	struct pool_options opts;
	struct replica_options read_opts;
	char		err[512];
	struct timeval start_tv;

	for (int i = 1; i < argc; i++)
	{
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
		{
			config_print_help(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0)
		{
			printf("parleyd %s\n", PARLEYD_VERSION);
			return 0;
		}
		fprintf(stderr, "parleyd: unknown argument \"%s\" (settings are environment variables; see --help)\n",
				argv[i]);
		return 1;
	}
	if (!config_load(err, sizeof(err)) || !http_check_listen(config.listen, err, sizeof(err)) ||
		!check_database_url("DATABASE_URL", config.database_url, err, sizeof(err)) ||
		!check_database_url("PARLEY_READ_URL", config.read_url, err, sizeof(err)))
	{
		fprintf(stderr, "parleyd: %s\n", err);
		config_free();
		return 1;
	}
	log_min_level = (enum log_level) config.log_level;
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	srand((unsigned) time(NULL) ^ (unsigned) getpid());

	/* Before the event loop exists: the migration may block (migrate.h). */
	if (config.migrate &&
		!migrate_extension(config.database_url, config.connect_timeout, err, sizeof(err)))
	{
		log_error("cannot start: %s", err);
		fprintf(stderr, "parleyd: cannot start: %s\n", err);
		config_free();
		return 1;
	}

	app.base = event_base_new();
	if (app.base == NULL)
	{
		fprintf(stderr, "parleyd: cannot create the event loop\n");
		return 1;
	}
	/* Before the pool: its connections wait for the host's first lookup. */
	if (!resolve_setup(app.base, config.database_url, config.resolv_conf, err, sizeof(err)))
	{
		fprintf(stderr, "parleyd: %s\n", err);
		event_base_free(app.base);
		config_free();
		return 1;
	}

	memset(&opts, 0, sizeof(opts));
	opts.conninfo = config.database_url;
	opts.size = config.pool_size;
	opts.queue_size = config.queue_size;
	opts.prepared = config.prepared;
	/* PgBouncer in transaction mode: one statement at a time. */
	opts.pipeline = config.prepared ? config.pipeline : 1;
	opts.check_sql = EXTENSION_SQL;
	opts.check = check_extension;
	memset(&read_opts, 0, sizeof(read_opts));
	read_opts.conninfo = config.read_url;
	read_opts.size = config.read_pool_size;
	read_opts.queue_size = config.queue_size;
	read_opts.prepared = config.prepared;
	read_opts.pipeline = opts.pipeline;
	read_opts.check_sql = EXTENSION_SQL;
	read_opts.check = check_extension;
	read_opts.window_ms = config.read_window_ms;
	read_opts.poll_ms = config.read_poll_ms;
	read_opts.timeout_ms = config.request_timeout_ms;

	log_info("parleyd %s starting: pool %d, %s statements, pipeline %d, queue %d, timeout %d ms",
			 PARLEYD_VERSION, config.pool_size, config.prepared ? "prepared" : "unnamed",
			 opts.pipeline, config.queue_size, config.request_timeout_ms);
	log_debug("settings: listen %s, key refresh %d ms, http timeout %d s, max body %d, env file %s",
			  config.listen, config.key_refresh_ms, config.http_timeout, config.max_body,
			  config.env_file);
	app.pool = pool_new(app.base, &opts);
	app.openapi = openapi_build();
	app.sigterm = evsignal_new(app.base, SIGTERM, on_signal, NULL);
	app.sigint = evsignal_new(app.base, SIGINT, on_signal, NULL);
	app.deadline = evtimer_new(app.base, on_deadline, NULL);
	if (app.pool == NULL || app.openapi == NULL || app.sigterm == NULL ||
		app.sigint == NULL || app.deadline == NULL ||
		!auth_setup(app.base, app.pool, config.key_refresh_ms) ||
		!events_setup(app.base, app.pool) ||
		!sdnotify_when_ready(app.base, is_ready))
	{
		fprintf(stderr, "parleyd: out of memory at start-up\n");
		return 1;
	}
	if (!replica_setup(app.base, app.pool, &read_opts))
	{
		fprintf(stderr, "parleyd: out of memory at start-up\n");
		app.exit_code = 1;
		goto cleanup;
	}
	if (!http_setup(app.base, app.pool, app.openapi, err, sizeof(err)))
	{
		fprintf(stderr, "parleyd: %s\n", err);
		app.exit_code = 1;
		goto cleanup;
	}
	/* Every layer has registered its statements: connect. */
	pool_start(app.pool);
	replica_start();
	evsignal_add(app.sigterm, NULL);
	evsignal_add(app.sigint, NULL);
	start_tv.tv_sec = config.connect_timeout;
	start_tv.tv_usec = 0;
	evtimer_add(app.deadline, &start_tv);

	event_base_dispatch(app.base);

cleanup:
	/* Jobs still running get their 503 while their clients are connected. */
	replica_shutdown();
	pool_free(app.pool);
	events_shutdown();
	auth_shutdown();
	resolve_shutdown();
	sdnotify_shutdown();
	http_free();
	event_free(app.sigterm);
	event_free(app.sigint);
	event_free(app.deadline);
	free(app.openapi);
	event_base_free(app.base);
	log_info("parleyd stopped (exit %d)", app.exit_code);
	config_free();
	return app.exit_code;
}
