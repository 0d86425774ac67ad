/*
 * parse.c
 *	  Requests from bytes: llhttp (Node.js's parser) with every lenient flag
 *	  off, and on top of it what RFC 9112 asks of a server that llhttp does
 *	  not check: exactly one Host in HTTP/1.1, no Transfer-Encoding in
 *	  HTTP/1.0, no obsolete line folding, no repeated fields whose value the
 *	  gateway reads, no transfer coding but "chunked", major version 1 only.
 *	  llhttp itself refuses the rest of the smuggling vectors: two
 *	  Content-Length fields, whitespace before a colon, a sign or junk in a
 *	  length or chunk size, Content-Length with Transfer-Encoding, control
 *	  characters in a field value, a space inside the request target.
 *
 *	  Every refusal is an http_parse_error; the parser is dead after one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "parse.h"

static struct http_parse *
parse_of(llhttp_t *llh)
{
	return (struct http_parse *) llh->data;
}

/*
 * Record a refusal and make llhttp stop: callbacks return HPE_USER, and
 * http_parse_feed() reports err rather than llhttp's own reason.
 */
static int
refuse(struct http_parse *p, int status, const char *code, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static int
refuse(struct http_parse *p, int status, const char *code, const char *fmt,...)
{
	va_list		ap;

	if (!p->failed)
	{
		p->failed = true;
		p->err.status = status;
		p->err.code = code;
		va_start(ap, fmt);
		vsnprintf(p->err.detail, sizeof(p->err.detail), fmt, ap);
		va_end(ap);
	}
	return HPE_USER;
}

/* Append to b, growing it up to limit bytes; false when that would pass. */
static bool
buf_add(struct http_buf *b, const char *data, size_t len, size_t limit)
{
	if (len == 0)
		return true;
	if (len > limit - b->len)
		return false;
	if (b->len + len > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 512;
		char	   *d;
		/* data may lie in b itself (split_target copies from the url) */
		bool		inside = b->data != NULL && (uintptr_t) data >= (uintptr_t) b->data &&
			(uintptr_t) data < (uintptr_t) b->data + b->len;
		size_t		off = inside ? (size_t) (data - b->data) : 0;

		while (cap < b->len + len)
			cap *= 2;
		if (cap > limit)
			cap = limit;
		d = realloc(b->data, cap);
		if (d == NULL)
			return false;
		b->data = d;
		b->cap = cap;
		if (inside)
			data = d + off;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return true;
}

/*
 * The head buffer holds the url and each field's name and value, each NUL-
 * terminated.  Its limit is a little over HTTP_MAX_HEAD: the bytes on the
 * wire are bounded separately (head_bytes), this only bounds the copy.
 */
#define HEAD_BUF_LIMIT (HTTP_MAX_HEAD + HTTP_MAX_FIELDS * 2 + 512)

static int
head_add(struct http_parse *p, const char *data, size_t len)
{
	if (!buf_add(&p->head, data, len, HEAD_BUF_LIMIT))
		return refuse(p, 431, CODE_HEADER_TOO_LARGE,
					  "the request head is over %d bytes", HTTP_MAX_HEAD);
	return 0;
}

/* Trailer fields (after a chunked body) are not used; only bounded. */
static int
trailer_add(struct http_parse *p, size_t len)
{
	p->trailer_bytes += len;
	if (p->trailer_bytes > HTTP_MAX_HEAD)
		return refuse(p, 431, CODE_HEADER_TOO_LARGE, "the trailer section is over %d bytes", HTTP_MAX_HEAD);
	return 0;
}

static int
on_message_begin(llhttp_t *llh)
{
	struct http_parse *p = parse_of(llh);

	p->head.len = 0;
	p->body.len = 0;
	p->nfields = 0;
	p->url_len = 0;
	p->in_field = false;
	p->in_value = false;
	p->headers_done = false;
	p->want_continue = false;
	p->in_message = true;
	p->trailer_bytes = 0;
	memset(&p->msg, 0, sizeof(p->msg));
	return 0;
}

static int
on_url(llhttp_t *llh, const char *at, size_t len)
{
	struct http_parse *p = parse_of(llh);

	if (len > HTTP_MAX_URL - p->url_len)
		return refuse(p, 414, CODE_URI_TOO_LONG, "the request target is over %d bytes", HTTP_MAX_URL);
	p->url_len += (uint32_t) len;
	return head_add(p, at, len);
}

static int
on_url_complete(llhttp_t *llh)
{
	return head_add(parse_of(llh), "", 1);
}

/* A field name starts or goes on. */
static int
on_header_field(llhttp_t *llh, const char *at, size_t len)
{
	struct http_parse *p = parse_of(llh);

	if (p->headers_done)
		return trailer_add(p, len);
	if (!p->in_field)
	{
		struct http_field *f;

		if (p->nfields == HTTP_MAX_FIELDS)
			return refuse(p, 431, CODE_HEADER_TOO_LARGE,
						  "more than %d header fields", HTTP_MAX_FIELDS);
		f = &p->fields[p->nfields++];
		memset(f, 0, sizeof(*f));
		f->name = (uint32_t) p->head.len;
		p->in_field = true;
	}
	p->fields[p->nfields - 1].name_len += (uint32_t) len;
	p->field_end = at + len;
	return head_add(p, at, len);
}

static int
on_header_field_complete(llhttp_t *llh)
{
	struct http_parse *p = parse_of(llh);

	if (p->headers_done)
		return 0;
	p->in_field = false;
	p->in_value = true;
	p->value_end = NULL;
	p->gap_lf = false;
	p->fields[p->nfields - 1].value = (uint32_t) p->head.len + 1;
	return head_add(p, "", 1);
}

/*
 * Is there a line feed between the end of the field name and "end" in the
 * bytes being fed (only what lies in them can be looked at; the feed
 * loop looks at the rest, see gap_lf)?
 */
static bool
gap_has_lf(const struct http_parse *p, const char *end)
{
	const char *from = p->feed_start;

	if ((uintptr_t) p->field_end >= (uintptr_t) p->feed_start &&
		(uintptr_t) p->field_end <= (uintptr_t) end)
		from = p->field_end;
	return memchr(from, '\n', (size_t) (end - from)) != NULL;
}

/*
 * Obsolete line folding (a field line that starts with white space goes on
 * with the previous value): RFC 9112 5.2 lets a server refuse it, and a
 * folded Content-Length or Host is a smuggling vector.  llhttp reports a
 * folded value as one value in pieces; a piece that does not start where
 * the last one ended (in the same bytes, or at the start of the next feed
 * when the last one ended a feed) skipped the line break; so did a first
 * piece after a line break ("X:" CRLF SP "y" is the value "y" to llhttp).
 */
static int
on_header_value(llhttp_t *llh, const char *at, size_t len)
{
	struct http_parse *p = parse_of(llh);

	if (p->headers_done)
		return trailer_add(p, len);
	if (len == 0)
		return 0;				/* an empty value: llhttp reports it after its CRLF */
	if (!p->in_value ||
		(p->value_end == NULL && (p->gap_lf || gap_has_lf(p, at))) ||
		(p->value_end != NULL && at != p->value_end &&
		 !(at == p->feed_start && p->value_end == p->last_feed_end)))
		return refuse(p, 400, CODE_BAD_REQUEST, "obsolete line folding in a header field");
	p->value_end = at + len;
	p->fields[p->nfields - 1].value_len += (uint32_t) len;
	return head_add(p, at, len);
}

static int
on_header_value_complete(llhttp_t *llh)
{
	struct http_parse *p = parse_of(llh);
	struct http_field *f;

	if (p->headers_done)
		return 0;
	if (!p->in_value)
		return refuse(p, 400, CODE_BAD_REQUEST, "obsolete line folding in a header field");
	f = &p->fields[p->nfields - 1];
	/* llhttp skips white space before a value, not after it */
	while (f->value_len > 0 &&
		   (p->head.data[f->value + f->value_len - 1] == ' ' ||
			p->head.data[f->value + f->value_len - 1] == '\t'))
	{
		f->value_len--;
		p->head.len--;
	}
	p->in_value = false;
	return head_add(p, "", 1);
}

/* How many fields are called name; the last one's index in *at. */
static int
count_field(const struct http_parse *p, const char *name, int *at)
{
	int			n = 0;

	for (int i = 0; i < p->nfields; i++)
		if (strcasecmp(p->head.data + p->fields[i].name, name) == 0)
		{
			n++;
			if (at != NULL)
				*at = i;
		}
	return n;
}

const char *
http_msg_field(const struct http_parse *p, const char *name)
{
	int			at = -1;

	if (count_field(p, name, &at) == 0)
		return NULL;
	return p->head.data + p->fields[at].value;
}

/*
 * Fields the gateway reads by name: more than one of any of them is 400,
 * so that no hop in front of parleyd can have read a different one (two
 * Authorization lines must never authenticate with the first).
 */
static const char *const single_fields[] = {
	"Host", "Authorization", "Content-Type", "Transfer-Encoding", "Expect",
	"Last-Event-ID",
};

/* RFC 3986 authority: userinfo@host:port, host a name or [IPv6]. */
#define AUTHORITY_CHARS \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@%[]"

/* Split the request target into path and query, NUL-terminated copies. */
static int
split_target(struct http_parse *p)
{
	const char *url = p->head.data;
	const char *path = url;
	size_t		plen;
	const char *q;
	size_t		path_at;
	size_t		query_at = 0;

	/* absolute-form (RFC 9112 3.2.2): the path of http://host/path */
	if (strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0)
	{
		const char *auth = strstr(url, "//") + 2;
		size_t		alen = strcspn(auth, "/?#");
		const char *open = memchr(auth, '[', alen);

		if (alen == 0 || strspn(auth, AUTHORITY_CHARS) < alen ||
			(open != NULL && memchr(open, ']', alen - (size_t) (open - auth)) == NULL))
			return refuse(p, 400, CODE_BAD_REQUEST, "malformed authority in the request target");
		path = auth[alen] == '/' ? auth + alen : "/";
	}
	q = strchr(path, '?');
	plen = q ? (size_t) (q - path) : strlen(path);
	if (strchr(path, '#') != NULL && (q == NULL || strchr(path, '#') < q))
		plen = (size_t) (strchr(path, '#') - path);

	path_at = p->head.len;
	if (head_add(p, path, plen) != 0 || head_add(p, "", 1) != 0)
		return HPE_USER;
	if (q != NULL)
	{
		/* head_add may move the buffer: find q again by offset */
		size_t		qoff = (size_t) (q - url) + 1;
		size_t		qlen = strcspn(p->head.data + qoff, "#");

		query_at = p->head.len;
		if (head_add(p, p->head.data + qoff, qlen) != 0 || head_add(p, "", 1) != 0)
			return HPE_USER;
	}
	p->msg.url = p->head.data;
	p->msg.path = p->head.data + path_at;
	p->msg.query = q ? p->head.data + query_at : NULL;
	return 0;
}

/* The checks that need the whole head. */
static int
on_headers_complete(llhttp_t *llh)
{
	struct http_parse *p = parse_of(llh);
	const char *te;
	const char *expect;
	int			hosts;

	p->headers_done = true;
	p->msg.method = (llhttp_method_t) llh->method;
	p->msg.method_name = llhttp_method_name(p->msg.method);
	p->msg.http_major = llh->http_major;
	p->msg.http_minor = llh->http_minor;
	p->msg.head = llh->method == HTTP_HEAD;

	if (llh->http_major != 1)
		return refuse(p, 505, CODE_HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.0 and HTTP/1.1 are served");
	hosts = count_field(p, "Host", NULL);
	if (hosts == 0 && llh->http_minor == 1)
		return refuse(p, 400, CODE_BAD_REQUEST, "an HTTP/1.1 request needs a Host field");
	for (size_t i = 0; i < sizeof(single_fields) / sizeof(single_fields[0]); i++)
		if (count_field(p, single_fields[i], NULL) > 1)
			return refuse(p, 400, CODE_BAD_REQUEST, "more than one %s field", single_fields[i]);

	te = http_msg_field(p, "Transfer-Encoding");
	if (te != NULL)
	{
		if (llh->http_minor == 0)
			return refuse(p, 400, CODE_BAD_REQUEST,
						  "Transfer-Encoding in an HTTP/1.0 request");
		/*
		 * RFC 9112 6.3: chunked not last is 400 (llhttp checks that only
		 * when it reads the body); another coding before it is one this
		 * server does not implement (6.1: 501).
		 */
		if (!(llh->flags & F_CHUNKED))
			return refuse(p, 400, CODE_BAD_REQUEST,
						  "Transfer-Encoding must end with chunked");
		if (strcasecmp(te, "chunked") != 0)
			return refuse(p, 501, CODE_NOT_IMPLEMENTED,
						  "transfer coding \"%s\" is not supported; send chunked alone", te);
	}
	if ((llh->flags & F_CONTENT_LENGTH) && llh->content_length > p->max_body)
		return refuse(p, 413, CODE_TOO_LARGE, "the request body is over the limit");

	expect = http_msg_field(p, "Expect");
	if (expect != NULL && strcasecmp(expect, "100-continue") == 0 && llh->http_minor == 1 &&
		((llh->flags & F_CHUNKED) || llh->content_length > 0))
		p->want_continue = true;

	return split_target(p);
}

static int
on_body(llhttp_t *llh, const char *at, size_t len)
{
	struct http_parse *p = parse_of(llh);

	if (!buf_add(&p->body, at, len, p->max_body))
		return refuse(p, 413, CODE_TOO_LARGE, "the request body is over the limit");
	return 0;
}

/* Stop after each request: it is answered before the next is read. */
static int
on_message_complete(llhttp_t *llh)
{
	struct http_parse *p = parse_of(llh);

	p->want_continue = false;
	p->in_message = false;
	p->msg.body = p->body.len > 0 ? p->body.data : "";
	p->msg.body_len = p->body.len;
	/* CONNECT and Upgrade end HTTP on the connection: answer and close. */
	p->msg.keep_alive = llhttp_should_keep_alive(llh) && !llh->upgrade;
	return HPE_PAUSED;
}

static llhttp_settings_t settings;

void
http_parse_init(struct http_parse *p, size_t max_body)
{
	if (settings.on_message_complete == NULL)
	{
		llhttp_settings_init(&settings);
		settings.on_message_begin = on_message_begin;
		settings.on_url = on_url;
		settings.on_url_complete = on_url_complete;
		settings.on_header_field = on_header_field;
		settings.on_header_field_complete = on_header_field_complete;
		settings.on_header_value = on_header_value;
		settings.on_header_value_complete = on_header_value_complete;
		settings.on_headers_complete = on_headers_complete;
		settings.on_body = on_body;
		settings.on_message_complete = on_message_complete;
	}
	memset(p, 0, sizeof(*p));
	/* strict: llhttp_init leaves every lenient flag off; never set one */
	llhttp_init(&p->llh, HTTP_REQUEST, &settings);
	p->llh.data = p;
	p->max_body = max_body;
}

void
http_parse_free(struct http_parse *p)
{
	free(p->head.data);
	free(p->body.data);
	p->head.data = p->body.data = NULL;
	p->head.cap = p->body.cap = 0;
}

/* llhttp's own refusals, as problems. */
static void
refuse_llhttp(struct http_parse *p, llhttp_errno_t e)
{
	const char *why = llhttp_get_error_reason(&p->llh);

	switch (e)
	{
		case HPE_INVALID_METHOD:
			refuse(p, 501, CODE_NOT_IMPLEMENTED, "unknown method");
			break;
		case HPE_INVALID_VERSION:
			/*
			 * llhttp in strict mode knows 1.0 and 1.1 (and 0.9, 2.0, which
			 * on_headers_complete refuses).  RFC 9110 6.2 lets a server
			 * refuse a version with 505 "for any reason".
			 */
			refuse(p, 505, CODE_HTTP_VERSION_NOT_SUPPORTED, "only HTTP/1.0 and HTTP/1.1 are served");
			break;
		default:
			refuse(p, 400, CODE_BAD_REQUEST, "malformed request: %s", why ? why : "?");
			break;
	}
}

enum http_parse_result
http_parse_feed(struct http_parse *p, const char *data, size_t len, size_t *used)
{
	llhttp_errno_t e;
	size_t		n = len;

	*used = 0;
	if (p->failed)
		return HTTP_PARSE_ERROR;

	/*
	 * The head is bounded on the wire, not only in what the callbacks see
	 * (llhttp skips white space and empty lines without a callback): feed
	 * at most one byte past the limit while in the head.
	 */
	if (!p->headers_done && n > HTTP_MAX_HEAD + 1 - p->head_bytes)
		n = HTTP_MAX_HEAD + 1 - p->head_bytes;

	p->feed_start = data;
	e = llhttp_execute(&p->llh, data, n);
	if (e == HPE_OK && p->in_value && p->value_end == NULL && !p->headers_done)
		p->gap_lf = p->gap_lf || gap_has_lf(p, data + n);	/* value not begun */
	p->last_feed_end = data + n;
	if (e == HPE_OK)
		*used = n;
	else if (e == HPE_PAUSED)
		*used = (size_t) (llhttp_get_error_pos(&p->llh) - data);
	else
	{
		if (!p->failed)
			refuse_llhttp(p, e);
		return HTTP_PARSE_ERROR;
	}
	if (e == HPE_PAUSED)
		return HTTP_PARSE_REQUEST;

	/* Took all n bytes: count what belonged to the head. */
	if (!p->headers_done)
	{
		p->head_bytes += n;
		if (p->head_bytes > HTTP_MAX_HEAD)
		{
			refuse(p, 431, CODE_HEADER_TOO_LARGE, "the request head is over %d bytes", HTTP_MAX_HEAD);
			return HTTP_PARSE_ERROR;
		}
	}
	if (n < len)
	{
		/* the head ended inside the slice: go on with the rest */
		size_t		more = 0;
		enum http_parse_result r = http_parse_feed(p, data + n, len - n, &more);

		*used = n + more;
		return r;
	}
	return HTTP_PARSE_MORE;
}

void
http_parse_next(struct http_parse *p)
{
	p->head_bytes = 0;
	p->headers_done = false;
	llhttp_resume(&p->llh);
}

bool
http_parse_mid_request(const struct http_parse *p)
{
	return p->in_message;
}

const char *
http_reason(int status)
{
	switch (status)
	{
		case 100: return "Continue";
		case 200: return "OK";
		case 201: return "Created";
		case 204: return "No Content";
		case 308: return "Permanent Redirect";
		case 400: return "Bad Request";
		case 401: return "Unauthorized";
		case 403: return "Forbidden";
		case 404: return "Not Found";
		case 405: return "Method Not Allowed";
		case 408: return "Request Timeout";
		case 409: return "Conflict";
		case 413: return "Content Too Large";
		case 414: return "URI Too Long";
		case 415: return "Unsupported Media Type";
		case 422: return "Unprocessable Content";
		case 429: return "Too Many Requests";
		case 431: return "Request Header Fields Too Large";
		case 500: return "Internal Server Error";
		case 501: return "Not Implemented";
		case 503: return "Service Unavailable";
		case 504: return "Gateway Timeout";
		case 505: return "HTTP Version Not Supported";
		default: return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Error";
	}
}
