/* libFuzzer target: list files (killlist, whitelist, local_recipients), read
 * both as a CIDR list and as an address list, then matched. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr_list.h"
#include "cidr_list.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input goes to an unlinked temporary file, read back by its
 * /proc/self/fd name, so that no file is left behind. */
static const char *
fuzz_write_file(const uint8_t *data, size_t size)
{
    static char path[64];
    static int fd = -1;

    if (fd < 0) {
        char tmp[] = "/tmp/fuzz_listfile.XXXXXX";

        if ((fd = mkstemp(tmp)) < 0) {
            perror("mkstemp");
            abort();
        }
        unlink(tmp);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t) size) {
        perror("write");
        abort();
    }
    return path;
}

/* A failed load must say why, prefixed with the path. */
static void
fuzz_check_why(int ret, VBUF *why, const char *path)
{
    if (ret < 0 && strncmp(vbuf_str(why), path, strlen(path)) != 0)
        abort();
    if (ret == 0 && vbuf_len(why) != 0)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const addrs[] = {
        "192.0.2.1", "::ffff:192.0.2.1", "0.0.0.0", "255.255.255.255",
        "::", "::1", "2001:db8::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "not an address",
    };
    static const char *const mails[] = {
        "user@example.com", "USER@EXAMPLE.COM", "x@example.com", "@example.com",
        "", "nobody", "a@b@c",
    };
    const char *path = fuzz_write_file(data, size);
    VBUF *why = vbuf_create(100);
    CIDR_LIST *cidr = cidr_list_create();
    ADDR_LIST *addr = addr_list_create();
    size_t i;

    fuzz_check_why(cidr_list_load_file(cidr, path, why), why, path);
    cidr_list_finish(cidr);
    for (i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++)
        (void) cidr_list_match_str(cidr, addrs[i]);

    fuzz_check_why(addr_list_load_file(addr, path, why), why, path);
    for (i = 0; i < sizeof(mails) / sizeof(mails[0]); i++)
        (void) addr_list_match(addr, mails[i]);

    cidr_list_free(cidr);
    addr_list_free(addr);
    vbuf_free(why);
    return 0;
}
