/*
 * openapi.h
 *	  /openapi.json: the OpenAPI 3.1 document that api/gen-openapi.pl
 *	  generates at build time from api/api.txt (the same table as the
 *	  routes), api/shapes.json and api/errcodes.txt, so the document and
 *	  the routes cannot drift apart.
 */
#ifndef PARLEY_OPENAPI_H
#define PARLEY_OPENAPI_H

/* The document as compact JSON, malloc'd; NULL when out of memory. */
char	   *openapi_build(void);

#endif							/* PARLEY_OPENAPI_H */
