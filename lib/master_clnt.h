/* master's control socket and its typed client, for alligatectl.
 *
 * master listens on run_directory/master.sock (mode 0600) and greets with
 * proto=master, version=1 (the names are in master_proto.h).
 *
 *   request=status   status=0 master_pid=P uptime=SECONDS
 *                    config_directory=DIR daemon_directory=DIR (where
 *                    the programs are started from)
 *                    daemon_directory_beside=0|1 (1: main.cf does not
 *                    set it, and master found the programs beside itself,
 *                    in a build tree) services=N and, for I from 0:
 *                    service_I (the name), service_I_program,
 *                    service_I_kind (pool or single), service_I_state
 *                    (running, throttled or disabled), service_I_listen,
 *                    service_I_pids and service_I_states (lists with
 *                    commas, in the same order), service_I_busy,
 *                    service_I_idle, service_I_total (the workers of the
 *                    old configuration too) and service_I_max
 *   request=reload   status=0 once the new configuration is in use, or
 *                    status=-1 reason=TEXT when it is refused
 *   request=stop     status=0; master stops after the reply
 *
 * Unknown attributes are ignored. */
#ifndef ALLIGATE_MASTER_CLNT_H
#define ALLIGATE_MASTER_CLNT_H

#include "ctl_clnt.h"

/* Results of the requests. */
#define MASTER_CLNT_OK          CTL_CLNT_OK
#define MASTER_CLNT_NOANSWER    CTL_CLNT_NOANSWER
#define MASTER_CLNT_REFUSED     CTL_CLNT_REFUSED

#define MASTER_CLNT_TIMEOUT_MS  10000

typedef CTL_CLNT MASTER_CLNT;

/* One process of a service. */
typedef struct MASTER_CLNT_PROC {
    long pid;
    char *state;                /* idle, busy, retiring, ...; NULL: not said */
} MASTER_CLNT_PROC;

typedef struct MASTER_CLNT_SERVICE {
    char *name;                 /* smtp, submission, ratekeeper, ... */
    char *program;
    int pool;                   /* a pool of workers, else a single daemon */
    char *state;                /* running, throttled, disabled */
    int disabled;
    char *listen;
    long busy, idle, total, max;
    MASTER_CLNT_PROC *procs;
    int nprocs;
} MASTER_CLNT_SERVICE;

typedef struct MASTER_CLNT_STATUS {
    long pid;                   /* master's; 0: not said */
    long uptime;                /* seconds; -1: not said */
    char *config_dir;           /* NULL: not said */
    char *daemon_dir;           /* NULL: not said */
    int daemon_dir_beside;      /* found beside master, not configured */
    MASTER_CLNT_SERVICE *services;
    int nservices;
} MASTER_CLNT_STATUS;

/* Nothing happens before the first request. */
MASTER_CLNT *master_clnt_create(const char *socket_path, int timeout_ms);
MASTER_CLNT *master_clnt_free(MASTER_CLNT *clnt);

/* run_directory/master.sock of the active configuration. */
const char *master_clnt_default_path(void);

/* Why the last request failed: for MASTER_CLNT_NOANSWER why master could
 * not be asked, for MASTER_CLNT_REFUSED master's reason ("no reason
 * given" when it gave none). */
const char *master_clnt_error(const MASTER_CLNT *clnt);

/* Each returns MASTER_CLNT_OK, _NOANSWER or _REFUSED.  status sets
 * *status, to free with master_clnt_status_free(), only with
 * MASTER_CLNT_OK. */
int master_clnt_status(MASTER_CLNT *clnt, MASTER_CLNT_STATUS **status);
MASTER_CLNT_STATUS *master_clnt_status_free(MASTER_CLNT_STATUS *status);
int master_clnt_reload(MASTER_CLNT *clnt);
int master_clnt_stop(MASTER_CLNT *clnt);

#endif
