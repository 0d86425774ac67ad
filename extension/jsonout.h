/*
 * jsonout.h
 *	  Building the jsonb results of the API functions directly as JsonbValues
 *	  (no text round trip).  A key of NULL adds an array element.
 */
#ifndef PARLEY_JSONOUT_H
#define PARLEY_JSONOUT_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

typedef struct JsonOut
{
	JsonbParseState *state;
	JsonbValue *root;			/* set when the outermost container ends */
} JsonOut;

extern void jo_begin_object(JsonOut *jo, const char *key);
extern void jo_end_object(JsonOut *jo);
extern void jo_begin_array(JsonOut *jo, const char *key);
extern void jo_end_array(JsonOut *jo);

extern void jo_null(JsonOut *jo, const char *key);
extern void jo_bool(JsonOut *jo, const char *key, bool value);
extern void jo_int64(JsonOut *jo, const char *key, int64 value);
extern void jo_string(JsonOut *jo, const char *key, const char *value, int len);
extern void jo_cstring(JsonOut *jo, const char *key, const char *value);
extern void jo_text(JsonOut *jo, const char *key, text *value);
extern void jo_timestamptz(JsonOut *jo, const char *key, TimestampTz value);
extern void jo_uuid(JsonOut *jo, const char *key, const pg_uuid_t *value);
extern void jo_jsonb(JsonOut *jo, const char *key, Jsonb *value);

/* The finished document, allocated in the current memory context. */
extern Jsonb *jo_finish(JsonOut *jo);

#endif							/* PARLEY_JSONOUT_H */
