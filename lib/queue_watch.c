/* Queue watch: reading queue ids from an inotify descriptor. */
#include <errno.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "msg.h"
#include "queue_id.h"
#include "queue_watch.h"

int
queue_watch_read(int fd, QUEUE_WATCH_FN fn, void *context)
{
    static char buf[65536] __attribute__((aligned(8)));
    const struct inotify_event *ev;
    ssize_t n;
    char   *cp;
    int     overflow = 0;

    for (;;) {
        if ((n = read(fd, buf, sizeof(buf))) < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN)
                msg_warn("inotify read: %m");
            break;
        }
        for (cp = buf; cp < buf + n; cp += sizeof(*ev) + ev->len) {
            ev = (const struct inotify_event *) cp;
            if (ev->mask & IN_Q_OVERFLOW)
                overflow = 1;
            else if (ev->len > 0 && queue_id_valid(ev->name))
                fn(ev->name, context);
        }
    }
    return (overflow);
}
