/*
 * config.h
 *	  parleyd's settings: one declarative table (config.c), read from the
 *	  environment and an optional .env file.
 */
#ifndef PARLEY_CONFIG_H
#define PARLEY_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

/* Bound of PARLEY_PIPELINE; db/conn.h sizes a connection's pipeline by it. */
#define CONFIG_PIPELINE_MAX 16

struct config
{
	char	   *database_url;		/* libpq conninfo or URI; "" = PG* env */
	char	   *listen;				/* host:port */
	int			pool_size;			/* database connections */
	int			queue_size;			/* requests waiting for a connection */
	int			request_timeout_ms; /* per request, queue wait included */
	int			connect_timeout;	/* seconds to reach the database at start */
	bool		migrate;			/* create/update the extension at start */
	int			pipeline;			/* statements in flight per connection */
	bool		prepared;			/* named prepared statements (else unnamed) */
	int			log_level;			/* enum log_level */
	bool		metrics_key_required;	/* /metrics needs a service key */
	int			key_refresh_ms;		/* service key cache refresh period */
	int			http_timeout;		/* seconds: idle keep-alive, slow clients */
	int			retry_after;		/* seconds, in Retry-After of 503s */
	int			shutdown_timeout;	/* seconds to drain on SIGTERM */
	int			max_body;			/* bytes; larger bodies get 413 */
	int			rate_limit;			/* requests/s per service key; 0 = off */
	int			rate_burst;			/* token bucket size; 0 = rate_limit */
	char	   *jwt_secret;			/* HS256 secret of guest tokens; "" = off */
	char	   *jwt_public_key;		/* PEM text or file of EdDSA/RS256 tokens; "" = none */
	char	   *jwt_audience;		/* required aud of guest tokens; "" = none */
	int			revoke_poll_ms;		/* revocation poll period */
	char	   *cors_origins;		/* comma list of allowed origins; "" = none */
	int			guest_rate_limit;	/* requests/s per guest; 0 = off */
	int			guest_rate_burst;	/* bucket size; 0 = guest_rate_limit */
	bool		demo;				/* POST /demo/token (dev only) */
	char	   *demo_dir;			/* the demo page's files, served at /demo/ */
	char	   *resolv_conf;		/* for the database host lookup; "" = /etc/resolv.conf */
	char	   *env_file;			/* where .env settings were read from */
	bool		events;				/* live events: notify, listen, stream */
	int			sse_heartbeat;		/* seconds between stream heartbeats */
	int			sse_buffer;			/* bytes unsent before a stream is dropped */
	int			events_batch_ms;	/* notification batching period */
	int			events_poll_ms;		/* safety poll period */
	char	   *read_url;			/* a streaming replica for GETs; "" = none */
	int			read_pool_size;		/* its connections */
	int			read_window_ms;		/* read-your-writes window after a write */
	int			read_poll_ms;		/* replay position poll period */
};

extern struct config config;

/*
 * Fill `config` from the environment, the .env file and the defaults, in
 * that order of precedence.  On a bad value, writes a one-line reason to
 * errbuf and returns false.
 */
bool		config_load(char *errbuf, size_t errlen);

/* `parleyd --help`: every setting with its default and meaning. */
void		config_print_help(FILE *out);

void		config_free(void);

#endif							/* PARLEY_CONFIG_H */
