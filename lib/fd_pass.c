/* Sending and receiving a message with one descriptor (fd_pass.h).  The
 * receiver makes room for several descriptors so that a peer that sends
 * more does not leave them open in this process: the extras are closed
 * and the message refused. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fd_pass.h"

#define FD_PASS_ROOM    8               /* descriptors the receiver takes */

ssize_t
fd_pass_send(int sock, const void *buf, size_t len, int fd, int flags)
{
    union {
        struct cmsghdr hdr;
        char    space[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg;
    struct iovec iov;
    struct cmsghdr *cmsg;

    memset(&msg, 0, sizeof(msg));
    iov.iov_base = (void *) buf;
    iov.iov_len = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.space;
        msg.msg_controllen = sizeof(control.space);
        cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    }
    return sendmsg(sock, &msg, flags);
}

/* Closes every descriptor in the control data; returns how many there
 * were and puts the first into *first (or -1). */
static int
fd_pass_collect(struct msghdr *msg, int *first, int close_all)
{
    struct cmsghdr *cmsg;
    int count = 0, fd;
    size_t i, n;

    *first = -1;
    for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            continue;
        n = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (i = 0; i < n; i++) {
            memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            if (count++ == 0 && !close_all)
                *first = fd;
            else
                close(fd);
        }
    }
    return count;
}

/* Whether the control data holds anything but descriptors. */
static int
fd_pass_foreign(struct msghdr *msg)
{
    struct cmsghdr *cmsg;

    for (cmsg = CMSG_FIRSTHDR(msg); cmsg; cmsg = CMSG_NXTHDR(msg, cmsg))
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            return 1;
    return 0;
}

ssize_t
fd_pass_recv(int sock, void *buf, size_t size, int *fd, int flags)
{
    union {
        struct cmsghdr hdr;
        char    space[CMSG_SPACE(FD_PASS_ROOM * sizeof(int))];
    } control;
    struct msghdr msg;
    struct iovec iov;
    ssize_t n;
    int count, first, err;

    *fd = -1;
    memset(&msg, 0, sizeof(msg));
    iov.iov_base = buf;
    iov.iov_len = size;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.space;
    msg.msg_controllen = sizeof(control.space);
    if ((n = recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC)) < 0)
        return -1;
    if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC) || fd_pass_foreign(&msg)) {
        err = msg.msg_flags & MSG_TRUNC && !(msg.msg_flags & MSG_CTRUNC)
            ? EMSGSIZE : EBADMSG;
        fd_pass_collect(&msg, &first, 1);
        errno = err;
        return -1;
    }
    if ((count = fd_pass_collect(&msg, &first, 0)) > 1) {
        close(first);
        errno = EBADMSG;
        return -1;
    }
    *fd = first;
    return n;
}
