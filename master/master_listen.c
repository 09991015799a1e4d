/* Opening and closing a service's listening sockets.  Done by master, as
 * root where the port needs it, before any privilege is dropped; workers
 * inherit the sockets.
 *
 * On reload a listener whose address is still configured is kept (with
 * the clients waiting in its backlog), new ones are opened before old ones
 * go, and if one cannot be opened the service keeps the sockets it had.
 *
 * A listener that goes is shut down, not just closed: workers still
 * finishing a session hold it too, and it must stop taking clients that
 * nobody would serve.  Not at once, though: an idle worker told to exit
 * may be waiting on it still and would take the shut down socket for an
 * error.  It is retired first, and shut down once no such worker is left
 * (master_listen_shut_retired, called by the service). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "hostport.h"
#include "master.h"
#include "msg.h"
#include "mymalloc.h"
#include "vbuf.h"

#define MASTER_BACKLOG  1024

static int
master_listen_one(const char *spec, const struct sockaddr_storage *ss,
                  socklen_t len, VBUF *why)
{
    int on = 1;
    int fd;

    fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        vbuf_printf(why, "socket for %s: %s", spec, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, (const struct sockaddr *) ss, len) < 0) {
        vbuf_printf(why, "cannot listen on %s: bind: %s", spec, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, MASTER_BACKLOG) < 0) {
        vbuf_printf(why, "cannot listen on %s: %s", spec, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Whether the listening socket fd is bound to the address ss. */
static int
master_listen_same(int fd, const struct sockaddr_storage *ss)
{
    struct sockaddr_storage cur;
    socklen_t len = sizeof(cur);

    if (getsockname(fd, (struct sockaddr *) &cur, &len) < 0
        || cur.ss_family != ss->ss_family)
        return 0;
    if (cur.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *) &cur;
        const struct sockaddr_in *b = (const struct sockaddr_in *) ss;

        return a->sin_port == b->sin_port
            && a->sin_addr.s_addr == b->sin_addr.s_addr;
    }
    if (cur.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *) &cur;
        const struct sockaddr_in6 *b = (const struct sockaddr_in6 *) ss;

        return a->sin6_port == b->sin6_port
            && memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
    }
    return 0;
}

/* Stops listening for every process that holds fd, then closes it. */
static void
master_listen_shut(int fd)
{
    shutdown(fd, SHUT_RDWR);
    close(fd);
}

static void
master_listen_retire(MASTER_SERV *serv, int fd)
{
    if (serv->retired_count < MASTER_MAX_LISTEN)
        serv->retired_fds[serv->retired_count++] = fd;
    else
        master_listen_shut(fd);
}

void
master_listen_shut_retired(MASTER_SERV *serv)
{
    while (serv->retired_count > 0)
        master_listen_shut(serv->retired_fds[--serv->retired_count]);
}

int
master_listen_open(MASTER_SERV *serv, VBUF *why)
{
    char *const *addrs = conf_list(serv->listen_param);
    int fds[MASTER_MAX_LISTEN];
    int fresh[MASTER_MAX_LISTEN];       /* opened now, not kept */
    int kept[MASTER_MAX_LISTEN] = {0};  /* old ones still wanted */
    int count = 0;
    int i, j;

    for (i = 0; addrs[i]; i++) {
        struct sockaddr_storage ss;
        socklen_t len;

        if (count >= MASTER_MAX_LISTEN) {
            vbuf_printf(why, "more than %d listen addresses", MASTER_MAX_LISTEN);
            goto fail;
        }
        if (hostport_listen_addr(addrs[i], &ss, &len, why) < 0)
            goto fail;
        for (j = 0; j < serv->listen_count; j++)
            if (!kept[j] && master_listen_same(serv->listen_fds[j], &ss))
                break;
        if (j < serv->listen_count) {
            kept[j] = 1;
            fresh[count] = 0;
            fds[count++] = serv->listen_fds[j];
            continue;
        }
        if ((fds[count] = master_listen_one(addrs[i], &ss, len, why)) < 0)
            goto fail;
        fresh[count++] = 1;
        msg_info("service %s listening on %s", serv->name, addrs[i]);
    }
    for (j = 0; j < serv->listen_count; j++)
        if (!kept[j])
            master_listen_retire(serv, serv->listen_fds[j]);
    memcpy(serv->listen_fds, fds, sizeof(fds[0]) * count);
    serv->listen_count = count;
    myfree(serv->listen_spec);
    serv->listen_spec = mystrdup(conf_str(serv->listen_param));
    return 0;

fail:
    for (i = 0; i < count; i++)
        if (fresh[i])
            close(fds[i]);
    return -1;
}

void
master_listen_close(MASTER_SERV *serv)
{
    int i;

    for (i = 0; i < serv->listen_count; i++)
        master_listen_retire(serv, serv->listen_fds[i]);
    serv->listen_count = 0;
    serv->listen_spec = myfree(serv->listen_spec);
}
