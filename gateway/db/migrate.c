/*
 * migrate.c
 *	  PARLEY_MIGRATE=1: bring the database's parley extension to the version
 *	  this parleyd needs, before the pool starts.
 *
 *	  This runs once, before the event loop: a plain blocking libpq session
 *	  is fine there (nothing is being served yet) and keeps the steps easy
 *	  to follow.  Gateways started together queue on one session advisory
 *	  lock and read the installed version only once they hold it, so the
 *	  first one creates or updates the extension and the others find it
 *	  current.  DDL in PostgreSQL is transactional: a failed update leaves
 *	  the old version in place.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "conn.h"				/* conn_error_line */
#include "log.h"
#include "migrate.h"

/* Any fixed key will do; it only has to be the same for every parleyd. */
#define MIGRATE_LOCK_SQL "SELECT pg_catalog.pg_advisory_lock(7305808127281017906)"
#define VERSION_SQL "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'parley'"
#define CREATE_SQL "CREATE EXTENSION IF NOT EXISTS parley VERSION '" PARLEY_EXTENSION_VERSION "'"
#define UPDATE_SQL "ALTER EXTENSION parley UPDATE TO '" PARLEY_EXTENSION_VERSION "'"

/* "0.1.0" -> 1000: major.minor.patch as one comparable number; -1 if unparsable. */
static long
version_number(const char *v)
{
	int			major = 0,
				minor = 0,
				patch = 0;

	if (sscanf(v, "%d.%d.%d", &major, &minor, &patch) < 2)
		return -1;
	return (long) major * 1000000L + (long) minor * 1000L + patch;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Connect, retrying with backoff until timeout_s has passed. */
static PGconn *
connect_with_retry(const char *conninfo, int timeout_s, char *err, size_t errlen)
{
	time_t		deadline = time(NULL) + timeout_s;
	long		backoff_ms = 100;

	for (;;)
	{
		PGconn	   *pg = PQconnectdb(conninfo);

		if (PQstatus(pg) == CONNECTION_OK)
			return pg;
		conn_error_line(err, errlen, PQerrorMessage(pg));
		PQfinish(pg);
		if (time(NULL) >= deadline)
			return NULL;
		sleep_ms(backoff_ms);
		if (backoff_ms < 2000)
			backoff_ms *= 2;
	}
}

/* Run sql; on failure put "what: error" (and the DBA's remedy) in err. */
static bool
run(PGconn *pg, const char *sql, PGresult **out, const char *remedy, char *err, size_t errlen)
{
	PGresult   *res = PQexec(pg, sql);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
	{
		if (out)
			*out = res;
		else
			PQclear(res);
		return true;
	}
	{
		char		msg[300];
		const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		/* The primary message has no "ERROR:  " prefix; a lost connection has none. */
		conn_error_line(msg, sizeof(msg), primary ? primary : PQerrorMessage(pg));
		if (sqlstate && strcmp(sqlstate, "42501") == 0 && remedy)
			snprintf(err, errlen, "PARLEY_MIGRATE: role \"%s\" may not change the extension (%s); a DBA must run: %s",
					 PQuser(pg), msg, remedy);
		else
			snprintf(err, errlen, "PARLEY_MIGRATE: %s failed: %s", sql, msg);
	}
	PQclear(res);
	return false;
}

bool
migrate_extension(const char *conninfo, int timeout_s, char *err, size_t errlen)
{
	PGconn	   *pg = connect_with_retry(conninfo, timeout_s, err, errlen);
	PGresult   *res = NULL;
	char		installed[64] = "";
	bool		ok;

	if (pg == NULL)
	{
		char		why[400];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "PARLEY_MIGRATE: database unreachable: %s", why);
		return false;
	}

	ok = run(pg, MIGRATE_LOCK_SQL, NULL, NULL, err, errlen) &&
		run(pg, VERSION_SQL, &res, NULL, err, errlen);
	if (ok && PQntuples(res) == 1)
		snprintf(installed, sizeof(installed), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);

	if (ok && installed[0] == '\0')
	{
		ok = run(pg, CREATE_SQL, NULL, CREATE_SQL, err, errlen);
		if (ok)
			log_info("PARLEY_MIGRATE: created extension parley %s", PARLEY_EXTENSION_VERSION);
	}
	else if (ok && version_number(installed) < version_number(PARLEY_EXTENSION_VERSION))
	{
		ok = run(pg, UPDATE_SQL, NULL, UPDATE_SQL, err, errlen);
		if (ok)
			log_info("PARLEY_MIGRATE: updated extension parley %s -> %s",
					 installed, PARLEY_EXTENSION_VERSION);
	}
	else if (ok)
		log_info("PARLEY_MIGRATE: extension parley %s is current", installed);

	/* Closing the session releases the advisory lock. */
	PQfinish(pg);
	return ok;
}
