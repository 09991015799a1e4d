/* Where the daemon programs are when main.cf does not say (no
 * daemon_directory): the built-in directory, or, in a build tree, the
 * directory of the running program when master sits beside it, so that
 * `make` then `build/bin/alligatectl -c DIR start` runs the programs just
 * built.  alligatectl and master both look; master then starts its
 * children from there. */
#ifndef ALLIGATE_DAEMON_DIR_H
#define ALLIGATE_DAEMON_DIR_H

#include <stddef.h>

/* The decision, on names alone: 1 with the directory of self_exe in out
 * when that directory holds an executable master and smtpd and is not
 * builtin; 0 otherwise (also when out is too small). */
int daemon_dir_pick(const char *self_exe, const char *builtin, char *out, size_t size);

/* daemon_dir_pick() for this process (/proc/self/exe) and the built-in
 * daemon_directory; when it picks, that directory becomes the default of
 * daemon_directory (conf_set_default) for every configuration loaded
 * afterwards.  Returns 1 then, else 0.  Call before loading main.cf. */
int daemon_dir_beside_self(void);

#endif
