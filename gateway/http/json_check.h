/*
 * json_check.h
 *	  Shape and type checks of request bodies, without network or database.
 *	  The gateway checks only that a body is JSON, that it is an object and
 *	  that known fields have the right JSON type; the domain rules (lengths,
 *	  character sets, limits) live in the extension alone.
 */
#ifndef PARLEY_JSON_CHECK_H
#define PARLEY_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

enum json_field_type
{
	JF_STRING,
	JF_STRING_OR_NULL,
	JF_STRING_ARRAY,			/* array whose elements are all strings */
	JF_INTEGER,					/* a number written as digits: -?[0-9]+ */
	JF_ANY						/* any JSON value; the extension checks it */
};

struct json_field
{
	const char *name;
	enum json_field_type type;
	bool		required;
};

/* Fields of one body, at most (json_check_body's spans has room for it). */
#define JSON_MAX_FIELDS 8

/*
 * Containers nested in a body: the body object and 32 levels of metadata
 * below it (API.md section 6: the metadata object is level 1, more than
 * 32 levels is 400).
 */
#define JSON_MAX_DEPTH 33

/* A field's value as it is written in the body: body[off..off+len). */
struct json_span
{
	size_t		off;
	size_t		len;				/* 0: the field is absent */
};

/*
 * Check body[0..len) (with body[len] == '\0') against fields (terminated by
 * an entry with name NULL).  Returns true when the body may be passed to
 * the database; otherwise fills p with a 400.  spans is NULL, or room for
 * one span per field: where each field's value is written in the body.
 *
 * Rejected as invalid_json: anything RFC 8259 does not allow (01, 1.,
 * 1.e5, a byte order mark, white space other than space, tab, CR and LF,
 * raw control characters in strings, invalid UTF-8, trailing data),
 * duplicate keys in any object.  Rejected as validation_failed: \u0000
 * and lone surrogate escapes (PostgreSQL cannot store them), objects and
 * arrays nested deeper than JSON_MAX_DEPTH (however deep), a body that is
 * not an object, a missing required field, a field of the wrong type
 * (JF_INTEGER: a number written with a fraction or an exponent, even 3.0).
 */
bool		json_check_body(const char *body, size_t len,
							const struct json_field *fields,
							struct json_span *spans, struct problem *p);

/* The JSON type name of a field, for OpenAPI. */
const char *json_field_schema_type(enum json_field_type type);

#endif							/* PARLEY_JSON_CHECK_H */
