/* The checks of conf_env.h: daemon_user against the password database,
 * log_file against the file system, each refused with its main.cf line
 * before a daemon would die of it (server_drop_privileges(), msg_open()). */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_env.h"
#include "mymalloc.h"
#include "printable.h"
#include "vbuf.h"

/* daemon_user: see conf_env.h for who is told what. */
static int
conf_env_daemon_user(const CONFIG *conf, int as_root, VBUF *errors,
                     VBUF *warnings)
{
    const char *user = conf_value(conf, P_daemon_user);
    int set = conf_is_set(conf, P_daemon_user);
    struct passwd *pw = getpwnam(user);

    if (pw == NULL) {
        if (as_root && set) {
            conf_problem(conf, errors, P_daemon_user, "user \"%s\" does not exist",
                         printable_str(user));
            return -1;
        }
        if (as_root)
            conf_problem(conf, warnings, P_daemon_user,
                         "user \"%s\" does not exist: alligatectl start will fail "
                         "as root; create it (the package does) or set daemon_user",
                         printable_str(user));
        else if (set)
            conf_problem(conf, warnings, P_daemon_user,
                         "user \"%s\" does not exist (it matters only when started "
                         "as root)",
                         printable_str(user));
        return 0;
    }
    if (pw->pw_uid == 0) {
        conf_problem(conf, as_root ? errors : warnings, P_daemon_user,
                     "user \"%s\" has uid 0: every process but master must run "
                     "as an unprivileged user",
                     printable_str(user));
        return as_root ? -1 : 0;
    }
    return 0;
}

/* Whether path can be opened for appending, or created, by whoever runs
 * this, given that alligatectl start makes missing directories
 * (dirs.c).  Says why not in why. */
static int
conf_env_log_path(const char *path, VBUF *why)
{
    struct stat st;
    char *dir;
    char *slash;
    int up;
    int rc = -1;

    vbuf_reset(why);
    if (*path != '/') {
        vbuf_set(why, "not an absolute path (use a path from /, - for standard "
                      "error, or nothing for syslog)");
        return -1;
    }
    if (path[strlen(path) - 1] == '/') {
        vbuf_printf(why, "\"%s\" names a directory, not a file", printable_str(path));
        return -1;
    }
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            vbuf_printf(why, "\"%s\" is a directory", printable_str(path));
            return -1;
        }
        if (access(path, W_OK) < 0) {
            vbuf_printf(why, "cannot write \"%s\": %s", printable_str(path),
                        strerror(errno));
            return -1;
        }
        return 0;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
        vbuf_printf(why, "\"%s\": %s", printable_str(path), strerror(errno));
        return -1;
    }
    /* The nearest directory that exists must let the file, or the first
     * missing directory, be made in it. */
    dir = mystrdup(path);
    for (up = 0;; up++) {
        slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = 0; /* "/" itself */
        else
            *slash = 0;
        if (stat(dir, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                vbuf_printf(why, "\"%s\" is not a directory", printable_str(dir));
            else if (access(dir, W_OK | X_OK) < 0)
                vbuf_printf(why, "cannot create the file%s in \"%s\": %s",
                            up > 0 ? "'s directory" : "", printable_str(dir),
                            strerror(errno));
            else
                rc = 0;
            break;
        }
        if ((errno != ENOENT && errno != ENOTDIR) || strcmp(dir, "/") == 0) {
            vbuf_printf(why, "\"%s\": %s", printable_str(dir), strerror(errno));
            break;
        }
    }
    myfree(dir);
    return rc;
}

static int
conf_env_log_file(const CONFIG *conf, VBUF *errors)
{
    const char *path = conf_value(conf, P_log_file);
    VBUF *why;
    int rc = 0;

    if (*path == 0 || strcmp(path, "-") == 0)
        return 0;
    why = vbuf_create(100);
    if (conf_env_log_path(path, why) < 0) {
        conf_problem(conf, errors, P_log_file, "%s", vbuf_str(why));
        rc = -1;
    }
    vbuf_free(why);
    return rc;
}

int
conf_env_check(const CONFIG *conf, int as_root, VBUF *errors, VBUF *warnings)
{
    int rc = 0;

    if (conf_env_daemon_user(conf, as_root, errors, warnings) < 0)
        rc = -1;
    if (conf_env_log_file(conf, errors) < 0)
        rc = -1;
    return rc;
}
