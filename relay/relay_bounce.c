/* Bounces: the delivery status notification of RFC 3464 that tells a
 * sender which recipients failed and why, and the queue file that carries
 * it back through the relay like any other message.
 *
 * The DSN is a multipart/report (RFC 6522) with three parts: a text for
 * people, the message/delivery-status fields (per message: Reporting-MTA,
 * Arrival-Date; per failed recipient: Final-Recipient, Action: failed,
 * Status, Remote-MTA, Diagnostic-Code) and the original header section as
 * text/rfc822-headers. It goes out with the null sender, so a DSN that
 * fails in its turn is never bounced again: no bounce loops. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "msg.h"
#include "mymalloc.h"
#include "queue_id.h"
#include "queue_read.h"
#include "queue_write.h"
#include "relay.h"
#include "vbuf.h"

#define RELAY_DSN_TEXT_MAX  900     /* a reason in a DSN line */

/* RFC 5322 date-time in local time. */
static void
relay_dsn_date(VBUF *out, time_t when)
{
    char buf[64];
    struct tm tm;

    localtime_r(&when, &tm);
    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S %z", &tm);
    vbuf_append_str(out, buf);
}

/* Text from the queue or a server on one line of printable ASCII. */
static void
relay_dsn_text(VBUF *out, const char *text)
{
    size_t n;

    for (n = 0; *text && n < RELAY_DSN_TEXT_MAX; text++, n++)
        vbuf_append_char(out, (unsigned char) *text >= 0x20
                         && (unsigned char) *text < 0x7f ? *text : '?');
    if (*text)
        vbuf_append_str(out, "...");
}

size_t
relay_dsn_header_len(const char *msg, size_t len)
{
    size_t i, line = 0, last_eol = 0;   /* line: where the line starts */

    for (i = 0; i < len && i < RELAY_DSN_HEADERS_MAX; i++) {
        if (msg[i] != '\n')
            continue;
        /* An empty line ends the header section. */
        if (i == line || (i == line + 1 && msg[line] == '\r'))
            return i + 1;
        line = last_eol = i + 1;
    }
    return i == len ? len : last_eol;
}

/* The status code of a bounced recipient, 5.0.0 when unknown. */
static const char *
relay_dsn_status(const RELAY_RCPT *rcpt)
{
    return rcpt->dsn[0] ? rcpt->dsn : "5.0.0";
}

static void
relay_dsn_human(const RELAY_DSN *dsn, VBUF *out)
{
    size_t i;

    vbuf_printf(out, "This is the mail system at host %s.\r\n\r\n",
                dsn->reporting_mta);
    if (dsn->expired)
        vbuf_append_str(out,
                        "Your message could not be delivered to one or more of its\r\n"
                        "recipients in the time the mail system keeps trying: it has\r\n"
                        "given up.\r\n");
    else
        vbuf_append_str(out,
                        "Your message could not be delivered to one or more of its\r\n"
                        "recipients: the receiving mail system refused it.\r\n");
    vbuf_append_str(out,
                    "The reasons are below; the headers of your message are attached.\r\n"
                    "\r\n");
    for (i = 0; i < dsn->rcpt_count; i++) {
        const RELAY_RCPT *r = dsn->rcpt + i;

        if (r->outcome != RELAY_RCPT_BOUNCE)
            continue;
        vbuf_append_char(out, '<');
        relay_dsn_text(out, r->address);
        vbuf_append_str(out, ">: ");
        relay_dsn_text(out, r->reason ? vbuf_str(r->reason) : "delivery failed");
        vbuf_append_str(out, "\r\n\r\n");
    }
}

static void
relay_dsn_status_part(const RELAY_DSN *dsn, VBUF *out)
{
    size_t i;

    vbuf_append_str(out, "Reporting-MTA: dns; ");
    relay_dsn_text(out, dsn->reporting_mta);
    vbuf_printf(out, "\r\nX-Alligate-Queue-ID: %s\r\n", dsn->queue_id);
    vbuf_append_str(out, "Arrival-Date: ");
    relay_dsn_date(out, dsn->arrival);
    vbuf_append_str(out, "\r\n");
    for (i = 0; i < dsn->rcpt_count; i++) {
        const RELAY_RCPT *r = dsn->rcpt + i;

        if (r->outcome != RELAY_RCPT_BOUNCE)
            continue;
        vbuf_append_str(out, "\r\nFinal-Recipient: rfc822; ");
        relay_dsn_text(out, r->address);
        vbuf_printf(out, "\r\nAction: failed\r\nStatus: %s\r\n", relay_dsn_status(r));
        if (dsn->remote_mta && r->diag && vbuf_len(r->diag) > 0) {
            vbuf_append_str(out, "Remote-MTA: dns; ");
            relay_dsn_text(out, dsn->remote_mta);
            vbuf_append_str(out, "\r\n");
        }
        vbuf_append_str(out, "Diagnostic-Code: ");
        if (r->diag && vbuf_len(r->diag) > 0) {
            relay_dsn_text(out, vbuf_str(r->diag));
        } else {
            vbuf_append_str(out, "X-Alligate; ");
            relay_dsn_text(out, r->reason ? vbuf_str(r->reason) : "delivery failed");
        }
        vbuf_append_str(out, "\r\n");
        if (dsn->expired) {
            vbuf_append_str(out, "Last-Attempt-Date: ");
            relay_dsn_date(out, dsn->now);
            vbuf_append_str(out, "\r\n");
        }
    }
}

/* The original headers, each line ended by CR LF, without the empty line
 * that ended them. */
static void
relay_dsn_headers_part(const RELAY_DSN *dsn, VBUF *out)
{
    const char *cp = dsn->headers, *end = dsn->headers + dsn->headers_len;
    const char *nl;
    size_t len;

    while (cp < end) {
        nl = memchr(cp, '\n', (size_t) (end - cp));
        len = nl ? (size_t) (nl - cp) : (size_t) (end - cp);
        if (len > 0 && cp[len - 1] == '\r')
            len--;
        if (len == 0)
            break;
        vbuf_append(out, cp, len);
        vbuf_append_str(out, "\r\n");
        cp = nl ? nl + 1 : end;
    }
}

void
relay_dsn_build(const RELAY_DSN *dsn, VBUF *out)
{
    const char *b = dsn->boundary;

    vbuf_append_str(out, "Date: ");
    relay_dsn_date(out, dsn->now);
    vbuf_append_str(out, "\r\nFrom: MAILER-DAEMON@");
    relay_dsn_text(out, dsn->reporting_mta);
    vbuf_append_str(out, " (Mail Delivery System)\r\nTo: <");
    relay_dsn_text(out, dsn->sender);
    vbuf_append_str(out, ">\r\nSubject: Undelivered Mail Returned to Sender\r\n");
    vbuf_printf(out, "Message-ID: <%s>\r\n", dsn->message_id);
    vbuf_append_str(out, "Auto-Submitted: auto-replied\r\n"
                    "MIME-Version: 1.0\r\n"
                    "Content-Type: multipart/report; report-type=delivery-status;\r\n");
    vbuf_printf(out, "\tboundary=\"%s\"\r\n", b);
    vbuf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n"
                    "\r\n"
                    "This is a MIME-encapsulated message.\r\n\r\n");

    vbuf_printf(out, "--%s\r\n", b);
    vbuf_append_str(out, "Content-Description: Notification\r\n"
                    "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    relay_dsn_human(dsn, out);

    vbuf_printf(out, "--%s\r\n", b);
    vbuf_append_str(out, "Content-Description: Delivery report\r\n"
                    "Content-Type: message/delivery-status\r\n\r\n");
    relay_dsn_status_part(dsn, out);
    vbuf_append_str(out, "\r\n");

    vbuf_printf(out, "--%s\r\n", b);
    vbuf_append_str(out, "Content-Description: Undelivered Message Headers\r\n"
                    "Content-Type: text/rfc822-headers\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n");
    relay_dsn_headers_part(dsn, out);
    vbuf_printf(out, "\r\n--%s--\r\n", b);
}

/* Reads the original header section from the queue file. */
static int
relay_bounce_read_headers(const QUEUE_ENVELOPE *env, int fd, VBUF *headers)
{
    size_t want = (size_t) env->message_length;
    ssize_t n;

    if (want > RELAY_DSN_HEADERS_MAX)
        want = RELAY_DSN_HEADERS_MAX;
    vbuf_reset(headers);
    vbuf_reserve(headers, want);
    while ((n = pread(fd, headers->data, want, env->message_offset)) < 0
           && errno == EINTR)
         /* void */ ;
    if (n < 0)
        return -1;
    headers->len = (size_t) n;
    headers->data[n] = 0;
    vbuf_truncate(headers, relay_dsn_header_len(vbuf_str(headers), vbuf_len(headers)));
    return 0;
}

int
relay_bounce_queue(const char *queue_dir, const char *queue_id,
                   const QUEUE_ENVELOPE *env, int fd,
                   const RELAY_RCPT *rcpt, size_t rcpt_count,
                   const char *remote_mta, const char *expired,
                   char bounce_id[QUEUE_ID_LEN + 1], VBUF *why)
{
    VBUF *headers = vbuf_create(4096);
    VBUF *msg = vbuf_create(8192);
    VBUF *boundary = vbuf_create(100);
    VBUF *message_id = vbuf_create(100);
    const char *myhostname = conf_str(P_myhostname);
    QUEUE_WRITER *qf;
    RELAY_DSN dsn;
    time_t now = time(NULL);
    size_t i;
    int rc = -1, eight_bit = 0;

    if (relay_bounce_read_headers(env, fd, headers) < 0) {
        vbuf_printf(why, "read %s: %s", queue_id, strerror(errno));
        goto out;
    }
    if ((qf = queue_write_create(queue_dir, why)) == NULL)
        goto out;
    snprintf(bounce_id, QUEUE_ID_LEN + 1, "%s", queue_write_id(qf));
    vbuf_printf(message_id, "%s.%lld@%s", bounce_id, (long long) now, myhostname);
    /* A boundary that the returned headers cannot contain. */
    vbuf_printf(boundary, "%s.%lld/%s", bounce_id, (long long) now, myhostname);
    while (memmem(vbuf_str(headers), vbuf_len(headers), vbuf_str(boundary),
                  vbuf_len(boundary)) != NULL)
        vbuf_append_char(boundary, '=');

    memset(&dsn, 0, sizeof(dsn));
    dsn.reporting_mta = myhostname;
    dsn.queue_id = queue_id;
    dsn.sender = env->sender;
    dsn.message_id = vbuf_str(message_id);
    dsn.boundary = vbuf_str(boundary);
    dsn.arrival = env->arrival;
    dsn.now = now;
    dsn.remote_mta = remote_mta;
    dsn.expired = expired;
    dsn.rcpt = rcpt;
    dsn.rcpt_count = rcpt_count;
    dsn.headers = vbuf_str(headers);
    dsn.headers_len = vbuf_len(headers);
    relay_dsn_build(&dsn, msg);
    for (i = 0; i < vbuf_len(msg) && !eight_bit; i++)
        eight_bit = (unsigned char) msg->data[i] >= 0x80;

    if (queue_write_recf(qf, QUEUE_REC_ARRIVAL, "%lld", (long long) now) < 0
        || queue_write_rec(qf, QUEUE_REC_SENDER, "") < 0
        || (eight_bit && queue_write_rec(qf, QUEUE_REC_BODY_TYPE, "8BITMIME") < 0)
        || (env->smtputf8 && queue_write_rec(qf, QUEUE_REC_SMTPUTF8, "1") < 0)
        || queue_write_rec(qf, QUEUE_REC_RCPT, env->sender) < 0
        || queue_write_recf(qf, QUEUE_REC_ATTR, "dsn_for=%s", queue_id) < 0
        || queue_write_begin_message(qf) < 0
        || queue_write_message(qf, vbuf_str(msg), vbuf_len(msg)) < 0) {
        vbuf_printf(why, "write bounce: %s", strerror(errno));
        queue_write_abort(qf);
        goto out;
    }
    if (queue_write_commit(qf, why) < 0)
        goto out;
    rc = 0;

  out:
    vbuf_free(headers);
    vbuf_free(msg);
    vbuf_free(boundary);
    vbuf_free(message_id);
    return rc;
}
