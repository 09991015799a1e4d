/* master: binds the listeners, keeps the pools of smtpd workers and the
 * single daemons running, and answers alligatectl.  All policy lives in
 * the children; master only forks, watches and restarts. */
#ifndef ALLIGATE_MASTER_H
#define ALLIGATE_MASTER_H

#include <sys/types.h>

#include "master_proto.h"         /* MASTER_MAX_LISTEN */

#define MASTER_POOL     1       /* pre-forked workers sharing listeners */
#define MASTER_SINGLE   2       /* one long-running daemon */

struct VBUF;

typedef struct MASTER_SERV MASTER_SERV;

typedef struct MASTER_PROC {
    pid_t pid;
    MASTER_SERV *serv;
    int busy;                   /* last status report */
    int reported;               /* sent at least one report */
    int retiring;               /* told to exit after its session */
    int metrics_slot;           /* its counters' slot, or -1 */
    long long started;          /* ms */
    struct MASTER_PROC *next;
} MASTER_PROC;

struct MASTER_SERV {
    const char *name;           /* smtp, submission, smtps, relay, ... */
    const char *program;        /* smtpd, relay, ... */
    int kind;
    int listen_param;           /* CONF_ID of the listen list, or -1 */
    int tls_tickets;            /* gets the keys as MASTER_TICKET_FD */
    /* For a single daemon that only some configurations want (authd
     * with smtp_auth = yes): whether the active one does; NULL: always. */
    int (*wanted)(void);
    int enabled;                /* configured to run */
    char *listen_spec;          /* the listen list the fds were opened for */
    int listen_fds[MASTER_MAX_LISTEN];
    int listen_count;
    /* Listeners that went; shut down once no idle worker waits on them. */
    int retired_fds[MASTER_MAX_LISTEN];
    int retired_count;
    int watching;               /* master polls the listeners */
    int status_pipe[2];         /* pool workers -> master */
    MASTER_PROC *procs;
    int failures;               /* consecutive deaths soon after start */
    long long throttle_until;   /* ms; no forks before */
};

extern MASTER_SERV master_services[];
extern int master_nservices;
extern int master_foreground;
extern int master_stopping;
extern int master_life_pipe[2];
extern long long master_started;
/* daemon_directory is not set and master's own directory holds the
 * programs (a build tree): they are started from there. */
extern int master_daemon_dir_beside;

/* master_listen.c */
int master_listen_open(MASTER_SERV *serv, struct VBUF *why);
void master_listen_close(MASTER_SERV *serv);
void master_listen_shut_retired(MASTER_SERV *serv);

/* master_spawn.c */
pid_t master_spawn(MASTER_SERV *serv);
void master_reap(void);
void master_signal_all(int sig);
int master_child_count(void);

/* master_service.c */
void master_services_init(void);
void master_services_start(void);
int master_services_reload(struct VBUF *why);
void master_service_adjust(MASTER_SERV *serv);
void master_service_counts(const MASTER_SERV *serv, int *idle, int *busy,
                           int *total);
void master_service_status(int event, void *context);
void master_services_stop(void);

/* master_ticket.c */
extern int master_ticket_fd;
/* The keys, rotated every period_ms (tls_session_ticket_lifetime). */
void master_ticket_init(long long period_ms);
/* After a reload: the period, maybe changed; the keys stay. */
void master_ticket_reload(long long period_ms);

/* master_metrics.c: the counters' segment, given as MASTER_METRICS_FD. */
extern int master_metrics_fd;
void master_metrics_init(void);
/* A slot for a child about to be forked, or -1. */
int master_metrics_take(void);
/* The child that got it (pid -1: the fork failed, the slot is free). */
void master_metrics_own(int slot, pid_t pid, const char *program);
/* The child died. */
void master_metrics_release(int slot);
void master_metrics_cleanup(void);

/* master_ctl.c */
void master_ctl_open(void);
void master_ctl_close(void);

/* master.c */
int master_reload(struct VBUF *why);
void master_stop(void);

#endif
