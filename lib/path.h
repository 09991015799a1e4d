/* File names built from a directory and a name inside it. */
#ifndef ALLIGATE_PATH_H
#define ALLIGATE_PATH_H

/* "dir/name" in memory from mymalloc(); the caller frees it. */
char *path_join(const char *dir, const char *name);

#endif
