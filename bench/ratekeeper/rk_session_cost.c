/* rk_session_cost: what the rate checks cost one smtpd session, measured
 * directly rather than as a difference of two noisy throughputs: the
 * three requests smtpd makes per session (connect, mail, disconnect),
 * through the same typed client (lib/rk_clnt), one session after the
 * other, the way smtpd makes them: connect sent and its answer collected
 * (rk_clnt_connect_send, _collect), mail, and disconnect deferred
 * (rk_clnt_disconnect_defer) into the next connect's write, or flushed
 * before a gap, as a worker flushes it before it waits for a client.
 * -n sends disconnect alone without waiting (rk_clnt_disconnect_nowait,
 * as smtpd did before); -w waits for it (as smtpd did first).
 * -g USEC sleeps that long between sessions, as a worker waits for its
 * next client (the gap in which an unread answer arrives); the sleeps
 * are left out of the wall time.  Prints the client's CPU time and the
 * wall time per session; ratekeeper's CPU is read from /proc when its pid
 * is given.
 *
 *   rk_session_cost [-w | -n] [-g USEC] SOCKET [SESSIONS [RATEKEEPER_PID]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rk_clnt.h"

static double
cpu_self(void)
{
    struct rusage r;

    getrusage(RUSAGE_SELF, &r);
    return (double) (r.ru_utime.tv_sec + r.ru_stime.tv_sec)
        + (double) (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

/* CPU seconds of a process, from /proc (clock ticks). */
static double
cpu_of(long pid)
{
    char path[64], buf[1024], *p;
    unsigned long long utime, stime;
    FILE *fp;
    int i;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    p = fgets(buf, sizeof(buf), fp);
    fclose(fp);
    if (p == NULL || (p = strrchr(buf, ')')) == NULL)
        return -1;
    for (i = 3, p += 2; i < 14 && p; i++)
        p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
    if (p == NULL || sscanf(p, "%llu %llu", &utime, &stime) != 2)
        return -1;
    return (double) (utime + stime) / (double) sysconf(_SC_CLK_TCK);
}

/* Times this process went to sleep (voluntary context switches). */
static long
sleeps_self(void)
{
    struct rusage r;

    getrusage(RUSAGE_SELF, &r);
    return r.ru_nvcsw;
}

static double
wall(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
    int wait = 0, nowait = 0, gap_us = 0, sessions, i, ok, opt;
    long rk_pid;
    RK_CLNT *clnt;
    double c0, c1, w0, w1, r0 = 0, r1 = 0, slept = 0, s0;
    long count, v0, v1;

    while ((opt = getopt(argc, argv, "wng:")) != -1) {
        if (opt == 'w')
            wait = 1;
        else if (opt == 'n')
            nowait = 1;
        else if (opt == 'g')
            gap_us = atoi(optarg);
        else
            return 2;
    }
    argc -= optind - 1;
    argv += optind - 1;
    sessions = argc > 2 ? atoi(argv[2]) : 20000;
    rk_pid = argc > 3 ? atol(argv[3]) : 0;
    if (argc < 2 || sessions < 1) {
        fprintf(stderr, "usage: rk_session_cost [-w | -n] [-g USEC] SOCKET [SESSIONS [RATEKEEPER_PID]]\n");
        return 2;
    }
    clnt = rk_clnt_create(argv[1], 1000, RK_CLNT_FLAG_NONE);
    if (rk_clnt_lookup(clnt, RK_COUNTER_MAIL, "addr:192.0.2.1", &count) != RK_CLNT_OK) {
        fprintf(stderr, "rk_session_cost: %s\n", rk_clnt_error(clnt));
        return 1;
    }
    if (rk_pid)
        r0 = cpu_of(rk_pid);
    c0 = cpu_self();
    v0 = sleeps_self();
    w0 = wall();
    for (i = 0; i < sessions; i++) {
        if (gap_us > 0) {
            if (rk_clnt_flush(clnt) != RK_CLNT_OK) {
                fprintf(stderr, "rk_session_cost: %s\n", rk_clnt_error(clnt));
                return 1;
            }
            s0 = wall();
            usleep((useconds_t) gap_us);
            slept += wall() - s0;
        }
        if (wait || nowait)
            ok = rk_clnt_connect(clnt, "192.0.2.1", &count) == RK_CLNT_OK;
        else
            ok = rk_clnt_connect_send(clnt, "192.0.2.1") == RK_CLNT_OK
                && rk_clnt_connect_collect(clnt, &count) == RK_CLNT_OK;
        ok = ok && rk_clnt_mail(clnt, "addr:192.0.2.1", 600000, &count) == RK_CLNT_OK
            && (wait ? rk_clnt_disconnect(clnt, "192.0.2.1", &count)
                : nowait ? rk_clnt_disconnect_nowait(clnt, "192.0.2.1")
                : rk_clnt_disconnect_defer(clnt, "192.0.2.1")) == RK_CLNT_OK;
        if (!ok) {
            fprintf(stderr, "rk_session_cost: %s\n", rk_clnt_error(clnt));
            return 1;
        }
    }
    w1 = wall();
    c1 = cpu_self();
    v1 = sleeps_self();
    if (rk_pid)
        r1 = cpu_of(rk_pid);
    printf("per session (connect, mail, disconnect%s): smtpd side %.1f us CPU, %.1f us wall",
           wait ? "" : nowait ? " not waited for" : " deferred", (c1 - c0) / sessions * 1e6,
           (w1 - w0 - slept) / sessions * 1e6);
    printf(", %.2f sleeps", (double) (v1 - v0) / sessions);
    if (rk_pid && r0 >= 0 && r1 >= 0)
        printf(", ratekeeper %.1f us CPU", (r1 - r0) / sessions * 1e6);
    printf("\n");
    rk_clnt_free(clnt);
    return 0;
}
