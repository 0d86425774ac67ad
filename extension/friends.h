/*
 * friends.h
 *	  Block checks that other modules need from 0.2.0 on (friends.c).
 *	  The caller is connected to SPI, and only the 0.2.0 symbols call them:
 *	  under the 0.1.0 SQL the blocks table does not exist.
 */
#ifndef PARLEY_FRIENDS_H
#define PARLEY_FRIENDS_H

#include "postgres.h"

/* True when either guest blocks the other. */
extern bool parley_pair_blocked(const char *guest, const char *other);

/* Raise 403 blocked: "guest cannot <what> other". */
extern void parley_raise_blocked(const char *guest, const char *other, const char *what) pg_attribute_noreturn();

#endif							/* PARLEY_FRIENDS_H */
