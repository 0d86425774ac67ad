/*
 * openapi.h
 *	  /openapi.json, generated from the route table so the two cannot drift.
 */
#ifndef PARLEY_OPENAPI_H
#define PARLEY_OPENAPI_H

/* The document as compact JSON, malloc'd; NULL when out of memory. */
char	   *openapi_build(void);

#endif							/* PARLEY_OPENAPI_H */
