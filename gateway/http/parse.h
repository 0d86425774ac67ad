/*
 * parse.h
 *	  One client connection's request parser: llhttp in strict mode plus the
 *	  checks of RFC 9112 that llhttp leaves to its user, and the size limits.
 *	  Pure: bytes in, requests or one error out; no sockets, no libevent
 *	  (test/fuzz/fuzz_http.c drives it directly).
 *
 *	  Invariants:
 *	  - requests come out one at a time: after HTTP_PARSE_REQUEST the parser
 *	    reads nothing more until http_parse_next() (the caller answers the
 *	    request first, so replies go out in request order);
 *	  - after HTTP_PARSE_ERROR the parser is dead: the caller answers the
 *	    error with "Connection: close" and parses nothing more from that
 *	    connection, so bytes after a framing error are never executed;
 *	  - a request that is not kept alive (HTTP/1.0 without keep-alive,
 *	    "Connection: close", CONNECT or Upgrade) is the connection's last.
 */
#ifndef PARLEY_HTTP_PARSE_H
#define PARLEY_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <llhttp.h>

/* The request line and header section, and the request target's share. */
#define HTTP_MAX_HEAD		(16 * 1024)
#define HTTP_MAX_URL		(8 * 1024)
#define HTTP_MAX_FIELDS		100

/* A growable byte buffer with a hard limit. */
struct http_buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
};

/* A header field: offsets into the parser's head buffer. */
struct http_field
{
	uint32_t	name;
	uint32_t	name_len;
	uint32_t	value;
	uint32_t	value_len;
};

/* One request as parsed; valid until http_parse_next() or _free(). */
struct http_msg
{
	llhttp_method_t method;
	const char *method_name;	/* "GET", ... */
	int			http_major;
	int			http_minor;
	const char *url;			/* the request target as sent */
	const char *path;			/* its path (absolute-form reduced) */
	const char *query;			/* after '?', NULL when there is none */
	const char *body;			/* "" when there is none */
	size_t		body_len;
	bool		keep_alive;		/* the connection may serve another request */
	bool		head;			/* method HEAD: the reply has no body */
};

enum http_parse_result
{
	HTTP_PARSE_MORE,			/* all bytes taken; send more */
	HTTP_PARSE_REQUEST,			/* a complete request in http_parse.msg */
	HTTP_PARSE_ERROR			/* http_parse.err says what to answer */
};

/* What to answer when the bytes are refused: a problem, then close. */
struct http_parse_error
{
	int			status;			/* 400, 408, 413, 414, 431, 501, 505 */
	const char *code;			/* errors.h CODE_* */
	char		detail[160];
};

struct http_parse
{
	llhttp_t	llh;
	size_t		max_body;		/* bodies beyond this are refused here */
	struct http_buf head;		/* url, then field names and values */
	struct http_buf body;
	struct http_field fields[HTTP_MAX_FIELDS];
	int			nfields;
	size_t		head_bytes;		/* bytes of this request's head so far */
	size_t		trailer_bytes;	/* bytes of its trailer fields */
	uint32_t	url_len;
	bool		in_field;		/* a field name is being read */
	bool		in_value;		/* its value is being read */
	bool		headers_done;	/* into the body (or trailers) */
	bool		want_continue;	/* "Expect: 100-continue": see below */
	const char *field_end;		/* where the field name's last piece ended */
	const char *value_end;		/* where the value's last piece ended */
	bool		gap_lf;			/* a line feed after the name, before a value */
	const char *feed_start;		/* the bytes being fed now */
	const char *last_feed_end;	/* the end of the bytes fed before */
	bool		in_message;		/* between message begin and complete */
	bool		failed;
	struct http_msg msg;
	struct http_parse_error err;
};

/* max_body: the largest body read at all (bigger ones are a 413 here). */
void		http_parse_init(struct http_parse *p, size_t max_body);
void		http_parse_free(struct http_parse *p);

/*
 * Feed len bytes; *used gets how many were taken (all of them for
 * HTTP_PARSE_MORE; up to the end of the request for HTTP_PARSE_REQUEST;
 * meaningless for HTTP_PARSE_ERROR).  The caller keeps the rest and feeds
 * it again after http_parse_next().
 *
 * want_continue is set when a request's head asked for "100 Continue" and
 * its body is still to come; the caller sends the interim response and
 * clears the flag.
 */
enum http_parse_result http_parse_feed(struct http_parse *p, const char *data,
									   size_t len, size_t *used);

/* The request in msg was answered: get ready for the next one. */
void		http_parse_next(struct http_parse *p);

/* Is a request partly read (for a timeout: 408 rather than a silent close)? */
bool		http_parse_mid_request(const struct http_parse *p);

/*
 * The value of field name (case-insensitive) of the current request, NUL-
 * terminated, or NULL.  The parser refuses requests that repeat the fields
 * it looks up for the caller (Host, Authorization, Content-Type, ...), so
 * "the" value is well-defined.
 */
const char *http_msg_field(const struct http_parse *p, const char *name);

/* A status's reason phrase ("Not Found"). */
const char *http_reason(int status);

#endif							/* PARLEY_HTTP_PARSE_H */
