/* Unix-domain stream sockets: listening at a path, connecting within a
 * deadline; and listening sockets of the other types (the tarpit's
 * SOCK_SEQPACKET). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "monotime.h"
#include "unix_sock.h"

#define UNIX_SOCK_AGAIN_MS 10           /* pause when the backlog is full */

static int
unix_sock_addr(struct sockaddr_un *sun, const char *path, VBUF *why)
{
    memset(sun, 0, sizeof(*sun));
    sun->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun->sun_path)) {
        vbuf_set(why, "");
        vbuf_printf(why, "socket path too long: %s", path);
        return -1;
    }
    memcpy(sun->sun_path, path, strlen(path) + 1);
    return 0;
}

static int
unix_sock_fail(VBUF *why, const char *what, const char *path, int fd)
{
    int err = errno;

    vbuf_set(why, "");
    vbuf_printf(why, "%s %s: %s", what, path, strerror(err));
    if (fd >= 0)
        close(fd);
    errno = err;
    return -1;
}

/* Returns 1 when a process accepts connections at the socket. */
static int
unix_sock_live(const struct sockaddr_un *sun, int type)
{
    int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int live;

    if (fd < 0)
        return 0;
    live = connect(fd, (const struct sockaddr *) sun, sizeof(*sun)) == 0
        || errno == EAGAIN;
    close(fd);
    return live;
}

int
unix_sock_listen(const char *path, int mode, int backlog, VBUF *why)
{
    return unix_sock_listen_type(path, SOCK_STREAM, mode, backlog, why);
}

int
unix_sock_listen_type(const char *path, int type, int mode, int backlog,
                      VBUF *why)
{
    struct sockaddr_un sun;
    struct stat st;
    mode_t old_umask;
    int fd, ret;

    if (unix_sock_addr(&sun, path, why) < 0)
        return -1;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            vbuf_set(why, "");
            vbuf_printf(why, "%s: exists and is not a socket", path);
            return -1;
        }
        if (unix_sock_live(&sun, type)) {
            vbuf_set(why, "");
            vbuf_printf(why, "%s: another process is listening", path);
            return -1;
        }
        if (unlink(path) < 0 && errno != ENOENT)
            return unix_sock_fail(why, "unlink", path, -1);
    } else if (errno != ENOENT) {
        return unix_sock_fail(why, "lstat", path, -1);
    }
    if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) < 0)
        return unix_sock_fail(why, "socket for", path, -1);
    /* The umask closes the window between bind() and chmod(). */
    old_umask = umask(~(mode_t) mode & 0777);
    ret = bind(fd, (struct sockaddr *) &sun, sizeof(sun));
    umask(old_umask);
    if (ret < 0)
        return unix_sock_fail(why, "bind", path, fd);
    if (chmod(path, (mode_t) mode) < 0)
        return unix_sock_fail(why, "chmod", path, fd);
    if (listen(fd, backlog) < 0)
        return unix_sock_fail(why, "listen on", path, fd);
    return fd;
}

int
unix_sock_connect(const char *path, int timeout_ms, VBUF *why)
{
    struct sockaddr_un sun;
    long long deadline = monotime_ms() + timeout_ms, left;
    struct pollfd pfd;
    socklen_t len = sizeof(int);
    int fd, err, n;

    if (unix_sock_addr(&sun, path, why) < 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return unix_sock_fail(why, "socket for", path, -1);
    for (;;) {
        if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0)
            return fd;
        left = deadline - monotime_ms();
        /* Linux says EAGAIN, not EINPROGRESS, when the backlog is full. */
        if (errno == EAGAIN && left > 0) {
            poll(NULL, 0, left < UNIX_SOCK_AGAIN_MS ? (int) left
                 : UNIX_SOCK_AGAIN_MS);
            continue;
        }
        if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN)
            return unix_sock_fail(why, "connect to", path, fd);
        break;
    }
    pfd.fd = fd;
    pfd.events = POLLOUT;
    do {
        left = deadline - monotime_ms();
        n = left > 0 ? poll(&pfd, 1, (int) left) : 0;
    } while (n < 0 && errno == EINTR);
    if (n == 0)
        errno = ETIMEDOUT;
    else if (n > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0)
        errno = err;
    if (n <= 0 || errno != 0)
        return unix_sock_fail(why, "connect to", path, fd);
    return fd;
}
