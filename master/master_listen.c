/* Opening and closing a service's listening sockets.  Done by master, as
 * root where the port needs it, before any privilege is dropped; workers
 * inherit the sockets. */
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
master_listen_one(const char *spec)
{
    struct sockaddr_storage ss;
    socklen_t len;
    VBUF *why = vbuf_create(64);
    int on = 1;
    int fd;

    if (hostport_listen_addr(spec, &ss, &len, why) < 0) {
        msg_error("listen address %s: %s", spec, vbuf_str(why));
        vbuf_free(why);
        return -1;
    }
    vbuf_free(why);
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        msg_error("socket for %s: %m", spec);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *) &ss, len) < 0) {
        msg_error("cannot listen on %s: bind: %m", spec);
        close(fd);
        return -1;
    }
    if (listen(fd, MASTER_BACKLOG) < 0) {
        msg_error("cannot listen on %s: %m", spec);
        close(fd);
        return -1;
    }
    return fd;
}

int
master_listen_open(MASTER_SERV *serv)
{
    char *const *addrs = conf_list(serv->listen_param);
    int i;

    master_listen_close(serv);
    for (i = 0; addrs[i]; i++) {
        int fd;

        if (serv->listen_count >= MASTER_MAX_LISTEN) {
            msg_error("service %s: more than %d listen addresses",
                      serv->name, MASTER_MAX_LISTEN);
            return -1;
        }
        if ((fd = master_listen_one(addrs[i])) < 0)
            return -1;
        serv->listen_fds[serv->listen_count++] = fd;
        msg_info("service %s listening on %s", serv->name, addrs[i]);
    }
    serv->listen_spec = mystrdup(conf_str(serv->listen_param));
    return 0;
}

void
master_listen_close(MASTER_SERV *serv)
{
    int i;

    for (i = 0; i < serv->listen_count; i++)
        close(serv->listen_fds[i]);
    serv->listen_count = 0;
    serv->listen_spec = myfree(serv->listen_spec);
}
