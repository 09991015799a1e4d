/* One delivery attempt of one queue file, in an agent.
 *
 * The file is locked (flock) for the whole attempt, so that no other
 * agent, nor a relay restarted while this one still runs, can deliver it
 * at the same time. When the attempt leaves some recipients pending, the
 * outcome of the others is written into the file (queue_mark_rcpts:
 * one byte each, one fdatasync for all): delivered ones only after the
 * backend's 250 to the final dot; bounced ones only after their DSN is
 * safely queued. When every recipient is delivered, the file is simply
 * removed: marks that would be unlinked a moment later are not worth a
 * disk write each. Whatever kills the agent at whatever moment, a
 * recipient without its mark is tried again: at worst a copy arrives
 * twice, none is lost.
 *
 * A message that still has pending recipients goes to deferred/ with its
 * next attempt as the file's modification time (set before the rename,
 * which leaves it alone), and a side record with the reason (status/ID).
 *
 * A message with the client's sealed AUTH credentials (a K record) goes,
 * with relay_auth_replay = yes, over a session of its own that
 * authenticates as that user (relay_smtp_deliver_auth); credentials that
 * cannot be opened (the key changed) defer it. Whatever the setting,
 * before such a file is removed, its recipients are marked and then the
 * record is wiped in place (queue_mark_wipe), so that neither a crash in
 * between nor the disk blocks the file leaves behind keep the
 * credentials, and a crash never sends the message again without them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "conf.h"
#include "cred_seal.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "queue_dir.h"
#include "queue_id.h"
#include "queue_mark.h"
#include "queue_read.h"
#include "queue_status.h"
#include "relay.h"

/* The state of one attempt. */
typedef struct RELAY_TRY {
    const char *id;
    const char *sub;            /* where the file is: incoming or deferred */
    VBUF   *path;               /* of the queue file */
    int     fd;
    QUEUE_ENVELOPE env;
    RELAY_RCPT *rcpt;           /* the pending recipients */
    size_t  rcpt_count;
    RELAY_ATTEMPT attempt;
    double  delay;              /* seconds since arrival */
    int     mark_failed;        /* a recipient's mark could not be written */
} RELAY_TRY;

/* Seconds since the message arrived. The queue id holds the time its
 * file was created to the microsecond; the arrival record only the
 * second, so the id is used unless it disagrees. */
static double
relay_deliver_delay(const char *id, time_t arrival, const struct timeval *now)
{
    char sec_hex[9], usec_hex[6];
    long long sec, usec;
    double delay;

    memcpy(sec_hex, id, 8);
    sec_hex[8] = 0;
    memcpy(usec_hex, id + 8, 5);
    usec_hex[5] = 0;
    sec = strtoll(sec_hex, NULL, 16);
    usec = strtoll(usec_hex, NULL, 16);
    if (sec != (long long) arrival || usec > 999999)
        delay = (double) (now->tv_sec - arrival);
    else
        delay = (double) (now->tv_sec - sec) + (double) (now->tv_usec - usec) / 1e6;
    return delay < 0 ? 0 : delay;
}

/* Opens and locks the queue file, looking in sub first, then in the
 * other of incoming/ and deferred/. Returns 0, or -1 with res set. */
static int
relay_deliver_open(RELAY_TRY *t, RELAY_JOB_RESULT *res)
{
    const char *subs[2];
    struct stat fst, pst;
    int i;

    subs[0] = t->sub;
    subs[1] = strcmp(t->sub, QUEUE_DIR_INCOMING) == 0 ? QUEUE_DIR_DEFERRED : QUEUE_DIR_INCOMING;
    for (i = 0; i < 2; i++) {
        queue_dir_path(t->path, conf_str(P_queue_directory), subs[i], t->id);
        if ((t->fd = open(vbuf_str(t->path), O_RDWR | O_CLOEXEC | O_NOFOLLOW)) >= 0)
            break;
        if (errno != ENOENT) {
            msg_warn("%s: open %s: %m", t->id, vbuf_str(t->path));
            res->result = RELAY_RESULT_ERROR;
            return -1;
        }
    }
    if (t->fd < 0) {
        res->result = RELAY_RESULT_GONE;
        return -1;
    }
    t->sub = subs[i];
    if (flock(t->fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK)
            msg_warn("%s: lock %s: %m", t->id, vbuf_str(t->path));
        res->result = errno == EWOULDBLOCK ? RELAY_RESULT_BUSY : RELAY_RESULT_ERROR;
        return -1;
    }
    /* Moved (queue hold) or removed before we had the lock? */
    if (fstat(t->fd, &fst) < 0 || stat(vbuf_str(t->path), &pst) < 0
        || fst.st_ino != pst.st_ino || fst.st_dev != pst.st_dev || fst.st_nlink == 0) {
        res->result = RELAY_RESULT_GONE;
        return -1;
    }
    return 0;
}

/* Logs one recipient's outcome in Postfix's words. */
static void
relay_deliver_log(const RELAY_TRY *t, const RELAY_RCPT *r, const char *status)
{
    VBUF *to = vbuf_create(100);

    printable_append(to, r->address, strlen(r->address));
    msg_info("%s: to=<%s>, relay=%s, delay=%.2f, dsn=%s, status=%s (%s)", t->id,
             vbuf_str(to), vbuf_str(t->attempt.relay), t->delay,
             r->dsn[0] ? r->dsn : "4.0.0", status, vbuf_str(r->reason));
    vbuf_free(to);
}

/* Marks the recipients whose outcome is outcome with status, with one
 * fdatasync for all of them. */
static void
relay_deliver_mark(RELAY_TRY *t, int outcome, int status)
{
    off_t *offsets = mymalloc((t->rcpt_count ? t->rcpt_count : 1) * sizeof(*offsets));
    size_t i, n = 0;

    for (i = 0; i < t->rcpt_count; i++)
        if (t->rcpt[i].outcome == outcome)
            offsets[n++] = t->rcpt[i].offset;
    if (n > 0 && queue_mark_rcpts(t->fd, offsets, n, status) < 0) {
        msg_warn("%s: cannot mark %s recipient%s in %s: %m", t->id,
                 status == QUEUE_RCPT_DELIVERED ? "delivered" : "bounced",
                 n == 1 ? "" : "s", vbuf_str(t->path));
        t->mark_failed = 1;
    }
    myfree(offsets);
}

/* Queues the DSN for the bounced recipients and marks them; when the DSN
 * cannot be queued they are deferred instead, to bounce later. */
static void
relay_deliver_bounce(RELAY_TRY *t, const char *remote_mta, const char *expired)
{
    char bounce_id[QUEUE_ID_LEN + 1];
    VBUF *why;
    size_t i, n = 0;

    for (i = 0; i < t->rcpt_count; i++)
        n += t->rcpt[i].outcome == RELAY_RCPT_BOUNCE;
    if (n == 0)
        return;
    if (*t->env.sender == 0) {
        /* A bounce that bounces is not bounced again. */
        msg_info("%s: null sender: no non-delivery notification", t->id);
    } else {
        why = vbuf_create(100);
        if (relay_bounce_queue(conf_str(P_queue_directory), t->id, &t->env, t->fd,
                               t->rcpt, t->rcpt_count, remote_mta, expired,
                               bounce_id, why) < 0) {
            msg_warn("%s: cannot queue the non-delivery notification: %s; "
                     "the recipients stay queued", t->id, vbuf_str(why));
            for (i = 0; i < t->rcpt_count; i++)
                if (t->rcpt[i].outcome == RELAY_RCPT_BOUNCE)
                    t->rcpt[i].outcome = RELAY_RCPT_DEFER;
            vbuf_free(why);
            return;
        }
        msg_info("%s: sender non-delivery notification: %s", t->id, bounce_id);
        vbuf_free(why);
    }
    relay_deliver_mark(t, RELAY_RCPT_BOUNCE, QUEUE_RCPT_BOUNCED);
}

/* Moves the file to deferred/ until next_try, with its side record. */
static void
relay_deliver_defer(RELAY_TRY *t, time_t now, time_t next_try, const char *reason)
{
    struct timespec times[2];
    QUEUE_STATUS st;
    const char *queue_dir = conf_str(P_queue_directory);

    times[0].tv_sec = times[1].tv_sec = next_try;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    if (futimens(t->fd, times) < 0)
        msg_warn("%s: cannot set the time of the next attempt: %m", t->id);
    if (strcmp(t->sub, QUEUE_DIR_DEFERRED) != 0) {
        VBUF *to = vbuf_create(100);

        queue_dir_path(to, queue_dir, QUEUE_DIR_DEFERRED, t->id);
        if (rename(vbuf_str(t->path), vbuf_str(to)) < 0 && errno != ENOENT)
            msg_warn("%s: rename %s to %s: %m", t->id, vbuf_str(t->path), vbuf_str(to));
        vbuf_free(to);
    }
    (void) queue_status_read(queue_dir, t->id, &st);
    st.attempts++;
    st.last_attempt = now;
    st.next_try = next_try;
    snprintf(st.reason, sizeof(st.reason), "%s", reason);
    if (queue_status_write(queue_dir, t->id, &st) < 0)
        msg_warn("%s: cannot write its status record: %m", t->id);
}

/* The backend's host name, from "host[addr]:port", for Remote-MTA. */
static const char *
relay_deliver_host(const RELAY_TRY *t, char *buf, size_t size)
{
    const char *relay = vbuf_str(t->attempt.relay);
    size_t len = strcspn(relay, "[");

    snprintf(buf, size, "%.*s", (int) len, relay);
    return buf;
}

/* Applies the outcomes: marks, logs, bounces, then defers or removes. */
static void
relay_deliver_finish(RELAY_TRY *t, RELAY_JOB_RESULT *res)
{
    RELAY_RETRY_POLICY policy;
    time_t now = time(NULL);
    const char *first_reason = NULL;
    const char *remote_mta = NULL;
    char host[256];
    VBUF *expired = NULL;
    size_t i, deferred = 0, sent = 0;

    relay_retry_policy(&policy);
    for (i = 0; i < t->rcpt_count; i++) {
        RELAY_RCPT *r = t->rcpt + i;

        switch (r->outcome) {
        case RELAY_RCPT_SENT:
            relay_deliver_log(t, r, "sent");
            sent++;
            break;
        case RELAY_RCPT_BOUNCE:
            relay_deliver_log(t, r, "bounced");
            if (vbuf_len(r->diag) > 0)
                remote_mta = relay_deliver_host(t, host, sizeof(host));
            break;
        default:
            r->outcome = RELAY_RCPT_DEFER;
            relay_deliver_log(t, r, "deferred");
            if (first_reason == NULL)
                first_reason = vbuf_str(r->reason);
            deferred++;
            break;
        }
    }
    /* Some recipients stay, or bounce: the delivered ones are marked; so
     * are they all before sealed credentials are wiped. */
    if (sent < t->rcpt_count || t->env.auth_sealed != NULL)
        relay_deliver_mark(t, RELAY_RCPT_SENT, QUEUE_RCPT_DELIVERED);
    /* Too old to try again: what is deferred bounces. */
    if (deferred > 0 && relay_retry_expired(t->env.arrival, now, &policy)) {
        expired = vbuf_create(100);
        vbuf_printf(expired, "message expired after %lld seconds in the queue",
                    (long long) (now - t->env.arrival));
        msg_info("%s: from=<%s>, status=expired, returned to sender", t->id,
                 printable_str(t->env.sender));
        for (i = 0; i < t->rcpt_count; i++) {
            RELAY_RCPT *r = t->rcpt + i;

            if (r->outcome != RELAY_RCPT_DEFER)
                continue;
            r->outcome = RELAY_RCPT_BOUNCE;
            if (r->dsn[0] != '5' && r->dsn[0] != '4')
                snprintf(r->dsn, sizeof(r->dsn), "4.4.7");
            if (vbuf_len(r->diag) > 0)
                remote_mta = relay_deliver_host(t, host, sizeof(host));
        }
    }
    relay_deliver_bounce(t, remote_mta, expired ? vbuf_str(expired) : NULL);
    relay_metrics_attempt(t->rcpt, t->rcpt_count, t->delay);

    deferred = 0;
    first_reason = NULL;
    for (i = 0; i < t->rcpt_count; i++) {
        if (t->rcpt[i].outcome == RELAY_RCPT_DEFER) {
            deferred++;
            if (first_reason == NULL)
                first_reason = vbuf_str(t->rcpt[i].reason);
        }
    }
    if (deferred == 0 && t->mark_failed) {
        deferred = 1;
        first_reason = "cannot update the queue file";
    }
    if (deferred > 0) {
        res->result = RELAY_RESULT_DEFERRED;
        res->next_try = relay_retry_next(t->env.arrival, now, &policy);
        relay_deliver_defer(t, now, res->next_try, first_reason);
    } else {
        if (t->env.auth_sealed != NULL && queue_mark_wipe(t->fd, t->env.auth_offset) < 0)
            msg_warn("%s: cannot wipe the sealed credentials in %s: %m", t->id,
                     vbuf_str(t->path));
        if (unlink(vbuf_str(t->path)) < 0 && errno != ENOENT)
            msg_warn("%s: remove %s: %m", t->id, vbuf_str(t->path));
        queue_status_remove(conf_str(P_queue_directory), t->id);
        msg_info("%s: removed", t->id);
        res->result = RELAY_RESULT_DONE;
    }
    vbuf_free(expired);
}

/* Delivery to relay_host: over the agent's cached session, or, when the
 * client's AUTH is replayed, as that user over a session of its own. */
static void
relay_deliver_smtp(RELAY_TRY *t, RELAY_SMTP **sessp)
{
    RELAY_AUTH auth;
    VBUF *why, *user, *password;
    size_t i;

    if (!conf_bool(P_relay_auth_replay)
        || (t->env.auth_sealed == NULL && !t->env.auth_wiped)) {
        relay_smtp_deliver(sessp, t->id, &t->env, t->fd, t->rcpt, t->rcpt_count, &t->attempt);
        return;
    }
    why = vbuf_create(100);
    user = vbuf_create(64);
    password = vbuf_create(256);
    /* The key is read each time: a key replaced meanwhile is seen. */
    if (t->env.auth_sealed == NULL) {
        vbuf_set(why, "they were wiped");
    } else if (cred_seal_init(conf_str(P_data_directory), why) == 0
               && cred_open(t->id, t->env.auth_sealed, user, password, why) == 0) {
        auth.user = vbuf_str(user);
        auth.password = vbuf_str(password);
        relay_smtp_deliver_auth(sessp, t->id, &t->env, t->fd, t->rcpt, t->rcpt_count,
                                &auth, &t->attempt);
        vbuf_reset(why);
    }
    cred_wipe(password);
    if (vbuf_len(why) > 0) {
        vbuf_set(t->attempt.relay, "none");
        for (i = 0; i < t->rcpt_count; i++)
            relay_rcpt_set(t->rcpt + i, RELAY_RCPT_DEFER, "4.7.0", NULL,
                           "cannot open the client's sealed AUTH credentials: %s",
                           vbuf_str(why));
    }
    vbuf_free(why);
    vbuf_free(user);
    vbuf_free(password);
}

/* Moves a file that the reader refused out of the way. */
static void
relay_deliver_corrupt(RELAY_TRY *t, const char *why, RELAY_JOB_RESULT *res)
{
    VBUF *to = vbuf_create(100);

    queue_dir_path(to, conf_str(P_queue_directory), QUEUE_DIR_CORRUPT, t->id);
    if (rename(vbuf_str(t->path), vbuf_str(to)) < 0) {
        msg_warn("%s: corrupt queue file %s (%s); cannot move it to %s: %m", t->id,
                 vbuf_str(t->path), why, vbuf_str(to));
        res->result = RELAY_RESULT_ERROR;
    } else {
        msg_warn("%s: corrupt queue file (%s): moved to %s", t->id, why, vbuf_str(to));
        queue_status_remove(conf_str(P_queue_directory), t->id);
        res->result = RELAY_RESULT_CORRUPT;
    }
    vbuf_free(to);
}

void
relay_deliver(RELAY_SMTP **sessp, const char *id, const char *sub,
              const char *defer_reason, RELAY_JOB_RESULT *res)
{
    RELAY_TRY t;
    VBUF *why = vbuf_create(100);
    struct timeval tv;
    size_t i, n;
    int status;

    memset(&t, 0, sizeof(t));
    t.id = id;
    t.sub = sub;
    t.fd = -1;
    t.path = vbuf_create(100);
    res->result = RELAY_RESULT_ERROR;
    res->next_try = 0;
    res->conn_failed = 0;
    t.attempt.relay = vbuf_create(100);
    t.attempt.why = res->why;
    vbuf_reset(res->why);
    if (relay_deliver_open(&t, res) < 0)
        goto out;

    status = queue_read_fd(t.fd, &t.env, why);
    if (status == QUEUE_READ_CORRUPT) {
        relay_deliver_corrupt(&t, vbuf_str(why), res);
        goto out;
    }
    if (status != QUEUE_READ_OK) {
        msg_warn("%s: cannot read %s: %s", id, vbuf_str(t.path), vbuf_str(why));
        goto out;
    }
    gettimeofday(&tv, NULL);
    t.delay = relay_deliver_delay(id, t.env.arrival, &tv);

    for (i = n = 0; i < t.env.rcpt_count; i++)
        n += t.env.rcpt[i].status == QUEUE_RCPT_PENDING;
    t.rcpt = mycalloc(n ? n : 1, sizeof(*t.rcpt));
    for (i = 0; i < t.env.rcpt_count; i++) {
        if (t.env.rcpt[i].status != QUEUE_RCPT_PENDING)
            continue;
        t.rcpt[t.rcpt_count].address = t.env.rcpt[i].address;
        t.rcpt[t.rcpt_count].offset = t.env.rcpt[i].offset;
        t.rcpt[t.rcpt_count].reason = vbuf_create(100);
        t.rcpt[t.rcpt_count].diag = vbuf_create(100);
        t.rcpt_count++;
    }

    if (t.rcpt_count == 0) {
        /* Everything was done before a crash or a hold: just clean up. */
        vbuf_set(t.attempt.relay, "none");
    } else if (defer_reason != NULL) {
        vbuf_set(t.attempt.relay, "none");
        for (i = 0; i < t.rcpt_count; i++)
            relay_rcpt_set(t.rcpt + i, RELAY_RCPT_DEFER, "4.4.1", NULL, "%s", defer_reason);
    } else if (*conf_str(P_relay_host) == 0) {
        VBUF *where = vbuf_create(100);

        vbuf_set(t.attempt.relay, "local");
        if (relay_maildir_deliver(conf_str(P_local_maildir), &t.env, t.fd, t.rcpt,
                                  t.rcpt_count, where, why) == 0) {
            for (i = 0; i < t.rcpt_count; i++)
                relay_rcpt_set(t.rcpt + i, RELAY_RCPT_SENT, "2.0.0", NULL,
                               "delivered to maildir %s", vbuf_str(where));
        } else {
            for (i = 0; i < t.rcpt_count; i++)
                relay_rcpt_set(t.rcpt + i, RELAY_RCPT_DEFER, "4.3.0", NULL,
                               "maildir delivery failed: %s", vbuf_str(why));
        }
        vbuf_free(where);
    } else {
        relay_deliver_smtp(&t, sessp);
        res->conn_failed = t.attempt.conn_failed;
    }
    relay_deliver_finish(&t, res);

  out:
    for (i = 0; i < t.rcpt_count; i++) {
        vbuf_free(t.rcpt[i].reason);
        vbuf_free(t.rcpt[i].diag);
    }
    myfree(t.rcpt);
    queue_read_free(&t.env);
    if (t.fd >= 0)
        close(t.fd);
    vbuf_free(t.attempt.relay);
    vbuf_free(t.path);
    vbuf_free(why);
}
