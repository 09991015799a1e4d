/* The single daemon's loop (Postfix's event_server): lib/events.c runs
 * the daemon's sockets and timers; this loop adds the signals, the
 * reload, master's death and the idle limit around it.  See server.h. */
#include "conf.h"
#include "events.h"
#include "msg.h"
#include "server.h"

#define SERVER_EVENT_TICK_MS    1000    /* how often the flags are read */

static long long server_event_idle_since;

void
server_event_activity(void)
{
    server_event_idle_since = event_now_ms();
}

int
server_event_main(int argc, char **argv, const char *name,
                  const SERVER_EVENT_OPTS *opts)
{
    if (opts->max_idle != SERVER_NO_LIMIT
        && (opts->max_idle > SERVER_NO_LIMIT
            || conf_params[opts->max_idle].type != CONF_TIME))
        msg_panic("server: max_idle is not a time parameter");
    server_init(argc, argv, name);
    server_watch_master();
    if (opts->post_init)
        opts->post_init();
    server_ready();

    server_event_idle_since = event_time_refresh();
    while (!server_sigterm) {
        if (server_sighup) {
            server_sighup = 0;
            if (server_reload() == 0 && opts->reload)
                opts->reload();
        }
        event_loop(SERVER_EVENT_TICK_MS);
        if (opts->after_events)
            opts->after_events();
        if (opts->max_idle != SERVER_NO_LIMIT
            && event_time_refresh() - server_event_idle_since
            > conf_time_ms(opts->max_idle)) {
            if (msg_verbose)
                msg_info("idle for %lld ms; stopping", conf_time_ms(opts->max_idle));
            break;
        }
    }
    if (opts->pre_exit)
        opts->pre_exit();
    msg_info("stopped");
    return 0;
}
