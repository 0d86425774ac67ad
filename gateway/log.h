/*
 * log.h
 *	  Leveled logging to stderr.  One line per event; debug lines cost a
 *	  compare when disabled.  Never pass a service key to these macros.
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

enum log_level
{
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG
};

extern enum log_level log_min_level;

/* Parse "error", "warn", "info", "debug"; -1 when unknown. */
int			log_level_parse(const char *name);

void		log_write(enum log_level level, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

#define log_enabled(lvl)	((lvl) <= log_min_level)
#define log_error(...)	log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)	do { if (log_enabled(LOG_LEVEL_WARN)) log_write(LOG_LEVEL_WARN, __VA_ARGS__); } while (0)
#define log_info(...)	do { if (log_enabled(LOG_LEVEL_INFO)) log_write(LOG_LEVEL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...)	do { if (log_enabled(LOG_LEVEL_DEBUG)) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

/*
 * Copy untrusted text (a request path) into buf for logging: printable
 * ASCII as is, anything else as \xNN, truncated to fit.
 */
const char *log_sanitize(const char *in, char *buf, unsigned long buflen);

#endif							/* PARLEY_LOG_H */
