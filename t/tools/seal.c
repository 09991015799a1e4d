/* seal: the system tests' way to make a queue file's sealed credentials
 * record (K, queue_record.h) as smtpd does, for queue files they write
 * themselves. Test-only: never installed.
 *
 *   seal DATA_DIR QUEUE_ID USER < PASSWORD
 *
 * Loads (or makes) DATA_DIR/replay.key and prints the sealed text of USER
 * and the password (stdin, one trailing newline dropped). The password is
 * read from stdin, never from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cred_seal.h"
#include "vbuf.h"

int
main(int argc, char **argv)
{
    VBUF   *password = vbuf_create(256), *out = vbuf_create(256), *why = vbuf_create(100);
    char    buf[1024];
    size_t  n;
    int     rc = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: seal DATA_DIR QUEUE_ID USER < PASSWORD\n");
        return 2;
    }
    while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
        vbuf_append(password, buf, n);
    if (vbuf_len(password) > 0 && vbuf_str(password)[vbuf_len(password) - 1] == '\n')
        vbuf_truncate(password, vbuf_len(password) - 1);
    if (strlen(vbuf_str(password)) != vbuf_len(password))
        fprintf(stderr, "seal: NUL in the password\n");
    else if (cred_seal_init(argv[1], why) < 0 || cred_seal(argv[2], argv[3],
                                                            vbuf_str(password), out, why) < 0)
        fprintf(stderr, "seal: %s\n", vbuf_str(why));
    else {
        printf("%s\n", vbuf_str(out));
        rc = 0;
    }
    cred_wipe(password);
    vbuf_free(password);
    vbuf_free(out);
    vbuf_free(why);
    return rc;
}
