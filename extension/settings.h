/*
 * settings.h
 *	  Per-guest conversation settings (0.5.0, API.md section 9).
 */
#ifndef PARLEY_SETTINGS_H
#define PARLEY_SETTINGS_H

#include "postgres.h"

#include "jsonout.h"

/*
 * conversations.c: add conversation cid as guest_id's conversation_list()
 * shows it (0.5.0: with unread and the settings).  The caller is connected
 * to SPI and knows that guest_id takes part.
 */
extern void parley_render_list_conversation(JsonOut *jo, const char *guest_id, Datum cid,
											 ParleyApi api);

#endif							/* PARLEY_SETTINGS_H */
