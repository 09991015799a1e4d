/* A delivery agent: a child of the queue manager (forked, not executed, so
 * `ps` shows it as relay too) that takes one job at a time over its
 * socketpair, delivers it with plain blocking code bounded by timeouts,
 * and reports the result. Between jobs it keeps its connection to the
 * backend open for relay_connection_cache_time, watching it, and closes it
 * with QUIT when that runs out or the server hangs up; an agent without
 * work exits after RELAY_AGENT_IDLE_MS. It dies with the queue manager
 * (PR_SET_PDEATHSIG), so a relay killed and restarted never has two agents
 * on the same file; the queue file's lock guards that too.
 *
 *   request=deliver  queue_id=ID  queue_dir=incoming|deferred
 *                    [defer_reason=TEXT]
 *   status=0  queue_id=ID  result=done|deferred|corrupt|gone|busy|error
 *             next_try=UNIX-TIME  conn_failed=0|1  [reason=TEXT]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attr.h"
#include "conf.h"
#include "monotime.h"
#include "msg.h"
#include "queue_dir.h"
#include "relay.h"
#include "server.h"

#define RELAY_AGENT_IDLE_MS     (60 * 1000)

/* Blocking write of the whole buffer; -1 when the queue manager is gone. */
static int
relay_agent_write(int fd, const VBUF *out)
{
    size_t done = 0;
    ssize_t n;

    while (done < vbuf_len(out)) {
        if ((n = write(fd, out->data + done, vbuf_len(out) - done)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        done += (size_t) n;
    }
    return 0;
}

/* Does one request; -1 when the agent should exit. */
static int
relay_agent_job(int fd, RELAY_SMTP **sessp, const ATTR *req)
{
    const char *id = attr_get(req, "queue_id");
    const char *sub = attr_get(req, "queue_dir");
    const char *verb = attr_get(req, "request");
    RELAY_JOB_RESULT res;
    ATTR *reply;
    VBUF *out;
    int rc;

    if (verb == NULL || strcmp(verb, "deliver") != 0 || id == NULL
        || !queue_id_valid(id) || sub == NULL
        || (strcmp(sub, QUEUE_DIR_INCOMING) != 0 && strcmp(sub, QUEUE_DIR_DEFERRED) != 0)) {
        msg_warn("agent: bad request from the queue manager");
        return -1;
    }
    res.why = vbuf_create(100);
    relay_deliver(sessp, id, sub, attr_get(req, "defer_reason"), &res);

    reply = attr_create();
    out = vbuf_create(256);
    attr_set(reply, "status", "0");
    attr_set(reply, "queue_id", id);
    attr_set(reply, "result", res.result);
    attr_setf(reply, "next_try", "%lld", (long long) res.next_try);
    attr_set_long(reply, "conn_failed", res.conn_failed);
    if (vbuf_len(res.why) > 0) {
        if (vbuf_len(res.why) > 1000)
            vbuf_truncate(res.why, 1000);
        attr_set(reply, "reason", vbuf_str(res.why));
    }
    attr_print(out, reply);
    rc = relay_agent_write(fd, out);
    attr_free(reply);
    vbuf_free(out);
    vbuf_free(res.why);
    return rc;
}

void
relay_agent_main(int fd)
{
    RELAY_SMTP *sess = NULL;
    VBUF *in = vbuf_create(1024);
    VBUF *why = vbuf_create(100);
    ATTR *req = attr_create();
    long long idle_since = monotime_ms();
    long long cache_ms = conf_time_ms(P_relay_connection_cache_time);
    struct pollfd pfd[2];
    char buf[4096];
    size_t used;
    ssize_t n;
    long long left;
    int status, npfd;

    while (!server_sigterm) {
        status = attr_parse(req, vbuf_str(in), vbuf_len(in), &used, why);
        if (status < 0) {
            msg_warn("agent: malformed request: %s", vbuf_str(why));
            break;
        }
        if (status == 1) {
            vbuf_consume(in, used);
            if (relay_agent_job(fd, &sess, req) < 0)
                break;
            if (sess != NULL && cache_ms == 0)
                sess = relay_smtp_close(sess, 1);
            idle_since = monotime_ms();
            continue;
        }
        pfd[0].fd = fd;
        pfd[0].events = POLLIN;
        npfd = 1;
        if (sess != NULL) {
            pfd[1].fd = relay_smtp_fd(sess);
            pfd[1].events = POLLIN;
            npfd = 2;
        }
        left = idle_since + (sess ? cache_ms : RELAY_AGENT_IDLE_MS) - monotime_ms();
        if (left < 0)
            left = 0;
        if ((n = poll(pfd, (nfds_t) npfd, (int) left)) < 0) {
            if (errno == EINTR)
                continue;
            msg_fatal("agent: poll: %m");
        }
        if (n == 0) {
            if (sess == NULL)
                break;                  /* idle long enough */
            sess = relay_smtp_close(sess, 1);
            idle_since = monotime_ms();
            continue;
        }
        if (npfd == 2 && pfd[1].revents && !relay_smtp_reusable(sess)) {
            /* The backend closed the connection, or said goodbye. */
            sess = relay_smtp_close(sess, 0);
            idle_since = monotime_ms();
        }
        if (pfd[0].revents) {
            if ((n = read(fd, buf, sizeof(buf))) < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;                  /* the queue manager is done with us */
            vbuf_append(in, buf, (size_t) n);
        }
    }
    relay_smtp_close(sess, 1);
    _exit(0);
}
