/* The relay's control socket in run_directory (mode 0600, like master's):
 * `alligatectl queue flush` asks for every queued message to be tried now.
 *
 *   request=flush    ->  status=0
 *   request=status   ->  status=0 ready=N active=N agents=N busy=N
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "attr_serv.h"
#include "conf.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "relay.h"
#include "unix_sock.h"
#include "vbuf.h"

static ATTR_SERV *relay_ctl_serv;
static int relay_ctl_fd = -1;
static char *relay_ctl_path;

static void
relay_ctl_handle(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");
    long ready, active;
    int agents, busy;

    (void) context;
    if (verb != NULL && strcmp(verb, "flush") == 0) {
        msg_info("flush: trying every queued message now");
        relay_queue_flush();
        attr_set(reply, "status", "0");
    } else if (verb != NULL && strcmp(verb, "status") == 0) {
        relay_queue_counts(&ready, &active);
        agents = relay_pool_count(&busy);
        attr_set(reply, "status", "0");
        attr_set_long(reply, "ready", ready);
        attr_set_long(reply, "active", active);
        attr_set_long(reply, "agents", agents);
        attr_set_long(reply, "busy", busy);
    } else {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", verb ? "unknown request" : "no request");
    }
}

/* In an agent: the listening socket is the queue manager's. */
static void
relay_ctl_fork_close(void *context)
{
    (void) context;
    if (relay_ctl_fd >= 0)
        close(relay_ctl_fd);
}

void
relay_ctl_open(void)
{
    VBUF *why = vbuf_create(64);

    relay_ctl_path = path_join(conf_str(P_run_directory), RELAY_CTL_SOCKET);
    if ((relay_ctl_fd = unix_sock_listen(relay_ctl_path, 0600, 16, why)) < 0)
        msg_fatal("control socket: %s", vbuf_str(why));
    relay_ctl_serv = attr_serv_create(relay_ctl_fd, RELAY_CTL_PROTO, RELAY_CTL_VERSION,
                                      relay_ctl_handle, NULL);
    relay_pool_on_fork(relay_ctl_fork_close, NULL);
    vbuf_free(why);
}

void
relay_ctl_close(void)
{
    if (relay_ctl_serv == NULL)
        return;
    relay_ctl_serv = attr_serv_free(relay_ctl_serv);
    close(relay_ctl_fd);
    unlink(relay_ctl_path);
    relay_ctl_path = myfree(relay_ctl_path);
    relay_ctl_fd = -1;
}

