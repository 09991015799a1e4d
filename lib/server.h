/* The daemon skeleton every program that master starts is built on:
 * arguments, configuration, logging, privileges, signals, and noticing
 * that master has died; and the two loops a daemon's main() hands its
 * work to, so that a daemon is configuration and handlers:
 *
 *   server_single_main()  a pool worker, one client at a time (smtpd);
 *                         lib/server_single.c
 *   server_event_main()   a single daemon on the event loop (ratekeeper,
 *                         relay); lib/server_event.c
 *
 *   daemon -c CONFIG_DIR [-m] [-f] [-v] [-s SERVICE] [-n LISTEN_COUNT]
 *          [-i SLOT]
 *
 * -m: started by master, so MASTER_LIFE_FD and friends are open;
 * -i: the process's slot in the counters' segment (MASTER_METRICS_FD);
 * -f: log to stderr whatever log_file says (alligatectl start --foreground);
 * -s: the service (listener) name, e.g. smtp, submission, smtps. */
#ifndef ALLIGATE_SERVER_H
#define ALLIGATE_SERVER_H

#include <signal.h>

#include "conf.h"
#include "master_proto.h"

typedef struct SERVER {
    const char *name;           /* program name, "smtpd" */
    const char *config_dir;
    const char *service;        /* -s, or the program name */
    int by_master;              /* -m */
    int foreground;             /* -f */
    int listen_count;           /* -n */
    int listen_fds[MASTER_MAX_LISTEN];
    /* MASTER_TICKET_FD when master handed this process the TLS session
     * ticket keys (smtpd only; for tls_server_ctx), else -1. */
    int ticket_fd;
    /* The counters' slot master gave (-i), or -1; server_init maps it
     * (metrics.h) and closes MASTER_METRICS_FD, unless the program set
     * metrics_reader before: then the segment stays open as metrics_fd
     * (the exporter reads it all). */
    int metrics_slot;
    int metrics_reader;
    int metrics_fd;
} SERVER;

extern SERVER server;

extern volatile sig_atomic_t server_sigterm;    /* stop */
extern volatile sig_atomic_t server_sighup;     /* reload or retire; the
                                                 * log file is reopened
                                                 * before the next line */

/* Parses the arguments, loads and activates the configuration (exits with
 * every error otherwise), opens the log, drops privileges to daemon_user
 * when running as root, and installs the signal handlers.  master starts
 * children with SIGHUP and SIGTERM blocked; this unblocks them, so a
 * daemon started by master must call it. */
void server_init(int argc, char **argv, const char *name);

/* Re-reads the configuration; on error keeps the old one and returns -1.
 * Either way the log file is opened again (it may have been rotated). */
int server_reload(void);

/* 1 while master lives (always 1 without -m); never blocks. */
int server_master_alive(void);

/* For daemons built on the event loop: set server_sigterm when master
 * dies, so the daemon stops as if told to (no-op without -m). */
void server_watch_master(void);

/* A single daemon's word to master that its socket is open: master tells
 * `alligatectl start` it is ready only once every daemon said so. */
void server_ready(void);

/* A pool worker's report to master (no-op without -m). */
void server_report(int status);

/* Drops root privileges to daemon_user; no-op when not root. */
void server_drop_privileges(const char *user);

/* The loops ------------------------------------------------------------ */

/* In place of a parameter: no such limit. */
#define SERVER_NO_LIMIT     CONF_NPARAMS

/* Serves one client on fd, then closes it. */
typedef void (*SERVER_SINGLE_FN)(int fd);

typedef struct SERVER_SINGLE_OPTS {
    CONF_ID max_use;            /* CONF_INT: clients served, then exit */
    CONF_ID max_idle;           /* CONF_TIME: without a client, then exit */
    void (*post_init)(void);    /* after server_init(), before any client */
    void (*pre_wait)(void);     /* before waiting for the next client */
} SERVER_SINGLE_OPTS;

/* A pool worker: server_init(), then waits on the listening sockets
 * (exits 1 without any: it is started by master) and serves one client at
 * a time (they are non-blocking, as master makes them, so that accept
 * tells when no other client waits).  A new client wakes one idle worker
 * only (EPOLLEXCLUSIVE).  It
 * tells master busy before a client and idle after; while the next client
 * is already waiting it serves that one at once, without the idle and
 * busy reports in between and without pre_wait.  It returns the exit
 * status (0) when SIGTERM or SIGHUP came (a reload retires workers: the
 * next client belongs to one with the new configuration), after max_use
 * clients, after max_idle without one, when master shuts the listener
 * down, and when master died. */
int server_single_main(int argc, char **argv, const char *name,
                       SERVER_SINGLE_FN serve, const SERVER_SINGLE_OPTS *opts);

typedef struct SERVER_EVENT_OPTS {
    CONF_ID max_idle;           /* CONF_TIME, or SERVER_NO_LIMIT */
    void (*post_init)(void);    /* open the sockets, enable their events */
    void (*reload)(void);       /* after SIGHUP re-read the configuration */
    void (*after_events)(void); /* after each round of the event loop */
    void (*pre_exit)(void);     /* close, remove and save, before exit */
} SERVER_EVENT_OPTS;

/* A single daemon on lib/events.c: server_init(), then stops when master
 * dies as if told to, runs post_init, tells master it is ready, and runs
 * the event loop until SIGTERM, or until max_idle passed without a call
 * of server_event_activity().  On SIGHUP it re-reads the configuration
 * (keeping the old one when the new one is bad) and then calls reload.
 * At the end pre_exit, the log line "stopped", and it returns the exit
 * status (0). */
int server_event_main(int argc, char **argv, const char *name,
                      const SERVER_EVENT_OPTS *opts);

/* Work was done: the idle time of server_event_main starts again. */
void server_event_activity(void);

#endif
