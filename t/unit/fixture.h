/* Fixtures the Check suites share: a temporary directory for the test at
 * hand, files written into it, read back, and a main.cf loaded from it.
 * The functions assert instead of returning an error, so that a set-up
 * that fails fails the test that needed it.  Not a suite of its own: the
 * Makefile links fixture.o into every t/unit/check_* binary. */
#ifndef ALLIGATE_T_FIXTURE_H
#define ALLIGATE_T_FIXTURE_H

#include <stddef.h>

#include "conf.h"

/* Makes /tmp/NAME.XXXXXX and returns its path, valid until
 * fixture_dir_remove().  One directory per process at a time. */
const char *fixture_dir_create(const char *name);

/* Removes the directory and all in it, also what a test made unreadable
 * or unwritable; does nothing when there is none. */
void fixture_dir_remove(void);

/* Writes a file of exactly len bytes (mode 0600 when new; truncated when
 * not); a relative path is taken inside the directory. */
void fixture_write(const char *path, const void *data, size_t len);
void fixture_write_str(const char *path, const char *text);

/* The whole file (relative paths as above), NUL-terminated, in memory
 * from mymalloc; its length in *len unless len is NULL. */
char *fixture_read(const char *path, size_t *len);

/* Writes text as main.cf in the directory and loads it; the test fails
 * with conf_load's errors if that fails.  Activating is the caller's. */
CONFIG *fixture_conf_load(const char *text);

#endif
