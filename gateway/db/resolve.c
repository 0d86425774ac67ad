/*
 * resolve.c
 *	  Connecting to the database without a blocking host name lookup.
 *
 * libpq looks a host name up with getaddrinfo() inside PQconnectStart():
 * synchronously, so a slow DNS server would stop every request and stream
 * of the process, on every reconnect of every connection.  Like PgBouncer,
 * parleyd looks the name up itself, with libevent's evdns on the event
 * loop, and gives libpq the address as hostaddr= (host= stays, for TLS
 * checks, .pgpass and messages).  Connections wait for the first lookup;
 * after that an attempt uses the address last found, and an attempt that
 * fails starts a new lookup in the background, so a database that moved
 * behind its name (a failover) is found again.  A name with several
 * addresses is tried an address at a time, IPv4 first, the next after each
 * failed attempt (libpq, given the name, would try them all in one go).
 *
 * Only a single host name with no hostaddr is looked up here; a list of
 * hosts, a socket directory or an IP address go to libpq as they are, and
 * so does the name when a lookup has never succeeded (libpq then says
 * what is wrong with it).
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/dns.h>
#include <event2/util.h>

#include "log.h"
#include "resolve.h"

#define ADDRS_MAX 8

static struct
{
	bool		enabled;
	struct evdns_base *dns;
	char	   *host;
	char	   *conninfo;		/* the one looked up for; others go to libpq as they are */
	char		addrs[ADDRS_MAX][INET6_ADDRSTRLEN]; /* last found, IPv4 first */
	int			naddrs;
	int			cur;			/* the one connections use now */
	bool		first_done;		/* the first lookup has answered */
	bool		in_flight;
	struct evdns_getaddrinfo_request *req;
}			rs;

/* The value of keyword in conninfo, else the environment's, else NULL. */
static char *
conninfo_value(PQconninfoOption *opts, const char *keyword, const char *env)
{
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, keyword) == 0 && o->val && o->val[0])
			return strdup(o->val);
	return getenv(env) && getenv(env)[0] ? strdup(getenv(env)) : NULL;
}

/* A name for evdns: not a socket directory, a list or an address. */
static bool
is_host_name(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return host[0] != '/' && host[0] != '@' && strchr(host, ',') == NULL &&
		evutil_inet_pton(AF_INET, host, buf) != 1 &&
		evutil_inet_pton(AF_INET6, host, buf) != 1;
}

/* The addresses of ai of family, in order, appended to addrs (no repeats). */
static int
collect(struct evutil_addrinfo *ai, int family, char addrs[][INET6_ADDRSTRLEN], int n)
{
	for (; ai != NULL && n < ADDRS_MAX; ai = ai->ai_next)
	{
		const void *src;
		bool		seen = false;

		if (ai->ai_family != family)
			continue;
		src = family == AF_INET6
			? (const void *) &((struct sockaddr_in6 *) ai->ai_addr)->sin6_addr
			: (const void *) &((struct sockaddr_in *) ai->ai_addr)->sin_addr;
		if (evutil_inet_ntop(family, src, addrs[n], INET6_ADDRSTRLEN) == NULL)
			continue;
		for (int i = 0; i < n; i++)
			seen = seen || strcmp(addrs[i], addrs[n]) == 0;
		n += !seen;
	}
	return n;
}

static void
on_lookup(int result, struct evutil_addrinfo *ai, void *arg)
{
	char		addrs[ADDRS_MAX][INET6_ADDRSTRLEN];
	int			n = 0;
	bool		same;

	(void) arg;
	rs.in_flight = false;
	rs.req = NULL;
	rs.first_done = true;
	if (result == 0)
		n = collect(ai, AF_INET6, addrs, collect(ai, AF_INET, addrs, 0));
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
	if (n == 0)
	{
		if (result != EVUTIL_EAI_CANCEL)
			log_warn("database host %s: lookup failed (%s); %s", rs.host,
					 result ? evutil_gai_strerror(result) : "no address",
					 rs.naddrs ? "keeping the addresses found before" : "libpq will try it");
		return;
	}
	/* The same answer keeps the address in use; a new one starts at its first. */
	same = n == rs.naddrs;
	for (int i = 0; same && i < n; i++)
		same = strcmp(addrs[i], rs.addrs[i]) == 0;
	if (same)
		return;
	memcpy(rs.addrs, addrs, sizeof(addrs[0]) * (size_t) n);
	rs.naddrs = n;
	rs.cur = 0;
	log_info("database host %s is %s%s", rs.host, rs.addrs[0],
			 n > 1 ? " (and more, tried in turn)" : "");
}

static void
lookup(void)
{
	struct evutil_addrinfo hints;
	struct evdns_getaddrinfo_request *req;

	if (!rs.enabled || rs.in_flight)
		return;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	rs.in_flight = true;
	/* The answer may come at once (the hosts file): on_lookup has run then. */
	req = evdns_getaddrinfo(rs.dns, rs.host, NULL, &hints, on_lookup, NULL);
	if (rs.in_flight)
		rs.req = req;
}

bool
resolve_setup(struct event_base *base, const char *conninfo, const char *resolv_conf,
			  char *err, size_t errlen)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
	char	   *host = conninfo_value(opts, "host", "PGHOST");
	char	   *hostaddr = conninfo_value(opts, "hostaddr", "PGHOSTADDR");
	int			rc;

	PQconninfoFree(opts);
	memset(&rs, 0, sizeof(rs));
	if (host == NULL || hostaddr != NULL || !is_host_name(host))
	{
		free(host);
		free(hostaddr);
		return true;			/* libpq needs no lookup, or does it itself */
	}
	rs.host = host;
	rs.conninfo = strdup(conninfo ? conninfo : "");
	if (rs.conninfo == NULL)
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	rs.dns = evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
	if (rs.dns == NULL)
	{
		snprintf(err, errlen, "cannot start the DNS resolver");
		return false;
	}
	rc = evdns_base_resolv_conf_parse(rs.dns, DNS_OPTIONS_ALL,
									  resolv_conf[0] ? resolv_conf : "/etc/resolv.conf");
	/* 6: the file has no nameserver (evdns asks 127.0.0.1 then); others are errors. */
	if (rc != 0 && rc != 6 && resolv_conf[0])
	{
		snprintf(err, errlen, "PARLEY_RESOLV_CONF: cannot use \"%s\" (evdns error %d)",
				 resolv_conf, rc);
		return false;
	}
	rs.enabled = true;
	lookup();
	return true;
}

PGconn *
resolve_connect_start(const char *conninfo, const char *application_name, bool *wait)
{
	const char *keywords[] = {"application_name", "dbname", "client_encoding", NULL, NULL};
	const char *values[] = {application_name, conninfo, "UTF8", NULL, NULL};

	bool		ours = rs.enabled && strcmp(conninfo ? conninfo : "", rs.conninfo) == 0;

	*wait = ours && !rs.first_done;
	if (*wait)
		return NULL;
	if (values[1] != NULL && values[1][0] == '\0')
		values[1] = NULL;
	/* After dbname, so that it overrides the connection string's. */
	if (ours && rs.naddrs > 0)
	{
		keywords[3] = "hostaddr";
		values[3] = rs.addrs[rs.cur];
	}
	return PQconnectStartParams(keywords, values, 1);
}

void
resolve_failed(PGconn *pg, bool was_up)
{
	const char *tried = pg ? PQhostaddr(pg) : NULL;

	/*
	 * The address in use never answered: the next one for the next attempt.
	 * Only when this attempt used it, so that several connections failing
	 * together move on by one, not by as many.
	 */
	if (!was_up && rs.naddrs > 1 && tried != NULL && strcmp(tried, rs.addrs[rs.cur]) == 0)
		rs.cur = (rs.cur + 1) % rs.naddrs;
	lookup();
}

void
resolve_shutdown(void)
{
	if (rs.req != NULL)
		evdns_getaddrinfo_cancel(rs.req);	/* on_lookup runs, with EVUTIL_EAI_CANCEL */
	if (rs.dns != NULL)
		evdns_base_free(rs.dns, 0);
	free(rs.host);
	free(rs.conninfo);
	memset(&rs, 0, sizeof(rs));
}
