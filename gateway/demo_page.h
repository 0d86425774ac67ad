/*
 * demo_page.h
 *	  The demo chat page's static files (demo/ in the source tree), served
 *	  at /demo/ only when PARLEY_DEMO=1: a development aid, never on in a
 *	  production default (docs/gateway.md, "The demo page").
 *
 *	  Invariants:
 *	  - only regular files directly inside PARLEY_DEMO_DIR are served, and
 *	    only those whose name is [A-Za-z0-9_-] characters with one known
 *	    extension (.html, .js, .css, .svg, .png, .ico): no '/', no "..", no
 *	    '%' escapes, no dot files, no symbolic links (O_NOFOLLOW), so
 *	    nothing outside the directory can be named;
 *	  - each file is read when asked for (the page can be edited while
 *	    parleyd runs), with a size bound; a read is a few small local files
 *	    for a development page, so it is done on the event loop.
 */
#ifndef PARLEY_DEMO_PAGE_H
#define PARLEY_DEMO_PAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

#define DEMO_PAGE_FILE_MAX (1024 * 1024)	/* larger files are refused (500) */

struct demo_page_file
{
	int			status;			/* 200, or 308 (Location in extra) */
	const char *content_type;	/* NULL for the redirect */
	char		extra[192];		/* header lines: Cache-Control, ... */
	char	   *body;			/* malloc'd; NULL for the redirect */
	size_t		len;
};

/* Open PARLEY_DEMO_DIR when PARLEY_DEMO=1; false (err filled) if it fails. */
bool		demo_page_setup(char *err, size_t errlen);

/* Is the demo on, and is path one of its ("/demo" or under "/demo/")? */
bool		demo_page_owns(const char *path);

/*
 * Answer GET or HEAD of path (demo_page_owns() is true): fills f, or p (404
 * for a name that is not served, 405 for another method, 500 on a read
 * error).  The caller frees f->body.
 */
bool		demo_page_serve(const char *path, bool get_or_head, struct demo_page_file *f,
					   struct problem *p);

void		demo_page_free(void);

#endif							/* PARLEY_DEMO_PAGE_H */
