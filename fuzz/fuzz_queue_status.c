/* libFuzzer target for the side records of deferred messages
 * (lib/queue_status.c): status/ID files in the queue, read by relay and by
 * alligatectl queue list.  Any bytes must read without harm; what was read
 * must write back and read again to the same values, the reason made
 * printable and no longer than QUEUE_STATUS_REASON_MAX. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue_dir.h"
#include "queue_status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ID     "0123456789ABCDEF012"

static char fuzz_dir[64];

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_queue_status: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static void
fuzz_cleanup(void)
{
    char path[128];

    snprintf(path, sizeof(path), "%s/%s/%s", fuzz_dir, QUEUE_DIR_STATUS, FUZZ_ID);
    unlink(path);
    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, QUEUE_DIR_STATUS);
    rmdir(path);
    rmdir(fuzz_dir);
}

/* The reason as queue_status_write() keeps it. */
static void
fuzz_printable(const char *in, char *out)
{
    size_t i;

    for (i = 0; in[i] && i < QUEUE_STATUS_REASON_MAX; i++)
        out[i] = (unsigned char) in[i] >= 0x20 && (unsigned char) in[i] < 0x7f ? in[i] : '?';
    out[i] = 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[128];
    QUEUE_STATUS st, again;
    char want[QUEUE_STATUS_REASON_MAX + 1];
    FILE *fp;

    if (fuzz_dir[0] == 0) {
        strcpy(fuzz_dir, "/tmp/fuzz_queue_status.XXXXXX");
        if (mkdtemp(fuzz_dir) == NULL)
            abort();
        atexit(fuzz_cleanup);
        snprintf(path, sizeof(path), "%s/%s", fuzz_dir, QUEUE_DIR_STATUS);
        if (mkdir(path, 0700) < 0)
            abort();
        snprintf(path, sizeof(path), "%s/%s/%s", fuzz_dir, QUEUE_DIR_STATUS, FUZZ_ID);
    }
    if ((fp = fopen(path, "w")) == NULL || fwrite(data, 1, size, fp) != size
        || fclose(fp) != 0)
        abort();

    fuzz_check(queue_status_read(fuzz_dir, FUZZ_ID, &st) == 0);
    fuzz_check(memchr(st.reason, 0, sizeof(st.reason)) != NULL);

    fuzz_check(queue_status_write(fuzz_dir, FUZZ_ID, &st) == 0);
    fuzz_check(queue_status_read(fuzz_dir, FUZZ_ID, &again) == 0);
    fuzz_printable(st.reason, want);
    fuzz_check(again.attempts == st.attempts);
    fuzz_check(again.last_attempt == st.last_attempt);
    fuzz_check(again.next_try == st.next_try);
    fuzz_check(strcmp(again.reason, want) == 0);
    return 0;
}
