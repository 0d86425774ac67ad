/*
 * config.c
 *	  The settings table.  Every setting is an environment variable, may also
 *	  come from a .env file (the environment wins), and is documented in
 *	  docs/gateway.md; test/tap checks that the two lists agree.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

struct config config;

enum setting_type
{
	SET_STRING,
	SET_INT,
	SET_BOOL,
	SET_LOG_LEVEL,
	SET_POOL_SIZE				/* an int, or "auto" */
};

struct setting
{
	const char *name;
	enum setting_type type;
	const char *default_value;
	size_t		offset;			/* into struct config */
	long		min;
	long		max;
	const char *help;
};

#define CF(field) offsetof(struct config, field)

static const struct setting settings[] = {
	{"DATABASE_URL", SET_STRING, "", CF(database_url), 0, 0,
	"libpq connection URI or conninfo string; empty uses libpq's PG* variables"},
	{"PARLEY_LISTEN", SET_STRING, "127.0.0.1:8080", CF(listen), 0, 0,
	"address and port to listen on (host:port, [v6addr]:port)"},
	{"PARLEY_POOL_SIZE", SET_POOL_SIZE, "auto", CF(pool_size), 1, 1000,
	"database connections; auto = 2 x CPU cores + 1"},
	{"PARLEY_QUEUE_SIZE", SET_INT, "4096", CF(queue_size), 0, 1000000,
	"requests that may wait for a free connection; beyond that 503"},
	{"PARLEY_REQUEST_TIMEOUT_MS", SET_INT, "5000", CF(request_timeout_ms), 10, 3600000,
	"per-request time limit in ms (queue wait included); the query is cancelled, 503"},
	{"PARLEY_CONNECT_TIMEOUT", SET_INT, "30", CF(connect_timeout), 1, 3600,
	"seconds to keep retrying the database at start before exiting 1"},
	{"PARLEY_MIGRATE", SET_BOOL, "0", CF(migrate), 0, 0,
	"1 = at start, CREATE EXTENSION parley or ALTER EXTENSION parley UPDATE to the version parleyd needs (needs a superuser or the extension's owner; gateways serialise on an advisory lock)"},
	{"PARLEY_PIPELINE", SET_INT, "4", CF(pipeline), 1, CONFIG_PIPELINE_MAX,
	"statements in flight per database connection under load (libpq pipeline mode; each still its own transaction; only reads are followed by more); 1 = one at a time; always 1 with PARLEY_PREPARED=0"},
	{"PARLEY_PREPARED", SET_BOOL, "1", CF(prepared), 0, 0,
	"1 = named prepared statements per connection; 0 = unnamed statements (PgBouncer transaction mode)"},
	{"PARLEY_LOG_LEVEL", SET_LOG_LEVEL, "info", CF(log_level), 0, 0,
	"error, warn, info (one line per request) or debug"},
	{"PARLEY_METRICS_KEY_REQUIRED", SET_BOOL, "0", CF(metrics_key_required), 0, 0,
	"1 = /metrics needs a service key like /v1 routes"},
	{"PARLEY_KEY_REFRESH_MS", SET_INT, "500", CF(key_refresh_ms), 50, 60000,
	"how often the service key cache is reloaded from the database, in ms"},
	{"PARLEY_HTTP_TIMEOUT", SET_INT, "30", CF(http_timeout), 1, 3600,
	"seconds an idle keep-alive or slow client connection may stay silent"},
	{"PARLEY_RETRY_AFTER", SET_INT, "1", CF(retry_after), 1, 3600,
	"seconds announced in Retry-After on 503 responses"},
	{"PARLEY_SHUTDOWN_TIMEOUT", SET_INT, "10", CF(shutdown_timeout), 0, 3600,
	"seconds SIGTERM waits for in-flight requests before exiting anyway"},
	{"PARLEY_MAX_BODY", SET_INT, "65536", CF(max_body), 1024, 1048576,
	"largest accepted request body in bytes; larger is 413"},
	{"PARLEY_RATE_LIMIT", SET_INT, "0", CF(rate_limit), 0, 1000000,
	"requests per second per service key (token bucket); 0 = no limit"},
	{"PARLEY_RATE_BURST", SET_INT, "0", CF(rate_burst), 0, 1000000,
	"requests a key may send at once above the rate; 0 = PARLEY_RATE_LIMIT"},
	{"PARLEY_JWT_SECRET", SET_STRING, "", CF(jwt_secret), 0, 0,
	"HS256 secret of guest tokens (API.md section 7), at least 32 bytes; empty = guest tokens off (only service keys)"},
	{"PARLEY_JWT_PUBLIC_KEY", SET_STRING, "", CF(jwt_public_key), 0, 0,
	"PEM public key (the text, or a file's path) that verifies EdDSA (Ed25519) or RS256 guest tokens a service signs with its private key; empty = HS256 only"},
	{"PARLEY_JWT_AUDIENCE", SET_STRING, "", CF(jwt_audience), 0, 0,
	"when set, a guest token must carry this aud, and minted tokens carry it"},
	{"PARLEY_REVOKE_POLL_MS", SET_INT, "200", CF(revoke_poll_ms), 50, 1000,
	"ms between polls of guest token revocations (a revoked guest is refused within this plus one statement)"},
	{"PARLEY_CORS_ORIGINS", SET_STRING, "", CF(cors_origins), 0, 0,
	"comma-separated origins browsers may call from (https://game.example); empty = no CORS headers"},
	{"PARLEY_GUEST_RATE_LIMIT", SET_INT, "0", CF(guest_rate_limit), 0, 1000000,
	"requests per second per guest with a guest token (token bucket); 0 = no limit"},
	{"PARLEY_GUEST_RATE_BURST", SET_INT, "0", CF(guest_rate_burst), 0, 1000000,
	"requests a guest may send at once above the rate; 0 = PARLEY_GUEST_RATE_LIMIT"},
	{"PARLEY_DEMO", SET_BOOL, "0", CF(demo), 0, 0,
	"1 = the dev-only POST /demo/token (mints a token for any guest without a key): never in production"},
	{"PARLEY_DEMO_DIR", SET_STRING, "demo", CF(demo_dir), 0, 0,
	"with PARLEY_DEMO=1, the directory of the demo chat page served at /demo/ (make run: the source tree's demo/)"},
	{"PARLEY_ENV_FILE", SET_STRING, ".env", CF(env_file), 0, 0,
	"file of NAME=value lines read at start; a missing default .env is ignored"},
	{"PARLEY_EVENTS", SET_BOOL, "1", CF(events), 0, 0,
	"1 = live events: writes are notified in batches and /events streams are served; 0 = off"},
	{"PARLEY_SSE_HEARTBEAT", SET_INT, "15", CF(sse_heartbeat), 1, 3600,
	"seconds between heartbeat comments on event streams"},
	{"PARLEY_SSE_BUFFER", SET_INT, "262144", CF(sse_buffer), 4096, 67108864,
	"bytes an event stream may have unsent before the slow client is disconnected"},
	{"PARLEY_EVENTS_BATCH_MS", SET_INT, "5", CF(events_batch_ms), 0, 1000,
	"ms over which write notifications are gathered into one pg_notify"},
	{"PARLEY_EVENTS_POLL_MS", SET_INT, "1000", CF(events_poll_ms), 100, 60000,
	"ms between safety polls of the streamed conversations' last seq and change seq"},
	{"PARLEY_READ_URL", SET_STRING, "", CF(read_url), 0, 0,
	"libpq URI or conninfo of a streaming replica (or of a proxy over the shards' replicas) for GET routes; writes, streams and service keys stay on DATABASE_URL; empty = no read pool"},
	{"PARLEY_READ_POOL_SIZE", SET_POOL_SIZE, "auto", CF(read_pool_size), 1, 1000,
	"connections to PARLEY_READ_URL; auto = 2 x CPU cores + 1"},
	{"PARLEY_READ_WINDOW_MS", SET_INT, "10000", CF(read_window_ms), 100, 3600000,
	"after a write, the acting guest's GETs go to the primary until the replica has replayed the write, for at most this many ms"},
	{"PARLEY_READ_POLL_MS", SET_INT, "100", CF(read_poll_ms), 10, 60000,
	"ms between polls of the replica's replay position (and of the primary's WAL position)"},
	{"PARLEY_RESOLV_CONF", SET_STRING, "", CF(resolv_conf), 0, 0,
	"resolver configuration for looking up the database host name without blocking; empty = /etc/resolv.conf (and /etc/hosts)"},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* NAME=value pairs read from the .env file, parallel to settings[]. */
static char *file_values[NSETTINGS];

static int
setting_index(const char *name, size_t len)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strlen(settings[i].name) == len && strncmp(settings[i].name, name, len) == 0)
			return (int) i;
	return -1;
}

static char *
trim(char *s)
{
	char	   *end;

	while (isspace((unsigned char) *s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char) end[-1]))
		*--end = '\0';
	return s;
}

/* Read NAME=value lines; blank lines and # comments are skipped. */
static bool
read_env_file(const char *path, bool must_exist, char *errbuf, size_t errlen)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096];
	int			lineno = 0;

	if (f == NULL)
	{
		if (errno == ENOENT && !must_exist)
			return true;
		snprintf(errbuf, errlen, "PARLEY_ENV_FILE: cannot open \"%s\": %s", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *s = trim(line);
		char	   *eq;
		char	   *value;
		int			idx;

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		if (strncmp(s, "export ", 7) == 0)
			s = trim(s + 7);
		eq = strchr(s, '=');
		if (eq == NULL)
		{
			snprintf(errbuf, errlen, "%s:%d: expected NAME=value", path, lineno);
			fclose(f);
			return false;
		}
		*eq = '\0';
		value = trim(eq + 1);
		s = trim(s);
		idx = setting_index(s, strlen(s));
		if (idx < 0)
			continue;			/* other programs' variables may share the file */
		/* Strip one pair of matching quotes. */
		if ((value[0] == '"' || value[0] == '\'') && strlen(value) >= 2 &&
			value[strlen(value) - 1] == value[0])
		{
			value[strlen(value) - 1] = '\0';
			value++;
		}
		free(file_values[idx]);
		file_values[idx] = strdup(value);
	}
	fclose(f);
	return true;
}

static bool
parse_long(const char *s, long *out)
{
	char	   *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return *s != '\0' && *end == '\0' && errno == 0;
}

static bool
apply_setting(const struct setting *s, const char *value, char *errbuf, size_t errlen)
{
	char	   *field = (char *) &config + s->offset;
	long		n;

	switch (s->type)
	{
		case SET_STRING:
			free(*(char **) field);
			*(char **) field = strdup(value);
			return true;
		case SET_POOL_SIZE:
			if (strcmp(value, "auto") == 0)
			{
				long		cores = sysconf(_SC_NPROCESSORS_ONLN);

				*(int *) field = (int) (2 * (cores > 0 ? cores : 1) + 1);
				return true;
			}
			/* FALLTHROUGH */
		case SET_INT:
			if (!parse_long(value, &n) || n < s->min || n > s->max)
			{
				snprintf(errbuf, errlen, "%s: expected an integer from %ld to %ld%s, got \"%s\"",
						 s->name, s->min, s->max,
						 s->type == SET_POOL_SIZE ? " or auto" : "", value);
				return false;
			}
			*(int *) field = (int) n;
			return true;
		case SET_BOOL:
			if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0 || strcmp(value, "on") == 0)
				*(bool *) field = true;
			else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0 || strcmp(value, "off") == 0)
				*(bool *) field = false;
			else
			{
				snprintf(errbuf, errlen, "%s: expected 1 or 0, got \"%s\"", s->name, value);
				return false;
			}
			return true;
		case SET_LOG_LEVEL:
			if ((n = log_level_parse(value)) < 0)
			{
				snprintf(errbuf, errlen, "%s: expected error, warn, info or debug, got \"%s\"",
						 s->name, value);
				return false;
			}
			*(int *) field = (int) n;
			return true;
	}
	return false;
}

bool
config_load(char *errbuf, size_t errlen)
{
	const char *env_file = getenv("PARLEY_ENV_FILE");

	if (!read_env_file(env_file ? env_file : ".env", env_file != NULL, errbuf, errlen))
		return false;
	for (size_t i = 0; i < NSETTINGS; i++)
	{
		const char *value = getenv(settings[i].name);

		if (value == NULL)
			value = file_values[i];
		if (value == NULL)
			value = settings[i].default_value;
		if (!apply_setting(&settings[i], value, errbuf, errlen))
			return false;
	}
	/* RFC 7518 section 3.2: an HS256 key at least as long as the hash. */
	if (config.jwt_secret[0] != '\0' && strlen(config.jwt_secret) < 32)
	{
		snprintf(errbuf, errlen, "PARLEY_JWT_SECRET: must be at least 32 bytes (it has %zu)",
				 strlen(config.jwt_secret));
		return false;
	}
	if (config.demo && config.jwt_secret[0] == '\0')
	{
		snprintf(errbuf, errlen, "PARLEY_DEMO=1 needs PARLEY_JWT_SECRET: the demo mints guest tokens");
		return false;
	}
	return true;
}

void
config_print_help(FILE *out)
{
	fprintf(out,
			"usage: parleyd [--help | --version]\n\n"
			"parleyd is parley's HTTP gateway: each request is one call of one\n"
			"function of the PostgreSQL extension parley.  Settings are environment\n"
			"variables (also read from a .env file; the environment wins):\n\n");
	for (size_t i = 0; i < NSETTINGS; i++)
		fprintf(out, "  %-28s default: %s\n      %s\n",
				settings[i].name,
				settings[i].default_value[0] ? settings[i].default_value : "(empty)",
				settings[i].help);
}

void
config_free(void)
{
	for (size_t i = 0; i < NSETTINGS; i++)
	{
		if (settings[i].type == SET_STRING)
		{
			char	  **field = (char **) ((char *) &config + settings[i].offset);

			free(*field);
			*field = NULL;
		}
		free(file_values[i]);
		file_values[i] = NULL;
	}
}
