/* tls-source: an SMTP load generator where every session does STARTTLS
 * (Postfix's smtp-source cannot).  Run by hand or by bench/compare, never
 * part of make check.  See bench/README.md.
 *
 *   tls-source [-c CONCURRENCY] [-n SESSIONS] [-m MESSAGES] [-l SIZE]
 *              [-r RCPTS] [-R [-w [-g]] | -p] [-V 1.2|1.3] [-T TIMEOUT]
 *              [-f SENDER] [-t RCPT] [-M HELO] [-a USER [-P PASSWORD_FILE]]
 *              [-j] HOST:PORT
 *
 * CONCURRENCY connection slots (one thread each) run SESSIONS sessions in
 * all, one after the other per slot.  A session is: greeting, EHLO,
 * STARTTLS, the handshake, EHLO, then MESSAGES times MAIL, RCPTS times
 * RCPT, DATA and a message of SIZE bytes, and QUIT; one command at a
 * time, no pipelining.  With MESSAGES 0 a session is only the handshake
 * and its EHLO, to count handshakes per second.
 *
 * With -a USER each session authenticates after its second EHLO (which
 * must offer AUTH PLAIN) with AUTH PLAIN and an initial response, as USER
 * with no authorization identity, and expects 235 before its MAIL; with
 * MESSAGES 0 a session is then only the handshake, EHLO and AUTH, to
 * count authentications per second.  The password is never an argument
 * (ps shows arguments): it is the first line of PASSWORD_FILE (-P), or
 * else the value of the environment variable TLS_SOURCE_PASSWORD.  AUTH
 * failures (no AUTH PLAIN offered, any reply but 235) are counted apart,
 * and the mean time from sending AUTH to its reply is printed.
 *
 * With -R a slot offers the session it got in its previous session
 * (RFC 5077 ticket or TLS 1.3 PSK) for resumption; without, every
 * handshake is a full one.  The certificate is not verified (the bench
 * uses a self-signed one); the signature of the handshake still is.
 * With -w each slot first makes a session without mail, not counted,
 * so that every counted handshake can be a resumed one; the clock starts
 * when all have (and "ready" is printed on a line of its own).  With -g
 * as well, the counted sessions start only when a line (or end of file)
 * arrives on standard input after "ready": a caller that reads the
 * server's CPU time when it sees "ready" does so before they start.
 * With -p the sessions skip STARTTLS and the handshake (EHLO twice), as
 * the baseline of what a session costs without TLS.
 *
 * Every read and write has a deadline (TIMEOUT seconds, SO_RCVTIMEO and
 * SO_SNDTIMEO, which bound connect() too); a session that fails for any
 * reason (refused, timed out, an unexpected reply, a failed handshake) is
 * counted and the slot goes on to its next session.  The first failures
 * are reported on stderr.  At the end it prints the elapsed time,
 * sessions/s, messages/s and the handshakes, full and resumed, with their
 * mean duration; -j prints the same as one JSON object instead.  Exit
 * status 0 when every session succeeded, 1 when some failed, 2 for a
 * usage or set-up error.
 *
 * Self-contained (libc, pthreads, OpenSSL), so that it shares no code with
 * what it measures. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#define TS_LINE_MAX      2048   /* longest reply line kept */
#define TS_BUF_SIZE      16384  /* reply buffer of a connection */
#define TS_REPORT_MAX    10     /* failures reported on stderr */
#define TS_WHY_SIZE      256
#define TS_PASSWORD_MAX  1024   /* longest password read */
#define TS_PASSWORD_ENV  "TLS_SOURCE_PASSWORD"

/* What an EHLO reply offers, of what a session uses. */
#define TS_EXT_STARTTLS  (1 << 0)
#define TS_EXT_AUTH_PLAIN (1 << 1)

/* What the run was asked to do; read-only once the threads start. */
typedef struct {
    int     concurrency;
    long    sessions;
    int     messages;
    long    size;
    int     rcpts;
    int     resume;
    int     plaintext;                  /* -p: no STARTTLS, the baseline */
    int     prime;                      /* -w: a session to resume first */
    int     go;                         /* -g: then wait for standard input */
    int     version;                    /* 0: any, else TLS1_2_VERSION.. */
    int     timeout;
    int     json;
    const char *sender;
    const char *rcpt;
    const char *helo;
    const char *target;
    const char *auth_user;              /* -a: AUTH PLAIN as this user */
    char   *auth_cmd;                   /* "AUTH PLAIN base64\r\n", wiped */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    SSL_CTX *ctx;
    char   *message;                    /* headers, body and the final dot */
    size_t  message_len;
} TS_CONFIG;

/* What one slot counted. */
typedef struct {
    long    sessions_ok;
    long    sessions_failed;
    long    messages_ok;
    long    messages_failed;
    long    hs_full;
    long    hs_resumed;
    long    hs_failed;
    double  hs_full_sec;                /* time spent in full handshakes */
    double  hs_resumed_sec;
    long    auth_ok;                    /* -a: AUTH answered 235 */
    long    auth_failed;                /* not offered, or any other reply */
    double  auth_sec;                   /* AUTH to its reply, successes */
} TS_STATS;

/* One connection slot: its thread, its counts, and the session it
 * resumes with (-R). */
typedef struct {
    int     id;
    pthread_t thread;
    TS_STATS stats;
    SSL_SESSION *session;
    char    protocol[32];               /* of its last handshake */
    char    cipher[64];
} TS_SLOT;

/* One SMTP connection, plaintext until ssl is set. */
typedef struct {
    int     fd;
    SSL    *ssl;
    char    buf[TS_BUF_SIZE];
    size_t  off;
    size_t  len;
    char    why[TS_WHY_SIZE];           /* why the session failed */
} TS_CONN;

static TS_CONFIG ts_cfg;
static atomic_long ts_next_session;
static atomic_int ts_reported;
static int ts_slot_index;               /* SSL ex_data index of the slot */
static pthread_barrier_t ts_primed;     /* -w: every slot has a session */
static pthread_barrier_t ts_go;         /* -w: the counted sessions start */

static double ts_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The CPU time this process has used, user and system. */
static double ts_cpu(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec
        + ru.ru_stime.tv_usec / 1e6;
}

static void ts_fail(TS_CONN *conn, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(conn->why, sizeof(conn->why), fmt, ap);
    va_end(ap);
}

/* Why the last TLS operation failed, in OpenSSL's words where it has
 * some. */
static void ts_fail_ssl(TS_CONN *conn, const char *what, int ret)
{
    int     err = SSL_get_error(conn->ssl, ret);
    unsigned long e = ERR_peek_last_error();
    char    text[160];

    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
        ts_fail(conn, "%s: timed out after %d s", what, ts_cfg.timeout);
    else if (err == SSL_ERROR_ZERO_RETURN
             || (err == SSL_ERROR_SYSCALL && e == 0 && errno == 0))
        ts_fail(conn, "%s: connection closed by the server", what);
    else if (err == SSL_ERROR_SYSCALL && e == 0)
        ts_fail(conn, "%s: %s", what, strerror(errno));
    else {
        ERR_error_string_n(e, text, sizeof(text));
        ts_fail(conn, "%s: %s", what, text);
    }
}

/* Sends all of data, plaintext or under TLS. */
static int ts_write(TS_CONN *conn, const char *data, size_t len)
{
    int     ret;
    ssize_t n;

    while (len > 0) {
        if (conn->ssl) {
            ERR_clear_error();
            errno = 0;
            ret = SSL_write(conn->ssl, data, len > INT32_MAX ? INT32_MAX : (int) len);
            if (ret <= 0) {
                ts_fail_ssl(conn, "write", ret);
                return -1;
            }
            n = ret;
        } else {
            n = send(conn->fd, data, len, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    ts_fail(conn, "write: timed out after %d s", ts_cfg.timeout);
                else
                    ts_fail(conn, "write: %s", strerror(errno));
                return -1;
            }
        }
        data += n;
        len -= (size_t) n;
    }
    return 0;
}

/* ACKs what arrives next at once.  A client that delays its ACK while
 * it waits for a reply holds the server's next write (Nagle) for the
 * delayed-ACK time, 40 ms on Linux, whenever the server writes twice in a
 * row (a TLS 1.3 ticket, then the EHLO reply): on loopback the run would
 * measure TCP timers, not the server.  Linux leaves quick-ACK mode by
 * itself, so this is asked again before each read. */
static void ts_quickack(TS_CONN *conn)
{
    int     one = 1;

    (void) setsockopt(conn->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

/* Reads more into the buffer: 0, or -1 with why set. */
static int ts_fill(TS_CONN *conn)
{
    int     ret;
    ssize_t n;

    if (conn->off > 0) {
        memmove(conn->buf, conn->buf + conn->off, conn->len - conn->off);
        conn->len -= conn->off;
        conn->off = 0;
    }
    if (conn->len == sizeof(conn->buf)) {
        ts_fail(conn, "read: reply line longer than %zu bytes", sizeof(conn->buf));
        return -1;
    }
    ts_quickack(conn);
    for (;;) {
        if (conn->ssl) {
            ERR_clear_error();
            errno = 0;
            ret = SSL_read(conn->ssl, conn->buf + conn->len,
                           (int) (sizeof(conn->buf) - conn->len));
            if (ret <= 0) {
                ts_fail_ssl(conn, "read", ret);
                return -1;
            }
            n = ret;
        } else {
            n = recv(conn->fd, conn->buf + conn->len, sizeof(conn->buf) - conn->len, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    ts_fail(conn, "read: timed out after %d s", ts_cfg.timeout);
                else
                    ts_fail(conn, "read: %s", strerror(errno));
                return -1;
            }
            if (n == 0) {
                ts_fail(conn, "read: connection closed by the server");
                return -1;
            }
        }
        conn->len += (size_t) n;
        return 0;
    }
}

/* Reads one reply, multi-line or not: its code (the last line's), or -1
 * with why set.  The last line goes to last. */
static int ts_reply(TS_CONN *conn, char *last, size_t last_size)
{
    char   *nl;
    size_t  n;

    for (;;) {
        while ((nl = memchr(conn->buf + conn->off, '\n', conn->len - conn->off)) == 0)
            if (ts_fill(conn) < 0)
                return -1;
        n = (size_t) (nl - (conn->buf + conn->off));
        if (n > 0 && conn->buf[conn->off + n - 1] == '\r')
            n--;
        if (n >= last_size)
            n = last_size - 1;
        memcpy(last, conn->buf + conn->off, n);
        last[n] = 0;
        conn->off = (size_t) (nl - conn->buf) + 1;
        if (n < 3 || last[0] < '1' || last[0] > '5' || last[1] < '0' || last[1] > '9'
            || last[2] < '0' || last[2] > '9' || (n > 3 && last[3] != ' ' && last[3] != '-')) {
            ts_fail(conn, "malformed reply: %.80s", last);
            return -1;
        }
        if (n == 3 || last[3] == ' ')
            return atoi(last);
    }
}

/* What one line of an EHLO reply (its n bytes, the code included)
 * offers: STARTTLS, or AUTH with PLAIN among its mechanisms. */
static int ts_ehlo_line(const char *line, size_t n)
{
    size_t  i;
    size_t  len;

    if (n >= 12 && strncasecmp(line + 4, "STARTTLS", 8) == 0
        && (n == 12 || line[12] == '\r' || line[12] == ' '))
        return TS_EXT_STARTTLS;
    if (n < 9 || strncasecmp(line + 4, "AUTH", 4) != 0 || (line[8] != ' ' && line[8] != '='))
        return 0;
    /* The mechanisms, separated by spaces. */
    for (i = 9; i < n; i += len) {
        while (i < n && line[i] == ' ')
            i++;
        for (len = 0; i + len < n && line[i + len] != ' ' && line[i + len] != '\r'; len++)
            ;
        if (len == 5 && strncasecmp(line + i, "PLAIN", 5) == 0)
            return TS_EXT_AUTH_PLAIN;
        if (len == 0)
            break;
    }
    return 0;
}

/* Sends a command (NULL: none, for the greeting) and expects a reply
 * with code want; with ext set, also notes in it what the reply offers
 * (TS_EXT_*, for EHLO). */
static int ts_command(TS_CONN *conn, const char *cmd, int want, int *ext)
{
    char    line[TS_LINE_MAX];
    char   *nl;
    int     code;
    size_t  n;

    if (cmd && ts_write(conn, cmd, cmd == ts_cfg.message ? ts_cfg.message_len : strlen(cmd)) < 0)
        return -1;
    if (ext == 0) {
        if ((code = ts_reply(conn, line, sizeof(line))) < 0)
            return -1;
    } else {
        /* Each line of the EHLO reply, looking for what it offers. */
        *ext = 0;
        for (;;) {
            while ((nl = memchr(conn->buf + conn->off, '\n', conn->len - conn->off)) == 0)
                if (ts_fill(conn) < 0)
                    return -1;
            n = (size_t) (nl - (conn->buf + conn->off));
            *ext |= ts_ehlo_line(conn->buf + conn->off, n);
            if (n > 3 && conn->buf[conn->off + 3] == '-') {
                conn->off = (size_t) (nl - conn->buf) + 1;
                continue;
            }
            if ((code = ts_reply(conn, line, sizeof(line))) < 0)
                return -1;
            break;
        }
    }
    if (code != want) {
        if (cmd == ts_cfg.message)
            ts_fail(conn, "end of DATA: %.120s", line);
        else if (cmd == ts_cfg.auth_cmd)
            ts_fail(conn, "AUTH PLAIN: %.120s", line);     /* not the password */
        else if (cmd) {
            n = strcspn(cmd, "\r\n");
            ts_fail(conn, "%.*s: %.120s", (int) (n > 40 ? 40 : n), cmd, line);
        } else
            ts_fail(conn, "greeting: %.120s", line);
        return -1;
    }
    return 0;
}

/* The client side of the handshake on the connection, offering the
 * slot's previous session with -R; counts it. */
static int ts_handshake(TS_CONN *conn, TS_SLOT *slot)
{
    double  t0;
    double  elapsed;
    int     ret;
    const char *name;
    SSL_SESSION *offer;

    if ((conn->ssl = SSL_new(ts_cfg.ctx)) == 0 || SSL_set_fd(conn->ssl, conn->fd) != 1) {
        ts_fail(conn, "SSL_new: out of memory");
        return -1;
    }
    SSL_set_ex_data(conn->ssl, ts_slot_index, slot);
    /* A copy is offered: OpenSSL makes a TLS 1.3 session it resumed
     * unresumable, so a server that issues no new ticket on resumption
     * (Postfix) would see every other handshake a full one; a client
     * with a session cache of its own (Postfix's smtp, through tlsmgr)
     * offers the same ticket again. */
    if (ts_cfg.resume && slot->session) {
        if ((offer = SSL_SESSION_dup(slot->session)) == 0) {
            ts_fail(conn, "SSL_SESSION_dup: out of memory");
            return -1;
        }
        SSL_set_session(conn->ssl, offer);
        SSL_SESSION_free(offer);
    }
    ts_quickack(conn);
    t0 = ts_now();
    ERR_clear_error();
    errno = 0;
    ret = SSL_connect(conn->ssl);
    elapsed = ts_now() - t0;
    if (ret != 1) {
        ts_fail_ssl(conn, "handshake", ret);
        slot->stats.hs_failed++;
        /* A session the server would not take is not offered again. */
        if (slot->session) {
            SSL_SESSION_free(slot->session);
            slot->session = 0;
        }
        return -1;
    }
    if (SSL_session_reused(conn->ssl)) {
        slot->stats.hs_resumed++;
        slot->stats.hs_resumed_sec += elapsed;
    } else {
        slot->stats.hs_full++;
        slot->stats.hs_full_sec += elapsed;
    }
    snprintf(slot->protocol, sizeof(slot->protocol), "%s", SSL_get_version(conn->ssl));
    name = SSL_get_cipher_name(conn->ssl);
    snprintf(slot->cipher, sizeof(slot->cipher), "%s", name ? name : "?");
    return 0;
}

/* A session the server issued (at the end of a TLS 1.2 handshake, or in
 * a TLS 1.3 NewSessionTicket read later): the slot keeps the newest. */
static int ts_new_session(SSL *ssl, SSL_SESSION *session)
{
    TS_SLOT *slot = SSL_get_ex_data(ssl, ts_slot_index);

    if (slot == 0)
        return 0;
    if (slot->session)
        SSL_SESSION_free(slot->session);
    slot->session = session;
    return 1;                           /* the reference is ours */
}

/* AUTH PLAIN with the initial response, after an EHLO reply that offered
 * ext; counted and timed.  0, or -1 with why set. */
static int ts_auth(TS_CONN *conn, TS_SLOT *slot, int ext)
{
    double  t0;

    if (!(ext & TS_EXT_AUTH_PLAIN)) {
        slot->stats.auth_failed++;
        ts_fail(conn, "EHLO: AUTH PLAIN is not offered");
        return -1;
    }
    t0 = ts_now();
    if (ts_command(conn, ts_cfg.auth_cmd, 235, 0) < 0) {
        slot->stats.auth_failed++;
        return -1;
    }
    slot->stats.auth_ok++;
    slot->stats.auth_sec += ts_now() - t0;
    return 0;
}

/* One session on a new connection with that many messages: 0, or -1
 * with why set.  *delivered counts the messages that got their 250. */
static int ts_session(TS_CONN *conn, TS_SLOT *slot, int messages, int *delivered)
{
    struct timeval tv;
    int     one = 1;
    char    cmd[1024];
    int     ext;
    int     i;
    int     r;

    *delivered = 0;
    conn->fd = -1;
    conn->ssl = 0;
    conn->off = conn->len = 0;
    conn->why[0] = 0;
    if ((conn->fd = socket(ts_cfg.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        ts_fail(conn, "socket: %s", strerror(errno));
        return -1;
    }
    /* The deadline of every read and write, and (Linux) of connect().
     * No Nagle: a message larger than a TLS record goes out in several
     * writes, and the last must not wait for the server's delayed ACK
     * (the client would be what is measured; see ts_quickack). */
    tv.tv_sec = ts_cfg.timeout;
    tv.tv_usec = 0;
    if (setsockopt(conn->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0
        || setsockopt(conn->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0
        || setsockopt(conn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
        ts_fail(conn, "setsockopt: %s", strerror(errno));
        return -1;
    }
    if (connect(conn->fd, (struct sockaddr *) &ts_cfg.addr, ts_cfg.addrlen) < 0) {
        if (errno == EINPROGRESS || errno == EAGAIN)
            ts_fail(conn, "connect: timed out after %d s", ts_cfg.timeout);
        else
            ts_fail(conn, "connect: %s", strerror(errno));
        return -1;
    }
    if (ts_command(conn, 0, 220, 0) < 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", ts_cfg.helo);
    if (ts_command(conn, cmd, 250, &ext) < 0)
        return -1;
    if (ts_cfg.plaintext) {
        /* The same session without STARTTLS and the handshake. */
    } else if (!(ext & TS_EXT_STARTTLS)) {
        ts_fail(conn, "EHLO: STARTTLS is not offered");
        return -1;
    } else {
        if (ts_command(conn, "STARTTLS\r\n", 220, 0) < 0)
            return -1;
        /* Nothing may follow the 220 in plaintext. */
        if (conn->off < conn->len) {
            ts_fail(conn, "STARTTLS: %zu bytes of plaintext after the 220",
                    conn->len - conn->off);
            return -1;
        }
        if (ts_handshake(conn, slot) < 0)
            return -1;
    }
    snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", ts_cfg.helo);
    if (ts_command(conn, cmd, 250, &ext) < 0)
        return -1;
    if (ts_cfg.auth_user && ts_auth(conn, slot, ext) < 0)
        return -1;
    for (i = 0; i < messages; i++) {
        snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", ts_cfg.sender);
        if (ts_command(conn, cmd, 250, 0) < 0)
            return -1;
        for (r = 0; r < ts_cfg.rcpts; r++) {
            if (ts_cfg.rcpts == 1)
                snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", ts_cfg.rcpt);
            else
                snprintf(cmd, sizeof(cmd), "RCPT TO:<%d%s>\r\n", r, ts_cfg.rcpt);
            if (ts_command(conn, cmd, 250, 0) < 0)
                return -1;
        }
        if (ts_command(conn, "DATA\r\n", 354, 0) < 0)
            return -1;
        /* The message and its dot in one write, as a client with an
         * output buffer sends them. */
        if (ts_command(conn, ts_cfg.message, 250, 0) < 0)
            return -1;
        ++*delivered;
    }
    if (ts_command(conn, "QUIT\r\n", 221, 0) < 0)
        return -1;
    return 0;
}

/* Closes the connection.  After a session that ended with QUIT, the TLS
 * session is marked as properly shut down, without a close_notify
 * exchange (the server closes after 221); otherwise OpenSSL would make it
 * unresumable, as after a failed one. */
static void ts_close(TS_CONN *conn, int ok)
{
    if (conn->ssl) {
        if (ok) {
            SSL_set_quiet_shutdown(conn->ssl, 1);
            SSL_shutdown(conn->ssl);
        }
        SSL_free(conn->ssl);
        conn->ssl = 0;
    }
    if (conn->fd >= 0) {
        close(conn->fd);
        conn->fd = -1;
    }
}

/* A slot: with -w first a session without mail that is not counted, to
 * have a session to resume; then sessions one after the other until
 * every session is taken. */
static void *ts_slot_run(void *arg)
{
    TS_SLOT *slot = arg;
    TS_CONN *conn = calloc(1, sizeof(*conn));
    long    n;
    int     delivered;
    int     ok;

    if (conn == 0) {
        fprintf(stderr, "tls-source: out of memory\n");
        exit(2);
    }
    if (ts_cfg.prime) {
        ok = ts_session(conn, slot, 0, &delivered) == 0;
        if (!ok && atomic_fetch_add(&ts_reported, 1) < TS_REPORT_MAX)
            fprintf(stderr, "tls-source: first session of slot %d failed: %s\n", slot->id + 1,
                    conn->why);
        ts_close(conn, ok);
        memset(&slot->stats, 0, sizeof(slot->stats));
        pthread_barrier_wait(&ts_primed);
        pthread_barrier_wait(&ts_go);
    }
    while ((n = atomic_fetch_add(&ts_next_session, 1)) < ts_cfg.sessions) {
        ok = ts_session(conn, slot, ts_cfg.messages, &delivered) == 0;
        if (ok) {
            slot->stats.sessions_ok++;
        } else {
            slot->stats.sessions_failed++;
            if (atomic_fetch_add(&ts_reported, 1) < TS_REPORT_MAX)
                fprintf(stderr, "tls-source: session %ld failed: %s\n", n + 1, conn->why);
        }
        slot->stats.messages_ok += delivered;
        slot->stats.messages_failed += ts_cfg.messages - delivered;
        ts_close(conn, ok);
    }
    free(conn);
    return 0;
}

/* The message: a few headers, then lines of 78 characters up to size
 * bytes in all (CRLF included), then the final dot.  No line starts with
 * a dot. */
static void ts_make_message(void)
{
    char    head[512];
    size_t  hlen;
    size_t  len;
    size_t  i;
    char   *p;

    hlen = (size_t) snprintf(head, sizeof(head),
                             "From: <%s>\r\nTo: <%s>\r\nSubject: tls-source\r\n"
                             "Message-ID: <tls-source.%ld@bench.example>\r\n\r\n",
                             ts_cfg.sender, ts_cfg.rcpt, (long) getpid());
    len = (size_t) ts_cfg.size > hlen + 2 ? (size_t) ts_cfg.size : hlen + 2;
    if ((ts_cfg.message = malloc(len + 4)) == 0) {
        fprintf(stderr, "tls-source: out of memory\n");
        exit(2);
    }
    memcpy(ts_cfg.message, head, hlen);
    p = ts_cfg.message + hlen;
    for (i = hlen; i < len; i++) {
        size_t col = (i - hlen) % 78;

        *p++ = col == 76 ? '\r' : col == 77 ? '\n' : (char) ('a' + col % 26);
    }
    /* The last line ends with CRLF whatever the size. */
    ts_cfg.message[len - 2] = '\r';
    ts_cfg.message[len - 1] = '\n';
    memcpy(ts_cfg.message + len, ".\r\n", 4);
    ts_cfg.message_len = len + 3;
}

/* HOST:PORT or [HOST]:PORT to an address. */
static void ts_resolve(const char *target)
{
    char    host[256];
    const char *colon = strrchr(target, ':');
    const char *h = target;
    size_t  hlen;
    struct addrinfo hints;
    struct addrinfo *res;
    int     err;

    if (colon == 0 || colon[1] == 0) {
        fprintf(stderr, "tls-source: %s: expected HOST:PORT\n", target);
        exit(2);
    }
    hlen = (size_t) (colon - target);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof(host)) {
        fprintf(stderr, "tls-source: %s: bad host\n", target);
        exit(2);
    }
    memcpy(host, h, hlen);
    host[hlen] = 0;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    if ((err = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
        fprintf(stderr, "tls-source: %s: %s\n", target, gai_strerror(err));
        exit(2);
    }
    memcpy(&ts_cfg.addr, res->ai_addr, res->ai_addrlen);
    ts_cfg.addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

static void ts_make_ctx(void)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (ctx == 0) {
        fprintf(stderr, "tls-source: SSL_CTX_new failed\n");
        exit(2);
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, 0);
    SSL_CTX_set_min_proto_version(ctx, ts_cfg.version ? ts_cfg.version : TLS1_2_VERSION);
    if (ts_cfg.version)
        SSL_CTX_set_max_proto_version(ctx, ts_cfg.version);
    if (ts_cfg.resume) {
        /* Each slot keeps its own session (ts_new_session); OpenSSL's
         * client cache would not be looked up anyway. */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT
                                       | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, ts_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    }
    ts_cfg.ctx = ctx;
}

static void ts_usage(void)
{
    fprintf(stderr,
            "usage: tls-source [-c concurrency] [-n sessions] [-m messages per session]\n"
            "                  [-l size] [-r recipients] [-R [-w [-g]] | -p] [-V 1.2|1.3]\n"
            "                  [-T timeout] [-f sender] [-t recipient] [-M helo]\n"
            "                  [-a user [-P password-file]] [-j] host:port\n"
            "(with -a, the password is the first line of password-file, or else\n"
            "the environment variable " TS_PASSWORD_ENV ")\n");
    exit(2);
}

/* The password of -a: the first line of path, or with no path the
 * environment variable; into pw (TS_PASSWORD_MAX + 1 bytes). */
static void ts_read_password(const char *path, char *pw)
{
    FILE   *fp;
    const char *env;
    size_t  len;

    if (path) {
        if ((fp = fopen(path, "r")) == 0) {
            fprintf(stderr, "tls-source: %s: %s\n", path, strerror(errno));
            exit(2);
        }
        if (fgets(pw, TS_PASSWORD_MAX + 1, fp) == 0)
            pw[0] = 0;
        fclose(fp);
        len = strcspn(pw, "\n");
        if (pw[len] == 0 && len == TS_PASSWORD_MAX) {
            fprintf(stderr, "tls-source: %s: password longer than %d bytes\n", path,
                    TS_PASSWORD_MAX);
            exit(2);
        }
        pw[len] = 0;
        if (len > 0 && pw[len - 1] == '\r')
            pw[len - 1] = 0;
    } else if ((env = getenv(TS_PASSWORD_ENV)) != 0) {
        if (strlen(env) > TS_PASSWORD_MAX) {
            fprintf(stderr, "tls-source: %s: password longer than %d bytes\n",
                    TS_PASSWORD_ENV, TS_PASSWORD_MAX);
            exit(2);
        }
        memcpy(pw, env, strlen(env) + 1);
    } else {
        fprintf(stderr, "tls-source: -a needs a password: -P FILE or %s\n", TS_PASSWORD_ENV);
        exit(2);
    }
    if (pw[0] == 0 || strpbrk(pw, "\r\n")) {
        fprintf(stderr, "tls-source: empty password, or one with a CR or LF\n");
        exit(2);
    }
}

/* "AUTH PLAIN " and the base64 of NUL user NUL password (RFC 4616, no
 * authorization identity), then CRLF: sent as is by every session. */
static void ts_make_auth(const char *password_file)
{
    char    pw[TS_PASSWORD_MAX + 1];
    unsigned char *raw;
    size_t  ulen = strlen(ts_cfg.auth_user);
    size_t  plen;
    size_t  rlen;
    size_t  clen;
    int     n;

    ts_read_password(password_file, pw);
    plen = strlen(pw);
    rlen = ulen + plen + 2;
    clen = sizeof("AUTH PLAIN ") - 1 + 4 * ((rlen + 2) / 3) + 3;
    if ((raw = malloc(rlen)) == 0 || (ts_cfg.auth_cmd = malloc(clen)) == 0) {
        fprintf(stderr, "tls-source: out of memory\n");
        exit(2);
    }
    raw[0] = 0;
    memcpy(raw + 1, ts_cfg.auth_user, ulen);
    raw[ulen + 1] = 0;
    memcpy(raw + ulen + 2, pw, plen);
    memcpy(ts_cfg.auth_cmd, "AUTH PLAIN ", sizeof("AUTH PLAIN ") - 1);
    n = EVP_EncodeBlock((unsigned char *) ts_cfg.auth_cmd + sizeof("AUTH PLAIN ") - 1, raw,
                        (int) rlen);
    memcpy(ts_cfg.auth_cmd + sizeof("AUTH PLAIN ") - 1 + n, "\r\n", 3);
    OPENSSL_cleanse(raw, rlen);
    OPENSSL_cleanse(pw, sizeof(pw));
    free(raw);
}

static long ts_number(const char *arg, long min, long max)
{
    char   *end;
    long    n;

    errno = 0;
    n = strtol(arg, &end, 10);
    if (errno || *end || end == arg || n < min || n > max) {
        fprintf(stderr, "tls-source: bad number: %s\n", arg);
        ts_usage();
    }
    return n;
}

int     main(int argc, char **argv)
{
    TS_SLOT *slots;
    TS_STATS t;
    double  t0;
    double  elapsed;
    double  cpu0;
    double  cpu;
    int     ch;
    int     i;
    const char *protocol = "";
    const char *cipher = "";
    double  full_ms;
    double  resumed_ms;
    double  auth_ms;
    const char *password_file = 0;

    ts_cfg.concurrency = 20;
    ts_cfg.sessions = 1000;
    ts_cfg.messages = 1;
    ts_cfg.size = 4096;
    ts_cfg.rcpts = 1;
    ts_cfg.timeout = 30;
    ts_cfg.sender = "bench@sender.example";
    ts_cfg.rcpt = "bench@example.com";
    ts_cfg.helo = "load.bench.example";
    while ((ch = getopt(argc, argv, "a:c:f:gjl:M:m:n:P:pRr:T:t:V:w")) != -1) {
        switch (ch) {
        case 'a':
            ts_cfg.auth_user = optarg;
            break;
        case 'c':
            ts_cfg.concurrency = (int) ts_number(optarg, 1, 10000);
            break;
        case 'f':
            ts_cfg.sender = optarg;
            break;
        case 'g':
            ts_cfg.go = 1;
            break;
        case 'j':
            ts_cfg.json = 1;
            break;
        case 'l':
            ts_cfg.size = ts_number(optarg, 0, 1L << 30);
            break;
        case 'M':
            ts_cfg.helo = optarg;
            break;
        case 'm':
            ts_cfg.messages = (int) ts_number(optarg, 0, 1000000);
            break;
        case 'n':
            ts_cfg.sessions = ts_number(optarg, 1, 1L << 40);
            break;
        case 'P':
            password_file = optarg;
            break;
        case 'p':
            ts_cfg.plaintext = 1;
            break;
        case 'R':
            ts_cfg.resume = 1;
            break;
        case 'r':
            ts_cfg.rcpts = (int) ts_number(optarg, 1, 100000);
            break;
        case 'T':
            ts_cfg.timeout = (int) ts_number(optarg, 1, 86400);
            break;
        case 't':
            ts_cfg.rcpt = optarg;
            break;
        case 'w':
            ts_cfg.prime = 1;
            break;
        case 'V':
            if (strcmp(optarg, "1.2") == 0)
                ts_cfg.version = TLS1_2_VERSION;
            else if (strcmp(optarg, "1.3") == 0)
                ts_cfg.version = TLS1_3_VERSION;
            else
                ts_usage();
            break;
        default:
            ts_usage();
        }
    }
    if (optind != argc - 1)
        ts_usage();
    if (strpbrk(ts_cfg.sender, "<>\r\n") || strpbrk(ts_cfg.rcpt, "<>\r\n")
        || strpbrk(ts_cfg.helo, " \r\n")) {
        fprintf(stderr, "tls-source: bad sender, recipient or HELO name\n");
        exit(2);
    }
    if (ts_cfg.auth_user && (*ts_cfg.auth_user == 0 || strpbrk(ts_cfg.auth_user, "\r\n"))) {
        fprintf(stderr, "tls-source: bad user name\n");
        exit(2);
    }
    if (password_file && !ts_cfg.auth_user) {
        fprintf(stderr, "tls-source: -P goes with -a\n");
        exit(2);
    }
    if (ts_cfg.plaintext && ts_cfg.resume) {
        fprintf(stderr, "tls-source: -p and -R exclude each other\n");
        exit(2);
    }
    if (ts_cfg.go && !ts_cfg.prime) {
        fprintf(stderr, "tls-source: -g goes with -w\n");
        exit(2);
    }
    if (ts_cfg.prime && !ts_cfg.resume) {
        fprintf(stderr, "tls-source: -w goes with -R\n");
        exit(2);
    }
    ts_cfg.target = argv[optind];
    if (ts_cfg.concurrency > ts_cfg.sessions)
        ts_cfg.concurrency = (int) ts_cfg.sessions;
    signal(SIGPIPE, SIG_IGN);
    ts_resolve(ts_cfg.target);
    ts_make_message();
    if (ts_cfg.auth_user)
        ts_make_auth(password_file);
    ts_make_ctx();
    ts_slot_index = SSL_get_ex_new_index(0, 0, 0, 0, 0);

    if ((slots = calloc((size_t) ts_cfg.concurrency, sizeof(*slots))) == 0) {
        fprintf(stderr, "tls-source: out of memory\n");
        exit(2);
    }
    if (ts_cfg.prime) {
        pthread_barrier_init(&ts_primed, 0, (unsigned) ts_cfg.concurrency + 1);
        pthread_barrier_init(&ts_go, 0, (unsigned) ts_cfg.concurrency + 1);
    }
    t0 = ts_now();
    cpu0 = ts_cpu();
    for (i = 0; i < ts_cfg.concurrency; i++) {
        slots[i].id = i;
        if ((errno = pthread_create(&slots[i].thread, 0, ts_slot_run, slots + i)) != 0) {
            fprintf(stderr, "tls-source: pthread_create: %s\n", strerror(errno));
            exit(2);
        }
    }
    if (ts_cfg.prime) {
        /* The clock starts when every slot has its session. */
        pthread_barrier_wait(&ts_primed);
        printf("ready\n");
        fflush(stdout);
        if (ts_cfg.go) {
            int     c;

            while ((c = getchar()) != EOF && c != '\n')
                ;
        }
        t0 = ts_now();
        cpu0 = ts_cpu();
        pthread_barrier_wait(&ts_go);
    }
    memset(&t, 0, sizeof(t));
    for (i = 0; i < ts_cfg.concurrency; i++) {
        pthread_join(slots[i].thread, 0);
        t.sessions_ok += slots[i].stats.sessions_ok;
        t.sessions_failed += slots[i].stats.sessions_failed;
        t.messages_ok += slots[i].stats.messages_ok;
        t.messages_failed += slots[i].stats.messages_failed;
        t.hs_full += slots[i].stats.hs_full;
        t.hs_resumed += slots[i].stats.hs_resumed;
        t.hs_failed += slots[i].stats.hs_failed;
        t.hs_full_sec += slots[i].stats.hs_full_sec;
        t.hs_resumed_sec += slots[i].stats.hs_resumed_sec;
        t.auth_ok += slots[i].stats.auth_ok;
        t.auth_failed += slots[i].stats.auth_failed;
        t.auth_sec += slots[i].stats.auth_sec;
        if (slots[i].protocol[0]) {
            protocol = slots[i].protocol;
            cipher = slots[i].cipher;
        }
    }
    elapsed = ts_now() - t0;
    cpu = ts_cpu() - cpu0;
    full_ms = t.hs_full ? t.hs_full_sec * 1000 / t.hs_full : 0;
    resumed_ms = t.hs_resumed ? t.hs_resumed_sec * 1000 / t.hs_resumed : 0;
    auth_ms = t.auth_ok ? t.auth_sec * 1000 / t.auth_ok : 0;
    if (ts_cfg.json) {
        printf("{\"elapsed\": %.6f, \"cpu\": %.6f, \"sessions\": %ld, "
               "\"sessions_failed\": %ld, "
               "\"messages\": %ld, \"messages_failed\": %ld, "
               "\"sessions_per_sec\": %.3f, \"messages_per_sec\": %.3f, "
               "\"handshakes_full\": %ld, \"handshakes_resumed\": %ld, "
               "\"handshakes_failed\": %ld, "
               "\"handshake_ms_full\": %.4f, \"handshake_ms_resumed\": %.4f, "
               "\"protocol\": \"%s\", \"cipher\": \"%s\", "
               "\"concurrency\": %d, \"messages_per_session\": %d, \"size\": %ld, "
               "\"rcpts\": %d, \"resume\": %d, \"plaintext\": %d, "
               "\"auth\": %d, \"auth_ok\": %ld, \"auth_failed\": %ld, "
               "\"auths_per_sec\": %.3f, \"auth_ms\": %.4f}\n",
               elapsed, cpu, t.sessions_ok, t.sessions_failed, t.messages_ok, t.messages_failed,
               t.sessions_ok / elapsed, t.messages_ok / elapsed, t.hs_full, t.hs_resumed,
               t.hs_failed, full_ms, resumed_ms, protocol, cipher, ts_cfg.concurrency,
               ts_cfg.messages, ts_cfg.size, ts_cfg.rcpts, ts_cfg.resume, ts_cfg.plaintext,
               ts_cfg.auth_user != 0, t.auth_ok, t.auth_failed, t.auth_ok / elapsed, auth_ms);
    } else {
        printf("target          %s, %d at once, %d message%s of %ld bytes per session, "
               "%d recipient%s, %s\n",
               ts_cfg.target, ts_cfg.concurrency, ts_cfg.messages,
               ts_cfg.messages == 1 ? "" : "s", ts_cfg.size, ts_cfg.rcpts,
               ts_cfg.rcpts == 1 ? "" : "s",
               ts_cfg.plaintext ? "no STARTTLS"
               : ts_cfg.resume ? "resumption on" : "resumption off");
        if (ts_cfg.auth_user)
            printf("                AUTH PLAIN as %s in every session\n", ts_cfg.auth_user);
        printf("elapsed         %.3f s\n", elapsed);
        printf("cpu             %.3f s, user and system, of this client\n", cpu);
        printf("sessions        %ld ok, %ld failed, %.1f/s\n", t.sessions_ok,
               t.sessions_failed, t.sessions_ok / elapsed);
        printf("messages        %ld ok, %ld failed, %.1f/s\n", t.messages_ok,
               t.messages_failed, t.messages_ok / elapsed);
        printf("handshakes      %ld full, %ld resumed, %ld failed", t.hs_full, t.hs_resumed,
               t.hs_failed);
        if (*protocol)
            printf(" (%s %s)", protocol, cipher);
        printf("\n");
        printf("handshake time  full %.3f ms, resumed %.3f ms (mean, client side)\n",
               full_ms, resumed_ms);
        if (ts_cfg.auth_user) {
            printf("auth            %ld ok, %ld failed, %.1f/s\n", t.auth_ok, t.auth_failed,
                   t.auth_ok / elapsed);
            printf("auth time       %.3f ms (mean, AUTH to 235, client side)\n", auth_ms);
        }
    }
    for (i = 0; i < ts_cfg.concurrency; i++)
        if (slots[i].session)
            SSL_SESSION_free(slots[i].session);
    free(slots);
    SSL_CTX_free(ts_cfg.ctx);
    free(ts_cfg.message);
    if (ts_cfg.auth_cmd) {
        OPENSSL_cleanse(ts_cfg.auth_cmd, strlen(ts_cfg.auth_cmd));
        free(ts_cfg.auth_cmd);
    }
    return t.sessions_failed ? 1 : 0;
}
