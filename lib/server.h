/* The daemon skeleton every program that master starts is built on:
 * arguments, configuration, logging, privileges, signals, and noticing
 * that master has died.
 *
 *   daemon -c CONFIG_DIR [-m] [-f] [-v] [-s SERVICE] [-n LISTEN_COUNT]
 *
 * -m: started by master, so MASTER_LIFE_FD and friends are open;
 * -f: log to stderr whatever log_file says (alligatectl start --foreground);
 * -s: the service (listener) name, e.g. smtp, submission, smtps. */
#ifndef ALLIGATE_SERVER_H
#define ALLIGATE_SERVER_H

#include <signal.h>

#include "master_proto.h"

typedef struct SERVER {
    const char *name;           /* program name, "smtpd" */
    const char *config_dir;
    const char *service;        /* -s, or the program name */
    int by_master;              /* -m */
    int foreground;             /* -f */
    int listen_count;           /* -n */
    int listen_fds[MASTER_MAX_LISTEN];
} SERVER;

extern SERVER server;

extern volatile sig_atomic_t server_sigterm;    /* stop */
extern volatile sig_atomic_t server_sighup;     /* reload or retire */

/* Parses the arguments, loads and activates the configuration (exits with
 * every error otherwise), opens the log, drops privileges to daemon_user
 * when running as root, and installs the signal handlers.  master starts
 * children with SIGHUP and SIGTERM blocked; this unblocks them, so a
 * daemon started by master must call it. */
void server_init(int argc, char **argv, const char *name);

/* Re-reads the configuration; on error keeps the old one and returns -1. */
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

#endif
