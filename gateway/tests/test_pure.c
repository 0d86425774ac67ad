/*
 * test_pure.c
 *	  Unit tests of the pure request path: routing, percent-decoding,
 *	  parameter binding, JSON body checks, the SQLSTATE table, problem
 *	  bodies.  No network, no database.  `make -C gateway check` runs it;
 *	  test/tap/006_units.pl runs that.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "decimal.h"
#include "errors.h"
#include "http/json_check.h"
#include "http/request.h"

static int	failures;
static int	checks;

#define CHECK(cond, ...) \
	do { \
		checks++; \
		if (!(cond)) { \
			failures++; \
			printf("FAIL %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__); \
			printf("\n"); \
		} \
	} while (0)

static void
test_percent_decode(void)
{
	char		out[64];

	CHECK(percent_decode("a%41b", 5, false, out) == 3 && strcmp(out, "aAb") == 0, "a%%41b");
	CHECK(percent_decode("a+b", 3, true, out) == 3 && strcmp(out, "a b") == 0, "plus as space");
	CHECK(percent_decode("a+b", 3, false, out) == 3 && strcmp(out, "a+b") == 0, "plus kept in paths");
	CHECK(percent_decode("%4", 2, false, out) == -1, "short escape");
	CHECK(percent_decode("%", 1, false, out) == -1, "bare percent");
	CHECK(percent_decode("%zz", 3, false, out) == -1, "bad hex");
	CHECK(percent_decode("a%00", 4, false, out) == -1, "decoded NUL");
	CHECK(percent_decode("%2F", 3, false, out) == 1 && strcmp(out, "/") == 0, "slash");
}

/* Route method + path; returns the route name, "404", or "405:<allow>". */
static const char *
route_of(enum http_method m, const char *path)
{
	static char buf[128];
	struct request_parse rp;
	struct problem p;
	char		allow[64];

	request_parse_init(&rp);
	if (request_route(&rp, m, path, &p, allow, sizeof(allow)))
		snprintf(buf, sizeof(buf), "%s", rp.route->name);
	else if (p.status == 405)
		snprintf(buf, sizeof(buf), "405:%s", allow);
	else
		snprintf(buf, sizeof(buf), "%d", p.status);
	request_parse_free(&rp);
	return buf;
}

static void
test_routing(void)
{
	static const struct
	{
		enum http_method m;
		const char *path;
		const char *want;
	}			cases[] = {
		{METHOD_PUT, "/v1/guests/alice", "guest_upsert"},
		{METHOD_GET, "/v1/guests/alice", "guest_get"},
		{METHOD_POST, "/v1/guests/alice", "405:GET, HEAD, PUT, DELETE"},
		{METHOD_OTHER, "/v1/guests/alice", "405:GET, HEAD, PUT, DELETE"},
		{METHOD_HEAD, "/v1/guests/alice", "guest_get"},
		{METHOD_HEAD, "/healthz", "healthz"},
		{METHOD_HEAD, "/openapi.json", "openapi"},
		{METHOD_HEAD, "/v1/conversations", "405:POST"},
		{METHOD_HEAD, "/v1/conversations/c1/messages/7", "405:PATCH, DELETE"},
		{METHOD_HEAD, "/nowhere", "404"},
		{METHOD_PUT, "/healthz", "405:GET, HEAD"},
		{METHOD_GET, "/v1/guests/", "404"},
		{METHOD_GET, "/v1/guests/alice/", "404"},
		{METHOD_GET, "/v1/guests", "404"},
		{METHOD_GET, "//v1/guests/alice", "404"},
		{METHOD_GET, "", "404"},
		{METHOD_GET, "v1/guests/alice", "404"},
		{METHOD_GET, "/v1/guests/alice/conversations", "conversation_list"},
		{METHOD_POST, "/v1/conversations", "conversation_create"},
		{METHOD_GET, "/v1/conversations", "405:POST"},
		{METHOD_GET, "/v1/conversations/c1", "conversation_get"},
		{METHOD_POST, "/v1/conversations/c1/participants", "participant_add"},
		{METHOD_DELETE, "/v1/conversations/c1/participants/bob", "participant_remove"},
		{METHOD_POST, "/v1/conversations/c1/messages", "message_post"},
		{METHOD_GET, "/v1/conversations/c1/messages", "message_list"},
		{METHOD_PATCH, "/v1/conversations/c1/messages/7", "message_edit"},
		{METHOD_DELETE, "/v1/conversations/c1/messages/7", "message_delete"},
		{METHOD_GET, "/v1/conversations/c1/messages/7", "405:PATCH, DELETE"},
		{METHOD_POST, "/v1/conversations/c1/read", "read_mark"},
		{METHOD_GET, "/v1/conversations/c1/events", "events"},
		{METHOD_POST, "/v1/conversations/c1/events", "405:GET, HEAD"},
		{METHOD_GET, "/v1/%76%31/guests/x", "404"},
		{METHOD_GET, "/healthz", "healthz"},
		{METHOD_GET, "/readyz", "readyz"},
		{METHOD_GET, "/metrics", "metrics"},
		{METHOD_GET, "/openapi.json", "openapi"},
		{METHOD_GET, "/a/b/c/d/e/f/g/h/i/j", "404"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const char *got = route_of(cases[i].m, cases[i].path);

		CHECK(strcmp(got, cases[i].want) == 0, "%s: got %s, want %s", cases[i].path, got, cases[i].want);
	}
}

/* Bind a request; returns "ok" or "<status>:<code>". */
static const char *
bind(enum http_method m, const char *path, const char *query, const char *ct,
	 const char *body, struct request_parse *rp)
{
	static char buf[128];
	struct problem p;
	char		allow[64];

	request_parse_init(rp);
	if (!request_route(rp, m, path, &p, allow, sizeof(allow)) ||
		!request_bind(rp, query, ct, body, body ? strlen(body) : 0, 65536, &p))
	{
		snprintf(buf, sizeof(buf), "%d:%s", p.status, p.code);
		return buf;
	}
	return "ok";
}

static void
test_binding(void)
{
	struct request_parse rp;
	const char *r;
	const char *cid = "/v1/conversations/0190d6a4-0000-7000-8000-000000000000";
	char		path[256];

	r = bind(METHOD_PUT, "/v1/guests/al%69ce", NULL, "application/json", "{\"display_name\":\"A\"}", &rp);
	CHECK(strcmp(r, "ok") == 0 && rp.nvalues == 3 && strcmp(rp.values[0], "alice") == 0 &&
		  strcmp(rp.values[1], "{\"display_name\":\"A\"}") == 0 && rp.values[2] == NULL,
		  "guest_upsert binds: %s", r);
	request_parse_free(&rp);

	/* A guest token's guest is the acting guest: "as" defaults to it. */
	{
		struct problem pr;
		char		allow[64];
		static const char body[] = "{\"display_name\":\"A\"}";

		request_parse_init(&rp);
		rp.acting_guest = "bob";
		CHECK(request_route(&rp, METHOD_PUT, "/v1/guests/alice", &pr, allow, sizeof(allow)) &&
			  request_bind(&rp, NULL, "application/json", body, strlen(body), 65536, &pr) &&
			  rp.values[2] != NULL && strcmp(rp.values[2], "bob") == 0,
			  "as defaults to the token's guest");
		request_parse_free(&rp);
		request_parse_init(&rp);
		rp.acting_guest = "bob";
		CHECK(request_route(&rp, METHOD_PUT, "/v1/guests/alice", &pr, allow, sizeof(allow)) &&
			  !request_bind(&rp, "as=alice", "application/json", body, strlen(body), 65536, &pr) &&
			  pr.status == 403 && strcmp(pr.code, "guest_mismatch") == 0,
			  "an as naming another guest is 403 guest_mismatch");
		request_parse_free(&rp);
	}
	/* 0.4.0: the acting guest, when given (the extension checks it) */
	r = bind(METHOD_PUT, "/v1/guests/alice", "as=bob", "application/json", "{\"display_name\":\"A\"}", &rp);
	CHECK(strcmp(r, "ok") == 0 && rp.nvalues == 3 && rp.values[2] && strcmp(rp.values[2], "bob") == 0,
		  "guest_upsert binds as: %s", r);
	request_parse_free(&rp);

	r = bind(METHOD_PUT, "/v1/guests/a", NULL, "text/plain", "{}", &rp);
	CHECK(strcmp(r, "415:unsupported_media_type") == 0, "text/plain: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_PUT, "/v1/guests/a", NULL, NULL, "{}", &rp);
	CHECK(strcmp(r, "415:unsupported_media_type") == 0, "no content type: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_PUT, "/v1/guests/a", NULL, " Application/JSON ; charset=utf-8", "{\"display_name\":\"A\"}", &rp);
	CHECK(strcmp(r, "ok") == 0, "content type with charset: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_PUT, "/v1/guests/a", NULL, "application/jsonx", "{}", &rp);
	CHECK(strcmp(r, "415:unsupported_media_type") == 0, "application/jsonx: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_PUT, "/v1/guests/a%zz", NULL, "application/json", "{\"display_name\":\"A\"}", &rp);
	CHECK(strcmp(r, "400:validation_failed") == 0, "bad escape in a segment: %s", r);
	request_parse_free(&rp);

	snprintf(path, sizeof(path), "%s/messages/7", cid);
	r = bind(METHOD_DELETE, path, "as=bob", NULL, NULL, &rp);
	CHECK(strcmp(r, "ok") == 0 && rp.nvalues == 3 && strcmp(rp.values[1], "7") == 0 &&
		  strcmp(rp.values[2], "bob") == 0, "message_delete binds: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_DELETE, path, NULL, NULL, NULL, &rp);
	CHECK(strcmp(r, "400:validation_failed") == 0, "missing as: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_DELETE, path, "as=", NULL, NULL, &rp);
	CHECK(strcmp(r, "400:validation_failed") == 0, "empty as: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_DELETE, path, "as=a&as=b", NULL, NULL, &rp);
	CHECK(strcmp(r, "400:validation_failed") == 0, "as twice: %s", r);
	request_parse_free(&rp);

	for (const char *const *seq = (const char *const[]) {"0", "000", "-1", "1.0", "1e3", "x",
		"+1", " 1", "1 ", "0x10", "1_0", "%2D1", NULL}; *seq; seq++)
	{
		snprintf(path, sizeof(path), "%s/messages/%s", cid, *seq);
		r = bind(METHOD_DELETE, path, "as=bob", NULL, NULL, &rp);
		CHECK(strcmp(r, "400:validation_failed") == 0, "seq %s: %s", *seq, r);
		request_parse_free(&rp);
	}
	snprintf(path, sizeof(path), "%s/messages/007", cid);
	r = bind(METHOD_DELETE, path, "as=bob", NULL, NULL, &rp);
	CHECK(strcmp(r, "ok") == 0, "seq 007: %s", r);
	request_parse_free(&rp);

	snprintf(path, sizeof(path), "%s/messages", cid);
	r = bind(METHOD_GET, path, "as=bob&before=5&limit=10&x=%zz", NULL, NULL, &rp);
	CHECK(strcmp(r, "400:validation_failed") == 0, "bad escape in an unknown parameter: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_GET, path, "as=b%6Fb&before=5&limit=10&other=1", NULL, NULL, &rp);
	CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[1], "bob") == 0 && strcmp(rp.values[2], "5") == 0 &&
		  rp.values[3] == NULL && strcmp(rp.values[4], "10") == 0, "message_list binds: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_GET, path, "as=bob&limit=ten", NULL, NULL, &rp);
	CHECK(strcmp(r, "400:validation_failed") == 0, "limit=ten: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_GET, path, "as=bob&after=-3", NULL, NULL, &rp);
	CHECK(strcmp(r, "ok") == 0, "a negative integer is the extension's to judge: %s", r);
	request_parse_free(&rp);

	r = bind(METHOD_GET, "/v1/guests/g/conversations", "before=opaque%2Bcursor", NULL, NULL, &rp);
	CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[1], "opaque+cursor") == 0 && rp.values[3] == NULL,
		  "conversation_list binds: %s", r);
	request_parse_free(&rp);

	{
		char	   *big = malloc(70001);

		memset(big, 'x', 70000);
		big[70000] = '\0';
		r = bind(METHOD_PUT, "/v1/guests/a", NULL, "application/json", big, &rp);
		CHECK(strcmp(r, "413:payload_too_large") == 0, "70000 bytes: %s", r);
		request_parse_free(&rp);
		free(big);
	}
}

/* json_check_body on a PUT guest body; returns "ok" or the code. */
static const char *
body_check(const char *body, size_t len)
{
	static const struct json_field fields[] = {
		{"display_name", JF_STRING, true},
		{"metadata", JF_ANY, false},
		{"seq", JF_INTEGER, false},
		{"list", JF_STRING_ARRAY, false},
		{"title", JF_STRING_OR_NULL, false},
		{NULL, 0, false}
	};
	struct problem p;
	char	   *copy = malloc(len + 1);
	bool		ok;

	memcpy(copy, body, len);
	copy[len] = '\0';
	ok = json_check_body(copy, len, fields, NULL, &p);
	free(copy);
	return ok ? "ok" : p.code;
}

#define BODY(s) body_check(s, sizeof(s) - 1)

/* A guest body whose metadata nests levels objects/arrays (metadata = 1). */
static const char *
nested_metadata(int levels, bool arrays)
{
	static char buf[16384];
	size_t		n = (size_t) sprintf(buf, "{\"display_name\":\"A\",\"metadata\":");

	for (int i = 0; i < levels; i++)
		n += (size_t) sprintf(buf + n, "%s", (i == 0 || !arrays) ? "{\"k\":" : "[");
	buf[n++] = '1';
	for (int i = levels - 1; i >= 0; i--)
		buf[n++] = (i == 0 || !arrays) ? '}' : ']';
	buf[n++] = '}';
	buf[n] = '\0';
	return body_check(buf, n);
}

/*
 * API.md section 6: the metadata object is level 1; more than 32 levels
 * is validation_failed, however deep (2,000 was invalid_json).
 */
static void
test_json_depth(void)
{
	CHECK(strcmp(nested_metadata(32, false), "ok") == 0, "32 levels of objects");
	CHECK(strcmp(nested_metadata(32, true), "ok") == 0, "32 levels of arrays");
	CHECK(strcmp(nested_metadata(33, false), "validation_failed") == 0, "33 levels of objects");
	CHECK(strcmp(nested_metadata(33, true), "validation_failed") == 0, "33 levels of arrays");
	CHECK(strcmp(nested_metadata(900, true), "validation_failed") == 0, "900 levels");
	CHECK(strcmp(nested_metadata(999, false), "validation_failed") == 0, "999 levels");
}

/* decimal_clamp(): digits, clamped to a type's bounds. */
static void
test_decimal(void)
{
	static const struct
	{
		const char *in;
		bool		minus;
		int			bits;		/* 32 or 64 */
		const char *want;		/* NULL: refused */
	}			cases[] = {
		{"0", false, 64, "0"},
		{"007", false, 64, "7"},
		{"9223372036854775806", false, 64, "9223372036854775806"},
		{"9223372036854775807", false, 64, "9223372036854775807"},
		{"9223372036854775808", false, 64, "9223372036854775807"},
		{"18446744073709551615", false, 64, "9223372036854775807"},
		{"18446744073709551616", false, 64, "9223372036854775807"},
		{"99999999999999999999999999999999999999999", false, 64, "9223372036854775807"},
		{"-1", false, 64, NULL},
		{"-1", true, 64, "-1"},
		{"-0", true, 64, "0"},
		{"-9223372036854775808", true, 64, "-9223372036854775808"},
		{"-9223372036854775809", true, 64, "-9223372036854775808"},
		{"-99999999999999999999999", true, 64, "-9223372036854775808"},
		{"2147483647", true, 32, "2147483647"},
		{"2147483648", true, 32, "2147483647"},
		{"-2147483649", true, 32, "-2147483648"},
		{"99999999999999999999", true, 32, "2147483647"},
		{"", true, 64, NULL},
		{"-", true, 64, NULL},
		{"+1", true, 64, NULL},
		{"1.0", true, 64, NULL},
		{"1e3", true, 64, NULL},
		{" 1", true, 64, NULL},
		{"1 ", true, 64, NULL},
		{"--1", true, 64, NULL},
		{"99999999999999999999999x", true, 64, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		char		out[DECIMAL_BUFLEN] = "untouched";
		int64_t		min = cases[i].bits == 32 ? INT32_MIN : INT64_MIN;
		int64_t		max = cases[i].bits == 32 ? INT32_MAX : INT64_MAX;
		bool		ok = decimal_clamp(cases[i].in, strlen(cases[i].in), cases[i].minus,
									   min, max, out);

		if (cases[i].want == NULL)
			CHECK(!ok && strcmp(out, "untouched") == 0, "decimal \"%s\": refused, got %s",
				  cases[i].in, out);
		else
			CHECK(ok && strcmp(out, cases[i].want) == 0, "decimal \"%s\": got %s, want %s",
				  cases[i].in, ok ? out : "(refused)", cases[i].want);
	}
}

/*
 * Integers are digits, and beyond their type they are clamped (API.md
 * section 6: a seq too large for bigint is past the end, never 400).
 */
static void
test_integers(void)
{
	static const char *const huge[] = {
		"9223372036854775807", "9223372036854775808", "18446744073709551616",
		"123456789012345678901234567890", NULL
	};
	const char *cid = "/v1/conversations/0190d6a4-0000-7000-8000-000000000000";
	struct request_parse rp;
	const char *r;
	char		path[512];
	char		query[512];
	char		body[512];

	for (const char *const *h = huge; *h; h++)
	{
		snprintf(path, sizeof(path), "%s/messages/%s", cid, *h);
		r = bind(METHOD_DELETE, path, "as=bob", NULL, NULL, &rp);
		CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[1], "9223372036854775807") == 0,
			  "path seq %s: %s", *h, r);
		request_parse_free(&rp);

		r = bind(METHOD_PATCH, path, "as=bob", "application/json", "{\"body\":\"x\"}", &rp);
		CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[1], "9223372036854775807") == 0,
			  "path seq %s (edit): %s", *h, r);
		request_parse_free(&rp);

		snprintf(path, sizeof(path), "%s/read", cid);
		snprintf(body, sizeof(body), "{\"seq\": %s }", *h);
		r = bind(METHOD_POST, path, "as=bob", "application/json", body, &rp);
		CHECK(strcmp(r, "ok") == 0 && rp.nvalues == 3 &&
			  strcmp(rp.values[2], "9223372036854775807") == 0, "read mark %s: %s", *h, r);
		request_parse_free(&rp);

		snprintf(path, sizeof(path), "%s/messages", cid);
		snprintf(query, sizeof(query), "as=bob&after=%s&limit=%s", *h, *h);
		r = bind(METHOD_GET, path, query, NULL, NULL, &rp);
		CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[3], "9223372036854775807") == 0 &&
			  strcmp(rp.values[4], "2147483647") == 0, "after and limit %s: %s", *h, r);
		request_parse_free(&rp);
		snprintf(query, sizeof(query), "as=bob&before=%s&limit=-%s", *h, *h);
		r = bind(METHOD_GET, path, query, NULL, NULL, &rp);
		CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[2], "9223372036854775807") == 0 &&
			  strcmp(rp.values[4], "-2147483648") == 0, "before and limit -%s: %s", *h, r);
		request_parse_free(&rp);

		snprintf(path, sizeof(path), "%s/events", cid);
		snprintf(query, sizeof(query), "as=bob&after=%s", *h);
		r = bind(METHOD_GET, path, query, NULL, NULL, &rp);
		CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[2], "9223372036854775807") == 0,
			  "events after=%s: %s", *h, r);
		request_parse_free(&rp);
	}

	/* The read mark binds the seq alone, canonical: $3 is no longer the body. */
	snprintf(path, sizeof(path), "%s/read", cid);
	r = bind(METHOD_POST, path, "as=bob", "application/json", "{\"seq\":-0}", &rp);
	CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[2], "0") == 0, "read mark -0: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_POST, path, "as=bob", "application/json", "{\"s\\u0065q\" : 12 , \"x\":[1]}", &rp);
	CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[2], "12") == 0, "read mark, escaped key: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_POST, path, "as=bob", "application/json",
			 "{\"x\":{\"seq\":1,\"y\":\"}\\\"\"},\"seq\":5}", &rp);
	CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[2], "5") == 0, "read mark after a nested seq: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_POST, path, "as=bob", "application/json", "{\"seq\":-99999999999999999999}", &rp);
	CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[2], "-9223372036854775808") == 0,
		  "read mark, huge negative (the extension refuses a negative seq): %s", r);
	request_parse_free(&rp);
	for (const char *const *b = (const char *const[]) {"{\"seq\":1.0000000000000001}", "{\"seq\":1e-400}",
		"{\"seq\":1.0}", "{\"seq\":1e2}", "{\"seq\":1E+2}", "{\"seq\":\"1\"}", "{\"seq\":null}",
		"{\"seq\":true}", "{\"seq\":[1]}", "{}", NULL}; *b; b++)
	{
		r = bind(METHOD_POST, path, "as=bob", "application/json", *b, &rp);
		CHECK(strcmp(r, "400:validation_failed") == 0, "read mark %s: %s", *b, r);
		request_parse_free(&rp);
	}
	r = bind(METHOD_POST, path, "as=bob", "application/json", "{\"seq\":01}", &rp);
	CHECK(strcmp(r, "400:invalid_json") == 0, "read mark 01: %s", r);
	request_parse_free(&rp);

	snprintf(path, sizeof(path), "%s/messages", cid);
	for (const char *const *q = (const char *const[]) {"as=b&limit=1.0", "as=b&limit=1e2", "as=b&limit=+5",
		"as=b&after=1.0000000000000001", "as=b&before=1e-400", "as=b&before=0x1", "as=b&after=%201", NULL}; *q; q++)
	{
		r = bind(METHOD_GET, path, *q, NULL, NULL, &rp);
		CHECK(strcmp(r, "400:validation_failed") == 0, "%s: %s", *q, r);
		request_parse_free(&rp);
	}
	r = bind(METHOD_GET, path, "as=b&after=007&limit=", NULL, NULL, &rp);
	CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[3], "7") == 0 && rp.values[4] == NULL,
		  "after=007, limit= (absent): %s", r);
	request_parse_free(&rp);
}

/* Query parameters with a fixed set of values refuse anything else. */
static void
test_enums(void)
{
	struct request_parse rp;
	const char *r;

	for (const char *const *ok = (const char *const[]) {"accepted", "incoming", "outgoing", NULL}; *ok; ok++)
	{
		char		query[64];

		snprintf(query, sizeof(query), "status=%s", *ok);
		r = bind(METHOD_GET, "/v1/guests/g/friends", query, NULL, NULL, &rp);
		CHECK(strcmp(r, "ok") == 0 && strcmp(rp.values[1], *ok) == 0, "status=%s: %s", *ok, r);
		request_parse_free(&rp);
	}
	r = bind(METHOD_GET, "/v1/guests/g/friends", NULL, NULL, NULL, &rp);
	CHECK(strcmp(r, "ok") == 0 && rp.values[1] == NULL, "no status: the default: %s", r);
	request_parse_free(&rp);
	for (const char *const *bad = (const char *const[]) {"status=", "status", "status=Accepted",
		"status=accepted%20", "status=accept", "status=acceptedx", "status=accepted|incoming",
		"status=blocked", "status=accepted&status=incoming", "limit=5&status=", NULL}; *bad; bad++)
	{
		r = bind(METHOD_GET, "/v1/guests/g/friends", *bad, NULL, NULL, &rp);
		CHECK(strcmp(r, "400:validation_failed") == 0, "%s: %s", *bad, r);
		request_parse_free(&rp);
	}
	/* Every enum parameter of the table has its choices. */
	for (int i = 0; i < nroutes; i++)
		for (int j = 0; j < routes[i].nparams; j++)
			CHECK((routes[i].params[j].source == PARAM_QUERY_ENUM) ==
				  (routes[i].params[j].choices != NULL), "%s: choices of %s",
				  routes[i].name, routes[i].params[j].name ? routes[i].params[j].name : "body");
}

/* A body on a route that takes none is refused like any unexpected body. */
static void
test_bodiless(void)
{
	struct request_parse rp;
	const char *r;
	char	   *big = malloc(70001);

	memset(big, 'x', 70000);
	big[70000] = '\0';
	r = bind(METHOD_PUT, "/v1/guests/g/friends/f", NULL, "text/plain", big, &rp);
	CHECK(strcmp(r, "413:payload_too_large") == 0, "70 KB text/plain on friend_request: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_PUT, "/v1/guests/g/friends/f", NULL, "text/plain", "hello", &rp);
	CHECK(strcmp(r, "415:unsupported_media_type") == 0, "text/plain on friend_request: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_PUT, "/v1/guests/g/friends/f", NULL, NULL, "hello", &rp);
	CHECK(strcmp(r, "415:unsupported_media_type") == 0, "no content type: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_PUT, "/v1/guests/g/friends/f", NULL, "application/json", "{}", &rp);
	CHECK(strcmp(r, "400:validation_failed") == 0, "JSON on friend_request: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_GET, "/v1/guests/g", NULL, "application/json", "{\"x\":1}", &rp);
	CHECK(strcmp(r, "400:validation_failed") == 0, "JSON on a GET: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_DELETE, "/v1/guests/g/blocks/f", NULL, "text/plain", "", &rp);
	CHECK(strcmp(r, "ok") == 0, "an empty body is no body: %s", r);
	request_parse_free(&rp);
	r = bind(METHOD_PUT, "/v1/guests/g/friends/f", NULL, NULL, NULL, &rp);
	CHECK(strcmp(r, "ok") == 0, "no body: %s", r);
	request_parse_free(&rp);
	free(big);
}

/* RFC 8259 exactly: what cJSON takes and PostgreSQL refuses is invalid_json. */
static void
test_json_strict(void)
{
	static const struct
	{
		const char *body;
		size_t		len;
		const char *want;
	}			cases[] = {
#define C(s, w) {s, sizeof(s) - 1, w}
		C("{\"display_name\":\"A\",\"x\":01}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":-01}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":1.}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":1.e5}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":.5}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":+1}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":1e}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":1e+}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":-}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":0x10}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":NaN}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":Infinity}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":-0.0e-0}", "ok"),
		C("{\"display_name\":\"A\",\"x\":1E400}", "ok"),
		C("{\"display_name\":\"A\",\"x\":[1,2,]}", "invalid_json"),
		C("{\"display_name\":\"A\",}", "invalid_json"),
		C("{\"display_name\":\"A\" \"x\":1}", "invalid_json"),
		C("{\"display_name\" \"A\"}", "invalid_json"),
		C("{display_name:\"A\"}", "invalid_json"),
		C("{\"display_name\":'A'}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":tru}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":True}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":nul}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":[true,false,null]}", "ok"),
		C("{\"display_name\":\"A\",\"x\":[}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":[1}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":{\"a\":1]}", "invalid_json"),
		C("{\"display_name\":\"A\",\"x\":[]}", "ok"),
		C("{\"display_name\":\"A\",\"x\":{}}", "ok"),
		C("{\"display_name\":\"A\",\"x\":[[],[{}]]}", "ok"),
		C("\f{\"display_name\":\"A\"}", "invalid_json"),
		C("{\"display_name\":\f\"A\"}", "invalid_json"),
		C("{\"display_name\":\"A\"}\f", "invalid_json"),
		C("{\"display_name\":\"A\"}\v", "invalid_json"),
		C("{\x01\"display_name\":\"A\"}", "invalid_json"),
		C("{\"display_name\":\"A\"}\x00", "invalid_json"),
		C("{\"display_name\":\"A\"\x1f}", "invalid_json"),
		C("{\"display_name\":\"A\"}\xC2\xA0", "invalid_json"),
		C("\t\r\n {\"display_name\" \t:\r\n\"A\"\n}\r\n", "ok"),
		C("{\"display_name\":\"A\x7f\"}", "ok"),
		C("{\"display_name\":\"A\\x41\"}", "invalid_json"),
		C("{\"display_name\":\"A\\u12\"}", "invalid_json"),
		C("{\"display_name\":\"A\\u12G4\"}", "invalid_json"),
		C("{\"display_name\":\"A\\\"}", "invalid_json"),
		C("{\"display_name\":\"A\\/\\b\\f\\n\\r\\t\\\\\\\"\"}", "ok"),
		C("{\"display_name\":\"A\\u00e9\\u00E9\"}", "ok"),
		C("{\"display_name\":\"A\\ud83d\"}", "validation_failed"),
		C("{\"display_name\":\"A\\ud83d\\\"}", "validation_failed"),
		C("{\"display_name\":\"A\\ud83d\\u12\"}", "validation_failed"),
		C("{\"display_name\":\"\xED\xA0\x80\"}", "invalid_json"),
		C("{\"display_name\":\"\xF0\x9F\x98\x80\"}", "ok"),
		C("{\"display_name\":\"\xC0\xAF\"}", "invalid_json"),
		C("{\"display_name\":\"\xFF\"}", "invalid_json"),
		C("{\"display_name\":\"A\"}  ", "ok"),
		C("{\"display_name\":\"A\"", "invalid_json"),
		C("{\"display_name\":\"A", "invalid_json"),
		C("{\"display_name\":", "invalid_json"),
		C("{\"display_name\"", "invalid_json"),
		C("{", "invalid_json"),
		C("   ", "invalid_json"),
		C("\"x\"", "validation_failed"),
		C("1", "validation_failed"),
		C("01", "invalid_json"),
		C("[1,{\"a\":[]}]", "validation_failed"),
		C("{\"display_name\":\"A\"}]", "invalid_json"),
		C("{\"display_name\":\"A\"}}", "invalid_json"),
		C("{\"display_name\":\"A\",\"seq\":-0}", "ok"),
		C("{\"display_name\":\"A\",\"seq\":99999999999999999999999}", "ok"),
		C("{\"display_name\":\"A\",\"seq\":1.0000000000000001}", "validation_failed"),
		C("{\"display_name\":\"A\",\"seq\":1e-400}", "validation_failed"),
		C("{\"display_name\":\"A\",\"seq\":5e0}", "validation_failed"),
#undef C
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const char *got = body_check(cases[i].body, cases[i].len);

		CHECK(strcmp(got, cases[i].want) == 0, "strict body #%zu: got %s, want %s", i, got, cases[i].want);
	}
}

static void
test_json(void)
{
	static const struct
	{
		const char *body;
		size_t		len;
		const char *want;
	}			cases[] = {
#define C(s, w) {s, sizeof(s) - 1, w}
		C("{\"display_name\":\"A\"}", "ok"),
		C(" {\"display_name\":\"A\"} \n", "ok"),
		C("{\"display_name\":\"A\"} x", "invalid_json"),
		C("{\"display_name\":\"A\"}{}", "invalid_json"),
		C("{\"display_name\":\"A\"", "invalid_json"),
		C("", "invalid_json"),
		C("{\"display_name\":\"A\",\"display_name\":\"B\"}", "invalid_json"),
		C("{\"display_name\":\"A\",\"metadata\":[{\"k\":1,\"k\":2}]}", "invalid_json"),
		C("{\"display_name\":\"A\",\"metadata\":{\"k\":1,\"K\":2}}", "ok"),
		C("{\"display_name\":\"A\\u0000\"}", "validation_failed"),
		C("{\"display_name\":\"A\\ud800\"}", "validation_failed"),
		C("{\"display_name\":\"A\\ud800\\u0041\"}", "validation_failed"),
		C("{\"display_name\":\"A\\udfff\"}", "validation_failed"),
		C("{\"display_name\":\"A\\ud83d\\ude00\"}", "ok"),
		C("{\"display_name\":\"A\\\\u0000\"}", "ok"),
		C("{\"display_name\":\"\xC3\xA9\"}", "ok"),
		C("{\"display_name\":\"\xC3\"}", "invalid_json"),
		C("{\"display_name\":\"\xE0\x80\xAF\"}", "invalid_json"),
		C("{\"display_name\":\"\xF4\x90\x80\x80\"}", "invalid_json"),
		C("{\"display_name\":\"a\x00\"}", "invalid_json"),
		C("{\"display_name\":\"a\tb\"}", "invalid_json"),
		C("[]", "validation_failed"),
		C("null", "validation_failed"),
		C("{}", "validation_failed"),
		C("{\"display_name\":1}", "validation_failed"),
		C("{\"Display_name\":\"A\"}", "validation_failed"),
		C("{\"display_name\":\"A\",\"seq\":3}", "ok"),
		C("{\"display_name\":\"A\",\"seq\":3.0}", "validation_failed"),
		C("{\"display_name\":\"A\",\"seq\":3.5}", "validation_failed"),
		C("{\"display_name\":\"A\",\"seq\":\"3\"}", "validation_failed"),
		C("{\"display_name\":\"A\",\"seq\":1e999}", "validation_failed"),
		C("{\"display_name\":\"A\",\"list\":[\"a\",\"b\"]}", "ok"),
		C("{\"display_name\":\"A\",\"list\":[\"a\",null]}", "validation_failed"),
		C("{\"display_name\":\"A\",\"list\":\"a\"}", "validation_failed"),
		C("{\"display_name\":\"A\",\"title\":null}", "ok"),
		C("{\"display_name\":\"A\",\"title\":false}", "validation_failed"),
		C("{\"display_name\":\"A\",\"metadata\":null}", "ok"),
		C("{\"display_name\":\"A\",\"other\":[1,{}]}", "ok"),
		C("\xEF\xBB\xBF{\"display_name\":\"A\"}", "invalid_json"),
#undef C
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const char *got = body_check(cases[i].body, cases[i].len);

		CHECK(strcmp(got, cases[i].want) == 0, "body #%zu: got %s, want %s", i, got, cases[i].want);
	}

	{
		/* Deeper than cJSON's limit: refused, without a stack overflow. */
		size_t		depth = 100000;
		char	   *deep = malloc(2 * depth + 64);
		size_t		n = 0;

		n += (size_t) sprintf(deep, "{\"display_name\":\"A\",\"metadata\":");
		memset(deep + n, '[', depth);
		n += depth;
		memset(deep + n, ']', depth);
		n += depth;
		deep[n++] = '}';
		CHECK(strcmp(body_check(deep, n), "validation_failed") == 0, "deep nesting");
		free(deep);
	}
	test_json_depth();
}

static void
test_errors(void)
{
	static const struct
	{
		const char *sqlstate;
		int			status;
		const char *code;
	}			cases[] = {
		{"22023", 400, "validation_failed"}, {"22P02", 400, "validation_failed"},
		{"22P05", 400, "validation_failed"}, {"22003", 400, "validation_failed"},
		{"22021", 400, "validation_failed"}, {"22004", 400, "validation_failed"},
		{"PR001", 404, "guest_not_found"}, {"PR002", 404, "conversation_not_found"},
		{"PR003", 404, "message_not_found"}, {"PR004", 404, "participant_not_found"},
		{"PR005", 404, "service_key_not_found"}, {"PR010", 403, "not_a_participant"},
		{"PR011", 403, "not_the_sender"}, {"PR012", 403, "not_the_owner"},
		{"PR013", 403, "forbidden"}, {"PR020", 409, "idempotency_conflict"},
		{"PR021", 409, "message_deleted"}, {"PR022", 409, "conversation_is_direct"},
		{"PR023", 409, "service_key_exists"}, {"08006", 503, "database_unavailable"},
		{"08P01", 503, "database_unavailable"}, {"57P01", 503, "database_unavailable"},
		{"57P03", 503, "database_unavailable"}, {"53300", 503, "database_unavailable"},
		{"57014", 503, "database_timeout"}, {"40001", 503, "conflict_retry"},
		{"40P01", 503, "conflict_retry"}, {"42501", 500, "internal_error"},
		{"XX000", 500, "internal_error"}, {"0A000", 500, "internal_error"},
	};
	struct problem p;
	char	   *json;
	cJSON	   *o;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		problem_from_sqlstate(&p, cases[i].sqlstate, "secret table parley.x", NULL);
		CHECK(p.status == cases[i].status && strcmp(p.code, cases[i].code) == 0,
			  "%s: got %d %s", cases[i].sqlstate, p.status, p.code);
		if (p.status >= 500)
			CHECK(strstr(p.detail, "secret") == NULL, "%s: no server text in a 5xx", cases[i].sqlstate);
		else
			CHECK(strcmp(p.detail, "secret table parley.x") == 0, "%s: the message", cases[i].sqlstate);
	}
	problem_from_sqlstate(&p, NULL, NULL, NULL);
	CHECK(p.status == 500 && p.sqlstate[0] == '\0', "no SQLSTATE: 500");

	problem_from_sqlstate(&p, "22023", "bad \"name\"", "Byte 3 is \x01.");
	json = problem_to_json(&p, NULL);
	o = cJSON_Parse(json);
	CHECK(o != NULL, "problem JSON parses");
	CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(o, "detail")->valuestring,
				 "bad \"name\": Byte 3 is \x01.") == 0, "detail with DETAIL");
	CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(o, "sqlstate")->valuestring, "22023") == 0, "sqlstate");
	CHECK(cJSON_GetObjectItemCaseSensitive(o, "status")->valueint == 400, "status");
	CHECK(cJSON_GetObjectItemCaseSensitive(o, "type") && cJSON_GetObjectItemCaseSensitive(o, "title"),
		  "type and title");
	cJSON_Delete(o);
	free(json);

	problem_set(&p, 404, CODE_NOT_FOUND, "no such route");
	json = problem_to_json(&p, NULL);
	CHECK(strstr(json, "sqlstate") == NULL, "no sqlstate for the gateway's own problems");
	free(json);
}

int
main(void)
{
	test_percent_decode();
	test_routing();
	test_binding();
	test_json();
	test_json_strict();
	test_decimal();
	test_integers();
	test_enums();
	test_bodiless();
	test_errors();
	printf("%d checks, %d failures\n", checks, failures);
	return failures == 0 ? 0 : 1;
}
