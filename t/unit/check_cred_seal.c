/* Unit tests for sealed AUTH credentials: the round trip, everything that
 * must not open (another key, another queue id, cut, changed, not base64,
 * another version), and the key file's making and checks. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cred_seal.h"
#include "fixture.h"
#include "mymalloc.h"
#include "sasl.h"
#include "vbuf.h"

#define QID     "0123456789ABCDEF012"
#define QID2    "0123456789ABCDEF013"

static VBUF *why, *sealed, *user, *password;

static void
setup(void)
{
    why = vbuf_create(100);
    sealed = vbuf_create(100);
    user = vbuf_create(10);
    password = vbuf_create(10);
}

static void
teardown(void)
{
    vbuf_free(why);
    vbuf_free(sealed);
    vbuf_free(user);
    vbuf_free(password);
}

/* A data directory with a fresh key loaded; returns its path. */
static const char *
keyed_dir(const char *name)
{
    static char base[2048], path[4096];

    if (base[0] == 0)
        snprintf(base, sizeof(base), "%s", fixture_dir_create("check_cred_seal"));
    snprintf(path, sizeof(path), "%s/%s", base, name);
    fixture_mkdir(path);
    ck_assert_msg(cred_seal_init(path, why) == 0, "init: %s", vbuf_str(why));
    return path;
}

/* Opens s for QID and expects a refusal whose reason contains want. */
static void
refused(const char *qid, const char *s, const char *want)
{
    vbuf_set(user, "left over");
    ck_assert_int_eq(cred_open(qid, s, user, password, why), -1);
    ck_assert_msg(strstr(vbuf_str(why), want) != NULL, "why \"%s\", not \"%s\"",
                  vbuf_str(why), want);
    ck_assert_uint_eq(vbuf_len(user), 0);
    ck_assert_uint_eq(vbuf_len(password), 0);
}

/* Raw bytes of a sealed text, and back. */
static size_t
unbase64(const char *in, unsigned char *out)
{
    int     n = EVP_DecodeBlock(out, (const unsigned char *) in, (int) strlen(in));
    size_t  len = strlen(in);

    ck_assert_int_ge(n, 0);
    while (len > 0 && in[len - 1] == '=') {
        len--;
        n--;
    }
    return (size_t) n;
}

static void
base64(const unsigned char *raw, size_t len, VBUF *out)
{
    vbuf_reset(out);
    vbuf_reserve(out, 4 * ((len + 2) / 3));
    out->len = (size_t) EVP_EncodeBlock((unsigned char *) out->data, raw, (int) len);
    out->data[out->len] = 0;
}

START_TEST(test_round_trip)
{
    VBUF   *again = vbuf_create(100);
    char    long_user[SASL_NAME_MAX + 1], long_pw[SASL_PASSWORD_MAX + 1];
    const char *cp;

    keyed_dir("data");
    ck_assert_int_eq(cred_seal(QID, "alice", "s3cret pass", sealed, why), 0);
    for (cp = vbuf_str(sealed); *cp; cp++)
        ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", *cp));
    ck_assert(strstr(vbuf_str(sealed), "alice") == NULL);
    ck_assert_int_eq(cred_open(QID, vbuf_str(sealed), user, password, why), 0);
    ck_assert_str_eq(vbuf_str(user), "alice");
    ck_assert_str_eq(vbuf_str(password), "s3cret pass");

    /* A fresh nonce each time: the same input never seals the same. */
    ck_assert_int_eq(cred_seal(QID, "alice", "s3cret pass", again, why), 0);
    ck_assert_str_ne(vbuf_str(sealed), vbuf_str(again));

    /* The longest name and password, and bytes of every kind. */
    memset(long_user, 'u', SASL_NAME_MAX);
    long_user[SASL_NAME_MAX] = 0;
    memset(long_pw, '\xff', SASL_PASSWORD_MAX);
    long_pw[SASL_PASSWORD_MAX] = 0;
    long_pw[0] = '\x01';
    ck_assert_int_eq(cred_seal(QID, long_user, long_pw, sealed, why), 0);
    ck_assert_uint_lt(vbuf_len(sealed), 16384);
    ck_assert_int_eq(cred_open(QID, vbuf_str(sealed), user, password, why), 0);
    ck_assert_str_eq(vbuf_str(user), long_user);
    ck_assert_str_eq(vbuf_str(password), long_pw);

    /* What cannot be sealed. */
    ck_assert_int_eq(cred_seal(QID, "", "pw", sealed, why), -1);
    ck_assert_int_eq(cred_seal(QID, "alice", "", sealed, why), -1);
    long_pw[0] = 'x';
    ck_assert_int_eq(cred_seal(QID, "alice", long_pw, sealed, why), 0);
    {
        char    too_long[SASL_PASSWORD_MAX + 2];

        memset(too_long, 'p', sizeof(too_long) - 1);
        too_long[sizeof(too_long) - 1] = 0;
        ck_assert_int_eq(cred_seal(QID, "alice", too_long, sealed, why), -1);
    }

    /* The key survives a second init of the same directory. */
    ck_assert_int_eq(cred_seal(QID, "bob", "pw", sealed, why), 0);
    keyed_dir("data");
    ck_assert_int_eq(cred_open(QID, vbuf_str(sealed), user, password, why), 0);
    ck_assert_str_eq(vbuf_str(user), "bob");
    vbuf_free(again);
}
END_TEST

START_TEST(test_refused)
{
    unsigned char raw[4096], copy[4096];
    VBUF   *bad = vbuf_create(100);
    size_t  len, i;
    int     bit;

    keyed_dir("one");
    ck_assert_int_eq(cred_seal(QID, "alice", "s3cret", sealed, why), 0);

    /* Another message's queue id. */
    refused(QID2, vbuf_str(sealed), "authentication failed");
    refused("", vbuf_str(sealed), "authentication failed");

    /* Every bit of every byte changed, one at a time. */
    len = unbase64(vbuf_str(sealed), raw);
    ck_assert_uint_eq(len, 1 + 12 + 5 + 1 + 6 + 16);
    for (i = 0; i < len; i++) {
        for (bit = 0; bit < 8; bit++) {
            memcpy(copy, raw, len);
            copy[i] ^= (unsigned char) (1 << bit);
            base64(copy, len, bad);
            refused(QID, vbuf_str(bad), i == 0 ? "unknown version" : "authentication failed");
        }
    }
    /* Every character of the text changed into every other one. */
    for (i = 0; i < vbuf_len(sealed); i++) {
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
        const char *cp;

        for (cp = alphabet; *cp; cp++) {
            if (*cp == vbuf_str(sealed)[i])
                continue;
            vbuf_set(bad, vbuf_str(sealed));
            bad->data[i] = *cp;
            ck_assert_int_eq(cred_open(QID, vbuf_str(bad), user, password, why), -1);
        }
    }
    /* Cut short at every length, in bytes. */
    for (i = 0; i < len; i++) {
        base64(raw, i, bad);
        refused(QID, vbuf_str(bad), i == 0 ? "bad base64" : i < 1 + 12 + 16 + 3 ? "truncated"
                : "authentication failed");
    }
    /* Cut short in the text, or with more after it. */
    vbuf_set(bad, vbuf_str(sealed));
    vbuf_truncate(bad, vbuf_len(bad) - 4);
    refused(QID, vbuf_str(bad), "authentication failed");
    vbuf_set(bad, vbuf_str(sealed));
    vbuf_truncate(bad, vbuf_len(bad) - 1);
    refused(QID, vbuf_str(bad), "bad base64");
    memcpy(copy, raw, len);
    memset(copy + len, 0, 3);
    base64(copy, len + 3, bad);
    refused(QID, vbuf_str(bad), "authentication failed");

    /* Not base64. */
    refused(QID, "", "bad base64");
    refused(QID, "not base64!", "bad base64");
    refused(QID, "AQ==AQ==", "bad base64");
    refused(QID, "A===", "bad base64");
    vbuf_set(bad, vbuf_str(sealed));
    bad->data[5] = ' ';
    refused(QID, vbuf_str(bad), "bad base64");
    vbuf_set(bad, " ");
    vbuf_append_str(bad, vbuf_str(sealed));
    refused(QID, vbuf_str(bad), "bad base64");
    vbuf_set(bad, vbuf_str(sealed));
    vbuf_append_str(bad, "\n");
    refused(QID, vbuf_str(bad), "bad base64");
    /* Huge. */
    vbuf_reset(bad);
    for (i = 0; i < 5000; i++)
        vbuf_append_str(bad, "AAAA");
    refused(QID, vbuf_str(bad), "bad base64");

    /* Another version. */
    memcpy(copy, raw, len);
    copy[0] = 2;
    base64(copy, len, bad);
    refused(QID, vbuf_str(bad), "unknown version 2");
    copy[0] = 0;
    base64(copy, len, bad);
    refused(QID, vbuf_str(bad), "unknown version 0");

    /* Another key. */
    keyed_dir("two");
    refused(QID, vbuf_str(sealed), "authentication failed");
    keyed_dir("one");
    ck_assert_int_eq(cred_open(QID, vbuf_str(sealed), user, password, why), 0);
    vbuf_free(bad);
}
END_TEST

START_TEST(test_no_key)
{
    const char *dir = fixture_dir_create("check_cred_seal");

    /* A failed init leaves no key behind from an earlier one. */
    ck_assert_int_eq(cred_seal_init(dir, why), 0);
    ck_assert_int_eq(cred_seal(QID, "alice", "pw", sealed, why), 0);
    ck_assert_int_eq(cred_seal_init("/nonexistent/alligate/data", why), -1);
    ck_assert_msg(strstr(vbuf_str(why), "/nonexistent/alligate/data/replay.key") != NULL,
                  "%s", vbuf_str(why));
    ck_assert_int_eq(cred_seal(QID, "alice", "pw", sealed, why), -1);
    ck_assert_str_eq(vbuf_str(why), "no key (cred_seal_init failed or was not called)");
    refused(QID, "AQ==", "no key");
}
END_TEST

START_TEST(test_key_file)
{
    const char *dir = fixture_dir_create("check_cred_seal");
    char    path[4096], key[40];
    struct stat st;
    size_t  len;
    char   *data;

    snprintf(path, sizeof(path), "%s/%s", dir, CRED_SEAL_KEY_FILE);

    /* Made on first use: 32 bytes, mode 0600, nothing else left. */
    umask(0);
    ck_assert_int_eq(cred_seal_init(dir, why), 0);
    umask(022);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert(S_ISREG(st.st_mode));
    ck_assert_int_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(st.st_size, 32);
    ck_assert_int_eq(st.st_uid, geteuid());
    {
        char    ls[4200];
        FILE   *fp;
        int     entries = 0;

        snprintf(ls, sizeof(ls), "ls -A %s", dir);
        ck_assert((fp = popen(ls, "r")) != NULL);
        while (fgets(ls, sizeof(ls), fp))
            entries++;
        pclose(fp);
        ck_assert_int_eq(entries, 1);
    }
    data = fixture_read(path, &len);
    ck_assert_uint_eq(len, 32);
    memcpy(key, data, 32);
    myfree(data);
    ck_assert_int_eq(cred_seal(QID, "alice", "pw", sealed, why), 0);

    /* Not made again. */
    ck_assert_int_eq(cred_seal_init(dir, why), 0);
    data = fixture_read(path, &len);
    ck_assert(memcmp(data, key, 32) == 0);
    myfree(data);

    /* Group or others may read or write it: refused. */
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(cred_seal_init(dir, why), -1);
    ck_assert_msg(strstr(vbuf_str(why), "has mode 0644: group and others must have no access")
                  != NULL, "%s", vbuf_str(why));
    ck_assert_int_eq(cred_seal(QID, "alice", "pw", sealed, why), -1);
    ck_assert_int_eq(chmod(path, 0620), 0);
    ck_assert_int_eq(cred_seal_init(dir, why), -1);
    ck_assert_int_eq(chmod(path, 0604), 0);
    ck_assert_int_eq(cred_seal_init(dir, why), -1);
    ck_assert_int_eq(chmod(path, 0400), 0);
    ck_assert_int_eq(cred_seal_init(dir, why), 0);
    ck_assert_int_eq(chmod(path, 0600), 0);

    /* The wrong size: refused, never repaired. */
    fixture_write(path, key, 31);
    ck_assert_int_eq(cred_seal_init(dir, why), -1);
    ck_assert_msg(strstr(vbuf_str(why), "has 31 bytes, not 32") != NULL, "%s", vbuf_str(why));
    memcpy(key + 32, "more", 4);
    fixture_write(path, key, 36);
    ck_assert_int_eq(cred_seal_init(dir, why), -1);
    ck_assert_msg(strstr(vbuf_str(why), "has 36 bytes, not 32") != NULL, "%s", vbuf_str(why));
    fixture_write(path, "", 0);
    ck_assert_int_eq(cred_seal_init(dir, why), -1);
    data = fixture_read(path, &len);
    ck_assert_uint_eq(len, 0);
    myfree(data);

    /* A symbolic link or a directory: refused. */
    fixture_remove(path);
    ck_assert_int_eq(symlink("/dev/zero", path), 0);
    ck_assert_int_eq(cred_seal_init(dir, why), -1);
    fixture_remove(path);
    fixture_mkdir(CRED_SEAL_KEY_FILE);
    ck_assert_int_eq(cred_seal_init(dir, why), -1);
    fixture_remove(path);

    /* The right key back: what it sealed opens again. */
    fixture_write(path, key, 32);
    ck_assert_int_eq(cred_seal_init(dir, why), 0);
    ck_assert_int_eq(cred_open(QID, vbuf_str(sealed), user, password, why), 0);
    ck_assert_str_eq(vbuf_str(password), "pw");

    /* A directory it cannot write: no key, and why. */
    fixture_mkdir("ro");
    snprintf(path, sizeof(path), "%s/ro", dir);
    ck_assert_int_eq(chmod(path, 0500), 0);
    if (geteuid() != 0) {
        ck_assert_int_eq(cred_seal_init(path, why), -1);
        ck_assert_msg(strstr(vbuf_str(why), "Permission denied") != NULL, "%s", vbuf_str(why));
    }
}
END_TEST

START_TEST(test_wipe)
{
    VBUF   *secret = vbuf_create(16);
    size_t  i, cap;

    vbuf_set(secret, "a password that is long enough to grow the buffer");
    cap = secret->cap;
    cred_wipe(secret);
    ck_assert_uint_eq(vbuf_len(secret), 0);
    ck_assert_uint_eq(secret->cap, cap);
    for (i = 0; i < cap; i++)
        ck_assert_int_eq(secret->data[i], 0);
    cred_wipe(NULL);
    vbuf_free(secret);
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("cred_seal");
    TCase  *tc = tcase_create("cred_seal");
    SRunner *sr;
    int     failed;

    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_no_key);
    tcase_add_test(tc, test_key_file);
    tcase_add_test(tc, test_wipe);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
