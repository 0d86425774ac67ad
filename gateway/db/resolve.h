/*
 * resolve.h
 *	  Connecting to the database without a blocking host name lookup (see
 *	  resolve.c).
 */
#ifndef PARLEY_RESOLVE_H
#define PARLEY_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <libpq-fe.h>

/*
 * Look the database host of conninfo (or PGHOST) up on base, when it is one
 * name without a hostaddr; resolv_conf names the resolver's configuration
 * ("" for /etc/resolv.conf).  False with err set when resolv_conf cannot be
 * used.
 */
bool		resolve_setup(struct event_base *base, const char *conninfo,
						  const char *resolv_conf, char *err, size_t errlen);

/*
 * PQconnectStartParams() for conninfo, with the address last found as
 * hostaddr when conninfo is resolve_setup()'s (another one, such as
 * PARLEY_READ_URL's, goes to libpq as it is).  NULL with *wait set while the first lookup has not answered:
 * try again shortly.  NULL with *wait clear: out of memory.
 */
PGconn	   *resolve_connect_start(const char *conninfo, const char *application_name,
								  bool *wait);

/*
 * Connection pg (not finished yet) failed; was_up: it had been established.
 * Look the name up again, in the background; after a failed attempt on the
 * address in use, the next of several is tried.
 */
void		resolve_failed(PGconn *pg, bool was_up);

void		resolve_shutdown(void);

#endif							/* PARLEY_RESOLVE_H */
