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
/* Selects the destination: "" syslog, "-" stderr, otherwise a file path.
 * Returns -1 with errno set when the file cannot be opened. */
int msg_open(const char *log_file);
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
