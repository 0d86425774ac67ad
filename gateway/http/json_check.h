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
	JF_INTEGER,					/* a number without a fraction */
	JF_ANY						/* any JSON value; the extension checks it */
};

struct json_field
{
	const char *name;
	enum json_field_type type;
	bool		required;
};

/*
 * Check body[0..len) (with body[len] == '\0') against fields (terminated by
 * an entry with name NULL).  Returns true when the body may be passed to
 * the database; otherwise fills p with a 400.
 *
 * Rejected as invalid_json: invalid UTF-8, raw control characters in
 * strings, anything cJSON cannot parse (trailing data, nesting deeper
 * than cJSON allows), duplicate keys in any object.  Rejected as
 * validation_failed: \u0000 and lone surrogate escapes (PostgreSQL cannot
 * store them), a body that is not an object, a missing required field, a
 * field of the wrong type.
 */
bool		json_check_body(const char *body, size_t len,
							const struct json_field *fields, struct problem *p);

/* The JSON type name of a field, for OpenAPI. */
const char *json_field_schema_type(enum json_field_type type);

#endif							/* PARLEY_JSON_CHECK_H */
