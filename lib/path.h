/* File names built from a directory and a name inside it. */
#ifndef ALLIGATE_PATH_H
#define ALLIGATE_PATH_H

/* "dir/name" in memory from mymalloc(); the caller frees it. */
char *path_join(const char *dir, const char *name);

/* run_directory/name of the active configuration, valid until the next
 * call: where a daemon's socket is by default. */
const char *path_run(const char *name);

#endif
