/*
 * auth.h
 *	  Service keys: `Authorization: Bearer <key>` checked against an
 *	  in-memory copy of parley.service_key_hashes(), reloaded every
 *	  PARLEY_KEY_REFRESH_MS on a pool connection.
 */
#ifndef PARLEY_AUTH_H
#define PARLEY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>

#include "db/pool.h"

#define AUTH_SQL "SELECT name, key_hash FROM parley.service_key_hashes()"

enum auth_result
{
	AUTH_OK,
	AUTH_MISSING,				/* no or malformed Authorization header */
	AUTH_UNKNOWN,				/* not a valid key */
	AUTH_NOT_LOADED				/* keys not loaded, or stale: answer 503 */
};

/* Register AUTH_SQL with the pool and start the refresh timer. */
bool		auth_setup(struct event_base *base, struct pool *pool, int refresh_ms);

/*
 * Check an Authorization header value (NULL when absent).  On AUTH_OK,
 * *key_name (if not NULL) points at the key's name, valid until the next
 * refresh.
 */
enum auth_result auth_check(const char *authorization, const char **key_name);

/* Are the keys loaded, and refreshed recently enough to trust? */
bool		auth_loaded(void);

void		auth_shutdown(void);

/* Pure helper: the key out of "Bearer <key>", or NULL; *len its length. */
const char *auth_bearer_token(const char *authorization, size_t *len);

#endif							/* PARLEY_AUTH_H */
