/* libFuzzer target for authd's request handling: the input is a stream
 * of messages in the framing of every local socket, each parsed with
 * attr_parse() and answered by authd_request_handle(), as authd answers
 * them on its socket, with a real user database (one user, "alice",
 * password "fuzz", a cheap SHA-256 hash so that the fuzzer is not all
 * crypt) in a temporary directory.
 *
 * Attributes that authd ignores drive the harness: fuzz_backend=relay
 * (this request goes to the backend, whose answer is fuzz_result=0|1|2
 * with fuzz_reason=TEXT), fuzz_advance=MS (the clock moves on first).
 *
 * Checked: every reply has a status from -1 to 2 (a reason with -1),
 * prints and parses back to itself; a delayed answer is a failure and
 * waits auth_failure_delay, at most AUTH_SLOW_MAX_MS more; a check for
 * the backend comes with an empty reply; "alice" with "fuzz" is never
 * refused and nothing else is ever accepted by the local database; the
 * cache and the counts stay within their bounds and empty once their
 * time has passed. */
#include <crypt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "attr.h"
#include "auth_clnt.h"
#include "auth_userdb.h"
#include "authd/authd_request.h"
#include "msg.h"

#define FUZZ_T0         1000000LL
#define FUZZ_DELAY_MS   1000
#define FUZZ_CACHE_MAX  64
#define FUZZ_NAMES_MAX  64
#define FUZZ_WINDOW_MS  600000
#define FUZZ_CACHE_MS   300000
#define FUZZ_DAY_MS     (86400LL * 1000)

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_authd_request: line %d: %s\n", __LINE__, \
                    #ok); \
            abort(); \
        } \
    } while (0)

static char fuzz_db[256];
static char fuzz_hash[CRYPT_OUTPUT_SIZE];

static void
fuzz_cleanup(void)
{
    char lock[300];

    snprintf(lock, sizeof(lock), "%s.lock", fuzz_db);
    unlink(fuzz_db);
    unlink(lock);
    *strrchr(fuzz_db, '/') = 0;
    rmdir(fuzz_db);
}

int
LLVMFuzzerInitialize(int *argc, char **argv[])
{
    char dir[] = "/tmp/fuzz_authd.XXXXXX";
    struct crypt_data data;
    VBUF *why = vbuf_create(64);
    const char *hash;

    (void) argc;
    (void) argv;
    msg_init("fuzz_authd_request");
    msg_open("/dev/null");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    snprintf(fuzz_db, sizeof(fuzz_db), "%s/users.db", dir);
    memset(&data, 0, sizeof(data));
    hash = crypt_r("fuzz", "$5$rounds=1000$fuzzsalt$", &data);
    fuzz_check(hash != NULL && hash[0] == '$');
    snprintf(fuzz_hash, sizeof(fuzz_hash), "%s", hash);
    fuzz_check(auth_userdb_update(fuzz_db, AUTH_USERDB_ADD, "alice",
                                  fuzz_hash, -1, -1, why) == 0);
    vbuf_free(why);
    atexit(fuzz_cleanup);
    return 0;
}

/* A reply as authd would send it; its status. */
static long
fuzz_check_reply(const ATTR *reply)
{
    VBUF *printed = vbuf_create(128);
    ATTR *copy = attr_create();
    size_t used;
    long status;

    fuzz_check(attr_get_long(reply, "status", &status) == 0);
    fuzz_check(status >= -1 && status <= 2);
    fuzz_check(status >= 0 || attr_get(reply, "reason") != NULL);
    attr_print(printed, reply);
    fuzz_check(attr_parse(copy, vbuf_str(printed), vbuf_len(printed), &used,
                          NULL) == 1 && used == vbuf_len(printed));
    fuzz_check(attr_count(copy) == attr_count(reply));
    vbuf_free(printed);
    attr_free(copy);
    return status;
}

/* Whether request is the one good login of the database. */
static int
fuzz_is_alice(const ATTR *request)
{
    const char *verb = attr_get(request, "request");
    const char *user = attr_get(request, "user");
    const char *method = attr_get(request, "method");
    const char *password = attr_get(request, "password");

    return verb && strcmp(verb, "verify") == 0 && user
        && strcasecmp(user, "alice") == 0 && method
        && (strcmp(method, "PLAIN") == 0 || strcmp(method, "LOGIN") == 0)
        && password && strcmp(password, "ZnV6eg==") == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char salt[AUTHD_CACHE_SALT_LEN] = "fuzz";
    ATTR *request = attr_create();
    ATTR *reply = attr_create();
    AUTHD authd;
    AUTHD_CHECK *check;
    long long now = FUZZ_T0, delay;
    size_t off = 0, used;
    const char *reason;
    long v, status;
    int answer, local;

    memset(&authd, 0, sizeof(authd));
    authd.local = authd_local_create(fuzz_db, fuzz_hash);
    authd.cache = authd_cache_create(salt, sizeof(salt), FUZZ_CACHE_MAX);
    authd.delay = authd_delay_create(FUZZ_NAMES_MAX);
    authd.cache_ms = FUZZ_CACHE_MS;
    authd.limits.base_ms = FUZZ_DELAY_MS;
    authd.limits.limit = 3;
    authd.limits.window_ms = FUZZ_WINDOW_MS;

    while (attr_parse(request, (const char *) data + off, size - off, &used,
                      NULL) == 1) {
        off += used;
        if (attr_get_long(request, "fuzz_advance", &v) == 0 && v > 0
            && v < FUZZ_DAY_MS)
            now += v;
        reason = attr_get(request, "fuzz_backend");
        authd.backend = reason && strcmp(reason, "relay") == 0
            ? AUTHD_BACKEND_RELAY : AUTHD_BACKEND_LOCAL;
        local = authd.backend == AUTHD_BACKEND_LOCAL;
        attr_reset(reply);
        check = NULL;
        answer = authd_request_handle(&authd, request, reply, now, &delay,
                                      &check);
        if (answer == AUTHD_ANSWER_BACKEND) {
            fuzz_check(!local && check != NULL && attr_count(reply) == 0);
            fuzz_check(check->user && check->key && check->password
                       && check->client && check->method);
            if (attr_get_long(request, "fuzz_result", &v) < 0 || v < 0
                || v > 2)
                v = AUTH_CLNT_TEMP;
            reason = attr_get(request, "fuzz_reason");
            answer = authd_request_backend_done(&authd, check, (int) v,
                                                reason ? reason : "", reply,
                                                now, &delay);
            fuzz_check(answer != AUTHD_ANSWER_BACKEND);
            authd_check_free(check);
        } else {
            fuzz_check(check == NULL);
        }
        status = fuzz_check_reply(reply);
        if (answer == AUTHD_ANSWER_LATER) {
            fuzz_check(status == AUTH_CLNT_FAIL);
            fuzz_check(delay >= FUZZ_DELAY_MS
                       && delay <= FUZZ_DELAY_MS + AUTH_SLOW_MAX_MS);
        } else {
            fuzz_check(status != AUTH_CLNT_FAIL);
        }
        /* The database says yes to alice's password and to nothing else
         * (the cache only remembers what it said). */
        if (local && fuzz_is_alice(request))
            fuzz_check(status == AUTH_CLNT_OK);
        reason = attr_get(request, "request");
        if (local && status == AUTH_CLNT_OK
            && reason && strcmp(reason, "verify") == 0)
            fuzz_check(fuzz_is_alice(request)
                       || authd_cache_size(authd.cache) > 0);
        fuzz_check(authd_cache_size(authd.cache) <= FUZZ_CACHE_MAX);
        fuzz_check(authd_delay_size(authd.delay) <= FUZZ_NAMES_MAX);
    }

    /* Everything has its time. */
    authd_cache_expire(authd.cache, now + FUZZ_CACHE_MS, FUZZ_CACHE_MAX);
    authd_delay_expire(authd.delay, now + FUZZ_WINDOW_MS, FUZZ_WINDOW_MS,
                       FUZZ_NAMES_MAX);
    fuzz_check(authd_cache_size(authd.cache) == 0);
    fuzz_check(authd_delay_size(authd.delay) == 0);

    authd_local_free(authd.local);
    authd_cache_free(authd.cache);
    authd_delay_free(authd.delay);
    attr_free(request);
    attr_free(reply);
    return 0;
}
