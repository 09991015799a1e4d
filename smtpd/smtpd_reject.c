/* The texts of bogus_550: several hundred made-up refusals, so that a
 * spammer learns nothing about what refused him (none names the
 * product, its version or the rule). */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

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

unsigned
smtpd_reject_random(void)
{
    unsigned n;
    struct timespec ts;

    if (getrandom(&n, sizeof(n), GRND_NONBLOCK) == (ssize_t) sizeof(n))
        return n;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned) ts.tv_nsec ^ (unsigned) getpid();
}
