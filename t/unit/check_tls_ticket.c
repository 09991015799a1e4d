/* Unit tests for the shared session ticket keys (lib/tls_ticket.c): two
 * server contexts, each attached to the area through a descriptor of its
 * own as two smtpd workers are, resume each other's sessions, with RFC
 * 5077 tickets (TLS 1.2) and TLS 1.3 PSK; a rotation keeps the previous
 * key's tickets valid and renews them, a second one ends them; the area
 * lives in memory only and a worker cannot write it.  Real handshakes
 * between OpenSSL clients and servers over socket pairs. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "tls_ticket.h"
#include "vbuf.h"

#define NAME_LEN    16                  /* a ticket starts with its key's name */

static EVP_PKEY *key;
static X509 *cert;

/* A self-signed EC P-256 certificate, made once for every test. */
static void
make_cert(void)
{
    X509_NAME *name;

    key = EVP_EC_gen("P-256");
    cert = X509_new();
    if (key == NULL || cert == NULL)
        abort();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) "mx.test.example", -1, -1, 0);
    X509_set_issuer_name(cert, name);
    if (X509_sign(cert, key, EVP_sha256()) == 0)
        abort();
}

/* A server context with tickets from the area behind fd; no session
 * cache, so that a resumption can only come from a ticket. */
static SSL_CTX *
server_ctx(int fd)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    VBUF *why = vbuf_create(64);

    ck_assert_ptr_nonnull(ctx);
    ck_assert_int_eq(SSL_CTX_use_certificate(ctx, cert), 1);
    ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, key), 1);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    ck_assert_msg(tls_ticket_attach(ctx, fd, why) == 0, "attach: %s",
                  vbuf_str(why));
    vbuf_free(why);
    return ctx;
}

static SSL_CTX *
client_ctx(int version)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    ck_assert_ptr_nonnull(ctx);
    SSL_CTX_set_min_proto_version(ctx, version);
    SSL_CTX_set_max_proto_version(ctx, version);
    return ctx;
}

/* 1 when the SSL call that returned ret is to be called again. */
static int
again(SSL *ssl, int ret)
{
    int err = SSL_get_error(ssl, ret);

    return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
}

typedef struct RESULT {
    int     reused;                     /* the server resumed */
    SSL_SESSION *session;               /* the client's, with its ticket */
} RESULT;

/* A client (offering resume when not NULL) and a server on sctx: the
 * handshake, one byte from the server (so that the client reads a TLS 1.3
 * ticket), and a clean close.  -1 when the handshake fails. */
static int
connect_once(SSL_CTX *sctx, SSL_CTX *cctx, SSL_SESSION *resume, RESULT *res)
{
    int sv[2];
    SSL *c, *s;
    int cdone = 0, sdone = 0;
    int i, ret;
    char byte;
    int status = 0;

    memset(res, 0, sizeof(*res));
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    c = SSL_new(cctx);
    s = SSL_new(sctx);
    ck_assert(c && s);
    SSL_set_fd(c, sv[0]);
    SSL_set_fd(s, sv[1]);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    if (resume)
        ck_assert_int_eq(SSL_set_session(c, resume), 1);
    for (i = 0; i < 100 && !(cdone && sdone); i++) {
        if (!cdone && (ret = SSL_do_handshake(c)) != 1 && !again(c, ret))
            break;
        cdone |= ret == 1;
        if (!sdone && (ret = SSL_do_handshake(s)) != 1 && !again(s, ret))
            break;
        sdone |= ret == 1;
    }
    if (!(cdone && sdone)) {
        status = -1;
        goto done;
    }
    ck_assert_int_eq(SSL_write(s, "x", 1), 1);
    for (i = 0; i < 100 && (ret = SSL_read(c, &byte, 1)) != 1; i++)
        ck_assert(again(c, ret));
    ck_assert_int_eq(ret, 1);
    res->reused = SSL_session_reused(s);
    ck_assert_int_eq(SSL_session_reused(c), res->reused);
    res->session = SSL_get1_session(c);
    ck_assert_ptr_nonnull(res->session);
    /* Without a close_notify the client's session would be unusable. */
    SSL_shutdown(c);
    SSL_shutdown(s);
done:
    SSL_free(c);
    SSL_free(s);
    close(sv[0]);
    close(sv[1]);
    return status;
}

/* The name of the key a session's ticket was made with. */
static const unsigned char *
ticket_name(SSL_SESSION *session)
{
    const unsigned char *tick;
    size_t len;

    SSL_SESSION_get0_ticket(session, &tick, &len);
    ck_assert_uint_gt(len, NAME_LEN);
    return tick;
}

/* The area, and a read-only descriptor of it of the kind a worker might
 * have: a new open of the same memory. */
static int
reopen_readonly(int fd)
{
    char path[64];
    int ro;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ck_assert_int_ge(ro = open(path, O_RDONLY | O_CLOEXEC), 0);
    return ro;
}

static int
create(void)
{
    VBUF *why = vbuf_create(64);
    int fd = tls_ticket_create(why);

    ck_assert_msg(fd >= 0, "create: %s", vbuf_str(why));
    vbuf_free(why);
    return fd;
}

START_TEST(test_area_in_memory_only)
{
    int fd = create();
    char path[64], link[256];
    ssize_t n;
    struct stat st;
    int seals;
    int ro;

    /* Not inherited by accident: master hands it out with dup2. */
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    /* Anonymous memory, not a file on a disk. */
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ck_assert_int_gt(n = readlink(path, link, sizeof(link) - 1), 0);
    link[n] = 0;
    ck_assert_msg(strncmp(link, "/memfd:alligate-tls-tickets", 27) == 0, "%s", link);
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_gt(st.st_size, 160);
    ck_assert_int_lt(st.st_size, 4096);
    /* Sealed: no size change, no writer but master's own mapping. */
    seals = fcntl(fd, F_GET_SEALS);
    ck_assert_int_ne(seals & F_SEAL_SHRINK, 0);
    ck_assert_int_ne(seals & F_SEAL_GROW, 0);
    ck_assert_int_ne(seals & F_SEAL_SEAL, 0);
    ck_assert_int_ne(seals & F_SEAL_FUTURE_WRITE, 0);
    ck_assert_int_eq(ftruncate(fd, 0), -1);
    ck_assert_int_eq(pwrite(fd, "x", 1, 40), -1);
    ck_assert_int_eq(errno, EPERM);
    ck_assert_ptr_eq(mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
                     MAP_FAILED);
    ro = reopen_readonly(fd);
    ck_assert_ptr_eq(mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0),
                     MAP_FAILED);
    close(ro);
    /* The rotation writes through master's mapping all the same. */
    tls_ticket_rotate(fd);
    close(fd);
}
END_TEST

/* A full handshake on one worker's context, then a resumption on the
 * other's; both attached through descriptors of their own. */
static void
resume_across(int version)
{
    int fd = create();
    int fd_a = dup(fd);
    int fd_b = reopen_readonly(fd);
    SSL_CTX *a = server_ctx(fd_a);
    SSL_CTX *b = server_ctx(fd_b);
    SSL_CTX *cctx = client_ctx(version);
    RESULT first, second, third;

    /* The descriptors may go once attached (as a worker may close it). */
    close(fd_a);
    close(fd_b);
    ck_assert_int_eq(connect_once(a, cctx, NULL, &first), 0);
    ck_assert_int_eq(first.reused, 0);
    ck_assert_int_eq(SSL_SESSION_get_protocol_version(first.session), version);
    ck_assert_int_eq(SSL_SESSION_has_ticket(first.session), 1);
    ck_assert_int_eq(connect_once(b, cctx, first.session, &second), 0);
    ck_assert_int_eq(second.reused, 1);
    /* And back: B's ticket resumes on A. */
    ck_assert_int_eq(connect_once(a, cctx, second.session, &third), 0);
    ck_assert_int_eq(third.reused, 1);
    SSL_SESSION_free(first.session);
    SSL_SESSION_free(second.session);
    SSL_SESSION_free(third.session);
    SSL_CTX_free(a);
    SSL_CTX_free(b);
    SSL_CTX_free(cctx);
    close(fd);
}

START_TEST(test_resume_across_contexts_tls12)
{
    resume_across(TLS1_2_VERSION);
}
END_TEST

START_TEST(test_resume_across_contexts_tls13)
{
    resume_across(TLS1_3_VERSION);
}
END_TEST

/* A ticket of the previous key resumes and is renewed with the current
 * key; one of the key before that does not resume, and the handshake is
 * a full one that succeeds. */
static void
rotation(int version)
{
    int fd = create();
    SSL_CTX *a = server_ctx(fd);
    SSL_CTX *b = server_ctx(fd);
    SSL_CTX *cctx = client_ctx(version);
    RESULT old, renewed, fresh, stale, later;

    ck_assert_int_eq(connect_once(a, cctx, NULL, &old), 0);
    ck_assert_int_eq(old.reused, 0);

    tls_ticket_rotate(fd);
    ck_assert_int_eq(connect_once(b, cctx, old.session, &renewed), 0);
    ck_assert_int_eq(renewed.reused, 1);
    ck_assert_int_eq(SSL_SESSION_has_ticket(renewed.session), 1);
    /* The new ticket is the current key's, as a fresh session's is. */
    ck_assert_int_eq(connect_once(a, cctx, NULL, &fresh), 0);
    ck_assert_int_eq(fresh.reused, 0);
    ck_assert_int_ne(memcmp(ticket_name(old.session), ticket_name(fresh.session),
                            NAME_LEN), 0);
    ck_assert_int_eq(memcmp(ticket_name(renewed.session), ticket_name(fresh.session),
                            NAME_LEN), 0);

    tls_ticket_rotate(fd);
    ck_assert_int_eq(connect_once(b, cctx, old.session, &stale), 0);
    ck_assert_int_eq(stale.reused, 0);
    /* The renewed ticket is of the previous key now: still good. */
    ck_assert_int_eq(connect_once(a, cctx, renewed.session, &later), 0);
    ck_assert_int_eq(later.reused, 1);

    SSL_SESSION_free(old.session);
    SSL_SESSION_free(renewed.session);
    SSL_SESSION_free(fresh.session);
    SSL_SESSION_free(stale.session);
    SSL_SESSION_free(later.session);
    SSL_CTX_free(a);
    SSL_CTX_free(b);
    SSL_CTX_free(cctx);
    close(fd);
}

START_TEST(test_rotation_tls12)
{
    rotation(TLS1_2_VERSION);
}
END_TEST

START_TEST(test_rotation_tls13)
{
    rotation(TLS1_3_VERSION);
}
END_TEST

/* Two areas have different keys: another instance's ticket is no good. */
START_TEST(test_other_area_does_not_resume)
{
    int fd1 = create();
    int fd2 = create();
    SSL_CTX *a = server_ctx(fd1);
    SSL_CTX *b = server_ctx(fd2);
    SSL_CTX *cctx = client_ctx(TLS1_3_VERSION);
    RESULT first, second;

    ck_assert_int_eq(connect_once(a, cctx, NULL, &first), 0);
    ck_assert_int_eq(connect_once(b, cctx, first.session, &second), 0);
    ck_assert_int_eq(second.reused, 0);
    SSL_SESSION_free(first.session);
    SSL_SESSION_free(second.session);
    SSL_CTX_free(a);
    SSL_CTX_free(b);
    SSL_CTX_free(cctx);
    close(fd1);
    close(fd2);
}
END_TEST

/* Handshakes go on while another process rotates without pause, as
 * master may between a worker's reads: never a failed handshake. */
START_TEST(test_rotation_while_serving)
{
    int fd = create();
    SSL_CTX *a = server_ctx(fd);
    SSL_CTX *b = server_ctx(fd);
    SSL_CTX *cctx = client_ctx(TLS1_3_VERSION);
    RESULT first, second;
    pid_t pid;
    int i;

    ck_assert_int_ge(pid = fork(), 0);
    if (pid == 0) {
        /* The writable mapping came along with the fork. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;)
            tls_ticket_rotate(fd);
    }
    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(connect_once(a, cctx, NULL, &first), 0);
        ck_assert_int_eq(connect_once(b, cctx, first.session, &second), 0);
        SSL_SESSION_free(first.session);
        SSL_SESSION_free(second.session);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    SSL_CTX_free(a);
    SSL_CTX_free(b);
    SSL_CTX_free(cctx);
    close(fd);
}
END_TEST

/* A descriptor that is not an area is refused, and says so. */
static void
refused(int fd, const char *expect)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    VBUF *why = vbuf_create(64);

    ck_assert_int_eq(tls_ticket_attach(ctx, fd, why), -1);
    ck_assert_msg(strstr(vbuf_str(why), expect) != NULL, "\"%s\" lacks \"%s\"",
                  vbuf_str(why), expect);
    vbuf_free(why);
    SSL_CTX_free(ctx);
}

START_TEST(test_not_an_area)
{
    int area = create();
    struct stat st;
    int pipefd[2];
    int devnull = open("/dev/null", O_RDONLY);
    int zeros = memfd_create("zeros", MFD_CLOEXEC);
    int small = memfd_create("small", MFD_CLOEXEC);

    ck_assert_int_eq(fstat(area, &st), 0);
    ck_assert_int_eq(pipe(pipefd), 0);
    ck_assert_int_eq(ftruncate(zeros, st.st_size), 0);  /* right size */
    ck_assert_int_eq(ftruncate(small, 8), 0);
    refused(pipefd[0], "is not a ticket key area");
    refused(devnull, "is not a ticket key area");
    refused(zeros, "is not a ticket key area");
    refused(small, "is not a ticket key area");
    refused(99, "ticket key descriptor 99: Bad file descriptor");
    close(pipefd[0]);
    close(pipefd[1]);
    close(devnull);
    close(zeros);
    close(small);
    close(area);
}
END_TEST

/* Rotating what this process did not make is a bug of ours. */
START_TEST(test_rotate_foreign_panics)
{
    int fd = create();
    int other = reopen_readonly(fd);

    tls_ticket_rotate(other);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tls_ticket");
    TCase *tc = tcase_create("tls_ticket");
    SRunner *sr;
    int failed;

    make_cert();
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_area_in_memory_only);
    tcase_add_test(tc, test_resume_across_contexts_tls12);
    tcase_add_test(tc, test_resume_across_contexts_tls13);
    tcase_add_test(tc, test_rotation_tls12);
    tcase_add_test(tc, test_rotation_tls13);
    tcase_add_test(tc, test_other_area_does_not_resume);
    tcase_add_test(tc, test_rotation_while_serving);
    tcase_add_test(tc, test_not_an_area);
    tcase_add_test_raise_signal(tc, test_rotate_foreign_panics, SIGABRT);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    EVP_PKEY_free(key);
    X509_free(cert);
    return failed ? 1 : 0;
}
