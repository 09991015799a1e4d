/* The gateway id and the Redis password (rk_redis_conf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "mymalloc.h"
#include "rk_redis_conf.h"

int
rk_redis_conf_gateway_ok(const char *text)
{
    const char *cp;

    if (*text == 0 || strlen(text) > RK_REDIS_GATEWAY_MAX)
        return 0;
    for (cp = text; *cp; cp++)
        if (!((*cp >= 'a' && *cp <= 'z') || (*cp >= 'A' && *cp <= 'Z')
              || (*cp >= '0' && *cp <= '9') || strchr(".-_", *cp)))
            return 0;
    return 1;
}

/* Reads at most size - 1 bytes of path into buf, NUL-terminated, up to
 * the first line end.  Returns the length, or -1 with errno. */
static ssize_t
rk_redis_conf_read_line(const char *path, char *buf, size_t size)
{
    ssize_t n, got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    char *nl;

    if (fd < 0)
        return -1;
    while ((size_t) got < size - 1
           && (n = read(fd, buf + got, size - 1 - (size_t) got)) > 0)
        got += n;
    close(fd);
    buf[got] = 0;
    if ((nl = strpbrk(buf, "\r\n")) != NULL)
        *nl = 0;
    return (ssize_t) strlen(buf);
}

int
rk_redis_conf_gateway(const char *dir, const char *hostname, VBUF *id,
                      VBUF *why)
{
    char *path = path_join(dir, RK_REDIS_GATEWAY_FILE);
    char buf[RK_REDIS_GATEWAY_MAX + 2], host[64];
    unsigned char rnd[8];
    size_t i;
    int fd, status = -1;

    vbuf_reset(why);
    if (rk_redis_conf_read_line(path, buf, sizeof(buf)) >= 0) {
        if (rk_redis_conf_gateway_ok(buf)) {
            vbuf_set(id, buf);
            status = 0;
        } else {
            vbuf_printf(why, "%s: not a gateway id (letters, digits, \".-_\", "
                        "at most %d)", path, RK_REDIS_GATEWAY_MAX);
        }
        myfree(path);
        return status;
    }
    if (errno != ENOENT) {
        vbuf_printf(why, "%s: %s", path, strerror(errno));
        myfree(path);
        return -1;
    }
    /* The host name's first label, made safe, then 16 random digits. */
    for (i = 0; hostname[i] && hostname[i] != '.' && i < sizeof(host) - 1; i++)
        host[i] = rk_redis_conf_gateway_ok((char[]) {hostname[i], 0})
            ? hostname[i] : '_';
    host[i] = 0;
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd)) {
        vbuf_printf(why, "getrandom: %s", strerror(errno));
        myfree(path);
        return -1;
    }
    vbuf_set(id, i ? host : "gateway");
    vbuf_append_char(id, '-');
    for (i = 0; i < sizeof(rnd); i++)
        vbuf_printf(id, "%02x", rnd[i]);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0
        || write(fd, vbuf_str(id), vbuf_len(id)) != (ssize_t) vbuf_len(id)
        || write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
        vbuf_printf(why, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        myfree(path);
        return -1;
    }
    close(fd);
    myfree(path);
    return 0;
}

int
rk_redis_conf_password(const char *path, VBUF *password, VBUF *why)
{
    char buf[RK_REDIS_PASSWORD_MAX + 2];
    ssize_t len;

    vbuf_reset(why);
    if ((len = rk_redis_conf_read_line(path, buf, sizeof(buf))) < 0) {
        vbuf_printf(why, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (len == 0 || len > RK_REDIS_PASSWORD_MAX) {
        explicit_bzero(buf, sizeof(buf));
        vbuf_printf(why, "%s: %s", path, len ? "password too long"
                    : "no password on the first line");
        return -1;
    }
    vbuf_set(password, buf);
    explicit_bzero(buf, sizeof(buf));
    return 0;
}
