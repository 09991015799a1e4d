/* Unit tests for smtpd's TLS context (lib/tls_server.c) and the OpenSSL
 * glue smtpd and relay share (lib/tls_util.c): real handshakes between a
 * client context and the server's, in memory over a BIO pair, with a
 * certificate made at test time. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "fixture.h"
#include "fixture_tls.h"
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "tls_server.h"
#include "tls_util.h"
#include "vbuf.h"

#define DEFAULT_CIPHERS     (conf_params[P_tls_ciphers].def)

static const char *dir;
static char cert_path[512];
static char key_path[512];
static VBUF *why;

static void
setup(void)
{
    time_t now = time(NULL);

    dir = fixture_dir_create("check_tls_server");
    fixture_tls_cert("cert.pem", "key.pem", now - 86400, now + 365 * 86400);
    snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", dir);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", dir);
    why = vbuf_create(100);
}

static void
teardown(void)
{
    fixture_dir_remove();
    vbuf_free(why);
}

/* The server's context as smtpd would make it, for protocols and ciphers. */
static SSL_CTX *
server_ctx(const char *protocols, const char *ciphers)
{
    SSL_CTX *ctx;

    vbuf_reset(why);
    ctx = tls_server_ctx_make(cert_path, key_path, protocols, ciphers, why);
    ck_assert_msg(ctx != NULL, "%s", vbuf_str(why));
    return ctx;
}

/* A client that takes any certificate, between min and max, with an
 * OpenSSL cipher list (NULL: its defaults). */
static SSL_CTX *
client_ctx(int min, int max, const char *ciphers)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    ck_assert_ptr_nonnull(ctx);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    ck_assert_int_eq(SSL_CTX_set_min_proto_version(ctx, min), 1);
    ck_assert_int_eq(SSL_CTX_set_max_proto_version(ctx, max), 1);
    if (ciphers)
        ck_assert_int_eq(SSL_CTX_set_cipher_list(ctx, ciphers), 1);
    return ctx;
}

typedef struct PAIR {
    SSL    *client;
    SSL    *server;
} PAIR;

/* A client and a server connected in memory. */
static PAIR
pair(SSL_CTX *cctx, SSL_CTX *sctx, SSL_SESSION *resume)
{
    PAIR p;
    BIO *cbio, *sbio;

    p.client = SSL_new(cctx);
    p.server = SSL_new(sctx);
    ck_assert_ptr_nonnull(p.client);
    ck_assert_ptr_nonnull(p.server);
    ck_assert_int_eq(BIO_new_bio_pair(&cbio, 0, &sbio, 0), 1);
    SSL_set_bio(p.client, cbio, cbio);
    SSL_set_bio(p.server, sbio, sbio);
    SSL_set_connect_state(p.client);
    SSL_set_accept_state(p.server);
    if (resume)
        ck_assert_int_eq(SSL_set_session(p.client, resume), 1);
    return p;
}

/* As after a clean close: OpenSSL forgets a session that ended without
 * one, and the client could not resume it. */
static void
pair_free(PAIR *p)
{
    SSL_set_shutdown(p->client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_set_shutdown(p->server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(p->client);
    SSL_free(p->server);
}

/* Runs both sides of the handshake; 0 when both finish.  On failure, why
 * says which side failed and OpenSSL's reason (tls_why). */
static int
handshake(PAIR *p)
{
    int cdone = 0, sdone = 0, i, n;

    vbuf_reset(why);
    for (i = 0; i < 50 && !(cdone && sdone); i++) {
        if (!cdone) {
            ERR_clear_error();
            if ((n = SSL_do_handshake(p->client)) == 1)
                cdone = 1;
            else if (tls_want(p->client, n) == 0) {
                tls_why(why, "client");
                return -1;
            }
        }
        if (!sdone) {
            ERR_clear_error();
            if ((n = SSL_do_handshake(p->server)) == 1)
                sdone = 1;
            else if (tls_want(p->server, n) == 0) {
                tls_why(why, "server");
                return -1;
            }
        }
    }
    return cdone && sdone ? 0 : -1;
}

/* Server to client and back, which also delivers TLS 1.3's tickets. */
static void
exchange(PAIR *p)
{
    char buf[64];
    int n;

    ck_assert_int_eq(SSL_write(p->server, "220 hello\r\n", 11), 11);
    n = SSL_read(p->client, buf, sizeof(buf));
    ck_assert_int_eq(n, 11);
    ck_assert_int_eq(memcmp(buf, "220 hello\r\n", 11), 0);
    ck_assert_int_eq(SSL_write(p->client, "QUIT\r\n", 6), 6);
    n = SSL_read(p->server, buf, sizeof(buf));
    ck_assert_int_eq(n, 6);
}

static const char *
info(SSL *ssl)
{
    static VBUF *out;

    if (out == NULL)
        out = vbuf_create(100);
    vbuf_reset(out);
    tls_info(ssl, out);
    return vbuf_str(out);
}

START_TEST(test_tls13_handshake)
{
    SSL_CTX *sctx = server_ctx(">=TLSv1.2", DEFAULT_CIPHERS);
    SSL_CTX *cctx = client_ctx(TLS1_VERSION, TLS1_3_VERSION, NULL);
    PAIR p = pair(cctx, sctx, NULL);

    ck_assert_msg(handshake(&p) == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(SSL_version(p.server), TLS1_3_VERSION);
    ck_assert_str_eq(info(p.server), "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");
    ck_assert_str_eq(info(p.client), "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");
    ck_assert_int_eq(SSL_session_reused(p.server), 0);
    exchange(&p);
    pair_free(&p);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}
END_TEST

START_TEST(test_tls12_handshake)
{
    SSL_CTX *sctx = server_ctx(">=TLSv1.2", DEFAULT_CIPHERS);
    SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
    PAIR p = pair(cctx, sctx, NULL);

    ck_assert_msg(handshake(&p) == 0, "%s", vbuf_str(why));
    /* The server's order: the first of the Mozilla list for an EC key. */
    ck_assert_str_eq(info(p.server),
                     "TLSv1.2 with cipher ECDHE-ECDSA-AES128-GCM-SHA256 (128/128 bits)");
    exchange(&p);
    pair_free(&p);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}
END_TEST

START_TEST(test_old_protocols_refused)
{
    SSL_CTX *sctx = server_ctx(">=TLSv1.2", DEFAULT_CIPHERS);
    int v;

    /* A client that would do TLS 1.1 or 1.0, whatever its security level. */
    for (v = TLS1_VERSION; v <= TLS1_1_VERSION; v++) {
        SSL_CTX *cctx = client_ctx(v, v, "ALL:@SECLEVEL=0");
        PAIR p = pair(cctx, sctx, NULL);

        ck_assert_int_eq(handshake(&p), -1);
        ck_assert_msg(strstr(vbuf_str(why), "server: ") == vbuf_str(why)
                      && strstr(vbuf_str(why), "unsupported protocol"), "%s", vbuf_str(why));
        pair_free(&p);
        SSL_CTX_free(cctx);
    }
    SSL_CTX_free(sctx);
}
END_TEST

START_TEST(test_protocol_range)
{
    SSL_CTX *sctx = server_ctx("TLSv1.2", DEFAULT_CIPHERS);
    SSL_CTX *cctx13 = client_ctx(TLS1_3_VERSION, TLS1_3_VERSION, NULL);
    SSL_CTX *cctx = client_ctx(TLS1_VERSION, TLS1_3_VERSION, NULL);
    PAIR p;

    ck_assert_int_eq(SSL_CTX_get_min_proto_version(sctx), TLS1_2_VERSION);
    ck_assert_int_eq(SSL_CTX_get_max_proto_version(sctx), TLS1_2_VERSION);
    p = pair(cctx13, sctx, NULL);
    ck_assert_int_eq(handshake(&p), -1);
    pair_free(&p);
    p = pair(cctx, sctx, NULL);
    ck_assert_msg(handshake(&p) == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(SSL_version(p.server), TLS1_2_VERSION);
    pair_free(&p);
    SSL_CTX_free(cctx13);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}
END_TEST

/* 1 when the cipher is one no configuration may turn on. */
static int
never_cipher(const SSL_CIPHER *c)
{
    return SSL_CIPHER_get_auth_nid(c) == NID_auth_null
        || SSL_CIPHER_get_cipher_nid(c) == NID_undef
        || SSL_CIPHER_get_cipher_nid(c) == NID_rc4
        || SSL_CIPHER_get_digest_nid(c) == NID_md5;
}

START_TEST(test_weak_ciphers_never)
{
    static const char *lists[] = {
        "", "ALL:COMPLEMENTOFALL", "aNULL:eNULL:ALL:@SECLEVEL=0",
        "ADH-AES128-SHA:AECDH-AES128-SHA:NULL-SHA:NULL-MD5:ECDHE-ECDSA-AES128-GCM-SHA256",
    };
    size_t i;
    int j;

    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        SSL_CTX *sctx = server_ctx(">=TLSv1", lists[i]);
        STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(sctx);

        ck_assert_int_gt(sk_SSL_CIPHER_num(sk), 0);
        for (j = 0; j < sk_SSL_CIPHER_num(sk); j++)
            ck_assert_msg(!never_cipher(sk_SSL_CIPHER_value(sk, j)), "%s offers %s",
                          lists[i], SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, j)));
        SSL_CTX_free(sctx);
    }
}
END_TEST

START_TEST(test_anonymous_client_refused)
{
    SSL_CTX *sctx = server_ctx(">=TLSv1.2", "ALL:@SECLEVEL=0");
    SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, TLS1_2_VERSION,
                               "aNULL:eNULL:@SECLEVEL=0");
    PAIR p = pair(cctx, sctx, NULL);

    ck_assert_int_eq(handshake(&p), -1);
    ck_assert_msg(strstr(vbuf_str(why), "server: ") == vbuf_str(why)
                  && strstr(vbuf_str(why), "no shared cipher"), "%s", vbuf_str(why));
    pair_free(&p);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}
END_TEST

START_TEST(test_options)
{
    SSL_CTX *sctx = server_ctx(">=TLSv1.2", DEFAULT_CIPHERS);
    uint64_t opts = SSL_CTX_get_options(sctx);

    ck_assert(opts & SSL_OP_NO_COMPRESSION);
    ck_assert(opts & SSL_OP_NO_RENEGOTIATION);
    ck_assert(opts & SSL_OP_CIPHER_SERVER_PREFERENCE);
    ck_assert(!(opts & SSL_OP_NO_TICKET));
    ck_assert_int_eq(SSL_CTX_get_session_cache_mode(sctx), SSL_SESS_CACHE_OFF);
    ck_assert_int_eq(SSL_CTX_get_num_tickets(sctx), 1);
    ck_assert_int_eq(SSL_CTX_get_verify_mode(sctx), SSL_VERIFY_NONE);
    ck_assert(SSL_CTX_get_mode(sctx) & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    ck_assert(SSL_CTX_get_mode(sctx) & SSL_MODE_ENABLE_PARTIAL_WRITE);
    SSL_CTX_free(sctx);
}
END_TEST

/* A second connection with the first one's ticket resumes, with the
 * server's session cache off: the ticket alone carries the session. */
static void
resume_test(int version)
{
    SSL_CTX *sctx = server_ctx(">=TLSv1.2", DEFAULT_CIPHERS);
    SSL_CTX *other = server_ctx(">=TLSv1.2", DEFAULT_CIPHERS);
    SSL_CTX *cctx = client_ctx(version, version, NULL);
    SSL_SESSION *sess;
    PAIR p = pair(cctx, sctx, NULL);

    ck_assert_msg(handshake(&p) == 0, "%s", vbuf_str(why));
    exchange(&p);
    sess = SSL_get1_session(p.client);
    ck_assert_ptr_nonnull(sess);
    ck_assert_int_eq(SSL_SESSION_is_resumable(sess), 1);
    ck_assert_int_eq(SSL_SESSION_has_ticket(sess), 1);
    pair_free(&p);

    p = pair(cctx, sctx, sess);
    ck_assert_msg(handshake(&p) == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(SSL_session_reused(p.server), 1);
    ck_assert_int_eq(SSL_session_reused(p.client), 1);
    ck_assert_int_eq(SSL_version(p.server), version);
    exchange(&p);
    pair_free(&p);

    /* A context with keys of its own (a worker without master's shared
     * keys) cannot read the ticket: a full handshake. */
    p = pair(cctx, other, sess);
    ck_assert_msg(handshake(&p) == 0, "%s", vbuf_str(why));
    ck_assert_int_eq(SSL_session_reused(p.server), 0);
    pair_free(&p);

    SSL_SESSION_free(sess);
    SSL_CTX_free(cctx);
    SSL_CTX_free(other);
    SSL_CTX_free(sctx);
}

START_TEST(test_resume_tls13)
{
    resume_test(TLS1_3_VERSION);
}
END_TEST

START_TEST(test_resume_tls12)
{
    resume_test(TLS1_2_VERSION);
}
END_TEST

START_TEST(test_make_errors)
{
    char other_key[512];
    char bad[512];

    ck_assert_ptr_null(tls_server_ctx_make(cert_path, key_path, "TLSv2", "", why));
    ck_assert_str_eq(vbuf_str(why), "unknown TLS protocol \"TLSv2\" "
                     "(use SSLv2, SSLv3, TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3)");

    vbuf_reset(why);
    ck_assert_ptr_null(tls_server_ctx_make(cert_path, key_path, "", "aNULL", why));
    ck_assert_str_eq(vbuf_str(why), "no usable cipher in tls_ciphers \"aNULL\": "
                     "no cipher match");

    fixture_tls_key("other.key", NULL);
    snprintf(other_key, sizeof(other_key), "%s/other.key", dir);
    vbuf_reset(why);
    ck_assert_ptr_null(tls_server_ctx_make(cert_path, other_key, "", "", why));
    {
        char want[1200];

        snprintf(want, sizeof(want), "the private key in \"%s\" does not match the "
                 "certificate in \"%s\"", other_key, cert_path);
        ck_assert_str_eq(vbuf_str(why), want);
    }

    snprintf(bad, sizeof(bad), "%s/missing.pem", dir);
    vbuf_reset(why);
    ck_assert_ptr_null(tls_server_ctx_make(bad, key_path, "", "", why));
    ck_assert_msg(strstr(vbuf_str(why), "cannot load the certificate chain from \"") == vbuf_str(why),
                  "%s", vbuf_str(why));

    /* The key's passphrase is never asked for (a worker has no terminal). */
    fixture_tls_key("locked.key", "secret");
    snprintf(bad, sizeof(bad), "%s/locked.key", dir);
    vbuf_reset(why);
    ck_assert_ptr_null(tls_server_ctx_make(cert_path, bad, "", "", why));
    ck_assert_msg(strstr(vbuf_str(why), "cannot load the private key from \"") == vbuf_str(why),
                  "%s", vbuf_str(why));
}
END_TEST

/* tls_server_ctx(): from the active configuration, made once. */
START_TEST(test_active_configuration)
{
    CONFIG *conf;
    SSL_CTX *ctx;
    char text[1200];
    int fd;

    conf_activate(fixture_conf_load("# no TLS\n"));
    ck_assert_int_eq(tls_server_enabled(), 0);
    ck_assert_ptr_null(tls_server_ctx(-1, why));
    ck_assert_str_eq(vbuf_str(why), "tls_cert_file is not set");
    conf_free(conf_activate(NULL));

    snprintf(text, sizeof(text), "tls_cert_file = cert.pem\ntls_key_file = %s\n"
             "tls_protocols = TLSv1.3\n", key_path);
    conf = fixture_conf_load(text);
    conf_activate(conf);
    ck_assert_int_eq(tls_server_enabled(), 1);

    /* A descriptor that is no ticket key area is refused. */
    fd = open("/dev/null", O_RDONLY);
    ck_assert_int_ge(fd, 0);
    vbuf_reset(why);
    ck_assert_ptr_null(tls_server_ctx(fd, why));
    ck_assert_int_gt(vbuf_len(why), 0);
    close(fd);

    vbuf_reset(why);
    ctx = tls_server_ctx(-1, why);
    ck_assert_msg(ctx != NULL, "%s", vbuf_str(why));
    ck_assert_ptr_eq(tls_server_ctx(-1, why), ctx);
    ck_assert_int_eq(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
    conf_activate(NULL);
    conf_free(conf);
}
END_TEST

START_TEST(test_util_want_and_why)
{
    SSL_CTX *sctx = server_ctx(">=TLSv1.2", DEFAULT_CIPHERS);
    SSL_CTX *cctx = client_ctx(TLS1_2_VERSION, TLS1_3_VERSION, NULL);
    PAIR p = pair(cctx, sctx, NULL);
    int n;

    /* Nothing from the client yet: the server waits to read. */
    n = SSL_do_handshake(p.server);
    ck_assert_int_eq(tls_want(p.server, n), POLLIN);
    /* The client has sent its hello and waits for the answer. */
    n = SSL_do_handshake(p.client);
    ck_assert_int_eq(tls_want(p.client, n), POLLIN);
    pair_free(&p);

    /* No OpenSSL error: errno's text, else "lost connection". */
    ERR_clear_error();
    errno = EPIPE;
    vbuf_reset(why);
    tls_why(why, "TLS write");
    ck_assert_str_eq(vbuf_str(why), "TLS write: Broken pipe");
    errno = 0;
    vbuf_reset(why);
    tls_why(why, "TLS read");
    ck_assert_str_eq(vbuf_str(why), "TLS read: lost connection");

    /* OpenSSL's first error, and the queue emptied. */
    ck_assert_int_eq(SSL_CTX_set_cipher_list(cctx, "NO-SUCH-CIPHER"), 0);
    vbuf_reset(why);
    tls_why(why, "setting ciphers");
    ck_assert_msg(strncmp(vbuf_str(why), "setting ciphers: error:", 23) == 0
                  && strstr(vbuf_str(why), "no cipher match"), "%s", vbuf_str(why));
    ck_assert_int_eq(ERR_peek_error(), 0);

    /* tls_info before a handshake has no cipher to name. */
    p = pair(cctx, sctx, NULL);
    ck_assert_str_eq(info(p.client), "TLSv1.3");
    pair_free(&p);
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("tls_server");
    TCase *tc = tcase_create("tls_server");
    SRunner *sr;
    int failed;

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_tls13_handshake);
    tcase_add_test(tc, test_tls12_handshake);
    tcase_add_test(tc, test_old_protocols_refused);
    tcase_add_test(tc, test_protocol_range);
    tcase_add_test(tc, test_weak_ciphers_never);
    tcase_add_test(tc, test_anonymous_client_refused);
    tcase_add_test(tc, test_options);
    tcase_add_test(tc, test_resume_tls13);
    tcase_add_test(tc, test_resume_tls12);
    tcase_add_test(tc, test_make_errors);
    tcase_add_test(tc, test_active_configuration);
    tcase_add_test(tc, test_util_want_and_why);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
