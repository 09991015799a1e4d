/* rk_bench: a load generator for ratekeeper's socket (run by hand, never
 * part of make check).  See README.md next to it.
 *
 *   rk_bench [-r RATEKEEPER [-e MAIN_CF_LINES] | -s SOCKET] [-c CONNS]
 *            [-p PROCS] [-d SECS] [-R RATE] [-k KEYS] [-m mail|session]
 *            [-w WINDOW_MS]
 *
 * -r starts the given ratekeeper binary in a temporary directory (and
 * stops it afterwards), its main.cf ending with -e's text (e.g.
 * "ratekeeper_backend = redis"); -s uses one that runs.  CONNS connections (in
 * PROCS processes, each an epoll loop) send requests with one in flight
 * each.  Without -R the load is closed-loop: as fast as replies come, for
 * the maximum throughput.  With -R the requests are due at RATE per second
 * in total, and a request's latency counts from when it was due, not from
 * when it could be sent (no coordinated omission), so the percentiles are
 * those a client sees at that load.  -m session sends connect, mail,
 * disconnect in turn, as an smtpd session does; mail sends only mail.
 *
 * The protocol is written out by hand here, so that the client costs as
 * little as it can and shares no code with what it measures. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HIST_US         100000          /* 1 us buckets up to 100 ms */
#define PENDING_MAX     64              /* due requests waiting per conn */
#define WARMUP_S        1
#define PACE_NS         100000          /* the paced client's least sleep */

typedef struct CONN {
    int fd;
    int busy;                           /* a request is in flight */
    long long sched_ns;                 /* when it was due */
    long long pending[PENDING_MAX];     /* due times not yet sent */
    int npending, pstart;
    char in[4096];
    size_t inlen;
    unsigned step;                      /* session mode: 0, 1, 2 */
    unsigned key;
} CONN;

typedef struct RESULT {
    unsigned long long requests;
    unsigned long long errors;
    unsigned long long dropped;         /* due while PENDING_MAX waited */
    unsigned int hist[HIST_US + 1];
} RESULT;

static const char *opt_socket;
static int opt_conns = 100;
static int opt_procs = 1;
static int opt_secs = 10;
static double opt_rate;
static unsigned opt_keys = 10000;
static int opt_session;
static long opt_window = 600000;
static const char *opt_extra = "";

static long long
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void
die(const char *what)
{
    perror(what);
    exit(1);
}

static int
connect_socket(const char *path)
{
    struct sockaddr_un sun;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket");
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Reads up to the end of one message (an empty line); blocking. */
static void
read_message(int fd)
{
    char buf[512];
    size_t have = 0;
    ssize_t n;

    while (have < sizeof(buf) && (n = read(fd, buf + have, 1)) == 1) {
        have++;
        if (have >= 2 && buf[have - 1] == '\n' && buf[have - 2] == '\n')
            return;
    }
    fprintf(stderr, "rk_bench: no greeting\n");
    exit(1);
}

static size_t
build_request(CONN *c, char *buf, size_t size)
{
    static const char *verbs[] = {"connect", "mail", "disconnect"};
    unsigned k = c->key;
    const char *verb = opt_session ? verbs[c->step] : "mail";

    return (size_t) snprintf(buf, size,
                             "request=%s\nkey=addr:10.%u.%u.%u\nwindow=%ld\n\n",
                             verb, (k >> 16) & 255, (k >> 8) & 255, k & 255,
                             opt_window);
}

static unsigned
next_key(unsigned *seed)
{
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    return *seed % opt_keys;
}

static void
send_request(CONN *c, long long sched, unsigned *seed)
{
    char buf[256];
    size_t len;

    if (!opt_session || c->step == 0)
        c->key = next_key(seed);
    len = build_request(c, buf, sizeof(buf));
    if (write(c->fd, buf, len) != (ssize_t) len)
        die("write");
    c->busy = 1;
    c->sched_ns = sched;
}

static void
record(RESULT *r, long long lat_ns, int counting)
{
    long long us = lat_ns / 1000;

    if (!counting)
        return;
    r->requests++;
    r->hist[us < HIST_US ? us : HIST_US]++;
}

/* One process's share of the load. */
static void
worker(int index, int nconns, double rate, long long start, long long end,
       int result_fd)
{
    RESULT *r = calloc(1, sizeof(*r));
    CONN *conns = calloc((size_t) nconns, sizeof(*conns));
    struct epoll_event ev, events[256];
    long long t, period = rate > 0 ? (long long) (1e9 / rate) : 0;
    long long next_due = start;
    unsigned long long seq = 0;
    unsigned seed = 2463534242u + (unsigned) index * 7919u;
    int ep = epoll_create1(0), i, n;
    long long wait_ns;
    struct timespec ts;

    if (r == NULL || conns == NULL || ep < 0)
        die("worker");
    for (i = 0; i < nconns; i++) {
        if ((conns[i].fd = connect_socket(opt_socket)) < 0)
            die("connect");
        read_message(conns[i].fd);
        fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t) i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0)
            die("epoll_ctl");
    }
    while ((t = now_ns()) < start)
        ;
    if (!period)
        for (i = 0; i < nconns; i++)
            send_request(&conns[i], now_ns(), &seed);

    while ((t = now_ns()) < end) {
        /* Paced: hand out what is due, round robin over the connections. */
        while (period && next_due <= t) {
            CONN *c = &conns[seq++ % (unsigned) nconns];

            if (!c->busy)
                send_request(c, next_due, &seed);
            else if (c->npending < PENDING_MAX)
                c->pending[(c->pstart + c->npending++) % PENDING_MAX] = next_due;
            else
                r->dropped++;
            next_due += period;
        }
        /* Sleep (not spin) until the next request is due, and at least
         * PACE_NS: the client must not take the CPU that ratekeeper needs
         * with a wake-up per request.  Requests then go out up to PACE_NS
         * late, which counts against ratekeeper: the latency of each is
         * measured from when it was due. */
        wait_ns = period ? next_due - t : 100000000LL;
        if (wait_ns < PACE_NS)
            wait_ns = PACE_NS;
        ts.tv_sec = wait_ns / 1000000000LL;
        ts.tv_nsec = wait_ns % 1000000000LL;
        n = epoll_pwait2(ep, events, 256, &ts, NULL);
        t = now_ns();
        for (i = 0; i < n; i++) {
            CONN *c = &conns[events[i].data.u32];
            ssize_t got = read(c->fd, c->in + c->inlen, sizeof(c->in) - c->inlen);
            char *eom;

            if (got <= 0) {
                if (got < 0 && errno == EAGAIN)
                    continue;
                fprintf(stderr, "rk_bench: ratekeeper closed a connection\n");
                exit(1);
            }
            c->inlen += (size_t) got;
            while ((eom = memmem(c->in, c->inlen, "\n\n", 2)) != NULL) {
                size_t used = (size_t) (eom - c->in) + 2;

                if (strncmp(c->in, "status=0\n", 9) != 0)
                    r->errors++;
                record(r, t - c->sched_ns, c->sched_ns >= start + WARMUP_S * 1000000000LL);
                memmove(c->in, c->in + used, c->inlen - used);
                c->inlen -= used;
                c->busy = 0;
                if (opt_session)
                    c->step = (c->step + 1) % 3;
                if (!period) {
                    send_request(c, t, &seed);
                } else if (c->npending > 0) {
                    long long due = c->pending[c->pstart];

                    c->pstart = (c->pstart + 1) % PENDING_MAX;
                    c->npending--;
                    send_request(c, due, &seed);
                }
            }
        }
    }
    if (write(result_fd, r, sizeof(*r)) != (ssize_t) sizeof(*r))
        die("write result");
    _exit(0);
}

/* CPU time (user + system, ns) of a process, or of one of its threads. */
static long long
cpu_ns(pid_t pid, pid_t tid)
{
    char path[64], buf[1024], *p;
    unsigned long long utime = 0, stime = 0;
    FILE *fp;
    int i;

    if (tid)
        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int) pid, (int) tid);
    else
        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
    if ((fp = fopen(path, "r")) == NULL)
        return -1;
    if (fgets(buf, sizeof(buf), fp) == NULL || (p = strrchr(buf, ')')) == NULL) {
        fclose(fp);
        return -1;
    }
    fclose(fp);
    /* Fields 14 and 15 (utime, stime) counted from the state, field 3. */
    for (i = 3, p += 2; i < 14 && p; i++)
        p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
    if (p == NULL || sscanf(p, "%llu %llu", &utime, &stime) != 2)
        return -1;
    return (long long) ((utime + stime) * (1000000000ULL / (unsigned long long) sysconf(_SC_CLK_TCK)));
}

static double
percentile(const RESULT *r, double p)
{
    unsigned long long want = (unsigned long long) (p * (double) r->requests);
    unsigned long long seen = 0;
    int i;

    for (i = 0; i <= HIST_US; i++) {
        seen += r->hist[i];
        if (seen > want)
            return i;
    }
    return HIST_US;
}

/* -r: a ratekeeper of our own in a temporary directory. */
static pid_t
start_ratekeeper(const char *binary, char *dir, size_t size)
{
    static char sock[256];
    char path[300], sub[300];
    FILE *fp;
    pid_t pid;
    int i;

    snprintf(dir, size, "/tmp/rk_bench.XXXXXX");
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    chmod(dir, 0755);
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    if ((fp = fopen(path, "w")) == NULL)
        die(path);
    fprintf(fp, "data_directory = %s/data\nrun_directory = %s/run\n"
            "queue_directory = %s/queue\nlog_file = %s/log\n", dir, dir, dir, dir);
    if (geteuid() == 0)
        fprintf(fp, "daemon_user = nobody\n");
    fprintf(fp, "%s\n", opt_extra);
    fclose(fp);
    for (i = 0; i < 2; i++) {
        snprintf(sub, sizeof(sub), "%s/%s", dir, i ? "run" : "data");
        mkdir(sub, 0755);
        if (geteuid() == 0 && chown(sub, 65534, 65534) < 0)
            die("chown");
    }
    snprintf(path, sizeof(path), "%s/log", dir);
    if ((fp = fopen(path, "w")) == NULL)
        die(path);
    fclose(fp);
    if (geteuid() == 0 && chown(path, 65534, 65534) < 0)
        die("chown");
    if ((pid = fork()) == 0) {
        execl(binary, "ratekeeper", "-c", dir, (char *) NULL);
        die(binary);
    }
    snprintf(sock, sizeof(sock), "%s/run/ratekeeper.sock", dir);
    for (i = 0; i < 200; i++) {
        int fd = connect_socket(sock);

        if (fd >= 0) {
            close(fd);
            opt_socket = sock;
            /* With the Redis backend: until it is connected, requests are
             * answered locally; give it a moment. */
            if (strstr(opt_extra, "redis"))
                sleep(1);
            return pid;
        }
        usleep(50000);
    }
    fprintf(stderr, "rk_bench: ratekeeper did not start; see %s/log\n", dir);
    kill(pid, SIGKILL);
    exit(1);
}

static void
usage(void)
{
    fprintf(stderr, "usage: rk_bench [-r RATEKEEPER [-e MAIN_CF] | -s SOCKET] [-c CONNS] [-p PROCS] "
            "[-d SECS] [-R RATE] [-k KEYS] [-m mail|session] [-w WINDOW_MS]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *binary = NULL;
    RESULT *total = calloc(1, sizeof(*total)), *one = calloc(1, sizeof(*one));
    char dir[64] = "";
    long long start, end;
    pid_t rk_pid = 0, workers[64];
    long long cpu_all0 = -1, cpu_all1 = -1, cpu_main0 = -1, cpu_main1 = -1;
    int pipefd[2], ch, i, j, status;
    double secs;

    while ((ch = getopt(argc, argv, "c:d:e:k:m:p:r:R:s:w:")) != -1) {
        switch (ch) {
        case 'c': opt_conns = atoi(optarg); break;
        case 'e': opt_extra = optarg; break;
        case 'd': opt_secs = atoi(optarg); break;
        case 'k': opt_keys = (unsigned) atoi(optarg); break;
        case 'm': opt_session = strcmp(optarg, "session") == 0; break;
        case 'p': opt_procs = atoi(optarg); break;
        case 'r': binary = optarg; break;
        case 'R': opt_rate = atof(optarg); break;
        case 's': opt_socket = optarg; break;
        case 'w': opt_window = atol(optarg); break;
        default: usage();
        }
    }
    if ((binary == NULL) == (opt_socket == NULL) || opt_conns < opt_procs
        || opt_procs < 1 || opt_procs > 64 || opt_secs <= WARMUP_S || opt_keys == 0)
        usage();
    if (binary)
        rk_pid = start_ratekeeper(binary, dir, sizeof(dir));
    if (pipe(pipefd) < 0)
        die("pipe");
    start = now_ns() + 500000000LL;     /* connections made by then */
    end = start + (long long) opt_secs * 1000000000LL;
    for (i = 0; i < opt_procs; i++) {
        int share = opt_conns / opt_procs + (i < opt_conns % opt_procs);

        if ((workers[i] = fork()) == 0)
            worker(i, share, opt_rate / opt_procs, start, end, pipefd[1]);
    }
    /* ratekeeper's CPU over the measured part: per request, the figure
     * that does not depend on what else the machine runs. */
    while (now_ns() < start + WARMUP_S * 1000000000LL)
        usleep(1000);
    if (rk_pid) {
        cpu_all0 = cpu_ns(rk_pid, 0);
        cpu_main0 = cpu_ns(rk_pid, rk_pid);
    }
    for (i = 0; i < opt_procs; i++) {
        size_t got = 0;

        while (got < sizeof(*one)) {
            ssize_t n = read(pipefd[0], (char *) one + got, sizeof(*one) - got);

            if (n <= 0)
                die("read result");
            got += (size_t) n;
        }
        total->requests += one->requests;
        total->errors += one->errors;
        total->dropped += one->dropped;
        for (j = 0; j <= HIST_US; j++)
            total->hist[j] += one->hist[j];
    }
    for (i = 0; i < opt_procs; i++)
        waitpid(workers[i], &status, 0);
    if (rk_pid) {
        cpu_all1 = cpu_ns(rk_pid, 0);
        cpu_main1 = cpu_ns(rk_pid, rk_pid);
    }
    secs = opt_secs - WARMUP_S;
    printf("%s, %d connections in %d process%s, %s, %u keys, %ds (+%ds warm-up)\n",
           opt_rate > 0 ? "paced" : "closed loop", opt_conns, opt_procs,
           opt_procs == 1 ? "" : "es", opt_session ? "connect+mail+disconnect" : "mail",
           opt_keys, opt_secs - WARMUP_S, WARMUP_S);
    if (opt_rate > 0)
        printf("target:   %.0f requests/s\n", opt_rate);
    printf("achieved: %.0f requests/s (%llu requests, %llu errors, %llu not sent in time)\n",
           (double) total->requests / secs, total->requests, total->errors,
           total->dropped);
    printf("latency:  p50 %.0f us, p90 %.0f us, p99 %.0f us, p99.9 %.0f us%s\n",
           percentile(total, 0.50), percentile(total, 0.90),
           percentile(total, 0.99), percentile(total, 0.999),
           total->hist[HIST_US] ? " (some over 100 ms)" : "");
    if (rk_pid && total->requests && cpu_all0 >= 0 && cpu_all1 >= 0) {
        double main_us = (double) (cpu_main1 - cpu_main0) / 1000.0 / (double) total->requests;
        double all_us = (double) (cpu_all1 - cpu_all0) / 1000.0 / (double) total->requests;

        printf("cpu:      %.1f us per request in the event loop (one core: %.0f requests/s),"
               " %.1f us with the writer thread\n", main_us, 1e6 / main_us, all_us);
    }
    if (rk_pid) {
        char cmd[128];

        kill(rk_pid, SIGTERM);
        waitpid(rk_pid, &status, 0);
        snprintf(cmd, sizeof(cmd), "du -sh %s/data/ratekeeper | cut -f1", dir);
        printf("database: ");
        fflush(stdout);
        if (system(cmd) != 0)
            printf("?\n");
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "rk_bench: cannot remove %s\n", dir);
    }
    return total->errors ? 1 : 0;
}
