/*
 * openapi.c
 *	  The OpenAPI 3.1 document of parleyd, embedded at build time.
 *
 *	  openapi_doc.inc is generated (gateway/Makefile runs api/gen-openapi.pl)
 *	  from the API table api/api.txt, the shapes of api/shapes.json and the
 *	  codes of api/errcodes.txt, with info.version = PARLEY_VERSION; the same
 *	  document is written to gateway/openapi.json for the tools of make test
 *	  (test/openapi-check.sh) and make clients.  Nothing here describes a
 *	  route by hand.
 */
#include <stdlib.h>
#include <string.h>

#include "openapi.h"
#include "openapi_doc.inc"

char *
openapi_build(void)
{
	return strdup(openapi_document);
}
