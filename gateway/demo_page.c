/*
 * demo_page.c
 *	  The demo chat page's static files at /demo/ (PARLEY_DEMO=1 only);
 *	  demo_page.h states what may be served.  "/demo" redirects to "/demo/",
 *	  which is index.html.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "demo_page.h"
#include "log.h"

#define PAGE_PREFIX "/demo/"
#define PAGE_NAME_MAX 64

static int	page_dir_fd = -1;

static const struct
{
	const char *ext;
	const char *content_type;
}			page_types[] = {
	{".html", "text/html; charset=utf-8"},
	{".js", "text/javascript; charset=utf-8"},
	{".css", "text/css; charset=utf-8"},
	{".svg", "image/svg+xml"},
	{".png", "image/png"},
	{".ico", "image/x-icon"},
};

bool
demo_page_setup(char *err, size_t errlen)
{
	if (!config.demo)
		return true;
	page_dir_fd = open(config.demo_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (page_dir_fd < 0)
	{
		snprintf(err, errlen, "PARLEY_DEMO_DIR: cannot open \"%s\": %s",
				 config.demo_dir, strerror(errno));
		return false;
	}
	log_warn("PARLEY_DEMO=1: the demo page is served at /demo/ (a development aid: never in production)");
	return true;
}

bool
demo_page_owns(const char *path)
{
	return page_dir_fd >= 0 &&
		(strcmp(path, "/demo") == 0 ||
		 strncmp(path, PAGE_PREFIX, sizeof(PAGE_PREFIX) - 1) == 0);
}

/*
 * The Content-Type of a servable name, or NULL: [A-Za-z0-9_-]+ then one
 * known extension, nothing else (so no '/', '.', '%' or NUL in the stem).
 */
static const char *
page_type_of(const char *name)
{
	const char *dot = strchr(name, '.');
	size_t		stem;

	if (dot == NULL || dot == name || strlen(name) > PAGE_NAME_MAX)
		return NULL;
	stem = strspn(name, "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
	if (name + stem != dot)
		return NULL;
	for (size_t i = 0; i < sizeof(page_types) / sizeof(page_types[0]); i++)
		if (strcmp(dot, page_types[i].ext) == 0)
			return page_types[i].content_type;
	return NULL;
}

/* Read a whole regular file of the directory; false with errno-ish p. */
static bool
page_read(const char *name, struct demo_page_file *f, struct problem *p)
{
	int			fd = openat(page_dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	size_t		got = 0;

	if (fd < 0)
	{
		if (errno != ENOENT && errno != ELOOP)
			log_warn("demo: cannot open %s: %s", name, strerror(errno));
		problem_set(p, 404, CODE_NOT_FOUND, "no such file of the demo");
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > DEMO_PAGE_FILE_MAX)
	{
		close(fd);
		problem_set(p, 404, CODE_NOT_FOUND, "no such file of the demo");
		return false;
	}
	f->body = malloc((size_t) st.st_size + 1);
	while (f->body != NULL && got < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, f->body + got, (size_t) st.st_size - got);

		if (n <= 0)
		{
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		got += (size_t) n;
	}
	close(fd);
	if (f->body == NULL || got != (size_t) st.st_size)
	{
		log_error("demo: cannot read %s (%zu of %lld bytes)", name, got,
				  (long long) st.st_size);
		free(f->body);
		f->body = NULL;
		problem_set(p, 500, CODE_INTERNAL, "the demo file could not be read");
		return false;
	}
	f->len = got;
	return true;
}

bool
demo_page_serve(const char *path, bool get_or_head, struct demo_page_file *f, struct problem *p)
{
	const char *name;

	memset(f, 0, sizeof(*f));
	if (!get_or_head)
	{
		problem_set(p, 405, CODE_METHOD, "the demo's files are read with GET or HEAD");
		return false;
	}
	if (strcmp(path, "/demo") == 0)
	{
		f->status = 308;
		snprintf(f->extra, sizeof(f->extra), "Location: " PAGE_PREFIX "\r\n");
		return true;
	}
	name = path + sizeof(PAGE_PREFIX) - 1;
	if (name[0] == '\0')
		name = "index.html";
	f->content_type = page_type_of(name);
	if (f->content_type == NULL)
	{
		problem_set(p, 404, CODE_NOT_FOUND, "no such file of the demo");
		return false;
	}
	if (!page_read(name, f, p))
		return false;
	f->status = 200;
	/* Revalidated on every load: the page is edited while parleyd runs. */
	snprintf(f->extra, sizeof(f->extra),
			 "Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n");
	return true;
}

void
demo_page_free(void)
{
	if (page_dir_fd >= 0)
		close(page_dir_fd);
	page_dir_fd = -1;
}
