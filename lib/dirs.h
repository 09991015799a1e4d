/* The directories Alligate writes to, created when missing and owned by
 * daemon_user with tight modes, as `postfix start` does. */
#ifndef ALLIGATE_DIRS_H
#define ALLIGATE_DIRS_H

struct VBUF;

/* Creates (mkdir -p) queue_directory with its subdirectories,
 * data_directory, run_directory, and archive_directory when archive = yes,
 * and the log file (and its directory) when log_file names one.  When
 * root, makes daemon_user their owner (not the log's directory).  Returns
 * 0, or -1 with the reason in why. */
int dirs_ensure(struct VBUF *why);

/* Only the log file (after a rotation, before master opens it again):
 * created when missing and, when root, owned by daemon_user, so that the
 * daemons can open it again too.  Returns 0, or -1 with why. */
int dirs_log_file(struct VBUF *why);

#endif
