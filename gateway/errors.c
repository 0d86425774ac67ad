/*
 * errors.c
 *	  The SQLSTATE -> HTTP status + code table of docs/errors.md, and the
 *	  problem+json body.  Keep this table and docs/errors.md in step.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"

struct sqlstate_entry
{
	const char *sqlstate;		/* five characters, or a two-character class */
	int			status;
	const char *code;
};

/* Exact SQLSTATEs first, then classes; the first match wins. */
static const struct sqlstate_entry sqlstate_table[] = {
	{"22023", 400, CODE_VALIDATION},
	{"22P02", 400, CODE_VALIDATION},
	{"22P05", 400, CODE_VALIDATION},
	{"22003", 400, CODE_VALIDATION},
	{"22021", 400, CODE_VALIDATION},
	{"22004", 400, CODE_VALIDATION},
	{"PR001", 404, "guest_not_found"},
	{"PR002", 404, "conversation_not_found"},
	{"PR003", 404, "message_not_found"},
	{"PR004", 404, "participant_not_found"},
	{"PR005", 404, "service_key_not_found"},
	{"PR006", 404, "friendship_not_found"},
	{"PR007", 404, "block_not_found"},
	{"PR010", 403, "not_a_participant"},
	{"PR011", 403, "not_the_sender"},
	{"PR012", 403, "not_the_owner"},
	{"PR013", 403, "forbidden"},
	{"PR014", 403, "blocked"},
	{"PR020", 409, "idempotency_conflict"},
	{"PR021", 409, "message_deleted"},
	{"PR022", 409, "conversation_is_direct"},
	{"PR023", 409, "service_key_exists"},
	{"57P01", 503, CODE_DB_UNAVAILABLE},
	{"57P02", 503, CODE_DB_UNAVAILABLE},
	{"57P03", 503, CODE_DB_UNAVAILABLE},
	{"53300", 503, CODE_DB_UNAVAILABLE},
	{"57014", 503, CODE_DB_TIMEOUT},
	{"40001", 503, "conflict_retry"},
	{"40P01", 503, "conflict_retry"},
	{"08", 503, CODE_DB_UNAVAILABLE},
};

struct title_entry
{
	const char *code;
	const char *title;
};

static const struct title_entry titles[] = {
	{CODE_VALIDATION, "Validation failed"},
	{CODE_INVALID_JSON, "Invalid JSON"},
	{"guest_not_found", "Guest not found"},
	{"conversation_not_found", "Conversation not found"},
	{"message_not_found", "Message not found"},
	{"participant_not_found", "Participant not found"},
	{"service_key_not_found", "Service key not found"},
	{"friendship_not_found", "Friendship not found"},
	{"block_not_found", "Block not found"},
	{"not_a_participant", "Not a participant"},
	{"not_the_sender", "Not the sender"},
	{"not_the_owner", "Not the owner"},
	{"forbidden", "Forbidden"},
	{"blocked", "Blocked"},
	{"idempotency_conflict", "Idempotency conflict"},
	{"message_deleted", "Message deleted"},
	{"conversation_is_direct", "Conversation is direct"},
	{"service_key_exists", "Service key exists"},
	{CODE_UNAUTHORIZED, "Unauthorized"},
	{CODE_NOT_FOUND, "Not found"},
	{CODE_METHOD, "Method not allowed"},
	{CODE_TOO_LARGE, "Payload too large"},
	{CODE_MEDIA_TYPE, "Unsupported media type"},
	{"rate_limited", "Rate limited"},
	{CODE_DB_UNAVAILABLE, "Database unavailable"},
	{CODE_DB_TIMEOUT, "Database timeout"},
	{"conflict_retry", "Conflict, retry"},
	{CODE_INTERNAL, "Internal error"},
	{CODE_BAD_REQUEST, "Bad request"},
	{CODE_REQUEST_TIMEOUT, "Request timeout"},
	{CODE_URI_TOO_LONG, "URI too long"},
	{CODE_HEADER_TOO_LARGE, "Header too large"},
	{CODE_NOT_IMPLEMENTED, "Not implemented"},
	{CODE_HTTP_VERSION_NOT_SUPPORTED, "HTTP version not supported"},
};

static const char *
code_title(const char *code)
{
	for (size_t i = 0; i < sizeof(titles) / sizeof(titles[0]); i++)
		if (strcmp(titles[i].code, code) == 0)
			return titles[i].title;
	return "Error";
}

/* Cut s at max bytes without splitting a UTF-8 sequence. */
static void
copy_utf8(char *dst, size_t dstlen, const char *src)
{
	size_t		n = strlen(src);

	if (n >= dstlen)
	{
		n = dstlen - 1;
		while (n > 0 && ((unsigned char) src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void
problem_set(struct problem *p, int status, const char *code, const char *fmt,...)
{
	va_list		ap;

	p->status = status;
	p->code = code;
	p->sqlstate[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
	va_end(ap);
}

void
problem_from_sqlstate(struct problem *p, const char *sqlstate,
					  const char *message, const char *detail)
{
	const struct sqlstate_entry *match = NULL;

	p->status = 500;
	p->code = CODE_INTERNAL;
	p->sqlstate[0] = '\0';
	if (sqlstate != NULL && strlen(sqlstate) == 5)
	{
		memcpy(p->sqlstate, sqlstate, 6);
		for (size_t i = 0; i < sizeof(sqlstate_table) / sizeof(sqlstate_table[0]); i++)
		{
			const struct sqlstate_entry *e = &sqlstate_table[i];

			if (strncmp(e->sqlstate, sqlstate, strlen(e->sqlstate)) == 0)
			{
				match = e;
				break;
			}
		}
	}
	if (match != NULL)
	{
		p->status = match->status;
		p->code = match->code;
	}

	if (p->status >= 500)
	{
		/* Never show server text for these: it may name tables or SQL. */
		snprintf(p->detail, sizeof(p->detail), "%s",
				 p->status == 500 ? "internal error; the gateway log has the details"
				 : code_title(p->code));
		return;
	}
	if (detail != NULL && detail[0] != '\0')
	{
		char		both[2048];

		snprintf(both, sizeof(both), "%s: %s", message ? message : "", detail);
		copy_utf8(p->detail, sizeof(p->detail), both);
	}
	else
		copy_utf8(p->detail, sizeof(p->detail), message ? message : "");
}

bool
problem_wants_retry_after(const struct problem *p)
{
	return p->status == 503 || p->status == 429;
}

char *
problem_to_json(const struct problem *p, size_t *len)
{
	cJSON	   *o = cJSON_CreateObject();
	char		type[128];
	char	   *out;

	snprintf(type, sizeof(type), "urn:parley:problem:%s", p->code);
	cJSON_AddStringToObject(o, "type", type);
	cJSON_AddStringToObject(o, "title", code_title(p->code));
	cJSON_AddNumberToObject(o, "status", p->status);
	cJSON_AddStringToObject(o, "detail", p->detail);
	cJSON_AddStringToObject(o, "code", p->code);
	if (p->sqlstate[0] != '\0')
		cJSON_AddStringToObject(o, "sqlstate", p->sqlstate);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (out == NULL)
	{
		/* Out of memory: a fixed body still tells the client something. */
		static const char fallback[] = "{\"status\":500,\"code\":\"internal_error\"}";

		out = strdup(fallback);
	}
	if (out != NULL && len != NULL)
		*len = strlen(out);
	return out;
}
