/* The anti-spam refusal: "550 Refused" as the manual has it, a custom
 * reject_text, or with bogus_550 one of several hundred made-up texts, so
 * that a spammer learns nothing about what refused him. */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "msg.h"
#include "printable.h"
#include "smtpd_reject.h"

/* Made up, and phrased like a permanent failure: 20 x 20 texts. */
static const char *const smtpd_reject_subjects[] = {
    "Mailbox", "Recipient", "Message", "Transaction", "Requested action",
    "Delivery", "Sender", "Domain", "Route", "Relay", "Queue", "Session",
    "Account", "Address", "Service", "Host", "Request", "Envelope",
    "Connection", "Destination",
};

static const char *const smtpd_reject_problems[] = {
    "not taken", "unavailable", "rejected by policy", "over quota",
    "unknown here", "failed validation", "blocked", "not permitted",
    "administratively prohibited", "refused by configuration",
    "not accepted", "exceeds local limits", "denied", "locked", "invalid",
    "not deliverable", "suspended", "disabled", "out of service",
    "not allowed from your network",
};

#define SMTPD_REJECT_NSUBJ \
    (sizeof(smtpd_reject_subjects) / sizeof(smtpd_reject_subjects[0]))
#define SMTPD_REJECT_NPROB \
    (sizeof(smtpd_reject_problems) / sizeof(smtpd_reject_problems[0]))

_Static_assert(SMTPD_REJECT_NSUBJ * SMTPD_REJECT_NPROB == SMTPD_REJECT_BOGUS_COUNT,
               "SMTPD_REJECT_BOGUS_COUNT is the number of bogus texts");

const char *
smtpd_reject_bogus(unsigned n, VBUF *text)
{
    n %= SMTPD_REJECT_NSUBJ * SMTPD_REJECT_NPROB;
    vbuf_set(text, smtpd_reject_subjects[n % SMTPD_REJECT_NSUBJ]);
    vbuf_append_char(text, ' ');
    vbuf_append_str(text, smtpd_reject_problems[n / SMTPD_REJECT_NSUBJ]);
    return vbuf_str(text);
}

static unsigned
smtpd_reject_random(void)
{
    unsigned n;
    struct timespec ts;

    if (getrandom(&n, sizeof(n), GRND_NONBLOCK) == (ssize_t) sizeof(n))
        return n;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned) ts.tv_nsec ^ (unsigned) getpid();
}

void
smtpd_reject_reply(VBUF *reply)
{
    VBUF *bogus;

    vbuf_set(reply, "550 ");
    if (conf_bool(P_bogus_550)) {
        bogus = vbuf_create(64);
        vbuf_append_str(reply, smtpd_reject_bogus(smtpd_reject_random(), bogus));
        vbuf_free(bogus);
    } else {
        vbuf_append_str(reply, conf_str(P_reject_text));
    }
}

static void
smtpd_reject_log_text(VBUF *line, const char *text)
{
    printable_append(line, text, strlen(text));
}

void
smtpd_reject_antispam(SMTPD_STATE *state, const char *cmd,
                      const char *sender, const char *rule)
{
    VBUF *reply = vbuf_create(64);
    VBUF *line = vbuf_create(256);

    smtpd_reject_reply(reply);
    vbuf_printf(line, "%s: reject: %s from %s: ",
                state->queue_id[0] ? state->queue_id : "NOQUEUE", cmd,
                state->namaddr);
    smtpd_reject_log_text(line, vbuf_str(reply));
    vbuf_append_str(line, "; from=<");
    smtpd_reject_log_text(line, sender ? sender : "");
    vbuf_printf(line, "> proto=%s helo=<", state->esmtp ? "ESMTP" : "SMTP");
    smtpd_reject_log_text(line, state->helo ? state->helo : "");
    vbuf_printf(line, ">; rule=%s", rule);
    msg_info("%s", vbuf_str(line));
    smtpd_reply(state, "%s", vbuf_str(reply));
    vbuf_free(line);
    vbuf_free(reply);
}
