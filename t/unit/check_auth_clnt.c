/* Unit tests for authd's typed client (lib/auth_clnt.c) against authd's
 * real request handler behind attr_serv in a forked child, wired as
 * authd.c wires it (a failure's reply deferred and sent from a timer):
 * OK, FAIL after the delay, TEMP, authd absent or silent, every byte of
 * a password but NUL carried, and forget; then replies the real handler
 * never gives (no status, an unknown one, no reason), from canned
 * answers. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attr_serv.h"
#include "auth_clnt.h"
#include "auth_userdb.h"
#include "authd/authd_request.h"
#include "events.h"
#include "fixture.h"
#include "fixture_serv.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "pw_hash.h"

#define DELAY_MS    500
/* openssl passwd -6 -salt saltsalt 'correct horse' */
#define SHA512  "$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0"
#define ODD_PASSWORD "p\xc3\xa4ss\r\nword = \t\x01\x7f~\r"

static char path[256];
static char db_path[256];
static char every_byte[PW_HASH_PASSWORD_MAX + 1];  /* 1..255, 1.. */
static VBUF *why;

/* The server child: authd.c's glue, in short --------------------------- */

static ATTR_SERV *serv;
static AUTHD authd;

typedef struct LATER {
    unsigned long client;
    ATTR *reply;
} LATER;

static void
later_fire(int event, void *context)
{
    LATER *later = context;

    (void) event;
    attr_serv_answer(serv, later->client, later->reply);
    attr_free(later->reply);
    myfree(later);
}

static void
handler(const ATTR *request, ATTR *reply, void *context)
{
    AUTHD_CHECK *check;
    long long delay;
    LATER *later;
    int i;

    (void) context;
    switch (authd_request_handle(&authd, request, reply, monotime_ms(),
                                 &delay, &check)) {
    case AUTHD_ANSWER_LATER:
        later = mymalloc(sizeof(*later));
        later->client = attr_serv_defer(serv);
        later->reply = attr_create();
        for (i = 0; i < attr_count(reply); i++)
            attr_set(later->reply, attr_name_at(reply, i),
                     attr_value_at(reply, i));
        event_request_timer(later_fire, later, delay);
        break;
    case AUTHD_ANSWER_BACKEND:
        abort();
    }
}

static void
serve(int listen_fd, void *context)
{
    static const unsigned char salt[AUTHD_CACHE_SALT_LEN] = "x";

    msg_open("/dev/null");
    authd.backend = AUTHD_BACKEND_LOCAL;
    authd.local = authd_local_create(context, SHA512);
    authd.cache = authd_cache_create(salt, sizeof(salt), 100);
    authd.delay = authd_delay_create(100);
    authd.cache_ms = 60000;
    authd.limits.base_ms = DELAY_MS;
    authd.limits.limit = 0;
    authd.limits.window_ms = 60000;
    serv = attr_serv_create(listen_fd, AUTH_PROTO, AUTH_VERSION, handler,
                            NULL);
    fixture_serv_loop();
}

/* A server of canned answers: the user name says which. */
static void
canned(const ATTR *request, ATTR *reply, void *context)
{
    const char *user = attr_get(request, "user");

    (void) context;
    if (user == NULL || strcmp(user, "nostatus") == 0) {
        attr_set(reply, "reason", "what status?");
    } else if (strcmp(user, "badstatus") == 0) {
        attr_set(reply, "status", "0x");
    } else if (strcmp(user, "seven") == 0) {
        attr_set(reply, "status", "7");
        attr_set(reply, "reason", "a newer authd");
    } else if (strcmp(user, "wraps") == 0) {
        attr_set(reply, "status", "4294967296");       /* 0 in an int */
    } else if (strcmp(user, "fail") == 0) {
        attr_set(reply, "status", "1");
    } else if (strcmp(user, "temp") == 0) {
        attr_set(reply, "status", "2");
    } else {
        attr_set(reply, "status", "-1");
    }
}

static void
serve_canned(int listen_fd, void *context)
{
    (void) context;
    attr_serv_create(listen_fd, AUTH_PROTO, AUTH_VERSION, canned, NULL);
    fixture_serv_loop();
}

/* The client side -------------------------------------------------------- */

static void
add_user(const char *name, const char *password)
{
    VBUF *hash = vbuf_create(128);

    ck_assert_int_eq(pw_hash_make(password, hash, why), 0);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, name,
                                        vbuf_str(hash), -1, -1, why), 0);
    vbuf_free(hash);
}

static void
setup(void)
{
    const char *dir = fixture_dir_create("check_auth_clnt");
    int i;

    snprintf(path, sizeof(path), "%s/" AUTH_SOCKET_NAME, dir);
    snprintf(db_path, sizeof(db_path), "%s/users.db", dir);
    why = vbuf_create(64);
    for (i = 0; i < (int) sizeof(every_byte) - 1; i++)
        every_byte[i] = (char) (i % 255 + 1);
    every_byte[sizeof(every_byte) - 1] = 0;
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_ADD, "alice",
                                        SHA512, -1, -1, why), 0);
}

static void
teardown(void)
{
    fixture_serv_stop();
    fixture_dir_remove();
    vbuf_free(why);
}

START_TEST(test_ok_fail)
{
    AUTH_CLNT *clnt;
    long long start;

    fixture_serv_start(path, serve, db_path);
    clnt = auth_clnt_create(path, 5000);
    start = monotime_ms();
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      "192.0.2.1", why), AUTH_CLNT_OK);
    ck_assert_int_lt(monotime_ms() - start, DELAY_MS);
    /* A failure comes after the delay, with the one reason. */
    start = monotime_ms();
    ck_assert_int_eq(auth_clnt_verify(clnt, "LOGIN", "alice", "wrong",
                                      "192.0.2.1", why), AUTH_CLNT_FAIL);
    ck_assert_int_ge(monotime_ms() - start, DELAY_MS - 50);
    ck_assert_str_eq(vbuf_str(why), "authentication failed");
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "nobody", "wrong", NULL,
                                      why), AUTH_CLNT_FAIL);
    ck_assert_str_eq(vbuf_str(why), "authentication failed");
    /* The connection goes on after a deferred reply. */
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "ALICE",
                                      "correct horse", NULL, why),
                     AUTH_CLNT_OK);
    auth_clnt_free(clnt);
}
END_TEST

START_TEST(test_password_bytes)
{
    AUTH_CLNT *clnt;
    char prefix[sizeof(every_byte)];

    add_user("odd", ODD_PASSWORD);
    add_user("every", every_byte);
    fixture_serv_start(path, serve, db_path);
    clnt = auth_clnt_create(path, 5000);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "odd", ODD_PASSWORD,
                                      NULL, why), AUTH_CLNT_OK);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "every", every_byte,
                                      NULL, why), AUTH_CLNT_OK);
    /* Not a byte less. */
    memcpy(prefix, every_byte, sizeof(prefix));
    prefix[strlen(prefix) - 1] = 0;
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "every", prefix, NULL,
                                      why), AUTH_CLNT_FAIL);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "odd", "p\xc3\xa4ss",
                                      NULL, why), AUTH_CLNT_FAIL);
    auth_clnt_free(clnt);
}
END_TEST

START_TEST(test_unsendable_user)
{
    AUTH_CLNT *clnt = auth_clnt_create(path, 1000);

    /* Nobody's name has a line break: no, without asking (no server). */
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice\r\nrequest=forget",
                                      "x", NULL, why), AUTH_CLNT_FAIL);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice\n", "x", NULL,
                                      why), AUTH_CLNT_FAIL);
    auth_clnt_free(clnt);
}
END_TEST

START_TEST(test_temp)
{
    AUTH_CLNT *clnt;

    /* authd not running: never success. */
    clnt = auth_clnt_create(path, 1000);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      NULL, why), AUTH_CLNT_TEMP);
    ck_assert_msg(strstr(vbuf_str(why), path) != NULL, "%s", vbuf_str(why));
    ck_assert_int_eq(auth_clnt_forget(clnt, "alice", why), -1);
    auth_clnt_free(clnt);

    /* The database cannot be read: authd says it cannot tell. */
    fixture_write_str("users.db", "garbage\n");
    fixture_serv_start(path, serve, db_path);
    clnt = auth_clnt_create(path, 5000);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      NULL, why), AUTH_CLNT_TEMP);
    ck_assert_msg(strstr(vbuf_str(why), "users.db") != NULL, "%s",
                  vbuf_str(why));
    /* A request authd refuses (status=-1) is no success either. */
    ck_assert_int_eq(auth_clnt_verify(clnt, "CRAM-MD5", "alice",
                                      "correct horse", NULL, why),
                     AUTH_CLNT_TEMP);
    ck_assert_str_eq(vbuf_str(why), "authd refused the request: no method, or not PLAIN or LOGIN");
    auth_clnt_free(clnt);
}
END_TEST

START_TEST(test_silent)
{
    AUTH_CLNT *clnt;
    long long start;

    fixture_serv_start(path, fixture_serv_silent,
                       (void *) "proto=authd\nversion=1\n\n");
    clnt = auth_clnt_create(path, 300);
    start = monotime_ms();
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      NULL, why), AUTH_CLNT_TEMP);
    ck_assert_int_lt(monotime_ms() - start, 1000);
    auth_clnt_free(clnt);
}
END_TEST

START_TEST(test_wrong_proto)
{
    AUTH_CLNT *clnt;

    fixture_serv_start(path, fixture_serv_silent,
                       (void *) "proto=ratekeeper\nversion=1\n\n");
    clnt = auth_clnt_create(path, 1000);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      NULL, why), AUTH_CLNT_TEMP);
    auth_clnt_free(clnt);
}
END_TEST

START_TEST(test_others_not_delayed)
{
    AUTH_CLNT *clnt;
    long long start;
    pid_t pid;
    int wstatus;

    fixture_serv_start(path, serve, db_path);
    /* One client waits out its failure's delay; the other is answered
     * meanwhile. */
    if ((pid = fork()) == 0) {
        AUTH_CLNT *other = auth_clnt_create(path, 5000);
        VBUF *w = vbuf_create(64);

        _exit(auth_clnt_verify(other, "PLAIN", "alice", "wrong", NULL, w)
              == AUTH_CLNT_FAIL ? 0 : 1);
    }
    usleep(100000);
    clnt = auth_clnt_create(path, 5000);
    start = monotime_ms();
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      NULL, why), AUTH_CLNT_OK);
    ck_assert_int_lt(monotime_ms() - start, DELAY_MS - 100);
    ck_assert_int_eq(waitpid(pid, &wstatus, 0), pid);
    ck_assert(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    auth_clnt_free(clnt);
}
END_TEST

START_TEST(test_forget)
{
    AUTH_CLNT *clnt;

    fixture_serv_start(path, serve, db_path);
    clnt = auth_clnt_create(path, 5000);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      NULL, why), AUTH_CLNT_OK);
    ck_assert_int_eq(auth_userdb_update(db_path, AUTH_USERDB_DELETE, "alice",
                                        NULL, -1, -1, why), 0);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      NULL, why), AUTH_CLNT_OK);
    ck_assert_int_eq(auth_clnt_forget(clnt, "ALICE", why), 0);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "alice", "correct horse",
                                      NULL, why), AUTH_CLNT_FAIL);
    auth_clnt_free(clnt);
}
END_TEST

/* Whatever authd's reply lacks, it is never taken for success. */
START_TEST(test_odd_replies)
{
    AUTH_CLNT *clnt;

    fixture_serv_start(path, serve_canned, NULL);
    clnt = auth_clnt_create(path, 2000);
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "nostatus", "x", NULL,
                                      why), AUTH_CLNT_TEMP);
    ck_assert_str_eq(vbuf_str(why), "reply without a valid status");
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "badstatus", "x", NULL,
                                      why), AUTH_CLNT_TEMP);
    ck_assert_str_eq(vbuf_str(why), "reply without a valid status");
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "seven", "x", NULL,
                                      why), AUTH_CLNT_TEMP);
    ck_assert_str_eq(vbuf_str(why), "authd: unknown status 7");
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "wraps", "x", NULL,
                                      why), AUTH_CLNT_TEMP);
    ck_assert_str_eq(vbuf_str(why), "authd: unknown status 4294967296");
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "fail", "x", NULL,
                                      why), AUTH_CLNT_FAIL);
    ck_assert_str_eq(vbuf_str(why), "authentication failed");
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "temp", "x", NULL,
                                      why), AUTH_CLNT_TEMP);
    ck_assert_str_eq(vbuf_str(why), "authd cannot tell now");
    ck_assert_int_eq(auth_clnt_verify(clnt, "PLAIN", "refused", "x", NULL,
                                      why), AUTH_CLNT_TEMP);
    ck_assert_str_eq(vbuf_str(why), "authd refused the request: no reason given");

    ck_assert_int_eq(auth_clnt_forget(clnt, "nostatus", why), -1);
    ck_assert_str_eq(vbuf_str(why), "reply without a valid status");
    ck_assert_int_eq(auth_clnt_forget(clnt, "fail", why), -1);
    ck_assert_str_eq(vbuf_str(why), "authd: unexpected status 1");
    ck_assert_int_eq(auth_clnt_forget(clnt, "refused", why), -1);
    ck_assert_str_eq(vbuf_str(why), "authd refused the request: no reason given");
    auth_clnt_free(clnt);
}
END_TEST

static Suite *
auth_clnt_suite(void)
{
    Suite *s = suite_create("auth_clnt");
    TCase *tc = tcase_create("auth_clnt");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_ok_fail);
    tcase_add_test(tc, test_password_bytes);
    tcase_add_test(tc, test_unsendable_user);
    tcase_add_test(tc, test_temp);
    tcase_add_test(tc, test_silent);
    tcase_add_test(tc, test_wrong_proto);
    tcase_add_test(tc, test_others_not_delayed);
    tcase_add_test(tc, test_forget);
    tcase_add_test(tc, test_odd_replies);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(auth_clnt_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
