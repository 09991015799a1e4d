/* tarpit: holds the clients smtpd hands over (SCM_RIGHTS on
 * run_directory/tarpit.sock, the TARPIT_HOLD message of tarpit_clnt.h)
 * for their delay, then answers the command they are waiting on with the
 * refusal and closes; a client that leaves first is a tarpit disconnect,
 * counted in ratekeeper.  One process on one event loop, thousands of
 * connections at a few hundred bytes each.
 *
 * This file is glue: the daemon skeleton (lib/server_event.c), the
 * sockets, the clock, the descriptor limit and the log.  The held
 * connections and their timers are in tp_hold.c (on tp_heap.c and
 * tp_intern.c), the reports to ratekeeper in tp_report.c.
 *
 *   tarpit -c CONFIG_DIR [-m] [-f] [-v]     (started by master) */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attr_serv.h"
#include "conf.h"
#include "events.h"
#include "fd_pass.h"
#include "metrics.h"
#include "msg.h"
#include "mymalloc.h"
#include "path.h"
#include "printable.h"
#include "rk_clnt.h"
#include "rk_key.h"
#include "server.h"
#include "tarpit_clnt.h"
#include "tp_hold.h"
#include "tp_report.h"
#include "units.h"
#include "unix_sock.h"

#define TP_SOCKET_MODE      0600        /* smtpd runs as daemon_user too */
#define TP_BACKLOG          1024
#define TP_RECV_BATCH       64          /* hand-offs per read event */
/* One read of a held client, into one buffer for all: large, so that
 * a client that floods costs few reads (a 4 KiB buffer took 5 times the
 * CPU per megabyte); the drain before an answer reads up to
 * TP_DRAIN_READS of it, so that the close does not reset. */
#define TP_SCRATCH          65536
#define TP_DRAIN_READS      16          /* before the answer, at most */
#define TP_RELEASE_BATCH    1000        /* answers per timer round */
#define TP_FD_SPARE         64          /* log, sockets, ratekeeper, ... */
#define TP_REPORT_MS        2000        /* ratekeeper's answer, at most */
#define TP_ACCEPT_PAUSE_MS  100         /* out of descriptors */
#define TP_WARN_MS          60000       /* repeated warnings, at most */

#define TP_SEND_FLAGS       (MSG_DONTWAIT | MSG_NOSIGNAL)

static TP_HOLDS *tp_holds;
static long tp_max;                     /* connections held at most */
static long tp_released, tp_disconnects, tp_early;
static char *tp_sock_path;
static char *tp_ctl_path;
static int tp_sock_fd = -1;
static int tp_ctl_fd = -1;
static ATTR_SERV *tp_ctl_serv;
static char tp_scratch[TP_SCRATCH];     /* what held clients send goes here */
static long long tp_warned_fds;

static void tp_due(int event, void *context);

/* Times for the log ------------------------------------------------- */

/* A delay as given: "60s", "1.5s", "0.25s". */
static const char *
tp_delay_str(long long ms, char *buf, size_t size)
{
    int len;

    if (ms % 1000 == 0) {
        snprintf(buf, size, "%llds", ms / 1000);
        return buf;
    }
    len = snprintf(buf, size, "%lld.%03lld", ms / 1000, ms % 1000);
    while (len > 0 && (size_t) len < size && buf[len - 1] == '0')
        buf[--len] = 0;
    snprintf(buf + len, size - (size_t) len, "s");
    return buf;
}

/* A time that passed, to a tenth of a second: "23s", "2.1s". */
static const char *
tp_elapsed_str(long long ms, char *buf, size_t size)
{
    long long tenths = (ms + 50) / 100;

    if (tenths % 10 == 0)
        snprintf(buf, size, "%llds", tenths / 10);
    else
        snprintf(buf, size, "%lld.%llds", tenths / 10, tenths % 10);
    return buf;
}

/* The timer and the descriptor limit --------------------------------- */

/* The event timer follows the hold due first. */
static void
tp_schedule(void)
{
    long long next = tp_holds_next_due(tp_holds);
    long long now = event_now_ms();

    if (next < 0)
        event_cancel_timer(tp_due, NULL);
    else
        event_request_timer(tp_due, NULL, next > now ? next - now : 0);
}

/* Raises the soft descriptor limit to what tarpit_max_connections
 * needs; when the hard limit is lower, holds what fits and says so. */
static void
tp_limits(void)
{
    long long want = conf_int(P_tarpit_max_connections);
    long long spare = 3 * conf_int(P_smtpd_max_processes) + TP_FD_SPARE;
    struct rlimit rl;
    rlim_t need = (rlim_t) (want + spare);
    long long room;

    tp_max = (long) want;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        msg_warn("getrlimit: %m; holding at most tarpit_max_connections = %lld",
                 want);
        return;
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        struct rlimit raised = rl;

        raised.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need
            ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
            rl = raised;
        else
            msg_warn("setrlimit RLIMIT_NOFILE %llu: %m",
                     (unsigned long long) raised.rlim_cur);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return;
    room = (long long) rl.rlim_cur - spare;
    tp_max = room > 0 ? (long) room : 1;
    msg_warn("the descriptor limit (%llu, hard limit %llu) lets the tarpit hold "
             "only %ld connections, not tarpit_max_connections = %lld; raise "
             "the hard limit (ulimit -Hn, or LimitNOFILE= for systemd) to %llu",
             (unsigned long long) rl.rlim_cur,
             (unsigned long long) rl.rlim_max, tp_max, want,
             (unsigned long long) need);
}

/* Tarpit disconnects ------------------------------------------------ */

/* The log line's start ("name[addr] disconnected after 23s"), which
 * waits for ratekeeper's count. */
static void
tp_disconnect_logged(long count, const char *why, void *context)
{
    char *said = context;
    long long limit = conf_int(P_tarpit_disconnect_limit);
    char window[32];

    units_time_str(conf_time_ms(P_tarpit_disconnect_window), window,
                   sizeof(window));
    if (count < 0) {
        metrics_inc(METRIC_RK_FAIL_OPEN);
        msg_info("tarpit: %s (tarpit disconnect; ratekeeper did not answer: %s)",
                 said, printable_str(why));
    } else if (limit > 0)
        msg_info("tarpit: %s (tarpit disconnect %ld of %lld in %s)", said,
                 count, limit, window);
    else
        msg_info("tarpit: %s (tarpit disconnect %ld in %s)", said, count,
                 window);
    myfree(said);
}

/* The client left before its answer. */
static void
tp_disconnect(TP_HOLD *hold)
{
    VBUF   *key = vbuf_create(64);
    VBUF   *said = vbuf_create(128);
    char    elapsed[32];

    event_disable_readwrite(hold->fd);
    close(hold->fd);
    tp_disconnects++;
    metrics_inc(METRIC_TARPIT_DISCONNECTS);
    vbuf_printf(said, "%s[%s] disconnected after %s", hold->name, hold->addr,
                tp_elapsed_str(event_now_ms() - hold->since, elapsed,
                               sizeof(elapsed)));
    if (rk_key_address(key, hold->addr) < 0)
        tp_disconnect_logged(-1, "not a numeric address",
                             mystrdup(vbuf_str(said)));
    else {
        metrics_inc(METRIC_RK_CLIENT_REQUESTS);
        tp_report_disconnect(vbuf_str(key),
                             conf_time_ms(P_tarpit_disconnect_window),
                             tp_disconnect_logged, mystrdup(vbuf_str(said)));
    }
    tp_holds_remove(tp_holds, hold);
    metrics_set(METRIC_TARPIT_HELD, tp_holds_count(tp_holds));
    vbuf_free(key);
    vbuf_free(said);
}

/* Held clients -------------------------------------------------------- */

/* Whatever the client sends is read and dropped, a bounded amount per
 * event; the end of its connection is a tarpit disconnect, and so is a
 * half-close (the end of what it sends: it has left). */
static void
tp_client_read(int event, void *context)
{
    TP_HOLD *hold = context;
    ssize_t n;

    (void) event;
    n = recv(hold->fd, tp_scratch, sizeof(tp_scratch), MSG_DONTWAIT);
    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
        return;
    tp_disconnect(hold);
    tp_schedule();
}

/* Answers the client with its refusal and closes; early: before its
 * time, to make room. */
static void
tp_answer(TP_HOLD *hold, int early)
{
    char    elapsed[32], delay[32];
    const char *note = "";
    size_t  len;
    ssize_t n;
    int     i;

    /* Unread input would make close() reset the connection, and a reset
     * can destroy the answer before the client reads it. */
    for (i = 0; i < TP_DRAIN_READS; i++) {
        n = recv(hold->fd, tp_scratch, sizeof(tp_scratch), MSG_DONTWAIT);
        if (n > 0)
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
            tp_disconnect(hold);
            return;
        }
        break;
    }
    len = (size_t) snprintf(tp_scratch, sizeof(tp_scratch), "%s\r\n",
                            hold->reply);
    n = send(hold->fd, tp_scratch, len, TP_SEND_FLAGS);
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        tp_disconnect(hold);
        return;
    }
    if (n != (ssize_t) len)
        note = n < 0 ? " (reply not sent)" : " (reply cut short)";
    event_disable_readwrite(hold->fd);
    close(hold->fd);
    tp_elapsed_str(event_now_ms() - hold->since, elapsed, sizeof(elapsed));
    if (early) {
        tp_early++;
        metrics_inc(METRICS_AT(TARPIT_RELEASED, METRICS_RELEASE_FULL, 0));
        msg_info("tarpit: release %s[%s] after %s of %s, early to make room "
                 "(tarpit full: %ld held)%s: %s", hold->name, hold->addr, elapsed,
                 tp_delay_str(hold->due - hold->since, delay, sizeof(delay)),
                 tp_max, note, hold->reply);
    } else {
        tp_released++;
        metrics_inc(METRICS_AT(TARPIT_RELEASED, METRICS_RELEASE_DELAY, 0));
        msg_info("tarpit: release %s[%s] after %s%s: %s", hold->name,
                 hold->addr, elapsed, note, hold->reply);
    }
    tp_holds_remove(tp_holds, hold);
    metrics_set(METRIC_TARPIT_HELD, tp_holds_count(tp_holds));
}

/* Answers the oldest holds early until fewer than limit are held. */
static void
tp_make_room(long limit)
{
    TP_HOLD *oldest;

    while ((long) tp_holds_count(tp_holds) >= limit
           && (oldest = tp_holds_oldest(tp_holds)) != NULL)
        tp_answer(oldest, 1);
}

static void
tp_due(int event, void *context)
{
    long long now = event_now_ms();
    TP_HOLD *hold;
    int     n;

    (void) event;
    (void) context;
    for (n = 0; n < TP_RELEASE_BATCH && (hold = tp_holds_due(tp_holds, now));
         n++)
        tp_answer(hold, 0);
    tp_schedule();
}

/* Hand-offs ------------------------------------------------------------- */

static void
tp_handoff(const char *buf, size_t len, int fd)
{
    TARPIT_HOLD msg;
    TP_HOLD *hold;
    VBUF   *why;
    struct stat st;
    char    delay[32];

    if (fd < 0) {
        msg_warn("refused a hand-off without a client descriptor");
        return;
    }
    why = vbuf_create(64);
    if (tarpit_msg_decode(buf, len, &msg, why) < 0) {
        close(fd);
        msg_warn("refused a hand-off: %s; client closed", vbuf_str(why));
        vbuf_free(why);
        return;
    }
    vbuf_free(why);
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        close(fd);
        msg_warn("refused a hand-off for %s[%s]: the descriptor is not a socket",
                 msg.name, msg.addr);
        return;
    }
    tp_make_room(tp_max);
    /* The clock read now, not the loop's: a batch of hand-offs takes a
     * while, and a client must never be answered before its delay. */
    hold = tp_holds_add(tp_holds, fd, &msg, event_time_refresh());
    metrics_set(METRIC_TARPIT_HELD, tp_holds_count(tp_holds));
    event_enable_read(fd, tp_client_read, hold);
    msg_info("tarpit: hold %s[%s] for %s; rule=%s; command=%s", hold->name,
             hold->addr, tp_delay_str(msg.delay_ms, delay, sizeof(delay)),
             hold->rule, hold->command);
    tp_schedule();
}

/* One smtpd worker's connection: its hand-offs. */
static void
tp_conn_read(int event, void *context)
{
    int     conn = (int) (intptr_t) context;
    char    buf[TARPIT_MSG_MAX];
    ssize_t n;
    int     fd, i;

    (void) event;
    for (i = 0; i < TP_RECV_BATCH; i++) {
        n = fd_pass_recv(conn, buf, sizeof(buf), &fd, MSG_DONTWAIT);
        if (n > 0) {
            tp_handoff(buf, (size_t) n, fd);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n < 0 && errno == EMSGSIZE) {
            msg_warn("refused a hand-off: message longer than %d bytes; "
                     "client closed", TARPIT_MSG_MAX);
            continue;
        }
        if (n < 0 && errno == EBADMSG) {
            /* Also what a hand-off looks like when this process is out
             * of descriptors: the kernel could not install the client's. */
            msg_warn("refused a hand-off: bad control data (not one "
                     "descriptor, or out of descriptors); client closed");
            continue;
        }
        /* The worker closed its end (n == 0), or it broke. */
        if (fd >= 0)
            close(fd);
        event_disable_readwrite(conn);
        close(conn);
        return;
    }
}

static void tp_accept(int event, void *context);

static void
tp_accept_resume(int event, void *context)
{
    (void) event;
    (void) context;
    event_enable_read(tp_sock_fd, tp_accept, NULL);
}

static void
tp_accept(int event, void *context)
{
    long long now;
    int     conn;

    (void) event;
    (void) context;
    while ((conn = accept4(tp_sock_fd, NULL, NULL,
                           SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
        event_enable_read(conn, tp_conn_read, (void *) (intptr_t) conn);
    if (errno == EMFILE || errno == ENFILE) {
        now = event_now_ms();
        if (tp_warned_fds == 0 || now - tp_warned_fds >= TP_WARN_MS) {
            tp_warned_fds = now;
            msg_warn("accept on %s: %m (%zu connections held)", tp_sock_path,
                     tp_holds_count(tp_holds));
        }
        event_disable_readwrite(tp_sock_fd);
        event_request_timer(tp_accept_resume, NULL, TP_ACCEPT_PAUSE_MS);
    }
}

/* The control socket ------------------------------------------------- */

static void
tp_ctl_serve(const ATTR *request, ATTR *reply, void *context)
{
    const char *verb = attr_get(request, "request");

    (void) context;
    if (verb == NULL || strcmp(verb, "status") != 0) {
        attr_set(reply, "status", "-1");
        attr_set(reply, "reason", verb ? "unknown request" : "no request");
        return;
    }
    attr_set(reply, "status", "0");
    attr_set_long(reply, "held", (long) tp_holds_count(tp_holds));
    attr_set_long(reply, "max", tp_max);
    attr_set_long(reply, "released", tp_released);
    attr_set_long(reply, "disconnects", tp_disconnects);
    attr_set_long(reply, "early", tp_early);
}

/* The skeleton's hooks ------------------------------------------------- */

static void
tp_init(void)
{
    VBUF   *why = vbuf_create(100);

    tp_limits();
    tp_holds = tp_holds_create();
    tp_report_init(rk_clnt_default_path(), TP_REPORT_MS);
    tp_sock_path = path_join(conf_str(P_run_directory), TARPIT_SOCKET_NAME);
    if ((tp_sock_fd = unix_sock_listen_type(tp_sock_path, SOCK_SEQPACKET,
                                            TP_SOCKET_MODE, TP_BACKLOG,
                                            why)) < 0)
        msg_fatal("socket: %s", vbuf_str(why));
    tp_ctl_path = path_join(conf_str(P_run_directory), TARPIT_CTL_SOCKET_NAME);
    if ((tp_ctl_fd = unix_sock_listen(tp_ctl_path, TP_SOCKET_MODE, TP_BACKLOG,
                                      why)) < 0)
        msg_fatal("socket: %s", vbuf_str(why));
    tp_ctl_serv = attr_serv_create(tp_ctl_fd, TARPIT_CTL_PROTO,
                                   TARPIT_CTL_VERSION, tp_ctl_serve, NULL);
    /* accept4 must not block: another process may take the client. */
    if (fcntl(tp_sock_fd, F_SETFL, fcntl(tp_sock_fd, F_GETFL) | O_NONBLOCK) < 0)
        msg_fatal("socket %s: %m", tp_sock_path);
    event_enable_read(tp_sock_fd, tp_accept, NULL);
    msg_info("ready: holding up to %ld connections, socket %s", tp_max,
             tp_sock_path);
    vbuf_free(why);
}

static void
tp_reload(void)
{
    tp_limits();
    /* Fewer allowed now: the oldest go first. */
    tp_make_room(tp_max + 1);
    tp_schedule();
    msg_info("reloaded the configuration: holding up to %ld connections",
             tp_max);
}

static void
tp_exit(void)
{
    /* The held clients' connections close with the process: they see
     * the end of the connection, and nothing waits on them. */
    if (tp_holds_count(tp_holds) > 0)
        msg_info("closing %zu held connections", tp_holds_count(tp_holds));
    tp_report_end();
    tp_ctl_serv = attr_serv_free(tp_ctl_serv);
    close(tp_ctl_fd);
    unlink(tp_ctl_path);
    event_disable_readwrite(tp_sock_fd);
    close(tp_sock_fd);
    unlink(tp_sock_path);
    tp_sock_path = myfree(tp_sock_path);
    tp_ctl_path = myfree(tp_ctl_path);
}

int
main(int argc, char **argv)
{
    static const SERVER_EVENT_OPTS opts = {
        .max_idle = SERVER_NO_LIMIT,
        .post_init = tp_init,
        .reload = tp_reload,
        .pre_exit = tp_exit,
    };

    return server_event_main(argc, argv, "tarpit", &opts);
}
