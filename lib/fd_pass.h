/* A descriptor sent along with a message over a Unix-domain socket
 * (SCM_RIGHTS), as smtpd hands a client to the tarpit and as Postfix's
 * postscreen hands one to smtpd.  One descriptor per message. */
#ifndef ALLIGATE_FD_PASS_H
#define ALLIGATE_FD_PASS_H

#include <stddef.h>
#include <sys/types.h>

/* Sends buf[0..len) with fd (no descriptor when fd < 0) in one sendmsg()
 * with flags (MSG_DONTWAIT, MSG_NOSIGNAL, ...).  Returns the bytes sent
 * (on a SOCK_SEQPACKET socket all or nothing), or -1 with errno as
 * sendmsg() left it.  fd stays open in the caller. */
ssize_t fd_pass_send(int sock, const void *buf, size_t len, int fd,
                     int flags);

/* Receives one message into buf (at most size bytes) with recvmsg(flags
 * | MSG_CMSG_CLOEXEC), and the descriptor that came with it into *fd
 * (close-on-exec), or *fd = -1 when none came.  Returns the message's
 * length (0 on a SOCK_SEQPACKET socket: the peer closed it), or -1 with
 * errno: recvmsg()'s (EAGAIN when nothing waits), EMSGSIZE when the
 * message was longer than size (the rest is lost), EBADMSG when the
 * control data was truncated or held more than one descriptor or
 * anything but descriptors.  On -1 every descriptor that came is closed
 * and *fd is -1. */
ssize_t fd_pass_recv(int sock, void *buf, size_t size, int *fd, int flags);

#endif
