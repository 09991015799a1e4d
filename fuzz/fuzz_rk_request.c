/* libFuzzer target for ratekeeper's request parser and dispatch: the
 * input is a stream of messages in the framing of every local socket, each
 * parsed with attr_parse() and answered by rk_request_handle() on a fresh
 * in-memory state, as ratekeeper would answer them on its socket.
 *
 * Four attributes that ratekeeper ignores drive the harness, so that
 * seeds stay readable: fuzz_client=N (the socket the request comes from,
 * 0 to 7; default 1), fuzz_gone=1 (that socket closes first),
 * fuzz_advance=MS (the clock moves on first), and fuzz_plan=N (the
 * request is handled as with the Redis backend: gathered, then answered
 * with a plan whose operations have N as their result when N > 0, none
 * otherwise; the answering run must ask for exactly what the gathering
 * run noted).
 *
 * Checked: every reply has a status, prints and parses back to itself;
 * the connections of the sockets add up to the per-address counts; once
 * every socket is gone no connection is left; and every window expires
 * once its time has passed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attr.h"
#include "msg.h"
#include "ratekeeper/rk_request.h"

#define FUZZ_T0         1700000000000LL
#define FUZZ_CLIENTS    8
#define FUZZ_CENTURY_MS (100LL * 366 * 86400 * 1000)

#define fuzz_check(ok) do { \
        if (!(ok)) { \
            fprintf(stderr, "fuzz_rk_request: line %d: %s\n", __LINE__, #ok); \
            abort(); \
        } \
    } while (0)

static void
fuzz_check_reply(const ATTR *reply)
{
    VBUF *printed = vbuf_create(128);
    ATTR *copy = attr_create();
    size_t used;
    long status;

    fuzz_check(attr_get_long(reply, "status", &status) == 0);
    fuzz_check(status >= -1 && status <= 1);
    fuzz_check(status >= 0 || attr_get(reply, "reason") != NULL);
    attr_print(printed, reply);
    fuzz_check(attr_parse(copy, vbuf_str(printed), vbuf_len(printed), &used,
                          NULL) == 1 && used == vbuf_len(printed));
    fuzz_check(attr_count(copy) == attr_count(reply));
    vbuf_free(printed);
    attr_free(copy);
}

static void
fuzz_sum_conns(const char *key, unsigned long count, void *context)
{
    (void) key;
    fuzz_check(count > 0);
    *(unsigned long *) context += count;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    msg_init("fuzz_rk_request");
    msg_open("/dev/null");
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    RK_STATE *state = rk_state_create(NULL);
    ATTR *request = attr_create();
    ATTR *reply = attr_create();
    long long now = FUZZ_T0;
    unsigned long sum;
    size_t off = 0, used;
    long v;
    int client, i;

    while (attr_parse(request, (const char *) data + off, size - off, &used,
                      NULL) == 1) {
        size_t windows = rk_window_table_size(state->windows);

        off += used;
        client = 1;
        if (attr_get_long(request, "fuzz_client", &v) == 0)
            client = (int) (v & (FUZZ_CLIENTS - 1));
        if (attr_get(request, "fuzz_gone") != NULL)
            rk_request_client_gone(state, (unsigned long) client);
        /* Up to a century on: a wall clock, not the end of time. */
        if (attr_get_long(request, "fuzz_advance", &v) == 0 && v > 0
            && v < FUZZ_CENTURY_MS && now + v < FUZZ_T0 + FUZZ_CENTURY_MS)
            now += v;
        attr_reset(reply);
        if (attr_get_long(request, "fuzz_plan", &v) == 0) {
            RK_PLAN *plan = rk_plan_create();
            int j;

            state->plan = plan;
            rk_request_handle(state, request, reply, (unsigned long) client,
                              now);
            fuzz_check(rk_window_table_size(state->windows) == windows);
            for (j = 0; v > 0 && j < plan->nops; j++) {
                plan->ops[j].answered = 1;
                plan->ops[j].count = (unsigned long) (v & 0xffff);
            }
            rk_plan_answer(plan);
            attr_reset(reply);
            rk_request_handle(state, request, reply, (unsigned long) client,
                              now);
            state->plan = NULL;
            fuzz_check(plan->mismatches == 0);
            fuzz_check(plan->next == plan->nops);
            rk_plan_free(plan);
        } else {
            rk_request_handle(state, request, reply, (unsigned long) client,
                              now);
        }
        fuzz_check_reply(reply);
    }

    /* Releasing every socket leaves no connection anywhere. */
    sum = 0;
    rk_conn_walk(state->conns, fuzz_sum_conns, &sum);
    fuzz_check(rk_conn_keys(state->conns) == 0 || sum > 0);
    for (i = 0; i < FUZZ_CLIENTS; i++)
        rk_request_client_gone(state, (unsigned long) i);
    fuzz_check(rk_conn_keys(state->conns) == 0);
    fuzz_check(rk_conn_clients(state->conns) == 0);

    /* After the longest window (plus its last bucket), everything goes. */
    for (i = 0; i < 1000 && rk_window_table_size(state->windows) > 0; i++)
        rk_state_expire(state, now + RK_WINDOW_MAX_MS + RK_WINDOW_MAX_MS / 30,
                        1024, 1024);
    fuzz_check(rk_window_table_size(state->windows) == 0);

    attr_free(request);
    attr_free(reply);
    rk_state_free(state);
    return 0;
}
