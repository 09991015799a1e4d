/* The typed client of the tarpit (tarpit_clnt.h): smtpd's hand-off of a
 * client over run_directory/tarpit.sock, which never blocks and fails
 * at once when the tarpit is down or full (the caller then refuses the
 * client itself), and alligatectl's status request on the control
 * socket. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_clnt.h"
#include "fd_pass.h"
#include "mymalloc.h"
#include "path.h"
#include "tarpit_clnt.h"

#define TARPIT_CLNT_SEND_FLAGS  (MSG_DONTWAIT | MSG_NOSIGNAL)

struct TARPIT_CLNT {
    char *path;
    int fd;                         /* -1: not connected */
    VBUF *msg;
    VBUF *why;
};

TARPIT_CLNT *
tarpit_clnt_create(const char *socket_path)
{
    TARPIT_CLNT *clnt = mymalloc(sizeof(*clnt));

    clnt->path = mystrdup(socket_path);
    clnt->fd = -1;
    clnt->msg = vbuf_create(TARPIT_MSG_MAX);
    clnt->why = vbuf_create(100);
    return clnt;
}

TARPIT_CLNT *
tarpit_clnt_free(TARPIT_CLNT *clnt)
{
    if (clnt) {
        if (clnt->fd >= 0)
            close(clnt->fd);
        myfree(clnt->path);
        vbuf_free(clnt->msg);
        vbuf_free(clnt->why);
        myfree(clnt);
    }
    return NULL;
}

const char *
tarpit_clnt_default_path(void)
{
    return path_run(TARPIT_SOCKET_NAME);
}

const char *
tarpit_clnt_error(const TARPIT_CLNT *clnt)
{
    return vbuf_str(clnt->why);
}

static int
tarpit_clnt_fail(TARPIT_CLNT *clnt, const char *what, int err)
{
    vbuf_set(clnt->why, "");
    vbuf_printf(clnt->why, "%s %s: %s", what, clnt->path, strerror(err));
    return -1;
}

/* A connection that never blocks: a Unix socket's connect() completes at
 * once or fails (EAGAIN when the tarpit's backlog is full). */
static int
tarpit_clnt_connect(TARPIT_CLNT *clnt)
{
    struct sockaddr_un sun;
    int fd, err;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(clnt->path) >= sizeof(sun.sun_path))
        return tarpit_clnt_fail(clnt, "connect to", ENAMETOOLONG);
    memcpy(sun.sun_path, clnt->path, strlen(clnt->path) + 1);
    fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return tarpit_clnt_fail(clnt, "socket for", errno);
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        err = errno;
        close(fd);
        return tarpit_clnt_fail(clnt, "connect to", err);
    }
    clnt->fd = fd;
    return 0;
}

/* The peer went away: a new connection may reach a new tarpit. */
static int
tarpit_clnt_gone(int err)
{
    return err == EPIPE || err == ECONNRESET || err == ENOTCONN
        || err == ECONNREFUSED;
}

int
tarpit_clnt_handoff(TARPIT_CLNT *clnt, int client_fd, const TARPIT_HOLD *hold)
{
    ssize_t sent;
    int attempt, err;

    if (client_fd < 0) {
        vbuf_set(clnt->why, "no client descriptor");
        return -1;
    }
    vbuf_reset(clnt->msg);
    if (tarpit_msg_encode(hold, clnt->msg) < 0) {
        vbuf_set(clnt->why, "the hold does not encode");
        return -1;
    }
    for (attempt = 0; attempt < 2; attempt++) {
        if (clnt->fd < 0 && tarpit_clnt_connect(clnt) < 0)
            return -1;
        sent = fd_pass_send(clnt->fd, vbuf_str(clnt->msg), vbuf_len(clnt->msg),
                            client_fd, TARPIT_CLNT_SEND_FLAGS);
        if (sent == (ssize_t) vbuf_len(clnt->msg))
            return 0;
        err = sent < 0 ? errno : EMSGSIZE;
        if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS
            || err == ETOOMANYREFS) {
            /* Full: the connection stays for the next hand-off. */
            return tarpit_clnt_fail(clnt, "tarpit full: send to", err);
        }
        close(clnt->fd);
        clnt->fd = -1;
        tarpit_clnt_fail(clnt, "send to", err);
        if (!tarpit_clnt_gone(err))
            return -1;
    }
    return -1;
}

/* The control socket -------------------------------------------------- */

const char *
tarpit_clnt_default_ctl_path(void)
{
    return path_run(TARPIT_CTL_SOCKET_NAME);
}

int
tarpit_clnt_status(const char *ctl_path, int timeout_ms, TARPIT_STATUS *st,
                   VBUF *why)
{
    CTL_CLNT *clnt = ctl_clnt_create(ctl_path, TARPIT_CTL_PROTO,
                                     TARPIT_CTL_VERSION, timeout_ms);
    int rc = -1;

    memset(st, 0, sizeof(*st));
    if (ctl_clnt_call(clnt, "status") == CTL_CLNT_OK
        && ctl_clnt_count(clnt, "held", &st->held) == 0
        && ctl_clnt_count(clnt, "max", &st->max) == 0
        && ctl_clnt_count(clnt, "released", &st->released) == 0
        && ctl_clnt_count(clnt, "disconnects", &st->disconnects) == 0
        && ctl_clnt_count(clnt, "early", &st->early) == 0)
        rc = 0;
    else
        vbuf_set(why, ctl_clnt_error(clnt));
    ctl_clnt_free(clnt);
    return rc;
}
