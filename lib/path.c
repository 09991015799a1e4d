/* File names built from a directory and a name, allocated to fit, for the
 * paths that live as long as the program (main.cf, pid file, sockets). */
#include <string.h>

#include "conf.h"
#include "mymalloc.h"
#include "path.h"

char *
path_join(const char *dir, const char *name)
{
    size_t dlen = strlen(dir);
    size_t nlen = strlen(name);
    char *path = mymalloc(dlen + nlen + 2);

    memcpy(path, dir, dlen);
    path[dlen] = '/';
    memcpy(path + dlen + 1, name, nlen + 1);
    return path;
}

const char *
path_run(const char *name)
{
    static char *path;

    myfree(path);
    return path = path_join(conf_str(P_run_directory), name);
}
