/*
 * fuzz_http.c
 *	  libFuzzer target: bytes from a client through parleyd's request
 *	  parser (gateway/http/parse.c: llhttp in strict mode plus the RFC 9112
 *	  checks), the way client.c drives it: feed, take a request, answer it
 *	  (http_parse_next), go on while the connection is kept alive.
 *
 *	  Input: byte 0 picks the size of the pieces the rest arrives in (1 to
 *	  64 bytes, or all at once); the rest is what the client sends.
 *	  Invariants:
 *	  - the same bytes give the same requests, and a refusal or none,
 *	    whether they arrive at once or in pieces (framing cannot depend on
 *	    how TCP splits them: a difference is a smuggling vector);
 *	  - a request is HTTP/1.x, with a path, a body within the limit, one
 *	    Host in HTTP/1.1, and no repeated Host or Authorization;
 *	  - a refusal is a valid problem with a 4xx/5xx status and stops the
 *	    connection; nothing after it is parsed.
 */
#include "fuzz_common.h"
#include "http/parse.h"

#define FUZZ_MAX_BODY 4096
#define FUZZ_MAX_REQUESTS 64

/* What a connection made of the bytes: a digest of each request, then the end. */
struct outcome
{
	int			nrequests;
	uint64_t	digest[FUZZ_MAX_REQUESTS];
	int			error_status;	/* 0: no refusal */
	size_t		used;			/* bytes taken before the end */
};

static uint64_t
hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (h ^ 0xff) * 1099511628211ULL;
}

static uint64_t
check_request(const struct http_parse *p)
{
	const struct http_msg *m = &p->msg;
	uint64_t	h = 1469598103934665603ULL;
	const char *names[] = {"Host", "Authorization", "Content-Type", "Last-Event-ID"};

	FUZZ_ASSERT(m->http_major == 1 && (m->http_minor == 0 || m->http_minor == 1), "HTTP/1.x");
	FUZZ_ASSERT(m->path != NULL && m->url != NULL && m->method_name != NULL, "request has a path");
	FUZZ_ASSERT(m->body != NULL && m->body_len <= FUZZ_MAX_BODY, "body within the limit");
	FUZZ_ASSERT(m->http_minor == 0 || http_msg_field(p, "Host") != NULL, "HTTP/1.1 has a Host");
	h = hash_bytes(h, m->method_name, strlen(m->method_name));
	h = hash_bytes(h, m->url, strlen(m->url));
	h = hash_bytes(h, m->path, strlen(m->path));
	if (m->query)
		h = hash_bytes(h, m->query, strlen(m->query));
	h = hash_bytes(h, m->body, m->body_len);
	h = hash_bytes(h, &m->keep_alive, sizeof(m->keep_alive));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
	{
		const char *v = http_msg_field(p, names[i]);

		if (v != NULL)
			h = hash_bytes(h, v, strlen(v));
	}
	return h;
}

static void
check_refusal(const struct http_parse *p)
{
	struct problem prob;

	FUZZ_ASSERT(p->err.code != NULL, "refusal has a code");
	problem_set(&prob, p->err.status, p->err.code, "%s", p->err.detail);
	fuzz_check_problem(&prob);
}

/* Feed data in pieces of step bytes (0: all at once), as client.c does. */
static void
run(const uint8_t *data, size_t size, size_t step, struct outcome *out)
{
	struct http_parse p;
	size_t		off = 0;
	size_t		avail = 0;		/* bytes "received" so far */

	memset(out, 0, sizeof(*out));
	http_parse_init(&p, FUZZ_MAX_BODY);
	while (off < size)
	{
		size_t		used = 0;
		enum http_parse_result r;

		if (avail <= off)
			avail = step == 0 || size - off < step ? size : off + step;
		r = http_parse_feed(&p, (const char *) data + off, avail - off, &used);
		if (r == HTTP_PARSE_ERROR)
		{
			check_refusal(&p);
			out->error_status = p.err.status;
			break;
		}
		FUZZ_ASSERT(used <= avail - off, "parser takes at most what it is given");
		off += used;
		if (r == HTTP_PARSE_MORE)
		{
			FUZZ_ASSERT(off == avail, "MORE takes every byte");
			continue;
		}
		out->digest[out->nrequests++] = check_request(&p);
		if (!p.msg.keep_alive || out->nrequests == FUZZ_MAX_REQUESTS)
			break;
		http_parse_next(&p);
	}
	out->used = off;
	http_parse_free(&p);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome whole;
	struct outcome pieces;
	size_t		step;

	if (size < 1)
		return 0;
	step = data[0] % 65;
	run(data + 1, size - 1, 0, &whole);
	run(data + 1, size - 1, step, &pieces);
	FUZZ_ASSERT(whole.nrequests == pieces.nrequests, "same number of requests in pieces");
	FUZZ_ASSERT(memcmp(whole.digest, pieces.digest, sizeof(whole.digest[0]) * (size_t) whole.nrequests) == 0,
				"same requests in pieces");
	/*
	 * Both refuse, or neither.  The status may differ: llhttp reports a
	 * field name's bytes at the end of each piece, so a limit (431) can
	 * come before the bad byte that the whole input meets first (400).
	 */
	FUZZ_ASSERT((whole.error_status != 0) == (pieces.error_status != 0), "a refusal in pieces too");
	return 0;
}
