/* The Redis backend of ratekeeper (rk_redis.h).
 *
 * States: DOWN (no connection; a timer tries again), ASKING (a Sentinel
 * is asked for the master), SETUP (connected or connecting; the set-up
 * commands are in flight), READY.  A READY connection is slow once a
 * request's deadline passed without its results: requests are then
 * answered from the local store at once (their operations still go to
 * Redis, so that the cluster's counts stay right), until a reply comes
 * within redis_timeout of its command; a connection slow for longer than
 * RK_REDIS_DEAD_MS is dropped.
 *
 * Every command has a callback with its RK_REDIS_CMD; hiredis calls each
 * one exactly once, with a NULL reply when the connection goes.  The
 * adds, counts and connections of the plans go in batches (one
 * RK_LUA_OPS call, flushed from a timer of the loop, or when full, or
 * before any other command so that the order holds); shows, resets and
 * tops have commands of their own.  A job (one plan) is finished once
 * its deadline passes or its last operation is answered, whichever
 * comes first; it is freed when both its operations are all answered
 * and it is finished. */
#include <errno.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "events.h"
#include "hostport.h"
#include "msg.h"
#include "mymalloc.h"
#include "rk_clnt.h"
#include "rk_lua.h"
#include "rk_redis.h"
#include "rk_redis_ev.h"
#include "rk_redis_reply.h"
#include "rk_state.h"

#define RK_REDIS_PORT           6379
#define RK_REDIS_RETRY_MS       1000    /* after a failure */
#define RK_REDIS_CONNECT_MS     2000    /* connection and set-up */
#define RK_REDIS_ADMIN_MS       8000    /* show, top, reset */
#define RK_REDIS_DEAD_MS        2000    /* slow for this long: dropped */
#define RK_REDIS_WARN_MS        60000   /* between warnings */
#define RK_REDIS_SCAN_COUNT     "1000"
#define RK_REDIS_SENTINEL_PORT  26379
#define RK_REDIS_BATCH_MAX      128     /* operations per script call */
#define RK_REDIS_OPS_INFLIGHT   1       /* script calls sent, not answered */
#define RK_REDIS_HEARTBEAT_MIN_MS 300   /* redis_heartbeat_time's floor */

typedef enum RK_REDIS_STATE {
    RK_REDIS_DOWN,
    RK_REDIS_ASKING,
    RK_REDIS_SETUP,
    RK_REDIS_READY,
} RK_REDIS_STATE;

typedef enum RK_REDIS_CMD_KIND {
    RK_REDIS_CMD_SETUP,                 /* AUTH, SELECT, SCRIPT LOAD */
    RK_REDIS_CMD_ROLE,
    RK_REDIS_CMD_SYNC,                  /* set-up or heartbeat */
    RK_REDIS_CMD_OP,                    /* show or reset of a plan */
    RK_REDIS_CMD_OPS,                   /* a batch of operations */
    RK_REDIS_CMD_SCAN,                  /* top, step 1 */
    RK_REDIS_CMD_COUNTS,                /* top, step 2 */
    RK_REDIS_CMD_LOAD,                  /* a script again, after NOSCRIPT */
} RK_REDIS_CMD_KIND;

typedef struct RK_REDIS_JOB RK_REDIS_JOB;

/* Arguments of one command, built up. */
typedef struct RK_REDIS_ARGS {
    VBUF *buf;                          /* the strings, NUL-separated */
    size_t *offsets;
    size_t *lens;
    int argc;
    int cap;
} RK_REDIS_ARGS;

/* An operation of a batch: whose result it is. */
typedef struct RK_REDIS_TARGET {
    RK_REDIS_JOB *job;
    int op;
} RK_REDIS_TARGET;

struct RK_REDIS {
    RK_REDIS_CONF conf;                 /* copies */
    char **servers;
    char **sentinels;
    int nservers;
    int nsentinels;
    RK_REDIS_REGS_FN regs;
    void *regs_context;
    char incarnation[33];               /* this start of ratekeeper */
    char sha[RK_LUA_NSCRIPTS][41];

    RK_REDIS_STATE state;
    redisAsyncContext *ac;
    redisAsyncContext *sentinel_ac;     /* asking, or checking */
    int sentinel_index;
    int sentinel_checking;              /* asked while READY */
    int server_index;
    char server[300];                   /* in use or tried last */
    int setup_left;                     /* set-up replies to come */
    int synced;                         /* a sync was answered */
    int sync_pending;
    int slow;
    long long slow_since;
    long long state_since;
    char error[512];

    long long warned;                   /* last warning, monotime */
    unsigned long suppressed;           /* warnings since */
    int said_down;                      /* "back" is worth saying */

    RK_REDIS_JOB *jobs;                 /* unfinished, oldest first */
    RK_REDIS_JOB *jobs_tail;
    int deadline_armed;                 /* rk_redis_jobs_deadline */

    /* The batch: the operations of the plans since the last flush, one
     * RK_LUA_OPS call for all of them, sent from the event loop once
     * the requests at hand are read (or once it is full). */
    RK_REDIS_ARGS batch_keys;
    RK_REDIS_ARGS batch_argv;
    RK_REDIS_TARGET *batch;
    int batch_n;
    int ops_inflight;                   /* RK_LUA_OPS calls unanswered */
    const char **argv;                  /* for formatting, reused */
    size_t *lens;
    int argv_cap;
};

struct RK_REDIS_JOB {
    RK_REDIS *r;
    RK_PLAN *plan;
    RK_REDIS_DONE_FN done;              /* NULL: nobody waits */
    void *context;
    int outstanding;                    /* commands not answered */
    int finished;
    int admin;                          /* longer deadline, not "slow" */
    int own_timer;                      /* else: rk_redis_jobs_deadline */
    long long deadline;
    long long sent;
    RK_REDIS_JOB *prev;
    RK_REDIS_JOB *next;
    /* top: the scan's cursor, its names and the best so far */
    int top_op;
    unsigned long long cursor;
    VBUF *names;
    int nnames;
    RK_STATE_ENTRY *batch;
    RK_STATE_ENTRY *heap;
    RK_STATE_TOP top;
};

typedef struct RK_REDIS_CMD {
    RK_REDIS *r;
    RK_REDIS_JOB *job;
    RK_REDIS_CMD_KIND kind;
    int op;                             /* the plan's, for OP */
    RK_LUA_ID script;                   /* EVALSHA: for NOSCRIPT */
    char *formatted;                    /* EVALSHA: to send again */
    int len;
    int resent;
    long long sent;
    RK_REDIS_TARGET *targets;           /* OPS: one per operation */
    int ntargets;
    int inflight;                       /* OPS: counted in ops_inflight */
} RK_REDIS_CMD;

static void rk_redis_connect(RK_REDIS *r);
static void rk_redis_fail(RK_REDIS *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void rk_redis_reply(redisAsyncContext *ac, void *reply, void *privdata);
static void rk_redis_top_done(RK_REDIS_JOB *job);
static void rk_redis_connect_deadline(int event, void *context);
static void rk_redis_flush(RK_REDIS *r);

/* Logging, at most once a minute ---------------------------------------- */

static void
rk_redis_warn(RK_REDIS *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rk_redis_warn(RK_REDIS *r, const char *fmt, ...)
{
    long long now = event_now_ms();
    char text[512];
    va_list ap;

    if (r->warned != 0 && now - r->warned < RK_REDIS_WARN_MS) {
        r->suppressed++;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (r->suppressed)
        msg_warn("%s (%lu more warning%s in the last minute)", text,
                 r->suppressed, r->suppressed == 1 ? "" : "s");
    else
        msg_warn("%s", text);
    r->warned = now;
    r->suppressed = 0;
    r->said_down = 1;
}

static void
rk_redis_set_state(RK_REDIS *r, RK_REDIS_STATE state)
{
    if (r->state != state)
        r->state_since = event_now_ms();
    r->state = state;
}

/* Command arguments ----------------------------------------------------- */

static void
rk_redis_args_init(RK_REDIS_ARGS *a)
{
    a->buf = vbuf_create(256);
    a->argc = 0;
    a->cap = 16;
    a->offsets = mymalloc((size_t) a->cap * sizeof(*a->offsets));
    a->lens = mymalloc((size_t) a->cap * sizeof(*a->lens));
}

static void
rk_redis_args_free(RK_REDIS_ARGS *a)
{
    vbuf_free(a->buf);
    myfree(a->offsets);
    myfree(a->lens);
}

static void
rk_redis_arg_start(RK_REDIS_ARGS *a)
{
    if (a->argc == a->cap) {
        a->cap *= 2;
        a->offsets = myrealloc(a->offsets, (size_t) a->cap * sizeof(*a->offsets));
        a->lens = myrealloc(a->lens, (size_t) a->cap * sizeof(*a->lens));
    }
    a->offsets[a->argc] = vbuf_len(a->buf);
}

static void
rk_redis_arg_end(RK_REDIS_ARGS *a)
{
    a->lens[a->argc] = vbuf_len(a->buf) - a->offsets[a->argc];
    vbuf_append_char(a->buf, 0);
    a->argc++;
}

static void
rk_redis_arg(RK_REDIS_ARGS *a, const char *text)
{
    rk_redis_arg_start(a);
    vbuf_append_str(a->buf, text);
    rk_redis_arg_end(a);
}

static void
rk_redis_argf(RK_REDIS_ARGS *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
rk_redis_argf(RK_REDIS_ARGS *a, const char *fmt, ...)
{
    char text[64];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    rk_redis_arg(a, text);
}

/* PREFIX + part + rest: a key name. */
static void
rk_redis_arg_key(RK_REDIS_ARGS *a, const RK_REDIS *r, const char *part,
                 const char *counter, const char *key)
{
    rk_redis_arg_start(a);
    vbuf_append_str(a->buf, r->conf.prefix);
    vbuf_append_str(a->buf, part);
    if (counter) {
        vbuf_append_str(a->buf, counter);
        vbuf_append_char(a->buf, ':');
    }
    vbuf_append_str(a->buf, key);
    rk_redis_arg_end(a);
}

/* Appends the arguments of a to r->argv from index at; returns the
 * index after them. */
static int
rk_redis_argv_add(RK_REDIS *r, int at, const RK_REDIS_ARGS *a)
{
    int i;

    if (at + a->argc > r->argv_cap) {
        r->argv_cap = 2 * (at + a->argc);
        r->argv = myrealloc(r->argv, (size_t) r->argv_cap * sizeof(*r->argv));
        r->lens = myrealloc(r->lens, (size_t) r->argv_cap * sizeof(*r->lens));
    }
    for (i = 0; i < a->argc; i++) {
        r->argv[at + i] = vbuf_str(a->buf) + a->offsets[i];
        r->lens[at + i] = a->lens[i];
    }
    return at + a->argc;
}

/* Sends the formatted command; cmd gets its reply.  EVALSHA keeps its
 * formatted text for a NOSCRIPT.  On failure, cmd is the caller's. */
static int
rk_redis_send_formatted(RK_REDIS *r, char *formatted, int len,
                        RK_REDIS_CMD *cmd)
{
    if (len < 0 || r->ac == NULL) {
        if (formatted)
            redisFreeCommand(formatted);
        return -1;
    }
    cmd->sent = event_now_ms();
    if (redisAsyncFormattedCommand(r->ac, rk_redis_reply, cmd, formatted,
                                   (size_t) len) != REDIS_OK) {
        redisFreeCommand(formatted);
        return -1;
    }
    if (cmd->job)
        cmd->job->outstanding++;
    if (cmd->kind == RK_REDIS_CMD_OP || cmd->kind == RK_REDIS_CMD_OPS
        || cmd->kind == RK_REDIS_CMD_COUNTS
        || cmd->kind == RK_REDIS_CMD_SYNC) {
        cmd->formatted = formatted;
        cmd->len = len;
    } else {
        redisFreeCommand(formatted);
    }
    return 0;
}

/* Sends the command; cmd (from rk_redis_cmd) gets its reply.  The batch
 * goes first: commands reach Redis in the order they were made. */
static int
rk_redis_send_args(RK_REDIS *r, RK_REDIS_ARGS *a, RK_REDIS_CMD *cmd)
{
    char *formatted = NULL;
    int argc, len;

    if (r->batch_n > 0)
        rk_redis_flush(r);
    argc = rk_redis_argv_add(r, 0, a);
    len = redisFormatCommandArgv(&formatted, argc, r->argv, r->lens);
    rk_redis_args_free(a);
    if (rk_redis_send_formatted(r, formatted, len, cmd) < 0) {
        myfree(cmd);
        return -1;
    }
    return 0;
}

static RK_REDIS_CMD *
rk_redis_cmd(RK_REDIS *r, RK_REDIS_JOB *job, RK_REDIS_CMD_KIND kind, int op,
             RK_LUA_ID script)
{
    RK_REDIS_CMD *cmd = mycalloc(1, sizeof(*cmd));

    cmd->r = r;
    cmd->job = job;
    cmd->kind = kind;
    cmd->op = op;
    cmd->script = script;
    return cmd;
}

/* EVALSHA script nkeys: the start of the arguments. */
static void
rk_redis_evalsha(RK_REDIS_ARGS *a, const RK_REDIS *r, RK_LUA_ID script,
                 int nkeys)
{
    rk_redis_args_init(a);
    rk_redis_arg(a, "EVALSHA");
    rk_redis_arg(a, r->sha[script]);
    rk_redis_argf(a, "%d", nkeys);
}

/* Jobs ----------------------------------------------------------------- */

static void rk_redis_job_deadline(int event, void *context);
static void rk_redis_jobs_deadline(int event, void *context);

static void
rk_redis_job_free(RK_REDIS_JOB *job)
{
    if (job->done == NULL)
        rk_plan_free(job->plan);
    vbuf_free(job->names);
    myfree(job->batch);
    myfree(job->heap);
    myfree(job);
}

/* The job's results are final: tell whoever waits. */
static void
rk_redis_job_finish(RK_REDIS_JOB *job)
{
    RK_REDIS *r = job->r;

    if (job->finished)
        return;
    job->finished = 1;
    if (job->own_timer)
        event_cancel_timer(rk_redis_job_deadline, job);
    if (job->prev)
        job->prev->next = job->next;
    else if (r->jobs == job)
        r->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    else if (r->jobs_tail == job)
        r->jobs_tail = job->prev;
    job->prev = job->next = NULL;
    if (job->done) {
        job->done(job->plan, job->context);
        job->plan = NULL;
    }
}

/* A reply for the job came (or its connection went). */
static void
rk_redis_job_answered(RK_REDIS_JOB *job)
{
    if (--job->outstanding > 0)
        return;
    rk_redis_job_finish(job);
    rk_redis_job_free(job);
}

static void
rk_redis_fail_now(int event, void *context)
{
    RK_REDIS *r = context;

    (void) event;
    if (r->slow && event_now_ms() - r->slow_since >= RK_REDIS_DEAD_MS)
        rk_redis_fail(r, "Redis %s: no answer for %d ms", r->server,
                      RK_REDIS_DEAD_MS);
}

/* The job's deadline has passed. */
static void
rk_redis_job_expire(RK_REDIS_JOB *job)
{
    RK_REDIS *r = job->r;

    if (!job->admin && !r->slow && r->state == RK_REDIS_READY
        && job->outstanding > 0) {
        r->slow = 1;
        r->slow_since = event_now_ms();
        snprintf(r->error, sizeof(r->error), "no answer within %d ms",
                 r->conf.timeout_ms);
        rk_redis_warn(r, "Redis %s: no answer within %d ms; answering from "
                      "the local store (limits per gateway)", r->server,
                      r->conf.timeout_ms);
        event_request_timer(rk_redis_fail_now, r, RK_REDIS_DEAD_MS);
    }
    /* Answered from memory; the job goes once its commands are
     * answered (or their connection goes). */
    rk_redis_job_finish(job);
    if (job->outstanding == 0)
        rk_redis_job_free(job);
}

static void
rk_redis_job_deadline(int event, void *context)
{
    (void) event;
    rk_redis_job_expire(context);
}

/* The jobs of requests all have the same timeout, and the list is in
 * the order they came: one timer, for the oldest, serves them all (a
 * timer per request cost as much as the rest of the job).  The few with
 * a deadline of their own (admin, nothing in flight) are passed over. */
static void
rk_redis_jobs_arm(RK_REDIS *r)
{
    RK_REDIS_JOB *job;

    if (r->deadline_armed)
        return;
    for (job = r->jobs; job && job->own_timer; job = job->next)
         /* void */ ;
    if (job == NULL)
        return;
    r->deadline_armed = 1;
    event_request_timer(rk_redis_jobs_deadline, r,
                        job->deadline > event_now_ms()
                        ? job->deadline - event_now_ms() : 0);
}

static void
rk_redis_jobs_deadline(int event, void *context)
{
    RK_REDIS *r = context;
    RK_REDIS_JOB *job, *next;
    long long now = event_now_ms();

    (void) event;
    r->deadline_armed = 0;
    for (job = r->jobs; job; job = next) {
        next = job->next;
        if (job->own_timer)
            continue;
        if (job->deadline > now)
            break;
        /* May free job, never another one of the list. */
        rk_redis_job_expire(job);
    }
    rk_redis_jobs_arm(r);
}

static RK_REDIS_JOB *
rk_redis_job_create(RK_REDIS *r, RK_PLAN *plan, RK_REDIS_DONE_FN done,
                    void *context)
{
    RK_REDIS_JOB *job = mycalloc(1, sizeof(*job));
    int i;

    job->r = r;
    job->plan = plan;
    job->done = done;
    job->context = context;
    job->sent = event_now_ms();
    job->top_op = -1;
    for (i = 0; i < plan->nops; i++)
        if (plan->ops[i].kind == RK_PLAN_SHOW
            || plan->ops[i].kind == RK_PLAN_TOP
            || plan->ops[i].kind == RK_PLAN_RESET)
            job->admin = 1;
    return job;
}

/* A SCAN step of top. */
static void
rk_redis_top_scan(RK_REDIS_JOB *job)
{
    RK_REDIS *r = job->r;
    RK_REDIS_ARGS a;
    const char *cp;

    rk_redis_args_init(&a);
    rk_redis_arg(&a, "SCAN");
    rk_redis_argf(&a, "%llu", job->cursor);
    rk_redis_arg(&a, "MATCH");
    /* The prefix, with glob's special characters escaped. */
    rk_redis_arg_start(&a);
    for (cp = r->conf.prefix; *cp; cp++) {
        if (strchr("*?[]\\", *cp))
            vbuf_append_char(a.buf, '\\');
        vbuf_append_char(a.buf, *cp);
    }
    vbuf_append_str(a.buf, "*");
    rk_redis_arg_end(&a);
    rk_redis_arg(&a, "COUNT");
    rk_redis_arg(&a, RK_REDIS_SCAN_COUNT);
    rk_redis_send_args(r, &a, rk_redis_cmd(r, job, RK_REDIS_CMD_SCAN,
                                           job->top_op, RK_LUA_NSCRIPTS));
}

/* The COUNTS step of top, for the names of a SCAN step that are ours. */
static void
rk_redis_top_counts(RK_REDIS_JOB *job)
{
    RK_REDIS *r = job->r;
    VBUF *key = vbuf_create(64);
    const char *name = vbuf_str(job->names), *end = name + vbuf_len(job->names);
    RK_REDIS_ARGS a;
    int n = 0;

    rk_redis_evalsha(&a, r, RK_LUA_COUNTS, 0);
    rk_redis_arg(&a, "");
    rk_redis_arg(&a, r->conf.prefix);
    job->batch = myrealloc(job->batch, ((size_t) job->nnames + 1)
                           * sizeof(*job->batch));
    for (; name < end; name += strlen(name) + 1) {
        RK_STATE_ENTRY *e = &job->batch[n];

        if (rk_redis_key_parse(r->conf.prefix, name, strlen(name), e->counter,
                               sizeof(e->counter), key) < 0)
            continue;
        snprintf(e->key, sizeof(e->key), "%s", vbuf_str(key));
        rk_redis_arg(&a, name);
        n++;
    }
    vbuf_free(key);
    job->nnames = n;
    if (n == 0) {
        rk_redis_args_free(&a);
        if (job->cursor != 0)
            rk_redis_top_scan(job);
        return;
    }
    rk_redis_send_args(r, &a, rk_redis_cmd(r, job, RK_REDIS_CMD_COUNTS,
                                           job->top_op, RK_LUA_COUNTS));
}

/* Batches ---------------------------------------------------------------- */

static void
rk_redis_args_reset(RK_REDIS_ARGS *a)
{
    if (a->buf == NULL) {
        rk_redis_args_init(a);
    } else {
        vbuf_reset(a->buf);
        a->argc = 0;
    }
}

/* The batch goes when the requests at hand are read, unless a call is
 * still out: then with its answer (see rk_redis_reply), so that under
 * load the batches grow instead of the calls, as Nagle's algorithm has
 * it, and a request waits at most one call longer. */
static void
rk_redis_flush_timer(int event, void *context)
{
    RK_REDIS *r = context;

    (void) event;
    if (r->ops_inflight < RK_REDIS_OPS_INFLIGHT)
        rk_redis_flush(r);
}

/* A batch that could not be sent: answered (without results) from the
 * loop, as a lost connection's commands are. */
static void
rk_redis_ops_lost(int event, void *context)
{
    (void) event;
    rk_redis_reply(NULL, NULL, context);
}

/* Sends the batch: one RK_LUA_OPS call. */
static void
rk_redis_flush(RK_REDIS *r)
{
    RK_REDIS_CMD *cmd;
    char *formatted = NULL, nkeys[16];
    int argc, len;

    if (r->batch_n == 0)
        return;
    event_cancel_timer(rk_redis_flush_timer, r);
    cmd = rk_redis_cmd(r, NULL, RK_REDIS_CMD_OPS, -1, RK_LUA_OPS);
    cmd->targets = r->batch;
    cmd->ntargets = r->batch_n;
    r->batch = NULL;
    r->batch_n = 0;
    if (r->ac == NULL) {
        rk_redis_reply(NULL, NULL, cmd);
        return;
    }
    argc = rk_redis_argv_add(r, 3, &r->batch_keys);
    argc = rk_redis_argv_add(r, argc, &r->batch_argv);
    snprintf(nkeys, sizeof(nkeys), "%d", r->batch_keys.argc);
    r->argv[0] = "EVALSHA";
    r->argv[1] = r->sha[RK_LUA_OPS];
    r->argv[2] = nkeys;
    r->lens[0] = 7;
    r->lens[1] = 40;
    r->lens[2] = strlen(nkeys);
    len = redisFormatCommandArgv(&formatted, argc, r->argv, r->lens);
    if (rk_redis_send_formatted(r, formatted, len, cmd) < 0) {
        event_request_timer(rk_redis_ops_lost, cmd, 0);
        return;
    }
    cmd->inflight = 1;
    r->ops_inflight++;
}

/* Adds operation i of the job's plan (an add, lookup or connection) to
 * the batch; a full batch goes at once. */
static void
rk_redis_batch_add(RK_REDIS_JOB *job, int i)
{
    RK_REDIS *r = job->r;
    RK_PLAN_OP *op = &job->plan->ops[i];
    RK_REDIS_ARGS *k = &r->batch_keys, *a = &r->batch_argv;

    if (r->batch_n == 0) {
        rk_redis_args_reset(k);
        rk_redis_args_reset(a);
        r->batch = mymalloc(RK_REDIS_BATCH_MAX * sizeof(*r->batch));
        rk_redis_arg_key(k, r, "gk:", NULL, r->conf.gateway);
        rk_redis_arg_key(k, r, "g:", NULL, r->conf.gateway);
        rk_redis_arg(a, "");
        rk_redis_arg(a, r->conf.prefix);
        rk_redis_arg(a, r->conf.gateway);
        rk_redis_arg(a, r->incarnation);
        rk_redis_argf(a, "%d", r->conf.heartbeat_ms);
        rk_redis_argf(a, "%d", 3 * r->conf.heartbeat_ms);
        event_request_timer(rk_redis_flush_timer, r, 0);
    }
    switch (op->kind) {
    case RK_PLAN_ADD:
        rk_redis_arg_key(k, r, "w:", op->counter, op->key);
        rk_redis_arg(a, "a");
        rk_redis_argf(a, "%lld", op->window_ms);
        rk_redis_arg(a, "1");
        break;
    case RK_PLAN_LOOKUP:
        rk_redis_arg_key(k, r, "w:", op->counter, op->key);
        rk_redis_arg(a, "c");
        break;
    case RK_PLAN_CONN:
        rk_redis_arg_key(k, r, "c:", NULL, op->key);
        rk_redis_arg(a, "n");
        rk_redis_argf(a, "%ld", op->delta);
        rk_redis_arg(a, op->key);
        break;
    default:
        msg_panic("rk_redis_batch_add: bad operation %d", (int) op->kind);
    }
    r->batch[r->batch_n].job = job;
    r->batch[r->batch_n].op = i;
    r->batch_n++;
    job->outstanding++;
    if (r->batch_n == RK_REDIS_BATCH_MAX)
        rk_redis_flush(r);
}

/* Sends one operation of the plan. */
static void
rk_redis_send_op(RK_REDIS_JOB *job, int i)
{
    RK_REDIS *r = job->r;
    RK_PLAN_OP *op = &job->plan->ops[i];
    RK_REDIS_ARGS a;
    int k;

    switch (op->kind) {
    case RK_PLAN_ADD:
    case RK_PLAN_LOOKUP:
    case RK_PLAN_CONN:
        rk_redis_batch_add(job, i);
        return;
    case RK_PLAN_SHOW:
        rk_redis_evalsha(&a, r, RK_LUA_SHOW, RK_LUA_COUNTERS + 1);
        for (k = 0; k < RK_LUA_COUNTERS; k++)
            rk_redis_arg_key(&a, r, "w:", rk_state_counters[k], op->key);
        rk_redis_arg_key(&a, r, "c:", NULL, op->key);
        rk_redis_arg(&a, "");
        rk_redis_arg(&a, r->conf.prefix);
        break;
    case RK_PLAN_RESET:
        rk_redis_evalsha(&a, r, RK_LUA_RESET, RK_LUA_COUNTERS);
        for (k = 0; k < RK_LUA_COUNTERS; k++)
            rk_redis_arg_key(&a, r, "w:", rk_state_counters[k], op->key);
        break;
    case RK_PLAN_TOP:
        /* One at a time; a second top in one plan is answered locally. */
        if (job->top_op >= 0)
            return;
        job->top_op = i;
        job->cursor = 0;
        job->names = vbuf_create(1024);
        job->heap = mymalloc(RK_STATE_TOP_MAX * sizeof(*job->heap));
        rk_state_top_init(&job->top, job->heap, op->limit, 0);
        rk_redis_top_scan(job);
        return;
    default:
        msg_panic("rk_redis_send_op: bad operation %d", (int) op->kind);
    }
    rk_redis_send_args(r, &a, rk_redis_cmd(r, job, RK_REDIS_CMD_OP, i,
                                           op->kind == RK_PLAN_SHOW
                                           ? RK_LUA_SHOW : RK_LUA_RESET));
}

static void
rk_redis_start(RK_REDIS *r, RK_REDIS_JOB *job)
{
    int i;

    /* Held until every operation is sent: a connection that breaks in
     * the middle must not free the job under our feet. */
    job->outstanding++;
    for (i = 0; i < job->plan->nops && r->ac; i++)
        rk_redis_send_op(job, i);
    if (job->done) {
        job->prev = r->jobs_tail;
        if (r->jobs_tail)
            r->jobs_tail->next = job;
        else
            r->jobs = job;
        r->jobs_tail = job;
        /* done never runs inside submit: a job with nothing in flight
         * is finished by the loop at once. */
        if (job->outstanding == 1 || job->admin) {
            job->own_timer = 1;
            event_request_timer(rk_redis_job_deadline, job,
                                job->outstanding == 1 ? 0 : RK_REDIS_ADMIN_MS);
        } else {
            job->deadline = event_now_ms() + r->conf.timeout_ms;
            rk_redis_jobs_arm(r);
        }
        if (--job->outstanding == 0)
            return;
    } else {
        job->finished = 1;
        if (--job->outstanding == 0)
            rk_redis_job_free(job);
    }
}

void
rk_redis_submit(RK_REDIS *r, RK_PLAN *plan, RK_REDIS_DONE_FN done,
                void *context)
{
    if (done == NULL)
        msg_panic("rk_redis_submit: no done function");
    rk_redis_start(r, rk_redis_job_create(r, plan, done, context));
}

void
rk_redis_send(RK_REDIS *r, RK_PLAN *plan)
{
    if (r->ac == NULL || r->state != RK_REDIS_READY || plan->nops == 0) {
        rk_plan_free(plan);
        return;
    }
    rk_redis_start(r, rk_redis_job_create(r, plan, NULL, NULL));
}

/* Replies ---------------------------------------------------------------- */

static void
rk_redis_op_reply(RK_REDIS_CMD *cmd, const redisReply *reply)
{
    RK_REDIS_JOB *job = cmd->job;
    RK_PLAN_OP *op;
    RK_STATE_ENTRY *entries;
    int n;

    if (job->plan == NULL || job->finished)
        return;
    op = &job->plan->ops[cmd->op];
    switch (op->kind) {
    case RK_PLAN_SHOW:
        entries = mymalloc((RK_LUA_COUNTERS + 1) * sizeof(*entries));
        if ((n = rk_redis_reply_show(reply, op->key, entries,
                                     RK_LUA_COUNTERS + 1)) < 0) {
            myfree(entries);
            break;
        }
        rk_plan_set_entries(op, entries, n);
        return;
    default:
        if (rk_redis_reply_count(reply, &op->count) < 0)
            break;
        op->answered = 1;
        return;
    }
    rk_redis_warn(job->r, "Redis %s: unexpected reply to a %s script",
                  job->r->server, rk_lua_name(cmd->script));
}

/* A batch's results, each to its plan's operation. */
static void
rk_redis_ops_reply(RK_REDIS_CMD *cmd, const redisReply *reply)
{
    const redisReply *e, *first_bad = NULL;
    unsigned long count;
    RK_REDIS_JOB *job;
    RK_PLAN_OP *op;
    int i, bad = 0;

    for (i = 0; i < cmd->ntargets; i++) {
        job = cmd->targets[i].job;
        e = rk_redis_reply_ops_element(reply, i, cmd->ntargets);
        if (e == NULL || rk_redis_reply_count(e, &count) < 0) {
            if (bad++ == 0)
                first_bad = e;
            continue;
        }
        if (job->plan == NULL || job->finished)
            continue;
        op = &job->plan->ops[cmd->targets[i].op];
        op->count = count;
        op->answered = 1;
    }
    if (bad == 0)
        return;
    if (first_bad && first_bad->type == REDIS_REPLY_ERROR)
        rk_redis_warn(cmd->r, "Redis %s: ops script: %d of %d operations "
                      "failed: %.*s", cmd->r->server, bad, cmd->ntargets,
                      (int) first_bad->len, first_bad->str);
    else
        rk_redis_warn(cmd->r, "Redis %s: unexpected reply to an ops script",
                      cmd->r->server);
}

static void
rk_redis_scan_reply(RK_REDIS_CMD *cmd, const redisReply *reply)
{
    RK_REDIS_JOB *job = cmd->job;

    if (job->finished)
        return;
    if (rk_redis_reply_scan(reply, &job->cursor, job->names,
                            &job->nnames) < 0) {
        rk_redis_warn(job->r, "Redis %s: unexpected reply to SCAN",
                      job->r->server);
        return;
    }
    rk_redis_top_counts(job);
    if (job->cursor == 0 && job->outstanding == 1)
        rk_redis_top_done(job);
}

static void
rk_redis_counts_reply(RK_REDIS_CMD *cmd, const redisReply *reply)
{
    RK_REDIS_JOB *job = cmd->job;
    int i;

    if (job->finished)
        return;
    for (i = 0; i < job->nnames; i++) {
        job->batch[i].window_ms = job->batch[i].clear_ms = 0;
        if (rk_redis_reply_counts_entry(reply, i, job->nnames,
                                        &job->batch[i]) < 0) {
            rk_redis_warn(job->r, "Redis %s: unexpected reply to a counts "
                          "script", job->r->server);
            return;
        }
        rk_state_top_offer_entry(&job->top, &job->batch[i]);
    }
    if (job->cursor != 0)
        rk_redis_top_scan(job);
    else
        rk_redis_top_done(job);
}

/* top's scan is over: its entries. */
static void
rk_redis_top_done(RK_REDIS_JOB *job)
{
    RK_PLAN_OP *op;
    RK_STATE_ENTRY *entries;
    int n;

    if (job->plan == NULL || job->top_op < 0)
        return;
    op = &job->plan->ops[job->top_op];
    if (op->answered)
        return;
    n = rk_state_top_finish(&job->top);
    entries = mymalloc(((size_t) n + 1) * sizeof(*entries));
    memcpy(entries, job->heap, (size_t) n * sizeof(*entries));
    rk_plan_set_entries(op, entries, n);
}

static void
rk_redis_sync_reply(RK_REDIS *r, const redisReply *reply)
{
    long keys;
    int other;

    r->sync_pending = 0;
    if (rk_redis_reply_sync(reply, &keys, &other) < 0) {
        rk_redis_warn(r, "Redis %s: unexpected reply to the sync of "
                      "registrations", r->server);
        return;
    }
    if (other && r->synced)
        rk_redis_warn(r, "Redis %s: another ratekeeper uses the gateway id "
                      "%s (a copied data_directory?); connection counts are "
                      "wrong until it has an id of its own", r->server,
                      r->conf.gateway);
    else if (other)
        msg_info("Redis %s: the registrations of the earlier start of "
                 "gateway %s are released", r->server, r->conf.gateway);
    r->synced = 1;
}

/* A set-up reply is in: ready once the last one is. */
static void
rk_redis_setup_done(RK_REDIS *r)
{
    if (--r->setup_left > 0 || r->state != RK_REDIS_SETUP)
        return;
    rk_redis_set_state(r, RK_REDIS_READY);
    event_cancel_timer(rk_redis_connect_deadline, r);
    r->slow = 0;
    r->error[0] = 0;
    if (r->said_down) {
        msg_info("Redis %s: answering; limits are shared by the cluster "
                 "again", r->server);
        r->said_down = 0;
    } else {
        msg_info("Redis %s: connected as gateway %s", r->server,
                 r->conf.gateway);
    }
}

static void
rk_redis_load_script(RK_REDIS *r, RK_LUA_ID id, RK_REDIS_CMD_KIND kind)
{
    RK_REDIS_ARGS a;

    rk_redis_args_init(&a);
    rk_redis_arg(&a, "SCRIPT");
    rk_redis_arg(&a, "LOAD");
    rk_redis_arg(&a, rk_lua_source(id));
    if (rk_redis_send_args(r, &a, rk_redis_cmd(r, NULL, kind, -1, id)) == 0
        && kind == RK_REDIS_CMD_SETUP)
        r->setup_left++;
}

static void
rk_redis_reply(redisAsyncContext *ac, void *reply_data, void *privdata)
{
    RK_REDIS_CMD *cmd = privdata;
    RK_REDIS *r = cmd->r;
    redisReply *reply = reply_data;
    RK_REDIS_ERROR err = rk_redis_reply_error(reply);
    long long now = event_now_ms();
    int i;

    (void) ac;
    /* The script cache was emptied (SCRIPT FLUSH, a restart behind a
     * proxy): load it again and send the command once more, in order. */
    if (err == RK_REDIS_ERROR_NOSCRIPT && cmd->formatted && !cmd->resent
        && r->ac) {
        cmd->resent = 1;
        rk_redis_load_script(r, cmd->script, RK_REDIS_CMD_LOAD);
        if (redisAsyncFormattedCommand(r->ac, rk_redis_reply, cmd,
                                       cmd->formatted, (size_t) cmd->len)
            == REDIS_OK)
            return;
    }
    if (cmd->formatted)
        redisFreeCommand(cmd->formatted);

    /* Answering in time again after being slow. */
    if (reply && r->slow && now - cmd->sent < r->conf.timeout_ms
        && err == RK_REDIS_ERROR_NONE) {
        r->slow = 0;
        r->error[0] = 0;
        event_cancel_timer(rk_redis_fail_now, r);
        if (r->said_down) {
            msg_info("Redis %s: answering in time again; limits are shared "
                     "by the cluster again", r->server);
            r->said_down = 0;
        }
    }
    if (reply == NULL) {
        /* The connection went; its end is handled elsewhere. */
    } else if (err == RK_REDIS_ERROR_READONLY) {
        rk_redis_fail(r, "Redis %s: %.*s", r->server, (int) reply->len,
                      reply->str);
    } else if (err != RK_REDIS_ERROR_NONE
               && (cmd->kind == RK_REDIS_CMD_SETUP
                   || cmd->kind == RK_REDIS_CMD_ROLE
                   || cmd->kind == RK_REDIS_CMD_SYNC)) {
        rk_redis_fail(r, "Redis %s: %.*s", r->server, (int) reply->len,
                      reply->str);
    } else if (err != RK_REDIS_ERROR_NONE && cmd->kind != RK_REDIS_CMD_OP
               && cmd->kind != RK_REDIS_CMD_OPS) {
        rk_redis_warn(r, "Redis %s: %.*s", r->server, (int) reply->len,
                      reply->str);
    } else {
        switch (cmd->kind) {
        case RK_REDIS_CMD_SETUP:
            if (cmd->script < RK_LUA_NSCRIPTS
                && (reply->type != REDIS_REPLY_STRING || reply->len != 40
                    || memcmp(reply->str, r->sha[cmd->script], 40) != 0)) {
                rk_redis_fail(r, "Redis %s: SCRIPT LOAD %s: unexpected reply",
                              r->server, rk_lua_name(cmd->script));
                break;
            }
            rk_redis_setup_done(r);
            break;
        case RK_REDIS_CMD_ROLE:
            if (rk_redis_reply_role(reply) != 1) {
                rk_redis_fail(r, "Redis %s: not a master", r->server);
                break;
            }
            rk_redis_setup_done(r);
            break;
        case RK_REDIS_CMD_SYNC:
            rk_redis_sync_reply(r, reply);
            if (r->state == RK_REDIS_SETUP)
                rk_redis_setup_done(r);
            break;
        case RK_REDIS_CMD_OP:
            if (err != RK_REDIS_ERROR_NONE)
                rk_redis_warn(r, "Redis %s: %s script: %.*s", r->server,
                              rk_lua_name(cmd->script), (int) reply->len,
                              reply->str);
            else
                rk_redis_op_reply(cmd, reply);
            break;
        case RK_REDIS_CMD_OPS:
            if (err != RK_REDIS_ERROR_NONE)
                rk_redis_warn(r, "Redis %s: ops script: %.*s", r->server,
                              (int) reply->len, reply->str);
            else
                rk_redis_ops_reply(cmd, reply);
            break;
        case RK_REDIS_CMD_SCAN:
            rk_redis_scan_reply(cmd, reply);
            break;
        case RK_REDIS_CMD_COUNTS:
            rk_redis_counts_reply(cmd, reply);
            break;
        case RK_REDIS_CMD_LOAD:
            break;
        }
    }
    if (cmd->kind == RK_REDIS_CMD_SYNC && reply == NULL)
        r->sync_pending = 0;
    if (cmd->inflight && --r->ops_inflight < RK_REDIS_OPS_INFLIGHT
        && r->batch_n > 0)
        event_request_timer(rk_redis_flush_timer, r, 0);
    if (cmd->job)
        rk_redis_job_answered(cmd->job);
    for (i = 0; i < cmd->ntargets; i++)
        rk_redis_job_answered(cmd->targets[i].job);
    myfree(cmd->targets);
    myfree(cmd);
}

/* The connection ---------------------------------------------------------- */

static void
rk_redis_retry(int event, void *context)
{
    (void) event;
    rk_redis_connect(context);
}

static void
rk_redis_connect_deadline(int event, void *context)
{
    RK_REDIS *r = context;

    (void) event;
    if (r->state == RK_REDIS_SETUP || r->state == RK_REDIS_ASKING)
        rk_redis_fail(r, "Redis %s: not ready within %d ms", r->server,
                      RK_REDIS_CONNECT_MS);
}

/* Drops the connection (its commands get NULL replies), and tries again
 * later, with the next server. */
static void
rk_redis_fail(RK_REDIS *r, const char *fmt, ...)
{
    redisAsyncContext *ac = r->ac, *sac = r->sentinel_ac;
    char text[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    snprintf(r->error, sizeof(r->error), "%s", text);
    rk_redis_warn(r, "%s; answering from the local store (limits per "
                  "gateway)", text);
    r->ac = NULL;
    r->sentinel_ac = NULL;
    rk_redis_flush(r);
    r->slow = 0;
    r->setup_left = 0;
    r->sync_pending = 0;
    rk_redis_set_state(r, RK_REDIS_DOWN);
    event_cancel_timer(rk_redis_fail_now, r);
    event_cancel_timer(rk_redis_connect_deadline, r);
    if (r->nservers > 0)
        r->server_index = (r->server_index + 1) % r->nservers;
    event_request_timer(rk_redis_retry, r, RK_REDIS_RETRY_MS);
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    if (sac) {
        sac->data = NULL;
        redisAsyncFree(sac);
    }
}

static void
rk_redis_on_connect(const redisAsyncContext *ac, int status)
{
    RK_REDIS *r = ac->data;

    if (r == NULL || status == REDIS_OK)
        return;
    /* hiredis frees the context after this. */
    if (r->ac == ac)
        r->ac = NULL;
    rk_redis_fail(r, "Redis %s: %s", r->server,
                  ac->errstr ? ac->errstr : "cannot connect");
}

static void
rk_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    RK_REDIS *r = ac->data;

    (void) status;
    if (r == NULL || r->ac != ac)
        return;
    r->ac = NULL;
    rk_redis_fail(r, "Redis %s: %s", r->server,
                  ac->err ? ac->errstr : "connection closed");
}

static void
rk_redis_sync(RK_REDIS *r, RK_REDIS_CMD_KIND kind);

/* Connects to host:port (port 0: a socket path in host) and sends the
 * set-up. */
static void
rk_redis_open(RK_REDIS *r, const char *host, int port)
{
    redisAsyncContext *ac;
    RK_REDIS_ARGS a;
    int i;

    if (port)
        snprintf(r->server, sizeof(r->server), strchr(host, ':') ? "[%s]:%d"
                 : "%s:%d", host, port);
    else
        snprintf(r->server, sizeof(r->server), "unix:%s", host);
    ac = port ? redisAsyncConnect(host, port) : redisAsyncConnectUnix(host);
    if (ac == NULL || ac->err) {
        char why[200];

        snprintf(why, sizeof(why), "%s", ac && ac->errstr ? ac->errstr
                 : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        rk_redis_fail(r, "Redis %s: %s", r->server, why);
        return;
    }
    ac->data = r;
    rk_redis_reply_limit(ac->c.reader);
    rk_redis_ev_attach(ac);
    redisAsyncSetConnectCallback(ac, rk_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, rk_redis_on_disconnect);
    r->ac = ac;
    r->setup_left = 0;
    r->synced = 0;
    rk_redis_set_state(r, RK_REDIS_SETUP);
    event_request_timer(rk_redis_connect_deadline, r, RK_REDIS_CONNECT_MS);

    /* All pipelined: each runs only if the ones before succeeded, since a
     * failure drops the connection. */
    if (r->conf.password) {
        rk_redis_args_init(&a);
        rk_redis_arg(&a, "AUTH");
        rk_redis_arg(&a, r->conf.password);
        if (rk_redis_send_args(r, &a, rk_redis_cmd(r, NULL, RK_REDIS_CMD_SETUP,
                                                   -1, RK_LUA_NSCRIPTS)) == 0)
            r->setup_left++;
    }
    if (r->conf.database != 0) {
        rk_redis_args_init(&a);
        rk_redis_arg(&a, "SELECT");
        rk_redis_argf(&a, "%d", r->conf.database);
        if (rk_redis_send_args(r, &a, rk_redis_cmd(r, NULL, RK_REDIS_CMD_SETUP,
                                                   -1, RK_LUA_NSCRIPTS)) == 0)
            r->setup_left++;
    }
    rk_redis_args_init(&a);
    rk_redis_arg(&a, "ROLE");
    if (rk_redis_send_args(r, &a, rk_redis_cmd(r, NULL, RK_REDIS_CMD_ROLE,
                                               -1, RK_LUA_NSCRIPTS)) == 0)
        r->setup_left++;
    for (i = 0; i < RK_LUA_NSCRIPTS; i++)
        rk_redis_load_script(r, (RK_LUA_ID) i, RK_REDIS_CMD_SETUP);
    rk_redis_sync(r, RK_REDIS_CMD_SYNC);
    if (r->sync_pending)
        r->setup_left++;
}

/* Sentinels ---------------------------------------------------------------- */

static void rk_redis_ask_sentinel(RK_REDIS *r);

static void
rk_redis_sentinel_reply(redisAsyncContext *ac, void *reply_data,
                        void *privdata)
{
    RK_REDIS *r = privdata;
    char host[256];
    int port, checking = r->sentinel_checking;

    if (r->sentinel_ac != ac)
        return;
    r->sentinel_ac = NULL;
    ac->data = NULL;
    /* Closed by hiredis once this callback returns (without a reply, it
     * is being freed already). */
    if (reply_data)
        redisAsyncDisconnect(ac);
    if (reply_data == NULL
        || rk_redis_reply_master(reply_data, host, sizeof(host), &port) < 0) {
        snprintf(r->error, sizeof(r->error), "Sentinel %s does not know "
                 "master %s", r->sentinels[r->sentinel_index],
                 r->conf.sentinel_master);
        if (++r->sentinel_index < r->nsentinels) {
            rk_redis_ask_sentinel(r);
        } else if (!checking) {
            rk_redis_fail(r, "no Sentinel knows master %s",
                          r->conf.sentinel_master);
        }
        return;
    }
    if (checking) {
        char now[300];

        snprintf(now, sizeof(now), strchr(host, ':') ? "[%s]:%d" : "%s:%d",
                 host, port);
        if (r->state == RK_REDIS_READY && strcmp(now, r->server) != 0) {
            msg_info("Redis: Sentinel %s says master %s is now %s",
                     r->sentinels[r->sentinel_index], r->conf.sentinel_master,
                     now);
            rk_redis_fail(r, "Redis %s: no longer the master", r->server);
        }
        return;
    }
    rk_redis_open(r, host, port);
}

static void
rk_redis_sentinel_connected(const redisAsyncContext *ac, int status)
{
    RK_REDIS *r = ac->data;

    if (r == NULL || status == REDIS_OK || r->sentinel_ac != ac)
        return;
    /* hiredis frees the context after this; the reply callback runs
     * with NULL first (pending commands are answered with NULL). */
}

/* Asks sentinels[sentinel_index] where the master is. */
static void
rk_redis_ask_sentinel(RK_REDIS *r)
{
    HOSTPORT hp;
    VBUF *why = vbuf_create(64);
    redisAsyncContext *ac;
    int port;

    for (; r->sentinel_index < r->nsentinels; r->sentinel_index++) {
        if (hostport_parse(&hp, r->sentinels[r->sentinel_index], NULL, why) < 0)
            continue;
        port = hp.port[0] ? atoi(hp.port) : RK_REDIS_SENTINEL_PORT;
        ac = redisAsyncConnect(hp.host, port);
        if (ac == NULL || ac->err) {
            if (ac)
                redisAsyncFree(ac);
            continue;
        }
        ac->data = r;
        rk_redis_reply_limit(ac->c.reader);
        rk_redis_ev_attach(ac);
        redisAsyncSetConnectCallback(ac, rk_redis_sentinel_connected);
        r->sentinel_ac = ac;
        if (redisAsyncCommand(ac, rk_redis_sentinel_reply, r,
                              "SENTINEL get-master-addr-by-name %s",
                              r->conf.sentinel_master) != REDIS_OK) {
            r->sentinel_ac = NULL;
            ac->data = NULL;
            redisAsyncFree(ac);
            continue;
        }
        vbuf_free(why);
        return;
    }
    vbuf_free(why);
    if (!r->sentinel_checking)
        rk_redis_fail(r, "no Sentinel answers for master %s",
                      r->conf.sentinel_master);
}

/* Connecting ------------------------------------------------------------- */

static void
rk_redis_connect(RK_REDIS *r)
{
    const char *server;
    HOSTPORT hp;
    VBUF *why;

    if (r->ac || r->sentinel_ac)
        return;
    if (r->nsentinels > 0) {
        rk_redis_set_state(r, RK_REDIS_ASKING);
        event_request_timer(rk_redis_connect_deadline, r, RK_REDIS_CONNECT_MS);
        r->sentinel_index = 0;
        r->sentinel_checking = 0;
        rk_redis_ask_sentinel(r);
        return;
    }
    server = r->servers[r->server_index];
    if (strncmp(server, "unix:", 5) == 0) {
        rk_redis_open(r, server + 5, 0);
        return;
    }
    why = vbuf_create(64);
    if (hostport_parse(&hp, server, NULL, why) < 0) {
        snprintf(r->server, sizeof(r->server), "%s", server);
        rk_redis_fail(r, "Redis %s: %s", server, vbuf_str(why));
    } else {
        rk_redis_open(r, hp.host, hp.port[0] ? atoi(hp.port) : RK_REDIS_PORT);
    }
    vbuf_free(why);
}

/* The gateway's registrations as SYNC's arguments. */
static void
rk_redis_sync_one(const char *key, unsigned long n, void *context)
{
    RK_REDIS_ARGS *a = context;

    rk_redis_arg(a, key);
    rk_redis_argf(a, "%lu", n);
}

static void
rk_redis_sync(RK_REDIS *r, RK_REDIS_CMD_KIND kind)
{
    RK_REDIS_ARGS a;

    if (r->sync_pending || r->ac == NULL)
        return;
    rk_redis_evalsha(&a, r, RK_LUA_SYNC, 2);
    rk_redis_arg_key(&a, r, "gk:", NULL, r->conf.gateway);
    rk_redis_arg_key(&a, r, "g:", NULL, r->conf.gateway);
    rk_redis_arg(&a, "");
    rk_redis_arg(&a, r->conf.prefix);
    rk_redis_arg(&a, r->conf.gateway);
    rk_redis_arg(&a, r->incarnation);
    rk_redis_argf(&a, "%d", r->conf.heartbeat_ms);
    rk_redis_argf(&a, "%d", 3 * r->conf.heartbeat_ms);
    r->regs(rk_redis_sync_one, &a, r->regs_context);
    if (rk_redis_send_args(r, &a, rk_redis_cmd(r, NULL, kind, -1,
                                               RK_LUA_SYNC)) == 0)
        r->sync_pending = 1;
}

static void
rk_redis_heartbeat(int event, void *context)
{
    RK_REDIS *r = context;

    (void) event;
    if (r->sentinel_ac && r->sentinel_checking) {
        redisAsyncContext *sac = r->sentinel_ac;

        r->sentinel_ac = NULL;
        sac->data = NULL;
        redisAsyncFree(sac);
    }
    if (r->state == RK_REDIS_READY) {
        rk_redis_sync(r, RK_REDIS_CMD_SYNC);
        /* Where is the master now? */
        if (r->nsentinels > 0 && r->sentinel_ac == NULL) {
            r->sentinel_index = 0;
            r->sentinel_checking = 1;
            rk_redis_ask_sentinel(r);
        }
    }
    event_request_timer(rk_redis_heartbeat, r, r->conf.heartbeat_ms / 3);
}

static char **
rk_redis_copy_list(char *const *list, int *n)
{
    char **copy;
    int i;

    for (*n = 0; list && list[*n]; (*n)++)
         /* void */ ;
    copy = mycalloc((size_t) *n + 1, sizeof(*copy));
    for (i = 0; i < *n; i++)
        copy[i] = mystrdup(list[i]);
    return copy;
}

static void
rk_redis_free_list(char **list)
{
    char **cpp;

    for (cpp = list; *cpp; cpp++)
        myfree(*cpp);
    myfree(list);
}

RK_REDIS *
rk_redis_create(const RK_REDIS_CONF *conf, RK_REDIS_REGS_FN regs,
                void *regs_context)
{
    RK_REDIS *r = mycalloc(1, sizeof(*r));
    unsigned char rnd[16], digest[SHA_DIGEST_LENGTH];
    const char *src;
    int i, j;

    r->conf = *conf;
    r->servers = rk_redis_copy_list(conf->servers, &r->nservers);
    r->sentinels = rk_redis_copy_list(conf->sentinels, &r->nsentinels);
    if (r->nservers == 0 && r->nsentinels == 0)
        msg_fatal("redis_servers: no server given");
    r->conf.servers = r->servers;
    r->conf.sentinels = r->sentinels;
    r->conf.sentinel_master = mystrdup(conf->sentinel_master
                                       ? conf->sentinel_master : "");
    r->conf.password = conf->password && *conf->password
        ? mystrdup(conf->password) : NULL;
    r->conf.prefix = mystrdup(conf->prefix);
    r->conf.gateway = mystrdup(conf->gateway);
    if (r->conf.heartbeat_ms < RK_REDIS_HEARTBEAT_MIN_MS)
        r->conf.heartbeat_ms = RK_REDIS_HEARTBEAT_MIN_MS;
    r->regs = regs;
    r->regs_context = regs_context;
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
        msg_fatal("getrandom: %s", strerror(errno));
    for (i = 0; i < 16; i++)
        snprintf(r->incarnation + 2 * i, 3, "%02x", rnd[i]);
    /* What SCRIPT LOAD must answer, so that EVALSHA can follow it in the
     * same pipeline. */
    for (i = 0; i < RK_LUA_NSCRIPTS; i++) {
        src = rk_lua_source((RK_LUA_ID) i);
        SHA1((const unsigned char *) src, strlen(src), digest);
        for (j = 0; j < SHA_DIGEST_LENGTH; j++)
            snprintf(r->sha[i] + 2 * j, 3, "%02x", digest[j]);
    }
    r->state = RK_REDIS_DOWN;
    r->state_since = event_now_ms();
    snprintf(r->error, sizeof(r->error), "connecting");
    snprintf(r->server, sizeof(r->server), "%s",
             r->nsentinels ? r->sentinels[0] : r->servers[0]);
    event_request_timer(rk_redis_retry, r, 0);
    event_request_timer(rk_redis_heartbeat, r, r->conf.heartbeat_ms / 3);
    return r;
}

RK_REDIS *
rk_redis_free(RK_REDIS *r)
{
    redisAsyncContext *ac, *sac;

    if (r == NULL)
        return NULL;
    event_cancel_timer(rk_redis_retry, r);
    event_cancel_timer(rk_redis_heartbeat, r);
    event_cancel_timer(rk_redis_fail_now, r);
    event_cancel_timer(rk_redis_connect_deadline, r);
    event_cancel_timer(rk_redis_jobs_deadline, r);
    event_cancel_timer(rk_redis_flush_timer, r);
    ac = r->ac;
    sac = r->sentinel_ac;
    r->ac = r->sentinel_ac = NULL;
    /* What is batched is answered without results. */
    r->state = RK_REDIS_DOWN;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    if (sac) {
        sac->data = NULL;
        redisAsyncFree(sac);
    }
    rk_redis_flush(r);
    while (r->jobs) {
        RK_REDIS_JOB *job = r->jobs;

        rk_redis_job_finish(job);
        if (job->outstanding == 0)
            rk_redis_job_free(job);
    }
    if (r->batch_keys.buf)
        rk_redis_args_free(&r->batch_keys);
    if (r->batch_argv.buf)
        rk_redis_args_free(&r->batch_argv);
    myfree(r->argv);
    myfree(r->lens);
    rk_redis_free_list(r->servers);
    rk_redis_free_list(r->sentinels);
    myfree((char *) r->conf.sentinel_master);
    if (r->conf.password) {
        explicit_bzero((char *) r->conf.password, strlen(r->conf.password));
        myfree((char *) r->conf.password);
    }
    myfree((char *) r->conf.prefix);
    myfree((char *) r->conf.gateway);
    myfree(r);
    return NULL;
}

/* 1 when the lists hold the same strings in the same order. */
static int
rk_redis_same_list(char *const *a, char *const *b)
{
    static char *const none[] = {NULL};

    a = a ? a : none;
    b = b ? b : none;
    for (; *a && *b; a++, b++)
        if (strcmp(*a, *b) != 0)
            return 0;
    return *a == NULL && *b == NULL;
}

static int
rk_redis_same_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

int
rk_redis_same_conf(const RK_REDIS *r, const RK_REDIS_CONF *conf)
{
    int heartbeat_ms = conf->heartbeat_ms < RK_REDIS_HEARTBEAT_MIN_MS
        ? RK_REDIS_HEARTBEAT_MIN_MS : conf->heartbeat_ms;

    return rk_redis_same_list(r->servers, conf->servers)
        && rk_redis_same_list(r->sentinels, conf->sentinels)
        && rk_redis_same_str(r->conf.sentinel_master, conf->sentinel_master)
        && rk_redis_same_str(r->conf.password, conf->password)
        && r->conf.database == conf->database
        && rk_redis_same_str(r->conf.prefix, conf->prefix)
        && r->conf.timeout_ms == conf->timeout_ms
        && r->conf.heartbeat_ms == heartbeat_ms
        && rk_redis_same_str(r->conf.gateway, conf->gateway);
}

int
rk_redis_ready(const RK_REDIS *r)
{
    return r->state == RK_REDIS_READY && !r->slow && r->ac != NULL;
}

int
rk_redis_connected(const RK_REDIS *r)
{
    return r->state == RK_REDIS_READY && r->ac != NULL;
}

void
rk_redis_status(const RK_REDIS *r, RK_REDIS_STATUS *status)
{
    status->reachable = rk_redis_ready(r);
    status->server = r->server;
    status->error = status->reachable ? "" : r->error;
    status->since_ms = event_now_ms() - r->state_since;
}
