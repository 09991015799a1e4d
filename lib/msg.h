/* Logging: one line per event, to syslog, a file, or stderr.
 *
 * Every line is prefixed by the program name (alligate/smtpd[pid]) and, for
 * files and stderr, a syslog-style time stamp and host name, so that the
 * same greppable text appears wherever the log goes. */
#ifndef ALLIGATE_MSG_H
#define ALLIGATE_MSG_H

#include <stdarg.h>
#include <stddef.h>

extern int msg_verbose;

/* Sets the program name ("smtpd"); logging goes to stderr until msg_open. */
void msg_init(const char *progname);
/* Selects the destination: "" syslog, "-" stderr, otherwise a file path
 * (opened again when it is the current one: a rotated log).  Returns -1
 * with errno set when the file cannot be opened; the destination is
 * then the one before. */
int msg_open(const char *log_file);
/* Opens the log file again, by its path, for a log that was rotated
 * (renamed) away; no-op for syslog and stderr.  Returns -1 with errno
 * set when it cannot be opened; the old one is kept then. */
int msg_reopen(void);
/* msg_reopen() before the next line; only sets a flag, so that a signal
 * handler may call it (SIGHUP: alligatectl reload, logrotate). */
void msg_reopen_request(void);
const char *msg_progname(void);

void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void msg_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void msg_vinfo(const char *fmt, va_list ap);

/* Also copies every line to stderr (while a starting daemon still has
 * someone listening there), whatever the destination. */
void msg_tee_stderr(int on);

/* Runs before msg_fatal exits (e.g. to remove a pid file). */
void msg_fatal_hook(void (*hook)(void));

#endif
