/* What a loaded configuration needs of the machine it will run on,
 * checked before anything uses it (alligatectl check, start and reload,
 * master's start and reload): the values conf_load accepts by their
 * syntax that would fail only later, in a process far from main.cf. */
#ifndef ALLIGATE_CONF_ENV_H
#define ALLIGATE_CONF_ENV_H

#include "conf.h"

struct VBUF;

/* Checks daemon_user and log_file of conf, for a start by root when
 * as_root (daemon_user matters then only: server_drop_privileges()).
 *
 *   daemon_user  a user that does not exist, or root itself: an error
 *                when as_root; not as root, a warning when main.cf sets
 *                it, nothing for the default (the package's "alligate",
 *                which a build tree's machine need not have).  The
 *                default missing as root is a warning: alligatectl start
 *                will say it too, and a fresh machine must pass check.
 *   log_file     empty, "-", or an absolute path to a file that can be
 *                written, or made in a directory that exists or that
 *                alligatectl start can make (lib/dirs.c makes the missing
 *                ones), by whoever runs this.
 *
 * Appends one line per problem, in conf_load's shape ("DIR/main.cf:LINE:
 * name: problem\n"), to errors, or to warnings (no "warning: " prefix,
 * that is the caller's).  Returns -1 when there was an error, else 0. */
int     conf_env_check(const CONFIG *conf, int as_root, struct VBUF *errors,
                       struct VBUF *warnings);

#endif
