/* Ratekeeper keys: client addresses (IPv6 by /64), senders (case-folded)
 * and users, in their canonical text form. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "rk_key.h"

/* 1 when text holds no control characters. */
static int
rk_key_printable(const char *text)
{
    const unsigned char *p;

    for (p = (const unsigned char *) text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

static int
rk_key_finish(VBUF *out)
{
    return vbuf_len(out) <= RK_KEY_MAX ? 0 : -1;
}

int
rk_key_address(VBUF *out, const char *addr)
{
    static const unsigned char mapped[12] =
        {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash;
    unsigned char bin[16];
    size_t len = strlen(addr);

    /* "[2001:db8::1]", and the /64 of a key's own form. */
    if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
        addr++;
        len -= 2;
    }
    if ((slash = memchr(addr, '/', len)) != NULL) {
        if (len - (size_t) (slash - addr) != 3 || strncmp(slash, "/64", 3) != 0)
            return -1;
        len = (size_t) (slash - addr);
    }
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, addr, len);
    buf[len] = 0;
    vbuf_set(out, RK_KEY_ADDR_PREFIX);
    if (slash == NULL && inet_pton(AF_INET, buf, bin) == 1) {
        vbuf_append_str(out, inet_ntop(AF_INET, bin, buf, sizeof(buf)));
        return 0;
    }
    if (inet_pton(AF_INET6, buf, bin) != 1)
        return -1;
    if (memcmp(bin, mapped, sizeof(mapped)) == 0) {
        if (slash != NULL)
            return -1;
        vbuf_append_str(out, inet_ntop(AF_INET, bin + 12, buf, sizeof(buf)));
        return 0;
    }
    memset(bin + 8, 0, 8);
    vbuf_append_str(out, inet_ntop(AF_INET6, bin, buf, sizeof(buf)));
    vbuf_append_str(out, "/64");
    return 0;
}

int
rk_key_sender(VBUF *out, const char *sender)
{
    const char *p;

    if (!rk_key_printable(sender))
        return -1;
    vbuf_set(out, RK_KEY_SENDER_PREFIX);
    if (*sender == 0 || strcmp(sender, "<>") == 0) {
        vbuf_append_str(out, "<>");
        return 0;
    }
    for (p = sender; *p; p++)
        vbuf_append_char(out, *p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    return rk_key_finish(out);
}

int
rk_key_user(VBUF *out, const char *user)
{
    if (*user == 0 || !rk_key_printable(user))
        return -1;
    vbuf_set(out, RK_KEY_USER_PREFIX);
    vbuf_append_str(out, user);
    return rk_key_finish(out);
}

static int
rk_key_has_prefix(const char *text, const char *prefix)
{
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

int
rk_key_canon(VBUF *out, const char *text, VBUF *why)
{
    const char *what;
    int status;

    if (rk_key_has_prefix(text, RK_KEY_ADDR_PREFIX)) {
        what = "not a numeric address";
        status = rk_key_address(out, text + strlen(RK_KEY_ADDR_PREFIX));
    } else if (rk_key_has_prefix(text, RK_KEY_SENDER_PREFIX)) {
        what = "bad sender";
        status = rk_key_sender(out, text + strlen(RK_KEY_SENDER_PREFIX));
    } else if (rk_key_has_prefix(text, RK_KEY_USER_PREFIX)) {
        what = "bad user name";
        status = rk_key_user(out, text + strlen(RK_KEY_USER_PREFIX));
    } else if (rk_key_address(out, text) == 0) {
        return 0;
    } else if (strchr(text, '@') != NULL || strcmp(text, "<>") == 0) {
        what = "bad sender";
        status = rk_key_sender(out, text);
    } else {
        what = "bad key";
        status = rk_key_user(out, text);
    }
    if (status == 0)
        return 0;
    vbuf_set(why, what);
    if (strlen(text) > RK_KEY_MAX)
        vbuf_set(why, "key too long");
    return -1;
}

int
rk_key_is_address(const char *key)
{
    return rk_key_has_prefix(key, RK_KEY_ADDR_PREFIX);
}
