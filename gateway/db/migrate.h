/*
 * migrate.h
 *	  PARLEY_MIGRATE: create or update the parley extension at start.
 */
#ifndef PARLEY_MIGRATE_H
#define PARLEY_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "version.h"

/* The extension version this parleyd is built for (version.h). */
#define PARLEY_EXTENSION_VERSION PARLEY_VERSION

/*
 * Bring the database named by conninfo to PARLEY_EXTENSION_VERSION: CREATE
 * EXTENSION when it is missing, ALTER EXTENSION ... UPDATE when it is older,
 * nothing when it is as new or newer.  Retries the connection for up to
 * timeout_s seconds.  Blocking: call it before the event loop runs.  On
 * failure err holds one line that says what a DBA must do.
 */
extern bool migrate_extension(const char *conninfo, int timeout_s, char *err, size_t errlen);

#endif							/* PARLEY_MIGRATE_H */
