/*
 * http.c
 *	  One generic evhttp callback for every request.  A request becomes a
 *	  req_ctx that lives until its one reply: every path out of the handler
 *	  ends in finish(), which sends, logs, counts and frees.
 *
 *	  Order of checks: route (404/405), service key (401), rate limit (429),
 *	  body size (413), content type (415), parameters and body shape (400),
 *	  then the pool
 *	  (503 when no connection is up or the queue is full).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/util.h>
#include <event2/keyvalq_struct.h>

#include "accept.h"
#include "auth.h"
#include "config.h"
#include "events/events.h"
#include "evsink.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "request.h"

struct req_ctx
{
	struct evhttp_request *req; /* NULL once the client is gone */
	enum evhttp_cmd_type cmd;
	enum http_method method;
	int			route;			/* index into routes[], -1 if none */
	struct request_parse rp;
	struct pool_job job;
	struct timespec t0;
	char		key_label[72];	/* the service key's name, for the log */
	bool		streaming;		/* req was handed to an event stream */
	int			retry_after_s;	/* for Retry-After when not the default */
	char		path[256];		/* sanitized, for the log line */
};

static struct
{
	struct evhttp *http;
	struct evhttp_bound_socket *listener;
	struct pool *pool;
	const struct pool_stmt *stmts[ROUTE_COUNT_MAX];	/* routes[i]'s statement */
	const char *openapi;
	int			in_flight;
	int			closing;		/* draining: replies not yet written out */
	bool		draining;
	void		(*idle_cb) (void *);
	void	   *idle_arg;
}			srv;

static double
ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1e3 + (now.tv_nsec - t0->tv_nsec) / 1e6;
}

static enum http_method
method_of(enum evhttp_cmd_type cmd)
{
	switch (cmd)
	{
		case EVHTTP_REQ_GET:
			return METHOD_GET;
		case EVHTTP_REQ_POST:
			return METHOD_POST;
		case EVHTTP_REQ_PUT:
			return METHOD_PUT;
		case EVHTTP_REQ_PATCH:
			return METHOD_PATCH;
		case EVHTTP_REQ_DELETE:
			return METHOD_DELETE;
		default:
			return METHOD_OTHER;
	}
}

static const char *
method_text(enum evhttp_cmd_type cmd)
{
	switch (cmd)
	{
		case EVHTTP_REQ_HEAD:
			return "HEAD";
		case EVHTTP_REQ_OPTIONS:
			return "OPTIONS";
		case EVHTTP_REQ_TRACE:
			return "TRACE";
		case EVHTTP_REQ_CONNECT:
			return "CONNECT";
		default:
			return http_method_name(method_of(cmd));
	}
}

/* evhttp frees a request with its connection; forget it if that happens. */
static void
on_connection_close(struct evhttp_connection *evcon, void *arg)
{
	struct req_ctx *ctx = arg;

	(void) evcon;
	if (ctx != NULL)
		ctx->req = NULL;
}

static void
check_drained(void)
{
	if (srv.draining && srv.in_flight == 0 && srv.closing == 0 && srv.idle_cb != NULL)
	{
		void		(*cb) (void *) = srv.idle_cb;

		srv.idle_cb = NULL;
		cb(srv.idle_arg);
	}
}

/*
 * While draining every reply says "Connection: close", and evhttp frees
 * the connection once the reply is written (or the write fails): only
 * then is the reply really out.
 */
static void
on_drained_close(struct evhttp_connection *evcon, void *arg)
{
	(void) evcon;
	(void) arg;
	srv.closing--;
	check_drained();
}

/*
 * The one exit of every request: send status with body (may be NULL),
 * log, count, free.  The ctx is gone afterwards.
 */
static void
finish(struct req_ctx *ctx, int status, const char *content_type,
	   const char *body, size_t len)
{
	double		ms = ms_since(&ctx->t0);
	struct evhttp_request *req = ctx->req;

	if (req != NULL)
	{
		struct evkeyvalq *out = evhttp_request_get_output_headers(req);
		struct evbuffer *buf = evhttp_request_get_output_buffer(req);

		if (srv.draining)
		{
			evhttp_add_header(out, "Connection", "close");
			srv.closing++;
			evhttp_connection_set_closecb(evhttp_request_get_connection(req),
										  on_drained_close, NULL);
		}
		else
			evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL, NULL);
		if (content_type != NULL)
			evhttp_add_header(out, "Content-Type", content_type);
		/* A HEAD answer has no body, or a keep-alive client would misread it. */
		if (body != NULL && len > 0 && ctx->cmd != EVHTTP_REQ_HEAD)
			evbuffer_add(buf, body, len);
		evhttp_send_reply(req, status, NULL, NULL);
	}

	log_info("%s %s %d %.1fms db=%.1fms%s%s%s",
			 method_text(ctx->cmd), ctx->path, status, ms, ctx->job.db_ms,
			 ctx->key_label[0] ? " key=" : "", ctx->key_label,
			 ctx->streaming ? " (stream)" : req == NULL ? " (client gone)" : "");
	metrics_request(ctx->route, status, ms);

	request_parse_free(&ctx->rp);
	free(ctx);
	srv.in_flight--;
	check_drained();
}

static void
finish_problem(struct req_ctx *ctx, const struct problem *p, const char *allow)
{
	size_t		len = 0;
	char	   *body = problem_to_json(p, &len);

	if (ctx->req != NULL)
	{
		struct evkeyvalq *out = evhttp_request_get_output_headers(ctx->req);
		char		retry[16];

		if (problem_wants_retry_after(p))
		{
			snprintf(retry, sizeof(retry), "%d",
					 ctx->retry_after_s > 0 ? ctx->retry_after_s : config.retry_after);
			evhttp_add_header(out, "Retry-After", retry);
		}
		if (p->status == 401)
			evhttp_add_header(out, "WWW-Authenticate", "Bearer");
		if (allow != NULL && allow[0] != '\0')
			evhttp_add_header(out, "Allow", allow);
	}
	finish(ctx, p->status, "application/problem+json", body, body ? len : 0);
	free(body);
}

/* The statement's answer (or a problem from the pool) becomes the reply. */
static void
on_db_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct req_ctx *ctx = job->arg;
	const struct route *r = ctx->rp.route;
	struct problem p;
	int			status;

	if (err != NULL)
	{
		metrics_db_error(err->code);
		finish_problem(ctx, err, NULL);
		return;
	}
	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
			if (PQntuples(res) != 1)
				break;
			if (r->status == 204)
			{
				events_after_write(r->name, ctx->rp.values, NULL, 0);
				finish(ctx, 204, NULL, NULL, 0);
				return;
			}
			if (PQgetisnull(res, 0, 0))
				break;
			status = r->status;
			if (status == 0)
			{
				status = PQnfields(res) > 1 ? atoi(PQgetvalue(res, 0, 1)) : 0;
				if (status != 200 && status != 201)
					break;
			}
			events_after_write(r->name, ctx->rp.values, PQgetvalue(res, 0, 0),
							   (size_t) PQgetlength(res, 0, 0));
			finish(ctx, status, "application/json", PQgetvalue(res, 0, 0),
				   (size_t) PQgetlength(res, 0, 0));
			return;
		case PGRES_FATAL_ERROR:
			problem_from_sqlstate(&p, PQresultErrorField(res, PG_DIAG_SQLSTATE),
								  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
								  PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
			if (p.status >= 500)
				log_error("%s: database error %s: %s", r->name, p.sqlstate,
						  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) ?
						  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : "?");
			metrics_db_error(p.code);
			finish_problem(ctx, &p, NULL);
			return;
		default:
			break;
	}
	log_error("%s: unexpected result from the database (%s, %d rows)", r->name,
			  PQresStatus(PQresultStatus(res)), PQntuples(res));
	problem_set(&p, 500, CODE_INTERNAL, "internal error; the gateway log has the details");
	finish_problem(ctx, &p, NULL);
}

static bool
check_key(struct req_ctx *ctx, struct problem *p)
{
	const char *authz = evhttp_find_header(evhttp_request_get_input_headers(ctx->req),
										   "Authorization");
	const char *key_name = NULL;

	switch (auth_check(authz, &key_name))
	{
		case AUTH_OK:
			snprintf(ctx->key_label, sizeof(ctx->key_label), "%s", key_name);
			return true;
		case AUTH_NOT_LOADED:
			problem_set(p, 503, CODE_DB_UNAVAILABLE, "service keys are not loaded yet: the database is unreachable");
			return false;
		case AUTH_MISSING:
			problem_set(p, 401, CODE_UNAUTHORIZED, "send Authorization: Bearer <service key>");
			return false;
		case AUTH_UNKNOWN:
			break;
	}
	problem_set(p, 401, CODE_UNAUTHORIZED, "unknown or revoked service key");
	return false;
}

/* The key's token bucket (ratelimit.c); 429 when it is empty. */
static bool
check_rate(struct req_ctx *ctx, struct problem *p)
{
	if (ratelimit_take(ctx->key_label, &ctx->retry_after_s))
		return true;
	problem_set(p, 429, CODE_RATE_LIMITED, "too many requests for this service key; retry after %d s",
				ctx->retry_after_s);
	return false;
}

/* How a request handed over to events was answered (evsink.h). */
static void
on_stream_answered(void *arg, enum evsink_outcome outcome, const struct problem *p)
{
	struct req_ctx *ctx = arg;

	switch (outcome)
	{
		case EVSINK_STARTED:
			ctx->req = NULL;	/* the stream's now */
			ctx->streaming = true;
			finish(ctx, 200, NULL, NULL, 0);
			return;
		case EVSINK_REFUSED:
			finish_problem(ctx, p, NULL);
			return;
		case EVSINK_GONE:
			ctx->req = NULL;	/* evhttp frees it with the connection */
			finish(ctx, 499, NULL, NULL, 0);
			return;
	}
}

/*
 * A stream request that passed every check: events runs the subscribe
 * check and answers through the sink (refused, or the head and the stream).
 */
static void
serve_events(struct req_ctx *ctx)
{
	struct evsink *sink = evsink_new(ctx->req, config.http_timeout, on_stream_answered, ctx);
	struct events_stream *stream;
	struct problem p;

	if (sink == NULL)
	{
		problem_set(&p, 500, CODE_INTERNAL, "out of memory");
		finish_problem(ctx, &p, NULL);
		return;
	}
	/* NULL: refused already (the sink and ctx are gone). */
	stream = events_stream_open(&evsink_ops, sink, ctx->rp.values[0], ctx->rp.values[1],
								ctx->rp.values[2]);
	if (stream != NULL)
		evsink_attach(sink, stream);
}

static void
serve_sql(struct req_ctx *ctx, const char *query)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(ctx->req);
	size_t		len = evbuffer_get_length(in);
	const char *body = len > 0 ? (const char *) evbuffer_pullup(in, -1) : "";
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(ctx->req),
										"Content-Type");
	struct problem p;

	if (!check_key(ctx, &p) || !check_rate(ctx, &p) ||
		!request_bind(&ctx->rp, query, ct, body, len, (size_t) config.max_body, &p) ||
		(ctx->rp.route->kind == ROUTE_EVENTS &&
		 !events_cursor(&ctx->rp.values[2],
						evhttp_find_header(evhttp_request_get_input_headers(ctx->req),
										   "Last-Event-ID"), &p)))
	{
		finish_problem(ctx, &p, NULL);
		return;
	}
	if (ctx->rp.route->kind == ROUTE_EVENTS)
	{
		serve_events(ctx);
		return;
	}
	pool_job_init(&ctx->job, srv.stmts[ctx->route], ctx->rp.nvalues, ctx->rp.values,
				  ctx->rp.route->method == METHOD_GET, on_db_done, ctx);
	if (!pool_submit(srv.pool, &ctx->job, config.request_timeout_ms, false, &p))
		finish_problem(ctx, &p, NULL);
	/* else on_db_done() finishes the request */
}

static void
serve_readyz(struct req_ctx *ctx)
{
	static const char ready[] = "{\"status\":\"ready\"}";
	struct problem p;

	if (pool_is_up(srv.pool) && auth_loaded())
	{
		finish(ctx, 200, "application/json", ready, sizeof(ready) - 1);
		return;
	}
	/* The cause (host names, ports) goes to the log, not to the client. */
	problem_set(&p, 503, CODE_DB_UNAVAILABLE, "%s",
				!pool_ever_up(srv.pool) ? "not connected to the database yet" :
				!pool_is_up(srv.pool) ? "the database is not reachable" :
				"service keys are not loaded yet");
	finish_problem(ctx, &p, NULL);
}

static void
serve_metrics(struct req_ctx *ctx)
{
	struct pool_stats st;
	struct events_stats ev;
	struct evbuffer *buf;
	struct problem p;

	if (config.metrics_key_required && !check_key(ctx, &p))
	{
		finish_problem(ctx, &p, NULL);
		return;
	}
	buf = evbuffer_new();
	if (buf == NULL)
	{
		problem_set(&p, 500, CODE_INTERNAL, "out of memory");
		finish_problem(ctx, &p, NULL);
		return;
	}
	pool_get_stats(srv.pool, &st);
	events_get_stats(&ev);
	metrics_render(buf, &st, &ev, srv.in_flight);
	finish(ctx, 200, "text/plain; version=0.0.4",
		   (const char *) evbuffer_pullup(buf, -1), evbuffer_get_length(buf));
	evbuffer_free(buf);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	struct req_ctx *ctx = calloc(1, sizeof(*ctx));
	static const char ok[] = "{\"status\":\"ok\"}";
	char		allow[64];
	struct problem p;

	(void) arg;
	if (ctx == NULL)
	{
		evhttp_send_error(req, 500, NULL);
		return;
	}
	srv.in_flight++;
	clock_gettime(CLOCK_MONOTONIC, &ctx->t0);
	ctx->req = req;
	ctx->route = -1;
	ctx->cmd = evhttp_request_get_command(req);
	ctx->method = method_of(ctx->cmd);
	log_sanitize(path, ctx->path, sizeof(ctx->path));
	request_parse_init(&ctx->rp);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), on_connection_close, ctx);

	if (!request_route(&ctx->rp, ctx->method, path ? path : "", &p, allow, sizeof(allow)))
	{
		finish_problem(ctx, &p, allow);
		return;
	}
	ctx->route = (int) (ctx->rp.route - routes);
	switch (ctx->rp.route->kind)
	{
		case ROUTE_SQL:
		case ROUTE_EVENTS:
			serve_sql(ctx, evhttp_uri_get_query(uri));
			return;
		case ROUTE_HEALTHZ:
			finish(ctx, 200, "application/json", ok, sizeof(ok) - 1);
			return;
		case ROUTE_READYZ:
			serve_readyz(ctx);
			return;
		case ROUTE_METRICS:
			serve_metrics(ctx);
			return;
		case ROUTE_OPENAPI:
			finish(ctx, 200, "application/json", srv.openapi, strlen(srv.openapi));
			return;
	}
}

bool
http_check_listen(const char *listen, char *err, size_t errlen)
{
	char		host[256];
	unsigned short port;

	if (accept_parse_listen(listen, host, sizeof(host), &port))
		return true;
	snprintf(err, errlen, "PARLEY_LISTEN: expected host:port, got \"%s\"", listen);
	return false;
}

bool
http_setup(struct event_base *base, struct pool *pool, const char *openapi_json,
		   char *err, size_t errlen)
{
	char		host[256];
	unsigned short port;
	struct evconnlistener *lev;

	srv.pool = pool;
	srv.openapi = openapi_json;
	for (int i = 0; i < nroutes; i++)
	{
		if (routes[i].sql != NULL &&
			(srv.stmts[i] = pool_statement(pool, routes[i].name, routes[i].sql)) == NULL)
		{
			snprintf(err, errlen, "out of memory");
			return false;
		}
	}
	if (!accept_parse_listen(config.listen, host, sizeof(host), &port))
	{
		snprintf(err, errlen, "PARLEY_LISTEN: expected host:port, got \"%s\"", config.listen);
		return false;
	}
	srv.http = evhttp_new(base);
	if (srv.http == NULL)
	{
		snprintf(err, errlen, "cannot create the HTTP server");
		return false;
	}
	/* Every method reaches on_request, so known paths answer 405 + Allow. */
	evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
							   EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
							   EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_max_headers_size(srv.http, 16 * 1024);

	/*
	 * Bodies up to twice the limit are read so that the handler can answer
	 * a JSON 413; beyond that evhttp itself answers a bare 413 and closes.
	 */
	evhttp_set_max_body_size(srv.http, (ev_ssize_t) config.max_body * 2);
	evhttp_set_timeout(srv.http, config.http_timeout);
	evhttp_set_gencb(srv.http, on_request, NULL);
	evhttp_set_bevcb(srv.http, accept_client_bev, NULL);
	ratelimit_setup(config.rate_limit, config.rate_burst);
	lev = accept_listen(base, host, port, err, errlen);
	srv.listener = lev ? evhttp_bind_listener(srv.http, lev) : NULL;
	if (srv.listener == NULL)
	{
		if (lev != NULL)
		{
			accept_free(lev);
			snprintf(err, errlen, "PARLEY_LISTEN: cannot listen on %s", config.listen);
		}
		evhttp_free(srv.http);
		srv.http = NULL;
		return false;
	}
	log_info("listening on http://%s", config.listen);
	return true;
}

void
http_drain(void (*idle_cb) (void *), void *arg)
{
	srv.draining = true;
	srv.idle_cb = idle_cb;
	srv.idle_arg = arg;
	if (srv.listener != NULL)
	{
		accept_stop();			/* before evhttp frees the listener */
		evhttp_del_accept_socket(srv.http, srv.listener);
		srv.listener = NULL;
	}
	events_close_all();			/* streams never end by themselves */
	check_drained();
}

int
http_in_flight(void)
{
	return srv.in_flight;
}

void
http_free(void)
{
	if (srv.http != NULL)
		evhttp_free(srv.http);
	srv.http = NULL;
	accept_stop();
	ratelimit_free();
}
