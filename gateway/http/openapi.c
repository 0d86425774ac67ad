/*
 * openapi.c
 *	  An OpenAPI 3.0 document built from routes[] at start-up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "openapi.h"
#include "routes.h"

#define PARLEY_GATEWAY_VERSION "0.1.0"

static cJSON *
schema_ref(const char *name)
{
	cJSON	   *o = cJSON_CreateObject();
	char		ref[128];

	snprintf(ref, sizeof(ref), "#/components/schemas/%s", name);
	cJSON_AddStringToObject(o, "$ref", ref);
	return o;
}

static cJSON *
parameter(const struct route_param *p)
{
	cJSON	   *o = cJSON_CreateObject();
	cJSON	   *schema = cJSON_CreateObject();
	bool		in_path = p->source == PARAM_PATH_TEXT || p->source == PARAM_PATH_UUID ||
		p->source == PARAM_PATH_SEQ;

	cJSON_AddStringToObject(o, "name", p->name);
	cJSON_AddStringToObject(o, "in", in_path ? "path" : "query");
	cJSON_AddBoolToObject(o, "required", in_path || p->source == PARAM_QUERY_REQUIRED);
	if (p->description)
		cJSON_AddStringToObject(o, "description", p->description);
	if (p->source == PARAM_PATH_SEQ || p->source == PARAM_QUERY_INT ||
		p->source == PARAM_QUERY_SEQ)
	{
		cJSON_AddStringToObject(schema, "type", "integer");
		cJSON_AddStringToObject(schema, "format",
								p->source == PARAM_QUERY_INT ? "int32" : "int64");
	}
	else
	{
		cJSON_AddStringToObject(schema, "type", "string");
		if (p->source == PARAM_PATH_UUID)
			cJSON_AddStringToObject(schema, "format", "uuid");
		if (p->source == PARAM_QUERY_ENUM && p->choices != NULL)
		{
			cJSON	   *values = cJSON_AddArrayToObject(schema, "enum");
			char		buf[128];

			snprintf(buf, sizeof(buf), "%s", p->choices);
			for (char *save = NULL, *v = strtok_r(buf, "|", &save); v; v = strtok_r(NULL, "|", &save))
				cJSON_AddItemToArray(values, cJSON_CreateString(v));
		}
	}
	cJSON_AddItemToObject(o, "schema", schema);
	return o;
}

static cJSON *
request_body(const struct json_field *fields)
{
	cJSON	   *body = cJSON_CreateObject();
	cJSON	   *content = cJSON_AddObjectToObject(body, "content");
	cJSON	   *media = cJSON_AddObjectToObject(content, "application/json");
	cJSON	   *schema = cJSON_AddObjectToObject(media, "schema");
	cJSON	   *props;
	cJSON	   *required = cJSON_CreateArray();

	cJSON_AddBoolToObject(body, "required", 1);
	cJSON_AddStringToObject(schema, "type", "object");
	props = cJSON_AddObjectToObject(schema, "properties");
	for (const struct json_field *f = fields; f->name; f++)
	{
		cJSON	   *prop = cJSON_AddObjectToObject(props, f->name);

		cJSON_AddStringToObject(prop, "type", json_field_schema_type(f->type));
		if (f->type == JF_STRING_ARRAY)
			cJSON_AddStringToObject(cJSON_AddObjectToObject(prop, "items"), "type", "string");
		if (f->type == JF_STRING_OR_NULL)
			cJSON_AddBoolToObject(prop, "nullable", 1);
		if (f->required)
			cJSON_AddItemToArray(required, cJSON_CreateString(f->name));
	}
	if (cJSON_GetArraySize(required) > 0)
		cJSON_AddItemToObject(schema, "required", required);
	else
		cJSON_Delete(required);
	return body;
}

static void
add_response(cJSON *responses, int status, const char *description, const char *media,
			 cJSON *schema)
{
	char		code[8];
	cJSON	   *r = cJSON_CreateObject();

	snprintf(code, sizeof(code), "%d", status);
	cJSON_AddStringToObject(r, "description", description);
	if (media != NULL)
	{
		cJSON	   *content = cJSON_AddObjectToObject(r, "content");
		cJSON	   *m = cJSON_AddObjectToObject(content, media);

		cJSON_AddItemToObject(m, "schema", schema ? schema : cJSON_CreateObject());
	}
	else if (schema)
		cJSON_Delete(schema);
	cJSON_AddItemToObject(responses, code, r);
}

static cJSON *
operation(const struct route *r)
{
	cJSON	   *op = cJSON_CreateObject();
	cJSON	   *params = cJSON_CreateArray();
	cJSON	   *responses;

	cJSON_AddStringToObject(op, "operationId", r->name);
	cJSON_AddStringToObject(op, "summary", r->summary);
	for (int i = 0; i < r->nparams; i++)
		if (r->params[i].source != PARAM_BODY && r->params[i].source != PARAM_BODY_SEQ)
			cJSON_AddItemToArray(params, parameter(&r->params[i]));
	cJSON_AddItemToObject(op, "parameters", params);
	if (r->body)
		cJSON_AddItemToObject(op, "requestBody", request_body(r->body));
	if (r->public)
		cJSON_AddItemToObject(op, "security", cJSON_CreateArray());

	responses = cJSON_AddObjectToObject(op, "responses");
	if (r->kind == ROUTE_SQL)
	{
		if (r->status == 204)
			add_response(responses, 204, "done", NULL, NULL);
		else if (r->status == 0)
		{
			add_response(responses, 200, "found or updated", "application/json", NULL);
			add_response(responses, 201, "created", "application/json", NULL);
		}
		else
			add_response(responses, r->status, "ok", "application/json", NULL);
		add_response(responses, 400, "invalid input", "application/problem+json", schema_ref("Problem"));
		add_response(responses, 401, "missing or unknown service key", "application/problem+json", schema_ref("Problem"));
		add_response(responses, 403, "the acting guest may not do this", "application/problem+json", schema_ref("Problem"));
		add_response(responses, 404, "not found", "application/problem+json", schema_ref("Problem"));
		if (r->body)
		{
			add_response(responses, 413, "body too large", "application/problem+json", schema_ref("Problem"));
			add_response(responses, 415, "body is not application/json", "application/problem+json", schema_ref("Problem"));
		}
		add_response(responses, 503, "database unavailable (Retry-After)", "application/problem+json", schema_ref("Problem"));
	}
	else
	{
		add_response(responses, 200, "ok",
					 r->kind == ROUTE_METRICS ? "text/plain" :
					 r->kind == ROUTE_EVENTS ? "text/event-stream" : "application/json", NULL);
		if (r->kind == ROUTE_READYZ)
			add_response(responses, 503, "database unavailable", "application/problem+json", schema_ref("Problem"));
	}
	return op;
}

static cJSON *
problem_schema(void)
{
	static const char *const strings[] = {"type", "title", "detail", "code", "sqlstate"};
	cJSON	   *s = cJSON_CreateObject();
	cJSON	   *props;

	cJSON_AddStringToObject(s, "type", "object");
	props = cJSON_AddObjectToObject(s, "properties");
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		cJSON_AddStringToObject(cJSON_AddObjectToObject(props, strings[i]), "type", "string");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(props, "status"), "type", "integer");
	return s;
}

char *
openapi_build(void)
{
	cJSON	   *doc = cJSON_CreateObject();
	cJSON	   *info;
	cJSON	   *paths;
	cJSON	   *components;
	cJSON	   *security;
	char	   *out;

	cJSON_AddStringToObject(doc, "openapi", "3.0.3");
	info = cJSON_AddObjectToObject(doc, "info");
	cJSON_AddStringToObject(info, "title", "parley");
	cJSON_AddStringToObject(info, "version", PARLEY_GATEWAY_VERSION);
	cJSON_AddStringToObject(info, "description",
							"Chat and guest profiles; every /v1 route is one call of one "
							"function of the PostgreSQL extension parley.");
	paths = cJSON_AddObjectToObject(doc, "paths");
	for (int i = 0; i < nroutes; i++)
	{
		const struct route *r = &routes[i];
		cJSON	   *item = cJSON_GetObjectItemCaseSensitive(paths, r->pattern);
		char		method[16];

		if (item == NULL)
			item = cJSON_AddObjectToObject(paths, r->pattern);
		snprintf(method, sizeof(method), "%s", http_method_name(r->method));
		for (char *c = method; *c; c++)
			*c = (char) (*c - 'A' + 'a');
		cJSON_AddItemToObject(item, method, operation(r));
	}
	components = cJSON_AddObjectToObject(doc, "components");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(components, "schemas"), "Problem",
						  problem_schema());
	{
		cJSON	   *schemes = cJSON_AddObjectToObject(components, "securitySchemes");
		cJSON	   *bearer = cJSON_AddObjectToObject(schemes, "serviceKey");

		cJSON_AddStringToObject(bearer, "type", "http");
		cJSON_AddStringToObject(bearer, "scheme", "bearer");
	}
	security = cJSON_AddArrayToObject(doc, "security");
	{
		cJSON	   *req = cJSON_CreateObject();

		cJSON_AddItemToObject(req, "serviceKey", cJSON_CreateArray());
		cJSON_AddItemToArray(security, req);
	}
	out = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	return out;
}
