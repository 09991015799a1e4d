/* A temporary directory for the fuzz targets that need files (main.cf,
 * a queue, certificates): made once under /tmp, removed with all it holds
 * when the process exits.  Static functions in a header: each target is
 * one file. */
#ifndef ALLIGATE_FUZZ_TMPDIR_H
#define ALLIGATE_FUZZ_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_tmpdir[64];

static int
fuzz_tmpdir_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
fuzz_tmpdir_remove(void)
{
    if (nftw(fuzz_tmpdir, fuzz_tmpdir_rm, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "cannot remove %s\n", fuzz_tmpdir);
}

/* /tmp/NAME.XXXXXX; aborts when it cannot be made. */
static const char *
fuzz_tmpdir_make(const char *name)
{
    snprintf(fuzz_tmpdir, sizeof(fuzz_tmpdir), "/tmp/%s.XXXXXX", name);
    if (mkdtemp(fuzz_tmpdir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    atexit(fuzz_tmpdir_remove);
    return fuzz_tmpdir;
}

#endif
