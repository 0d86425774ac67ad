/*
 * validate.h
 *	  Checks of the data rules of API.md section 1, shared by every module.
 *	  Each raises ERROR with SQLSTATE 22023 (validation_failed) and a message
 *	  naming the argument; none returns on bad input.
 */
#ifndef PARLEY_VALIDATE_H
#define PARLEY_VALIDATE_H

#include "postgres.h"

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/jsonb.h"

#define PARLEY_ID_MAX_BYTES			64
#define PARLEY_NAME_MAX_CHARS		64
#define PARLEY_BODY_MAX_CHARS		4000
#define PARLEY_TITLE_MAX_CHARS		200
#define PARLEY_METADATA_MAX_BYTES	16384
#define PARLEY_METADATA_MAX_DEPTH	32
#define PARLEY_GROUP_MAX_SIZE		1000
#define PARLEY_PAGE_MAX				200
#define PARLEY_PAGE_DEFAULT			50

/* Raise 22004 unless argument argno is non-NULL. */
extern void parley_require_arg(FunctionCallInfo fcinfo, int argno, const char *argname);

/* A guest id argument (1-64 bytes of [A-Za-z0-9._:@-]) as a C string. */
extern char *parley_guest_id_arg(FunctionCallInfo fcinfo, int argno, const char *argname);
extern void parley_check_guest_id(const char *id, int len, const char *argname);

/* Trimmed display name: 1-64 characters, no control characters. */
extern text *parley_display_name(text *raw);

/* A JSON object of at most 16 KiB (as jsonb text) and 32 levels. */
extern void parley_check_metadata(Jsonb *metadata, const char *argname);

/* Message body: 1-4000 code points, not only white space. */
extern void parley_check_body(text *body);

/* client_msg_id: 1-64 bytes. */
extern void parley_check_client_msg_id(text *id);

/* Title: at most 200 characters, no control characters. */
extern void parley_check_title(text *title);

/*
 * A seq cursor argument (before/after): false when NULL, else *value, which
 * must not be negative.
 */
extern bool parley_seq_cursor_arg(FunctionCallInfo fcinfo, int argno, const char *argname,
								  int64 *value);

/* Page size: 1-200; NULL means the default. */
extern int	parley_page_limit(FunctionCallInfo fcinfo, int argno);

/* True for code points with the Unicode White_Space property. */
extern bool parley_is_unicode_space(pg_wchar c);

#endif							/* PARLEY_VALIDATE_H */
