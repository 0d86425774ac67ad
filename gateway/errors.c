/*
 * errors.c
 *	  The SQLSTATE -> HTTP status + code table of docs/errors.md (both
 *	  generated from api/errcodes.txt), and the problem+json body.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "errors.h"

struct sqlstate_entry
{
	const char *sqlstate;		/* five characters, a two-character class, or
								 * "" for every SQLSTATE */
	int			status;
	const char *code;
};

struct title_entry
{
	const char *code;
	const char *title;
};

/* sqlstate_table[] and titles[], from api/errcodes.txt. */
#include "errcodes_table.inc"

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
		/*
		 * Out of memory: a fixed body, still with every field the Problem
		 * schema requires (api/shapes.json).
		 */
		static const char fallback[] =
			"{\"type\":\"urn:parley:problem:internal_error\",\"title\":\"Internal error\","
			"\"status\":500,\"detail\":\"out of memory\",\"code\":\"internal_error\"}";

		out = strdup(fallback);
	}
	if (out != NULL && len != NULL)
		*len = strlen(out);
	return out;
}
