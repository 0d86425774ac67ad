/*
 * auth.c
 *	  The service key cache.  The database stores only SHA-256 hashes; the
 *	  gateway hashes the presented key and compares it with every hash in
 *	  constant time (CRYPTO_memcmp, no early exit), so the answer's timing
 *	  does not depend on how much of a key matched.  Keys never reach the
 *	  log.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "auth.h"
#include "log.h"
#include "request.h"

#define HASH_LEN 32

/*
 * Fail closed: a key cache that could not be refreshed for this long may
 * hold revoked keys, so /v1 answers 503 until a refresh succeeds.  Long
 * enough that a pool busy with slow statements (the refresh waits for a
 * free connection, up to PARLEY_REQUEST_TIMEOUT_MS) does not trip it.
 */
#define STALE_MIN_MS 10000

struct key_entry
{
	unsigned char hash[HASH_LEN];
	char	   *name;
};

static struct
{
	struct pool *pool;
	const struct pool_stmt *stmt;
	int			refresh_ms;
	struct event *timer;
	struct pool_job job;
	bool		in_flight;
	bool		loaded;
	bool		failing;		/* the last refresh failed (log once) */
	struct timespec loaded_at;	/* last successful refresh */
	struct key_entry *keys;
	int			nkeys;
}			auth;

static double
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

static void
refresh_failed(const char *why)
{
	if (!auth.failing)
		log_warn("service key refresh failed: %s", why ? why : "unknown error");
	auth.failing = true;
}

static void
free_keys(struct key_entry *keys, int n)
{
	for (int i = 0; i < n; i++)
		free(keys[i].name);
	free(keys);
}

/* bytea's hex output, "\x" and 64 hex digits, into 32 bytes. */
static bool
parse_hash(const char *text, unsigned char *out)
{
	if (strlen(text) != 2 + 2 * HASH_LEN || text[0] != '\\' || text[1] != 'x')
		return false;
	for (int i = 0; i < HASH_LEN; i++)
	{
		int			hi = hex_digit_value(text[2 + 2 * i]);
		int			lo = hex_digit_value(text[3 + 2 * i]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char) (hi * 16 + lo);
	}
	return true;
}

static void
refresh_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct key_entry *keys;
	int			n = 0;
	int			rows;

	(void) job;
	auth.in_flight = false;
	if (err != NULL)
	{
		refresh_failed(err->detail);
		return;
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQnfields(res) != 2)
	{
		refresh_failed(PQresultStatus(res) == PGRES_FATAL_ERROR ?
					   PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "unexpected result");
		return;
	}
	rows = PQntuples(res);
	keys = calloc(rows > 0 ? rows : 1, sizeof(*keys));
	if (keys == NULL)
		return;					/* keep the old set */
	for (int i = 0; i < rows; i++)
	{
		if (PQgetisnull(res, i, 1) || !parse_hash(PQgetvalue(res, i, 1), keys[n].hash))
			continue;
		keys[n].name = strdup(PQgetvalue(res, i, 0));
		if (keys[n].name == NULL)
		{
			free_keys(keys, n);
			return;
		}
		n++;
	}
	if (!auth.loaded || n != auth.nkeys || auth.failing)
		log_info("service keys loaded: %d valid", n);
	auth.failing = false;
	clock_gettime(CLOCK_MONOTONIC, &auth.loaded_at);
	free_keys(auth.keys, auth.nkeys);
	auth.keys = keys;
	auth.nkeys = n;
	auth.loaded = true;
}

/*
 * Until the first load, try every FIRST_LOAD_MS (from the moment the pool
 * is up), not every refresh_ms: readiness does not wait for a refresh
 * period, and a long PARLEY_KEY_REFRESH_MS costs nothing at start.
 */
#define FIRST_LOAD_MS 50

static void
refresh_arm(void)
{
	int			ms = auth.loaded || auth.refresh_ms < FIRST_LOAD_MS ? auth.refresh_ms : FIRST_LOAD_MS;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	event_add(auth.timer, &tv);
}

static void
refresh_tick(evutil_socket_t fd, short what, void *arg)
{
	struct problem p;

	(void) fd;
	(void) what;
	(void) arg;
	refresh_arm();
	if (auth.in_flight || !pool_is_up(auth.pool))
		return;
	pool_job_init(&auth.job, auth.stmt, 0, NULL, true, refresh_done, NULL);
	/* At the head of the queue, so that busy pools still see revocations. */
	if (pool_submit(auth.pool, &auth.job, auth.refresh_ms * 4 + 1000, true, &p))
		auth.in_flight = true;
}

bool
auth_setup(struct event_base *base, struct pool *pool, int refresh_ms)
{
	auth.pool = pool;
	auth.stmt = pool_statement(pool, "auth_keys", AUTH_SQL);
	auth.refresh_ms = refresh_ms;
	auth.timer = evtimer_new(base, refresh_tick, NULL);
	if (auth.stmt == NULL || auth.timer == NULL)
		return false;
	refresh_arm();
	return true;
}

/* The key of "Bearer <key>"; the scheme is case-insensitive. */
const char *
auth_bearer_token(const char *authorization, size_t *len)
{
	const char *s = authorization;
	size_t		n;

	if (s == NULL || strncasecmp(s, "Bearer", 6) != 0 || (s[6] != ' ' && s[6] != '\t'))
		return NULL;
	s += 6;
	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n > 4096)
		return NULL;
	*len = n;
	return s;
}

enum auth_result
auth_check(const char *authorization, const char **key_name)
{
	unsigned char digest[HASH_LEN];
	unsigned int dlen = 0;
	const char *key;
	size_t		len;
	int			found = -1;

	if (!auth_loaded())
		return AUTH_NOT_LOADED;
	key = auth_bearer_token(authorization, &len);
	if (key == NULL)
		return AUTH_MISSING;
	if (!EVP_Digest(key, len, digest, &dlen, EVP_sha256(), NULL) || dlen != HASH_LEN)
		return AUTH_UNKNOWN;
	for (int i = 0; i < auth.nkeys; i++)
	{
		/* No early exit: every hash is compared. */
		if (CRYPTO_memcmp(digest, auth.keys[i].hash, HASH_LEN) == 0)
			found = i;
	}
	if (found < 0)
		return AUTH_UNKNOWN;
	if (key_name != NULL)
		*key_name = auth.keys[found].name;
	return AUTH_OK;
}

bool
auth_loaded(void)
{
	double		stale_ms = auth.refresh_ms * 10.0;

	if (stale_ms < STALE_MIN_MS)
		stale_ms = STALE_MIN_MS;
	return auth.loaded && ms_since(&auth.loaded_at) <= stale_ms;
}

void
auth_shutdown(void)
{
	if (auth.timer)
		event_free(auth.timer);
	auth.timer = NULL;
	free_keys(auth.keys, auth.nkeys);
	auth.keys = NULL;
	auth.nkeys = 0;
	auth.loaded = false;
}
