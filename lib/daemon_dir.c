/* The daemon programs beside the running one (a build tree). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "daemon_dir.h"

/* An executable regular file. */
static int
daemon_dir_has(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;

    if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* The same directory, whatever the spelling (symbolic links, "//"). */
static int
daemon_dir_same(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];

    if (realpath(a, ra) == NULL || realpath(b, rb) == NULL)
        return strcmp(a, b) == 0;
    return strcmp(ra, rb) == 0;
}

int
daemon_dir_pick(const char *self_exe, const char *builtin, char *out, size_t size)
{
    const char *slash = strrchr(self_exe, '/');
    size_t len;

    if (slash == NULL || *self_exe != '/')
        return 0;
    len = slash == self_exe ? 1 : (size_t) (slash - self_exe);
    if (len >= size)
        return 0;
    memcpy(out, self_exe, len);
    out[len] = 0;
    if (daemon_dir_same(out, builtin)
        || !daemon_dir_has(out, "master") || !daemon_dir_has(out, "smtpd")) {
        out[0] = 0;
        return 0;
    }
    return 1;
}

int
daemon_dir_beside_self(void)
{
    char self[PATH_MAX], dir[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

    if (n <= 0)
        return 0;
    self[n] = 0;
    if (!daemon_dir_pick(self, conf_params[P_daemon_directory].def, dir, sizeof(dir)))
        return 0;
    conf_set_default(P_daemon_directory, dir);
    return 1;
}
