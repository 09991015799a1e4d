/* What master and its children agree on: the descriptors a child is born
 * with, the status records pool workers send, and the file names in
 * run_directory. */
#ifndef ALLIGATE_MASTER_PROTO_H
#define ALLIGATE_MASTER_PROTO_H

#include <sys/types.h>

/* Descriptors of a child started by master (with the -m option). */
#define MASTER_LIFE_FD      3   /* read end of a pipe: EOF means master died */
#define MASTER_STATUS_FD    4   /* write end of the service's status pipe */
#define MASTER_TICKET_FD    5   /* smtpd: TLS session ticket keys (tls_ticket.h) */
#define MASTER_METRICS_FD   6   /* the counters' segment (metrics_shm.h); the
                                 * process's slot is given with -i */
#define MASTER_LISTEN_FD    7   /* first listening socket (-n N of them) */
#define MASTER_MAX_LISTEN   16  /* most listening sockets per service */

/* A pool worker's report; one write(2) each, well under PIPE_BUF. */
typedef struct MASTER_STATUS {
    pid_t pid;
    int status;
} MASTER_STATUS;

#define MASTER_STAT_IDLE    0   /* waiting for a client */
#define MASTER_STAT_BUSY    1   /* serving a client */
#define MASTER_STAT_READY   2   /* a single daemon serves its socket */

/* In run_directory. */
#define MASTER_PID_FILE     "master.pid"
#define MASTER_CTL_SOCKET   "master.sock"
#define MASTER_CTL_PROTO    "master"
#define MASTER_CTL_VERSION  1

#endif
