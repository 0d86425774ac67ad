/*
 * http.c
 *	  The request handler: client.c hands over each complete request
 *	  (parse.c has refused it already if its framing or size is wrong).  A request
 *	  becomes a req_ctx that lives until its one reply: every path out of
 *	  the handler ends in finish(), which sends, logs, counts and frees.
 *
 *	  Order of checks: route (404/405), service key or guest token (401;
 *	  403 service_key_required), rate limit per key or per guest (429),
 *	  body size (413), content type (415), parameters and body shape (400),
 *	  then the pool
 *	  (503 when no connection is up or the queue is full).
 *
 *	  With PARLEY_READ_URL a GET runs on the read pool when db/replica.h
 *	  says so (the acting guest has no write the replica lacks); a read
 *	  that fails there for the replica's reasons runs again on the
 *	  primary.  Every write tells db/replica.h its acting guest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "accept.h"
#include "auth.h"
#include "config.h"
#include "client.h"
#include "db/replica.h"
#include "demo.h"
#include "demo_page.h"
#include "events/events.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "request.h"
#include "token.h"
#include "util.h"

struct req_ctx
{
	struct client *client;		/* lives until finish() replies on it */
	const struct http_parse *req;	/* the request, valid as long */
	enum http_method method;
	int			route;			/* index into routes[], -1 if none */
	struct request_parse rp;
	struct pool_job job;
	struct timespec t0;
	char		key_label[72];	/* the service key's name, for the log */
	bool		streaming;		/* the client was handed to an event stream */
	int			retry_after_s;	/* for Retry-After when not the default */
	char		path[256];		/* sanitized, for the log line */
	const char *ryw_guest;		/* the acting guest (in rp) for read-your-writes, or NULL */
	bool		on_replica;		/* the job runs on the read pool */
	bool		is_guest;		/* a guest token, verified: guest below */
	struct token_guest guest;
	int			demo_step;		/* 1: the demo's upsert, 2: its claims */
	const char *demo_values[1];
	char		demo_guest[TOKEN_GUEST_MAX + 1];
	char		cors[300];		/* CORS header lines for every reply */
	char	   *gateway_value;	/* a PARAM_GATEWAY value (events_gateway_value) */
};

static struct
{
	struct pool *pool;
	const struct pool_stmt *stmts[ROUTE_COUNT_MAX];	/* routes[i]'s statement */
	struct pool *read_pool;		/* PARLEY_READ_URL's (db/replica.h), or NULL */
	const struct pool_stmt *read_stmts[ROUTE_COUNT_MAX];	/* GET routes' there */
	const char *openapi;
	int			in_flight;
	const struct pool_stmt *demo_upsert;	/* PARLEY_DEMO=1 only */
	const struct pool_stmt *demo_claims;
	struct stream_sink *guest_streams;	/* streams opened with a guest token */
	struct event_base *base;
}			srv;

/*
 * The route table's method.  request_route() routes HEAD as GET (RFC 9110
 * 9.3.2: same status and headers); client_reply() leaves the body out.
 */
static enum http_method
method_of(llhttp_method_t m)
{
	switch (m)
	{
		case HTTP_GET:
			return METHOD_GET;
		case HTTP_HEAD:
			return METHOD_HEAD;
		case HTTP_POST:
			return METHOD_POST;
		case HTTP_PUT:
			return METHOD_PUT;
		case HTTP_PATCH:
			return METHOD_PATCH;
		case HTTP_DELETE:
			return METHOD_DELETE;
		default:
			return METHOD_OTHER;
	}
}

/*
 * The one exit of every request: send status with body (may be NULL),
 * log, count, free.  The ctx is gone afterwards.
 */
static void
finish(struct req_ctx *ctx, int status, const char *content_type, const char *extra,
	   const char *body, size_t len)
{
	double		ms = util_ms_since(&ctx->t0);

	log_info("%s %s %d %.1fms db=%.1fms%s%s%s%s",
			 ctx->req->msg.method_name, ctx->path, status, ms, ctx->job.db_ms,
			 ctx->key_label[0] ? " key=" : "", ctx->key_label,
			 ctx->streaming ? " (stream)" : "", ctx->on_replica ? " (replica)" : "");
	metrics_request(ctx->route, status, ms);
	if (!ctx->streaming)
	{
		char		headers[640];

		snprintf(headers, sizeof(headers), "%s%s", ctx->cors, extra ? extra : "");
		client_reply(ctx->client, status, content_type, headers, body, len);
	}

	request_parse_free(&ctx->rp);
	free(ctx->gateway_value);
	free(ctx);
	srv.in_flight--;
}

static void
finish_problem(struct req_ctx *ctx, const struct problem *p, const char *allow)
{
	size_t		len = 0;
	char	   *body = problem_to_json(p, &len);
	char		extra[256];
	int			n = 0;

	extra[0] = '\0';
	if (problem_wants_retry_after(p))
		n += snprintf(extra + n, sizeof(extra) - (size_t) n, "Retry-After: %d\r\n",
					  ctx->retry_after_s > 0 ? ctx->retry_after_s : config.retry_after);
	if (p->status == 401)
		n += snprintf(extra + n, sizeof(extra) - (size_t) n, "WWW-Authenticate: Bearer\r\n");
	if (allow != NULL && allow[0] != '\0')
		snprintf(extra + n, sizeof(extra) - (size_t) n, "Allow: %s\r\n", allow);
	finish(ctx, p->status, "application/problem+json", extra, body, body ? len : 0);
	free(body);
}

/*
 * Did a read fail on the read pool for a reason of the replica's (no
 * connection, shut down, a recovery conflict, a function that writes), so
 * that the primary should answer it instead?  Reads are safe to run again.
 * A timeout is not: the primary would take the same time again.
 */
static bool
replica_failure(PGresult *res, const struct problem *err)
{
	const char *state;

	if (err != NULL)
		return strcmp(err->code, CODE_DB_UNAVAILABLE) == 0;
	if (PQresultStatus(res) != PGRES_FATAL_ERROR)
		return false;
	state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	return state != NULL &&
		(strncmp(state, "08", 2) == 0 ||	/* connection exception */
		 strncmp(state, "57", 2) == 0 ||	/* operator intervention: shutdown */
		 strncmp(state, "53", 2) == 0 ||	/* insufficient resources */
		 strcmp(state, "40001") == 0 ||	/* conflict with recovery */
		 strcmp(state, "25006") == 0);	/* read-only transaction */
}

static void submit(struct req_ctx *ctx, bool on_replica);

/* The minting route's name (api/api.txt): its answer is signed here. */
static const char *routes_mint_name;

/*
 * guest_token_claims() answered: sign the claims (token.c).  For the demo
 * endpoint's first step (the upsert), ask for the claims first.
 */
static void
finish_minted(struct req_ctx *ctx, const char *answer)
{
	struct problem p;
	size_t		len = 0;
	char	   *body;

	if (ctx->demo_step == 1)
	{
		/* The upsert answered the guest: its id is the claims' argument. */
		cJSON	   *guest = cJSON_Parse(answer);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(guest, "guest_id");

		if (!cJSON_IsString(id) || strlen(id->valuestring) > TOKEN_GUEST_MAX)
		{
			cJSON_Delete(guest);
			problem_set(&p, 500, CODE_INTERNAL, "unexpected answer of guest_upsert");
			finish_problem(ctx, &p, NULL);
			return;
		}
		snprintf(ctx->demo_guest, sizeof(ctx->demo_guest), "%s", id->valuestring);
		cJSON_Delete(guest);
		ctx->demo_values[0] = ctx->demo_guest;
		ctx->demo_step = 2;
		pool_job_init(&ctx->job, srv.demo_claims, 1, ctx->demo_values, false, ctx->job.done, ctx);
		if (!pool_submit(srv.pool, &ctx->job, config.request_timeout_ms, false, &p))
			finish_problem(ctx, &p, NULL);
		return;
	}
	body = token_mint(answer, &len, &p);
	if (body == NULL)
	{
		finish_problem(ctx, &p, NULL);
		return;
	}
	finish(ctx, 201, "application/json", NULL, body, len);
	OPENSSL_cleanse(body, len);
	free(body);
}

static void pages_start(struct req_ctx *ctx, PGresult *res);

/* The statement's answer (or a problem from the pool) becomes the reply. */
static void
on_db_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct req_ctx *ctx = job->arg;
	const struct route *r = ctx->rp.route;
	struct problem p;
	int			status;

	if (ctx->on_replica && replica_failure(res, err))
	{
		log_debug("%s: failed on the read replica (%s); running it on the primary", r->name,
				  err ? err->detail : PQresultErrorMessage(res));
		replica_read_retried();
		submit(ctx, false);
		return;
	}
	if (r->method != METHOD_GET)
		replica_wrote(ctx->ryw_guest);	/* whatever the answer: it may have committed */
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
			if (r->kind == ROUTE_PAGES)
			{
				if (PQnfields(res) != 2 || PQgetisnull(res, 0, 0))
					break;
				pages_start(ctx, res);
				return;
			}
			if (r->status == 204)
			{
				events_after_write(r->name, ctx->rp.values, NULL, 0);
				finish(ctx, 204, NULL, NULL, NULL, 0);
				return;
			}
			if (PQgetisnull(res, 0, 0))
				break;
			if (ctx->demo_step != 0 || r->name == routes_mint_name)
			{
				finish_minted(ctx, PQgetvalue(res, 0, 0));
				return;
			}
			status = r->status;
			if (status == 0)
			{
				status = PQnfields(res) > 1 ? atoi(PQgetvalue(res, 0, 1)) : 0;
				if (status != 200 && status != 201)
					break;
			}
			events_after_write(r->name, ctx->rp.values, PQgetvalue(res, 0, 0),
							   (size_t) PQgetlength(res, 0, 0));
			finish(ctx, status, "application/json", NULL, PQgetvalue(res, 0, 0),
				   (size_t) PQgetlength(res, 0, 0));
			return;
		case PGRES_FATAL_ERROR:
			problem_from_sqlstate(&p, PQresultErrorField(res, PG_DIAG_SQLSTATE),
								  PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY),
								  PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL));
			/*
			 * A 429 of the extension (slow_mode, 0.6.0) says how long to
			 * wait in its hint: "Retry after N s." (through parley_proxy
			 * "Remote hint: Retry after N s.").
			 */
			if (p.status == 429)
			{
				const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
				const char *at = hint ? strstr(hint, "Retry after ") : NULL;
				int			s;

				if (at != NULL && sscanf(at, "Retry after %d s", &s) == 1 && s > 0)
					ctx->retry_after_s = s;
			}
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
	const char *authz = http_msg_field(ctx->req, "Authorization");
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

/*
 * ?access_token= of an event stream (EventSource cannot send headers),
 * percent-decoded into buf; false when absent.
 */
static bool
query_access_token(const char *query, char *buf, size_t buflen)
{
	static const char name[] = "access_token=";
	const char *s = query;

	while (s != NULL && *s != '\0')
	{
		const char *amp = strchr(s, '&');
		size_t		len = amp ? (size_t) (amp - s) : strlen(s);

		if (len > sizeof(name) - 1 && len - (sizeof(name) - 1) < buflen &&
			strncmp(s, name, sizeof(name) - 1) == 0)
			return percent_decode(s + sizeof(name) - 1, len - (sizeof(name) - 1), false, buf) > 0;
		s = amp ? amp + 1 : NULL;
	}
	return false;
}

/*
 * Who is calling: a guest token (Authorization: Bearer <jwt>, or
 * ?access_token= on event streams) when guest tokens are on, else a
 * service key.  A guest on a service-key-only route is 403; a guest's
 * id becomes the acting guest of request_bind().
 */
static bool
check_auth(struct req_ctx *ctx, const char *query, struct problem *p)
{
	const char *authz = http_msg_field(ctx->req, "Authorization");
	size_t		len = 0;
	const char *bearer = auth_bearer_token(authz, &len);
	char		qtok[TOKEN_MAX_LEN + 1];
	bool		ok;

	if (bearer == NULL && authz == NULL && ctx->rp.route->kind == ROUTE_EVENTS &&
		query_access_token(query, qtok, sizeof(qtok)))
	{
		bearer = qtok;
		len = strlen(qtok);
	}
	if (bearer == NULL || !token_enabled() || !token_is_jwt(bearer, len))
		return check_key(ctx, p);
	ok = token_verify(bearer, len, &ctx->guest, p);
	OPENSSL_cleanse(qtok, sizeof(qtok));
	if (!ok)
		return false;
	ctx->is_guest = true;
	snprintf(ctx->key_label, sizeof(ctx->key_label), "guest:%s", ctx->guest.guest);
	if (ctx->rp.route->service_only)
	{
		problem_set(p, 403, CODE_SERVICE_KEY_REQUIRED,
					"this route needs a service key; a guest token may not call it");
		return false;
	}
	ctx->rp.acting_guest = ctx->guest.guest;
	return true;
}

/* The key's or the guest's token bucket (ratelimit.c); 429 when empty. */
static bool
check_rate(struct req_ctx *ctx, struct problem *p)
{
	if (ctx->is_guest ? ratelimit_take_guest(ctx->guest.guest, &ctx->retry_after_s) :
		ratelimit_take(ctx->key_label, &ctx->retry_after_s))
		return true;
	problem_set(p, 429, CODE_RATE_LIMITED, "too many requests for this %s; retry after %d s",
				ctx->is_guest ? "guest" : "service key", ctx->retry_after_s);
	return false;
}

/*
 * The events sink (events/sink.h) on a client connection.  A stream_sink
 * is made when a request is handed over to events and freed by exactly
 * one of refuse (the request gets the problem), end, abort, or the
 * client's going away (client.c calls on_sink_gone from the loop, and it
 * tells events).  Until start or refuse, the request (ctx) is unanswered.
 */
struct stream_sink
{
	struct client *client;
	struct req_ctx *ctx;		/* NULL once answered */
	struct events_stream *stream;	/* NULL until events_stream_open returns */
	/* a guest token's stream: in srv.guest_streams, ended on revocation */
	bool		is_guest;
	struct token_guest guest;
	struct stream_sink *prev;
	struct stream_sink *next;
};

/* Unlink a guest's stream from srv.guest_streams, then free it. */
static void
sink_free(struct stream_sink *sink)
{
	if (sink->is_guest)
	{
		if (sink->prev != NULL)
			sink->prev->next = sink->next;
		else
			srv.guest_streams = sink->next;
		if (sink->next != NULL)
			sink->next->prev = sink->prev;
	}
	free(sink);
}

static void
on_sink_gone(void *arg)
{
	struct stream_sink *sink = arg;

	if (sink->stream != NULL)
		events_stream_gone(sink->stream);
	sink_free(sink);
}

/*
 * token.c learnt that guest's tokens issued before valid_from are revoked:
 * end their streams now (API.md section 7: within 1 s).  A stream still
 * opening (its subscribe check not answered yet: ctx set, no head sent)
 * is refused with 401 instead, so a revocation that lands while a stream
 * opens ends it too; one started already is cut.
 */
static void
on_guest_revoked(const char *guest, int64_t valid_from)
{
	struct stream_sink *sink = srv.guest_streams;

	while (sink != NULL)
	{
		struct stream_sink *next = sink->next;

		if (sink->stream != NULL && sink->guest.iat < valid_from &&
			strcmp(sink->guest.guest, guest) == 0)
		{
			events_stream_gone(sink->stream);
			if (sink->ctx != NULL)
			{
				struct problem p;

				log_info("refusing an opening stream of guest %s: its tokens were revoked", guest);
				problem_set(&p, 401, CODE_UNAUTHORIZED, "the guest's tokens were revoked");
				client_stream_set_gone(sink->client, NULL, NULL);
				finish_problem(sink->ctx, &p, NULL);
			}
			else
			{
				log_info("ending a stream of guest %s: its tokens were revoked", guest);
				client_stream_abort(sink->client);
			}
			sink_free(sink);
		}
		sink = next;
	}
}

static void
sink_start(void *conn)
{
	struct stream_sink *sink = conn;
	struct req_ctx *ctx = sink->ctx;

	char		headers[400];

	sink->ctx = NULL;
	snprintf(headers, sizeof(headers), "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\n%s",
			 ctx->cors);
	client_stream_start(sink->client, "text/event-stream", headers);
	ctx->streaming = true;
	finish(ctx, 200, NULL, NULL, NULL, 0);
}

static void
sink_refuse(void *conn, const struct problem *p)
{
	struct stream_sink *sink = conn;

	client_stream_set_gone(sink->client, NULL, NULL);
	finish_problem(sink->ctx, p, NULL);
	sink_free(sink);
}

static size_t
sink_write(void *conn, const char *data, size_t len)
{
	return client_stream_write(((struct stream_sink *) conn)->client, data, len);
}

static size_t
sink_queued(void *conn)
{
	return client_stream_queued(((struct stream_sink *) conn)->client);
}

static void
sink_end(void *conn)
{
	struct stream_sink *sink = conn;

	client_stream_end(sink->client);
	sink_free(sink);
}

static void
sink_abort(void *conn)
{
	struct stream_sink *sink = conn;

	client_stream_abort(sink->client);
	sink_free(sink);
}

static const struct events_sink_ops stream_sink_ops = {
	.start = sink_start,
	.refuse = sink_refuse,
	.write = sink_write,
	.queued = sink_queued,
	.end = sink_end,
	.abort = sink_abort,
};

/*
 * A paged answer (ROUTE_PAGES; GET /v1/guests/{G}/export): the statement
 * answers (part, next) a page at a time; the parts are the body, sent as
 * they come (chunked), and the next page is read only once the client has
 * taken all but PAGES_QUEUED_MAX of what was sent, so neither the gateway
 * nor the database holds more than a page or two of a large export.  The
 * request is answered (logged, counted) with its first page; an error after
 * that can only cut the body short (the chunked encoding never ends).
 */
#define PAGES_QUEUED_MAX	(256 * 1024)
#define PAGES_WAIT_MS		10

struct page_stream
{
	struct client *client;
	const struct pool_stmt *stmt;
	struct pool_job job;
	int			nvalues;
	char	   *values[ROUTE_MAX_PARAMS];	/* owned; the last is the cursor */
	struct event *wait;			/* the client is still taking what was sent */
	bool		busy;			/* a page is being read */
	bool		gone;			/* the client went away meanwhile */
};

static void
pages_free(struct page_stream *ps)
{
	for (int i = 0; i < ps->nvalues; i++)
		free(ps->values[i]);
	if (ps->wait != NULL)
		event_free(ps->wait);
	free(ps);
}

/* Send a page's part; keep its next as the cursor.  False: it was the last. */
static bool
pages_write(struct page_stream *ps, PGresult *res)
{
	char	  **cursor = &ps->values[ps->nvalues - 1];

	client_stream_write(ps->client, PQgetvalue(res, 0, 0), (size_t) PQgetlength(res, 0, 0));
	free(*cursor);
	*cursor = PQgetisnull(res, 0, 1) ? NULL : strdup(PQgetvalue(res, 0, 1));
	return *cursor != NULL;
}

static void pages_next(struct page_stream *ps);

static void
on_page_done(struct pool_job *job, PGresult *res, const struct problem *err)
{
	struct page_stream *ps = job->arg;

	ps->busy = false;
	if (ps->gone)
	{
		pages_free(ps);
		return;
	}
	if (err != NULL || PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 ||
		PQnfields(res) != 2 || PQgetisnull(res, 0, 0))
	{
		log_error("a paged answer ended early: %s",
				  err ? err->detail : res ? PQresultErrorMessage(res) : "no result");
		client_stream_abort(ps->client);
		pages_free(ps);
		return;
	}
	if (pages_write(ps, res))
		pages_next(ps);
	else
	{
		client_stream_end(ps->client);
		pages_free(ps);
	}
}

static void
on_page_wait(evutil_socket_t fd, short what, void *arg)
{
	(void) fd;
	(void) what;
	pages_next(arg);
}

/* Read the next page once the client has taken enough of the last. */
static void
pages_next(struct page_stream *ps)
{
	struct problem p;

	if (client_stream_queued(ps->client) > PAGES_QUEUED_MAX)
	{
		struct timeval tv = {0, PAGES_WAIT_MS * 1000};

		evtimer_add(ps->wait, &tv);
		return;
	}
	pool_job_init(&ps->job, ps->stmt, ps->nvalues, (const char *const *) ps->values, true,
				  on_page_done, ps);
	if (!pool_submit(srv.pool, &ps->job, config.request_timeout_ms, false, &p))
	{
		log_error("a paged answer ended early: %s", p.detail);
		client_stream_abort(ps->client);
		pages_free(ps);
		return;
	}
	ps->busy = true;
}

static void
on_page_gone(void *arg)
{
	struct page_stream *ps = arg;

	ps->gone = true;
	if (!ps->busy)
		pages_free(ps);			/* else on_page_done() frees it */
}

/* The first page answered: start the reply, and the stream of pages. */
static void
pages_start(struct req_ctx *ctx, PGresult *res)
{
	struct page_stream *ps = calloc(1, sizeof(*ps));
	char		headers[400];
	bool		more;
	struct problem p;

	if (ps != NULL && (ps->wait = evtimer_new(srv.base, on_page_wait, ps)) == NULL)
	{
		free(ps);
		ps = NULL;
	}
	if (ps != NULL)
	{
		ps->client = ctx->client;
		ps->stmt = srv.stmts[ctx->route];
		ps->nvalues = ctx->rp.nvalues + 1;
		for (int i = 0; i + 1 < ps->nvalues; i++)
			if (ctx->rp.values[i] != NULL && (ps->values[i] = strdup(ctx->rp.values[i])) == NULL)
			{
				pages_free(ps);
				ps = NULL;
				break;
			}
	}
	if (ps == NULL)
	{
		problem_set(&p, 500, CODE_INTERNAL, "out of memory");
		finish_problem(ctx, &p, NULL);
		return;
	}
	snprintf(headers, sizeof(headers), "Cache-Control: no-store\r\n%s", ctx->cors);
	client_stream_start(ps->client, "application/json", headers);
	ctx->streaming = true;
	finish(ctx, 200, NULL, NULL, NULL, 0);
	more = pages_write(ps, res);
	client_stream_set_gone(ps->client, on_page_gone, ps);
	if (more)
		pages_next(ps);
	else
	{
		client_stream_set_gone(ps->client, NULL, NULL);
		client_stream_end(ps->client);
		pages_free(ps);
	}
}

/*
 * A stream request that passed every check: events runs the subscribe
 * check and answers through the sink (refused, or the head and the
 * stream).  HEAD gets the head the GET would get, and no stream.
 */
static void
serve_events(struct req_ctx *ctx)
{
	struct stream_sink *sink = calloc(1, sizeof(*sink));
	struct events_stream *stream;
	struct problem p;

	if (sink == NULL)
	{
		problem_set(&p, 500, CODE_INTERNAL, "out of memory");
		finish_problem(ctx, &p, NULL);
		return;
	}
	sink->client = ctx->client;
	sink->ctx = ctx;
	if (ctx->is_guest)
	{
		sink->is_guest = true;
		sink->guest = ctx->guest;
		sink->next = srv.guest_streams;
		if (sink->next != NULL)
			sink->next->prev = sink;
		srv.guest_streams = sink;
	}
	client_stream_set_gone(ctx->client, on_sink_gone, sink);
	/* NULL: refused already (the sink and ctx are gone) */
	if (strcmp(ctx->rp.route->name, "guest_events") == 0)
		stream = events_guest_stream_open(&stream_sink_ops, sink, ctx->rp.values[0],
										  ctx->rp.values[1]);
	else
		stream = events_stream_open(&stream_sink_ops, sink, ctx->rp.values[0], ctx->rp.values[1],
									ctx->rp.values[2]);
	if (stream != NULL)
		sink->stream = stream;
}

/*
 * The guest a request acts as: its `as` query parameter, else its
 * {guest_id} path segment (the guest routes), else NULL.
 */
static const char *
acting_guest(const struct request_parse *rp)
{
	const char *path_guest = NULL;

	for (int i = 0; i < rp->route->nparams && i < rp->nvalues; i++)
	{
		const struct route_param *prm = &rp->route->params[i];

		if (prm->name == NULL || rp->values[i] == NULL)
			continue;
		if (prm->source != PARAM_PATH_TEXT && strcmp(prm->name, "as") == 0)
			return rp->values[i];
		if (prm->source == PARAM_PATH_TEXT && strcmp(prm->name, "guest_id") == 0)
			path_guest = rp->values[i];
	}
	return path_guest;
}

/*
 * Run the request's statement on the read pool or the primary.  A read
 * the read pool cannot take (its queue is full, it just went down) goes
 * to the primary.
 */
static void
submit(struct req_ctx *ctx, bool on_replica)
{
	struct problem p;

	if (on_replica)
	{
		pool_job_init(&ctx->job, srv.read_stmts[ctx->route], ctx->rp.nvalues, ctx->rp.values,
					  true, on_db_done, ctx);
		ctx->on_replica = true;
		if (pool_submit(srv.read_pool, &ctx->job, config.request_timeout_ms, false, &p))
			return;				/* on_db_done() finishes the request */
		replica_read_retried();
	}
	ctx->on_replica = false;
	pool_job_init(&ctx->job, srv.stmts[ctx->route], ctx->rp.nvalues, ctx->rp.values,
				  ctx->rp.route->method == METHOD_GET, on_db_done, ctx);
	if (!pool_submit(srv.pool, &ctx->job, config.request_timeout_ms, false, &p))
		finish_problem(ctx, &p, NULL);
	/* else on_db_done() finishes the request */
}

static void
serve_sql(struct req_ctx *ctx, const char *query)
{
	const struct http_msg *m = &ctx->req->msg;
	const char *ct = http_msg_field(ctx->req, "Content-Type");
	struct problem p;

	if (!check_auth(ctx, query, &p) || !check_rate(ctx, &p) ||
		!request_bind(&ctx->rp, query, ct, m->body, m->body_len, (size_t) config.max_body, &p) ||
		(ctx->rp.route->kind == ROUTE_EVENTS &&
		 (strcmp(ctx->rp.route->name, "guest_events") == 0 ?
		  !events_guest_cursor(&ctx->rp.values[1], http_msg_field(ctx->req, "Last-Event-ID"), &p) :
		  !events_cursor(&ctx->rp.values[2], http_msg_field(ctx->req, "Last-Event-ID"), &p))))
	{
		finish_problem(ctx, &p, NULL);
		return;
	}
	if (ctx->rp.route->kind == ROUTE_EVENTS)
	{
		serve_events(ctx);
		return;
	}
	/* What the gateway knows (presence), and typing answered from its cache. */
	for (int i = 0; i < ctx->rp.route->nparams; i++)
		if (ctx->rp.route->params[i].source == PARAM_GATEWAY && ctx->gateway_value == NULL)
		{
			ctx->gateway_value = events_gateway_value(ctx->rp.route->name,
													  ctx->rp.route->params[i].name,
													  ctx->rp.values, ctx->rp.nvalues);
			ctx->rp.values[i] = ctx->gateway_value;
		}
	if (strcmp(ctx->rp.route->name, "typing_check") == 0 &&
		events_typing(ctx->rp.values[0], ctx->rp.values[1]))
	{
		finish(ctx, 204, NULL, NULL, NULL, 0);
		return;
	}
	if (ctx->rp.route->kind == ROUTE_PAGES)
	{
		/* The first page: the cursor parameter after the route's is NULL. */
		ctx->rp.values[ctx->rp.nvalues] = NULL;
		pool_job_init(&ctx->job, srv.stmts[ctx->route], ctx->rp.nvalues + 1, ctx->rp.values,
					  true, on_db_done, ctx);
		if (!pool_submit(srv.pool, &ctx->job, config.request_timeout_ms, false, &p))
			finish_problem(ctx, &p, NULL);
		return;
	}
	ctx->ryw_guest = acting_guest(&ctx->rp);
	submit(ctx, ctx->rp.route->method == METHOD_GET && srv.read_pool != NULL &&
		   replica_read_on_replica(ctx->ryw_guest));
}

static void
serve_readyz(struct req_ctx *ctx)
{
	static const char ready[] = "{\"status\":\"ready\"}";
	struct problem p;

	if (pool_is_up(srv.pool) && auth_loaded() && token_ready())
	{
		finish(ctx, 200, "application/json", NULL, ready, sizeof(ready) - 1);
		return;
	}
	/* The cause (host names, ports) goes to the log, not to the client. */
	problem_set(&p, 503, CODE_DB_UNAVAILABLE, "%s",
				!pool_ever_up(srv.pool) ? "not connected to the database yet" :
				!pool_is_up(srv.pool) ? "the database is not reachable" :
				!auth_loaded() ? "service keys are not loaded yet" :
				"guest token revocations are not loaded yet");
	finish_problem(ctx, &p, NULL);
}

static void
serve_metrics(struct req_ctx *ctx)
{
	struct pool_stats st;
	struct events_stats ev;
	struct replica_stats rs;
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
	replica_get_stats(&rs);
	metrics_render(buf, &st, &ev, &rs, srv.in_flight);
	finish(ctx, 200, "text/plain; version=0.0.4", NULL,
		   (const char *) evbuffer_pullup(buf, -1), evbuffer_get_length(buf));
	evbuffer_free(buf);
}

/* The dev-only token endpoint (demo.h): bound like a route, no key. */
static void
serve_demo(struct req_ctx *ctx)
{
	const struct http_msg *m = &ctx->req->msg;
	struct problem p;

	ctx->rp.route = &demo_route;
	if (!request_bind(&ctx->rp, m->query, http_msg_field(ctx->req, "Content-Type"), m->body,
					  m->body_len, (size_t) config.max_body, &p))
	{
		finish_problem(ctx, &p, NULL);
		return;
	}
	ctx->demo_step = 1;
	pool_job_init(&ctx->job, srv.demo_upsert, ctx->rp.nvalues, ctx->rp.values, false,
				  on_db_done, ctx);
	if (!pool_submit(srv.pool, &ctx->job, config.request_timeout_ms, false, &p))
		finish_problem(ctx, &p, NULL);
}

/* Is origin one of PARLEY_CORS_ORIGINS (a comma list; exact matches)? */
static bool
cors_listed(const char *origin)
{
	size_t		n = strlen(origin);
	const char *s = config.cors_origins;

	while (n > 0 && s != NULL && *s != '\0')
	{
		const char *comma = strchr(s, ',');
		size_t		len = comma ? (size_t) (comma - s) : strlen(s);

		while (len > 0 && (*s == ' ' || *s == '\t'))
			s++, len--;
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == n && memcmp(s, origin, n) == 0)
			return true;
		s = comma ? comma + 1 : NULL;
	}
	return false;
}

/*
 * CORS (API.md section 7): with PARLEY_CORS_ORIGINS set, every reply says
 * Vary: Origin, and a listed origin gets Access-Control-Allow-Origin.  A
 * preflight (OPTIONS) is answered 204 here, with the allow headers for a
 * listed origin and none for another.  Returns true when it answered.
 */
static bool
cors(struct req_ctx *ctx)
{
	const char *origin = http_msg_field(ctx->req, "Origin");
	bool		listed;

	if (config.cors_origins[0] == '\0')
		return false;
	listed = origin != NULL && strlen(origin) < 200 && cors_listed(origin);
	if (listed)
		snprintf(ctx->cors, sizeof(ctx->cors),
				 "Access-Control-Allow-Origin: %s\r\nAccess-Control-Expose-Headers: Retry-After\r\n"
				 "Vary: Origin\r\n", origin);
	else
		snprintf(ctx->cors, sizeof(ctx->cors), "Vary: Origin\r\n");
	if (ctx->req->msg.method != HTTP_OPTIONS)
		return false;
	finish(ctx, 204, NULL, listed ?
		   "Access-Control-Allow-Methods: GET, HEAD, POST, PUT, PATCH, DELETE\r\n"
		   "Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID\r\n"
		   "Access-Control-Max-Age: 600\r\n" : NULL, NULL, 0);
	return true;
}

/* PARLEY_DEMO=1: a file of the demo page (demo_page.c); routes come first. */
static void
serve_demo_page(struct req_ctx *ctx)
{
	struct demo_page_file f;
	struct problem p;

	if (!demo_page_serve(ctx->req->msg.path,
						 ctx->method == METHOD_GET || ctx->method == METHOD_HEAD, &f, &p))
	{
		finish_problem(ctx, &p, p.status == 405 ? "GET, HEAD" : NULL);
		return;
	}
	finish(ctx, f.status, f.content_type, f.extra, f.body, f.len);
	free(f.body);
}

static void
on_request(struct client *c, const struct http_parse *req, void *arg)
{
	const struct http_msg *m = &req->msg;
	struct req_ctx *ctx = calloc(1, sizeof(*ctx));
	static const char ok[] = "{\"status\":\"ok\"}";
	char		allow[64];
	struct problem p;

	(void) arg;
	if (ctx == NULL)
	{
		problem_set(&p, 500, CODE_INTERNAL, "out of memory");
		client_reply_problem(c, &p, NULL);
		return;
	}
	srv.in_flight++;
	clock_gettime(CLOCK_MONOTONIC, &ctx->t0);
	ctx->client = c;
	ctx->req = req;
	ctx->route = -1;
	ctx->method = method_of(m->method);
	log_sanitize(m->path, ctx->path, sizeof(ctx->path));
	request_parse_init(&ctx->rp);

	if (cors(ctx))
		return;
	if (config.demo && demo_matches(ctx->method, m->path))
	{
		serve_demo(ctx);
		return;
	}
	if (!request_route(&ctx->rp, ctx->method, m->path, &p, allow, sizeof(allow)))
	{
		if (p.status == 404 && demo_page_owns(m->path))
			serve_demo_page(ctx);
		else
			finish_problem(ctx, &p, allow);
		return;
	}
	ctx->route = (int) (ctx->rp.route - routes);
	switch (ctx->rp.route->kind)
	{
		case ROUTE_SQL:
		case ROUTE_EVENTS:
		case ROUTE_PAGES:
			serve_sql(ctx, m->query);
			return;
		case ROUTE_HEALTHZ:
			finish(ctx, 200, "application/json", NULL, ok, sizeof(ok) - 1);
			return;
		case ROUTE_READYZ:
			serve_readyz(ctx);
			return;
		case ROUTE_METRICS:
			serve_metrics(ctx);
			return;
		case ROUTE_OPENAPI:
			finish(ctx, 200, "application/json", NULL, srv.openapi, strlen(srv.openapi));
			return;
	}
}

/* A request that client.c refused itself: logged and counted like the rest. */
static void
on_refused(int status, const char *code, void *arg)
{
	(void) arg;
	log_info("- - %d (%s)", status, code);
	metrics_request(-1, status, 0.0);
}

static const struct client_callbacks callbacks = {
	.request = on_request,
	.refused = on_refused,
};

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
	srv.base = base;
	srv.read_pool = replica_pool();
	srv.openapi = openapi_json;
	for (int i = 0; i < nroutes; i++)
	{
		if (routes[i].sql != NULL &&
			(srv.stmts[i] = pool_statement(pool, routes[i].name, routes[i].sql)) == NULL)
		{
			snprintf(err, errlen, "out of memory");
			return false;
		}
		/* The read pool prepares only what it runs: the GET routes' reads. */
		if (srv.read_pool != NULL && routes[i].sql != NULL && routes[i].kind == ROUTE_SQL &&
			routes[i].method == METHOD_GET &&
			(srv.read_stmts[i] = pool_statement(srv.read_pool, routes[i].name, routes[i].sql)) == NULL)
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
	ratelimit_setup(config.rate_limit, config.rate_burst);
	ratelimit_setup_guest(config.guest_rate_limit, config.guest_rate_burst);
	for (int i = 0; i < nroutes; i++)
		if (strcmp(routes[i].name, "guest_token_claims") == 0)
			routes_mint_name = routes[i].name;
	if (config.demo &&
		((srv.demo_upsert = pool_statement(pool, "demo_upsert", demo_route.sql)) == NULL ||
		 (srv.demo_claims = pool_statement(pool, "demo_claims", DEMO_CLAIMS_SQL)) == NULL))
	{
		snprintf(err, errlen, "out of memory");
		return false;
	}
	if (config.demo)
		log_warn("PARLEY_DEMO=1: POST %s mints a token for any guest without a key (never in production)",
				 DEMO_PATH);
	if (!token_setup(base, pool, on_guest_revoked, err, errlen))
		return false;
	if (!demo_page_setup(err, errlen))
		return false;
	lev = accept_listen(base, host, port, err, errlen);
	if (lev == NULL)
		return false;

	/*
	 * Bodies up to twice the limit are read so that the handler can answer
	 * 413 in its order of checks (after 404 and 401); bigger ones are 413
	 * from client.c, which then closes the connection.
	 */
	client_server_start(base, lev, (size_t) config.max_body * 2, config.http_timeout,
						&callbacks, NULL);
	log_info("listening on http://%s", config.listen);
	return true;
}

void
http_drain(void (*idle_cb) (void *), void *arg)
{
	events_close_all();			/* streams never end by themselves */
	client_server_drain(idle_cb, arg);
}

int
http_in_flight(void)
{
	return srv.in_flight;
}

void
http_free(void)
{
	client_server_free();
	ratelimit_free();
	token_shutdown();
	demo_page_free();
}
