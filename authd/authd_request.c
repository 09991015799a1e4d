/* The request dispatch: checks each request's attributes, decodes the
 * password, and answers from the cache or the user database, or hands
 * the check to the backend.  Everything here sees what a peer sent, so
 * nothing is trusted: a bad request gets status=-1 and a reason. */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "auth_clnt.h"
#include "authd_request.h"
#include "metrics.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"

/* What the client is told of a failure: the same whatever the reason. */
#define AUTHD_FAILED_TEXT   "authentication failed"

static void
authd_request_error(ATTR *reply, const char *reason)
{
    attr_reset(reply);
    attr_set(reply, "status", "-1");
    attr_set(reply, "reason", reason);
}

/* Strict base64 (RFC 4648, padded) of a password into out, which must
 * then hold no NUL: 0, or -1 with why. */
static int
authd_request_password(const char *b64, VBUF *out, const char **why)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        "abcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t len = strlen(b64), pad = 0;
    int n;

    while (pad < 2 && pad < len && b64[len - 1 - pad] == '=')
        pad++;
    /* Padding only at the end: a '=' before it stops the span short. */
    if (len % 4 != 0 || strspn(b64, alphabet) != len - pad) {
        *why = "password not in base64";
        return -1;
    }
    vbuf_reset(out);
    vbuf_reserve(out, len / 4 * 3 + 1);
    if ((n = EVP_DecodeBlock((unsigned char *) out->data,
                             (const unsigned char *) b64, (int) len)) < 0) {
        *why = "password not in base64";
        return -1;
    }
    out->len = (size_t) n - pad;
    out->data[out->len] = 0;
    if (memchr(out->data, 0, out->len) != NULL) {
        *why = "password with a NUL in it";
        return -1;
    }
    return 0;
}

/* The lowercased (ASCII) form of a name, for the cache and the counts. */
static char *
authd_request_key(const char *user)
{
    char *key = mystrdup(user), *cp;

    for (cp = key; *cp; cp++)
        if (*cp >= 'A' && *cp <= 'Z')
            *cp = (char) (*cp - 'A' + 'a');
    return key;
}

/* A check decided: its result (METRICS_AUTH_RESULT_*) and its time. */
static void
authd_request_count(const AUTHD_CHECK *check, int result)
{
    long long us = monotime_us() - check->started_us;

    metrics_inc(METRICS_AT(AUTHD_CHECKS, result, 0));
    metrics_observe(METRICS_FAM_AUTHD_CHECK_DURATION, METRIC_AUTHD_CHECK_DURATION,
                    us > 0 ? (uint64_t) us : 0);
}

AUTHD_CHECK *
authd_check_free(AUTHD_CHECK *check)
{
    if (check) {
        myfree(check->method);
        myfree(check->user);
        myfree(check->key);
        explicit_bzero(check->password, strlen(check->password));
        myfree(check->password);
        myfree(check->client);
        myfree(check);
    }
    return NULL;
}

/* The reply to a failed check, logged, and its delay. */
static int
authd_request_failed(AUTHD *authd, const AUTHD_CHECK *check,
                     const char *reason, ATTR *reply, long long now,
                     long long *delay_ms)
{
    VBUF *user = vbuf_create(64), *client = vbuf_create(64);
    long failures;
    int first_slow;

    *delay_ms = authd_delay_failure(authd->delay, check->key, now,
                                    &authd->limits, &failures, &first_slow);
    printable_vbuf(user, check->user);
    printable_vbuf(client, check->client);
    msg_info("authentication failed for user=%s client=%s: %s",
             vbuf_str(user), vbuf_str(client), printable_str(reason));
    if (first_slow)
        msg_warn("user=%s: %ld authentication failures within %llds; its failed checks are answered more slowly until the window ends",
                 vbuf_str(user), failures,
                 authd->limits.window_ms / 1000);
    vbuf_free(user);
    vbuf_free(client);
    attr_set(reply, "status", "1");
    attr_set(reply, "reason", AUTHD_FAILED_TEXT);
    return AUTHD_ANSWER_LATER;
}

int
authd_request_backend_done(AUTHD *authd, const AUTHD_CHECK *check,
                           int result, const char *reason, ATTR *reply,
                           long long now, long long *delay_ms)
{
    switch (result) {
    case AUTH_CLNT_OK:
        authd_request_count(check, METRICS_AUTH_RESULT_SUCCESS);
        if (check->epoch == authd->epoch)
            authd_cache_add(authd->cache, check->key, check->password, now,
                            authd->cache_ms);
        attr_set(reply, "status", "0");
        return AUTHD_ANSWER_NOW;
    case AUTH_CLNT_FAIL:
        authd_request_count(check, METRICS_AUTH_RESULT_FAILURE);
        return authd_request_failed(authd, check, reason, reply, now,
                                    delay_ms);
    default:
        authd_request_count(check, METRICS_AUTH_RESULT_ERROR);
        msg_warn("cannot check user=%s now: %s",
                 printable_str(check->user), reason);
        attr_set(reply, "status", "2");
        attr_set(reply, "reason", reason);
        return AUTHD_ANSWER_NOW;
    }
}

static int
authd_request_verify(AUTHD *authd, const ATTR *request, ATTR *reply,
                     long long now, long long *delay_ms, AUTHD_CHECK **out)
{
    const char *user = attr_get(request, "user");
    const char *b64 = attr_get(request, "password");
    const char *method = attr_get(request, "method");
    const char *client = attr_get(request, "client");
    const char *bad = NULL;
    VBUF *password, *why;
    AUTHD_CHECK *check;
    int result, answer;
    long long started_us = monotime_us();

    if (user == NULL || *user == 0) {
        authd_request_error(reply, "no user");
        return AUTHD_ANSWER_NOW;
    }
    if (b64 == NULL) {
        authd_request_error(reply, "no password");
        return AUTHD_ANSWER_NOW;
    }
    if (method == NULL
        || (strcmp(method, "PLAIN") != 0 && strcmp(method, "LOGIN") != 0)) {
        authd_request_error(reply, "no method, or not PLAIN or LOGIN");
        return AUTHD_ANSWER_NOW;
    }
    password = vbuf_create(64);
    if (authd_request_password(b64, password, &bad) < 0
        && strcmp(bad, "password not in base64") == 0) {
        authd_request_error(reply, bad);
        vbuf_free(password);
        return AUTHD_ANSWER_NOW;
    }
    check = mymalloc(sizeof(*check));
    check->method = mystrdup(method);
    check->user = mystrdup(user);
    check->key = authd_request_key(user);
    check->password = mystrdup(vbuf_str(password));
    check->client = mystrdup(client && *client ? client : "unknown");
    check->epoch = authd->epoch;
    check->started_us = started_us;
    explicit_bzero(password->data, password->cap);
    vbuf_free(password);

    /* A NUL would cut the password short for crypt(3): never a match. */
    if (bad != NULL) {
        authd_request_count(check, METRICS_AUTH_RESULT_FAILURE);
        answer = authd_request_failed(authd, check, bad, reply, now,
                                      delay_ms);
    } else if (authd_cache_lookup(authd->cache, check->key, check->password,
                                  now)) {
        metrics_inc(METRIC_AUTHD_CACHE_HITS);
        authd_request_count(check, METRICS_AUTH_RESULT_SUCCESS);
        if (msg_verbose)
            msg_info("user=%s: verified from the cache",
                     printable_str(check->user));
        attr_set(reply, "status", "0");
        answer = AUTHD_ANSWER_NOW;
    } else {
        metrics_inc(METRIC_AUTHD_CACHE_MISSES);
        if (authd->backend == AUTHD_BACKEND_RELAY) {
            *out = check;
            return AUTHD_ANSWER_BACKEND;
        }
        why = vbuf_create(64);
        result = authd_local_verify(authd->local, user, check->password, why);
        answer = authd_request_backend_done(authd, check, result,
                                            vbuf_str(why), reply, now,
                                            delay_ms);
        vbuf_free(why);
    }
    authd_check_free(check);
    return answer;
}

static int
authd_request_forget(AUTHD *authd, const ATTR *request, ATTR *reply)
{
    const char *user = attr_get(request, "user");
    char *key;
    size_t n;

    if (user == NULL || *user == 0) {
        authd_request_error(reply, "no user");
        return AUTHD_ANSWER_NOW;
    }
    key = authd_request_key(user);
    n = authd_cache_forget(authd->cache, key);
    authd->epoch++;
    msg_info("user=%s: forgot %zu cached check%s", printable_str(key), n,
             n == 1 ? "" : "s");
    myfree(key);
    attr_set(reply, "status", "0");
    attr_set_long(reply, "removed", (long) n);
    return AUTHD_ANSWER_NOW;
}

int
authd_request_handle(AUTHD *authd, const ATTR *request, ATTR *reply,
                     long long now, long long *delay_ms, AUTHD_CHECK **check)
{
    const char *verb = attr_get(request, "request");

    *delay_ms = 0;
    *check = NULL;
    if (verb == NULL) {
        authd_request_error(reply, "no request");
        return AUTHD_ANSWER_NOW;
    }
    if (strcmp(verb, "verify") == 0)
        return authd_request_verify(authd, request, reply, now, delay_ms,
                                    check);
    if (strcmp(verb, "forget") == 0)
        return authd_request_forget(authd, request, reply);
    authd_request_error(reply, "unknown request");
    return AUTHD_ANSWER_NOW;
}
