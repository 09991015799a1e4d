/* alligatectl rate: what ratekeeper counts, through its typed client.
 *
 *   rate show KEY      counts and windows of an address, sender or user;
 *                      for an address, its tarpit disconnects and whether
 *                      smtpd tarpits it now
 *   rate top [N]       the busiest counters now (default 10, at most 80)
 *   rate reset KEY     forgets a key's counts (not its open connections)
 *
 * KEY is an address (IPv6 counts by /64), a sender (anything with an @, or
 * <> for the null sender), or a user name; addr:, sender: or user: in
 * front says which when that is ambiguous. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr_list.h"
#include "conf.h"
#include "ctl.h"
#include "msg.h"
#include "printable.h"
#include "rk_clnt.h"
#include "rk_key.h"
#include "vbuf.h"

#define CTL_RATE_TIMEOUT_MS     10000
#define CTL_RATE_TOP_DEFAULT    10
#define CTL_RATE_TOP_MAX        80
#define CTL_RATE_STATUS_MS      3000

/* "250ms", "45s", "9m58s", "2h5m", "3d4h": the two largest units. */
static const char *
ctl_rate_duration(long long ms, char *buf, size_t size)
{
    static const struct {
        const char *unit;
        long long secs;
    } units[] = {{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}};
    long long secs = ms / 1000;
    size_t i, used = 0;
    int shown = 0;

    if (ms < 1000) {
        snprintf(buf, size, "%lldms", ms);
        return buf;
    }
    buf[0] = 0;
    for (i = 0; i < sizeof(units) / sizeof(units[0]) && shown < 2; i++) {
        if (secs >= units[i].secs) {
            used += (size_t) snprintf(buf + used, size - used, "%lld%s",
                                      secs / units[i].secs, units[i].unit);
            secs %= units[i].secs;
            shown++;
        } else if (shown) {
            break;
        }
        if (used >= size)
            break;
    }
    return buf;
}

static RK_CLNT *
ctl_rate_client(void)
{
    ctl_load_config();
    return rk_clnt_create(rk_clnt_default_path(), CTL_RATE_TIMEOUT_MS,
                          RK_CLNT_FLAG_NONE);
}

static int
ctl_rate_failed(RK_CLNT *clnt)
{
    fprintf(stderr, "alligatectl: cannot talk to ratekeeper: %s\n",
            rk_clnt_error(clnt));
    rk_clnt_free(clnt);
    return 1;
}

/* Checks the key here, so that a typing error gets a clear message. */
static int
ctl_rate_key(const char *text, VBUF *key)
{
    VBUF *why = vbuf_create(64);
    int status = rk_key_canon(key, text, why);

    if (status < 0)
        fprintf(stderr, "alligatectl: \"%s\": %s\n", printable_str(text),
                vbuf_str(why));
    vbuf_free(why);
    return status;
}

/* The count of counter in a show list, 0 when it has none; *window_ms
 * (may be NULL) gets its window. */
static long
ctl_rate_count_of(const RK_CLNT_COUNT *list, int n, const char *counter,
                  long long *window_ms)
{
    int i;

    for (i = 0; i < n; i++) {
        if (strcmp(list[i].counter, counter) == 0) {
            if (window_ms)
                *window_ms = list[i].window_ms;
            return list[i].count;
        }
    }
    return 0;
}

static int
ctl_rate_listed(CONF_ID id, const char *addr)
{
    const CIDR_LIST *list = conf_cidr(id);

    return list != NULL && cidr_list_match_str(list, addr);
}

/* What the tarpit makes of an address, as smtpd would decide it at
 * connect on port 25: its tarpit disconnects against
 * tarpit_disconnect_limit, and whether it is over a limit now (an
 * overlimit penalty running, or more mail than sender_rate_limit in the
 * window). */
static void
ctl_rate_tarpit(const char *text, const RK_CLNT_COUNT *list, int n)
{
    /* As typed: an IPv6 key is a /64, the lists hold addresses. */
    const char *addr = strncmp(text, RK_KEY_ADDR_PREFIX,
                               strlen(RK_KEY_ADDR_PREFIX)) == 0
        ? text + strlen(RK_KEY_ADDR_PREFIX) : text;
    long long window = conf_time_ms(P_tarpit_disconnect_window);
    long long limit = conf_int(P_tarpit_disconnect_limit);
    long long rate_limit = conf_int(P_sender_rate_limit);
    long disconnects = ctl_rate_count_of(list, n, RK_COUNTER_TARPIT, &window);
    long over = ctl_rate_count_of(list, n, RK_COUNTER_OVERLIMIT, NULL);
    long mail = ctl_rate_count_of(list, n, RK_COUNTER_MAIL, NULL);
    int mail_over = rate_limit > 0 && mail > rate_limit;
    /* The whitelist alone: relay_networks clients are tarpitted like
     * anyone. */
    const char *trusted = ctl_rate_listed(P_whitelist, addr) ? "whitelist" : NULL;
    char win[32];

    printf("  tarpit disconnects: %ld in %s", disconnects,
           ctl_rate_duration(window, win, sizeof(win)));
    /* Not the parameter's name: "tarpit_disconnect" is the counter's. */
    if (limit == 0)
        printf(" (no limit)\n");
    else if (disconnects >= limit && trusted == NULL)
        printf(" (limit %lld: refused at connect)\n", limit);
    else
        printf(" (limit %lld)\n", limit);
    if (trusted)
        printf("  tarpitted now: no (in %s)\n", trusted);
    else if (over == 0 && !mail_over)
        printf("  tarpitted now: no\n");
    else if (!conf_bool(P_tarpit))
        printf("  tarpitted now: no (over a limit, but tarpit = no)\n");
    else if (over > 0 && mail_over)
        printf("  tarpitted now: yes (overlimit %ld, mail %ld > sender_rate_limit %lld)\n",
               over, mail, rate_limit);
    else if (over > 0)
        printf("  tarpitted now: yes (overlimit %ld)\n", over);
    else
        printf("  tarpitted now: yes (mail %ld > sender_rate_limit %lld)\n",
               mail, rate_limit);
}

static int
ctl_rate_show(const char *text)
{
    VBUF *key = vbuf_create(64), *canon = vbuf_create(64);
    RK_CLNT_COUNT *list;
    RK_CLNT *clnt;
    char win[32], clear[32];
    int n, i;

    if (ctl_rate_key(text, key) < 0) {
        vbuf_free(key);
        vbuf_free(canon);
        return 1;
    }
    clnt = ctl_rate_client();
    i = rk_clnt_show(clnt, vbuf_str(key), canon, &list, &n);
    vbuf_free(key);
    if (i != RK_CLNT_OK) {
        vbuf_free(canon);
        return ctl_rate_failed(clnt);
    }
    printf("%s\n", printable_str(vbuf_str(canon)));
    if (n == 0)
        printf("  no counts\n");
    for (i = 0; i < n; i++) {
        if (list[i].window_ms > 0)
            printf("  %-18s %8ld in %s, all gone in %s\n",
                   printable_str(list[i].counter), list[i].count,
                   ctl_rate_duration(list[i].window_ms, win, sizeof(win)),
                   ctl_rate_duration(list[i].clear_ms, clear, sizeof(clear)));
        else
            printf("  %-18s %8ld open\n", printable_str(list[i].counter),
                   list[i].count);
    }
    if (rk_key_is_address(vbuf_str(canon)))
        ctl_rate_tarpit(text, list, n);
    rk_clnt_counts_free(list, n);
    rk_clnt_free(clnt);
    vbuf_free(canon);
    return 0;
}

static int
ctl_rate_top(const char *arg)
{
    RK_CLNT_COUNT *list;
    RK_CLNT *clnt;
    VBUF *counter, *key;
    char *end;
    long limit = CTL_RATE_TOP_DEFAULT;
    int n, i;

    if (arg) {
        limit = strtol(arg, &end, 10);
        if (*arg == 0 || *end != 0 || limit < 1 || limit > CTL_RATE_TOP_MAX) {
            fprintf(stderr, "alligatectl: rate top: N must be 1 to %d\n",
                    CTL_RATE_TOP_MAX);
            return 2;
        }
    }
    clnt = ctl_rate_client();
    if (rk_clnt_top(clnt, (int) limit, &list, &n) != RK_CLNT_OK)
        return ctl_rate_failed(clnt);
    counter = vbuf_create(32);
    key = vbuf_create(64);
    for (i = 0; i < n; i++)
        printf("%8ld  %-18s %s\n", list[i].count,
               printable_vbuf(counter, list[i].counter),
               printable_vbuf(key, list[i].key));
    vbuf_free(counter);
    vbuf_free(key);
    rk_clnt_counts_free(list, n);
    rk_clnt_free(clnt);
    return 0;
}

static int
ctl_rate_reset(const char *text)
{
    VBUF *key = vbuf_create(64);
    RK_CLNT *clnt;
    long removed;

    if (ctl_rate_key(text, key) < 0) {
        vbuf_free(key);
        return 1;
    }
    clnt = ctl_rate_client();
    if (rk_clnt_reset(clnt, vbuf_str(key), &removed) != RK_CLNT_OK) {
        vbuf_free(key);
        return ctl_rate_failed(clnt);
    }
    printf("alligatectl: %s: %ld counter%s reset\n",
           printable_str(vbuf_str(key)), removed, removed == 1 ? "" : "s");
    rk_clnt_free(clnt);
    vbuf_free(key);
    return 0;
}

/* For alligatectl status: where the counters are, and whether that
 * answers. */
void
ctl_rate_status(void)
{
    RK_CLNT *clnt = rk_clnt_create(rk_clnt_default_path(), CTL_RATE_STATUS_MS,
                                   RK_CLNT_FLAG_NONE);
    RK_CLNT_STATUS *st;
    VBUF *buf = vbuf_create(64);
    char since[32];

    if (rk_clnt_status(clnt, &st) != RK_CLNT_OK) {
        printf("ratekeeper: no answer: %s\n", rk_clnt_error(clnt));
    } else if (strcmp(st->backend, "redis") == 0) {
        printf("ratekeeper: backend redis %s, %s for %s%s%s, gateway %s, "
               "%ld key%s here\n", printable_vbuf(buf, st->server),
               st->reachable ? "reachable" : "unreachable",
               ctl_rate_duration(st->since_ms, since, sizeof(since)),
               st->reachable || !*st->error ? "" : ": ",
               st->reachable ? "" : printable_str(st->error),
               st->gateway, st->keys, st->keys == 1 ? "" : "s");
    } else {
        printf("ratekeeper: backend %s, %ld key%s\n",
               printable_vbuf(buf, st->backend), st->keys,
               st->keys == 1 ? "" : "s");
    }
    rk_clnt_status_free(st);
    rk_clnt_free(clnt);
    vbuf_free(buf);
}

int
ctl_rate(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "show") == 0)
        return ctl_rate_show(argv[2]);
    if ((argc == 2 || argc == 3) && strcmp(argv[1], "top") == 0)
        return ctl_rate_top(argc == 3 ? argv[2] : NULL);
    if (argc == 3 && strcmp(argv[1], "reset") == 0)
        return ctl_rate_reset(argv[2]);
    ctl_usage();
}
