/* libFuzzer target for the queue file reader: any bytes on disk must give
 * a clean verdict, and an accepted file must be self-consistent. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue_mark.h"
#include "queue_read.h"
#include "vbuf.h"

static char fuzz_path[64];
static int fuzz_fd = -1;

static void
fuzz_cleanup(void)
{
    if (fuzz_path[0])
        unlink(fuzz_path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static VBUF *why;
    QUEUE_ENVELOPE env;
    size_t  i;
    char    c;

    if (fuzz_fd < 0) {
        strcpy(fuzz_path, "/tmp/fuzz_queue_file.XXXXXX");
        if ((fuzz_fd = mkstemp(fuzz_path)) < 0)
            abort();
        atexit(fuzz_cleanup);
        why = vbuf_create(100);
    }
    if (ftruncate(fuzz_fd, 0) < 0
        || (size > 0 && pwrite(fuzz_fd, data, size, 0) != (ssize_t) size))
        abort();

    switch (queue_read(fuzz_path, &env, why)) {
    case QUEUE_READ_OK:
        if (env.sender == NULL || env.rcpt_count == 0
            || env.message_offset < 0 || env.message_length < 0
            || (size_t) (env.message_offset + env.message_length) > size)
            abort();
        for (i = 0; i < env.rcpt_count; i++) {
            if (env.rcpt[i].offset >= env.message_offset
                || data[env.rcpt[i].offset] != env.rcpt[i].status)
                abort();
        }
        /* Marking a recipient keeps the file valid. */
        if (queue_mark_rcpt(fuzz_fd, env.rcpt[0].offset, QUEUE_RCPT_DELIVERED) < 0
            || pread(fuzz_fd, &c, 1, env.rcpt[0].offset) != 1 || c != QUEUE_RCPT_DELIVERED)
            abort();
        queue_read_free(&env);
        if (queue_read(fuzz_path, &env, why) != QUEUE_READ_OK)
            abort();
        break;
    case QUEUE_READ_CORRUPT:
        if (vbuf_len(why) == 0 || env.sender != NULL || env.rcpt != NULL)
            abort();
        break;
    default:                            /* the file is ours: no I/O errors */
        abort();
    }
    queue_read_free(&env);
    return 0;
}
