/* libFuzzer target for the client side of ratekeeper's socket: what
 * smtpd and alligatectl read from ratekeeper (lib/rk_clnt.c over
 * lib/attr_clnt.c).  A thread plays ratekeeper on a Unix socket with the
 * fuzz input: the greeting, then the replies, in any shape and any split,
 * and a socket that may close anywhere.  The client makes the requests of
 * a session (connect with its counts, mail, disconnect) and of
 * alligatectl rate (show, top, lookup, reset).  Nothing may crash, leak or hang; a request either
 * succeeds with what it asked for or fails with a reason.
 *
 * Input: the first byte chooses the order of the requests; the rest is
 * what ratekeeper sends, cut into segments at every 0xff byte: a
 * segment, then whatever the client sent meanwhile is read, then the next
 * segment.  At the end of the input the socket is closed; a new
 * connection (the client reconnects) goes on with the rest. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_peer.h"
#include "msg.h"
#include "rk_clnt.h"
#include "vbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TIMEOUT_MS 500         /* the client's deadline per request */

static char fuzz_dir[64];
static char fuzz_path[128];
static int fuzz_listen_fd = -1;
static FUZZ_PEER fuzz_ratekeeper;       /* plays ratekeeper */

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_rk_clnt: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static void
fuzz_cleanup(void)
{
    unlink(fuzz_path);
    rmdir(fuzz_dir);
}

static void
fuzz_init(void)
{
    struct sockaddr_un sun;

    strcpy(fuzz_dir, "/tmp/fuzz_rk_clnt.XXXXXX");
    if (mkdtemp(fuzz_dir) == NULL)
        abort();
    snprintf(fuzz_path, sizeof(fuzz_path), "%s/%s", fuzz_dir, RK_SOCKET_NAME);
    atexit(fuzz_cleanup);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fuzz_path);
    if ((fuzz_listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0
        || bind(fuzz_listen_fd, (struct sockaddr *) &sun, sizeof(sun)) < 0
        || listen(fuzz_listen_fd, 16) < 0)
        abort();
    if (getenv("FUZZ_LOG") == NULL && msg_open("/dev/null") < 0)
        abort();
    fuzz_peer_init(&fuzz_ratekeeper, fuzz_listen_fd, 0);
}

static void
fuzz_result(RK_CLNT *clnt, int status)
{
    fuzz_check(status == RK_CLNT_OK || status == RK_CLNT_NOANSWER);
    fuzz_check(status == RK_CLNT_OK || rk_clnt_error(clnt) != NULL);
}

static void
fuzz_list(RK_CLNT *clnt, int status, RK_CLNT_COUNT *list, int n)
{
    int i;

    fuzz_result(clnt, status);
    fuzz_check(n >= 0 && (n == 0 || list != NULL));
    fuzz_check(status == RK_CLNT_OK || n == 0);
    for (i = 0; i < n; i++)
        fuzz_check(list[i].key != NULL && list[i].counter != NULL);
    rk_clnt_counts_free(list, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    RK_CLNT *clnt;
    RK_CLNT_COUNT *list;
    RK_CLNT_CONNECT info;
    VBUF *canon;
    long count;
    int order, i, n, status;

    if (fuzz_listen_fd < 0)
        fuzz_init();
    if (size == 0)
        return 0;
    order = data[0];
    fuzz_peer_start(&fuzz_ratekeeper, data + 1, size - 1);
    clnt = rk_clnt_create(fuzz_path, FUZZ_TIMEOUT_MS, RK_CLNT_FLAG_NONE);
    canon = vbuf_create(64);

    for (i = 0; i < 4; i++) {
        switch ((order >> (2 * i)) & 3) {
        case 0:                         /* smtpd sessions, back to back */
            if (rk_clnt_connect_send(clnt, "192.0.2.1") == RK_CLNT_OK) {
                status = rk_clnt_connect_collect_info(clnt, &info);
                fuzz_result(clnt, status);
                /* smtpd's facts: counts or -1, never anything else. */
                fuzz_check(status == RK_CLNT_OK ? info.count >= 0
                           && info.overlimit >= -1 && info.tarpit_disconnect >= -1
                           : info.count == -1 && info.overlimit == -1
                           && info.tarpit_disconnect == -1);
            }
            if (rk_clnt_connect_send(clnt, "192.0.2.1") == RK_CLNT_OK)
                fuzz_result(clnt, rk_clnt_connect_collect(clnt, &count));
            fuzz_result(clnt, rk_clnt_mail(clnt, "addr:192.0.2.1", 600000, &count));
            fuzz_result(clnt, rk_clnt_disconnect_defer(clnt, "192.0.2.1"));
            fuzz_result(clnt, rk_clnt_connect(clnt, "192.0.2.1", &count));
            fuzz_result(clnt, rk_clnt_disconnect_nowait(clnt, "192.0.2.1"));
            if (order & 1) {
                fuzz_result(clnt, rk_clnt_disconnect_defer(clnt, "192.0.2.1"));
                fuzz_result(clnt, rk_clnt_flush(clnt));
            }
            break;
        case 1:                         /* alligatectl rate show */
            list = NULL;
            n = 0;
            status = rk_clnt_show(clnt, "sender:a@example.com", canon, &list, &n);
            fuzz_list(clnt, status, list, n);
            break;
        case 2:                         /* alligatectl rate top */
            list = NULL;
            n = 0;
            status = rk_clnt_top(clnt, 10, &list, &n);
            fuzz_list(clnt, status, list, n);
            break;
        default:
            fuzz_result(clnt, rk_clnt_lookup(clnt, RK_COUNTER_OVERLIMIT, "addr:2001:db8::",
                                             &count));
            fuzz_result(clnt, rk_clnt_disconnect(clnt, "192.0.2.1", &count));
            fuzz_result(clnt, rk_clnt_reset(clnt, "addr:192.0.2.1", &count));
            break;
        }
    }
    rk_clnt_free(clnt);
    vbuf_free(canon);
    fuzz_peer_stop(&fuzz_ratekeeper);
    return 0;
}
