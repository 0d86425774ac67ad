/*
 * attachments.h
 *	  The attachments of a message (0.5.0, API.md section 9): references to
 *	  files, never their bytes.
 */
#ifndef PARLEY_ATTACHMENTS_H
#define PARLEY_ATTACHMENTS_H

#include "postgres.h"

#include "utils/jsonb.h"

#define PARLEY_ATTACHMENTS_MAX		10
#define PARLEY_ATTACHMENT_URL_MAX	2048	/* bytes */
#define PARLEY_ATTACHMENT_NAME_MAX	255		/* characters */
#define PARLEY_ATTACHMENT_DIM_MAX	65535

/*
 * Check an attachments array: at most 10 objects of url (https, at most
 * 2048 bytes), mime_type (type/subtype), size (an integer >= 0), and
 * optionally name (at most 255 characters), width and height (1-65535),
 * duration_ms (an integer >= 0); anything else raises 22023.  Returns the
 * number of attachments.
 */
extern int	parley_check_attachments(Jsonb *attachments);

/* The empty array, []. */
extern Jsonb *parley_empty_attachments(void);

#endif							/* PARLEY_ATTACHMENTS_H */
