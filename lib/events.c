/* The per-process event loop: epoll for descriptors, a binary heap for
 * timers (with a hash from callback+context to timer, so that requesting or
 * cancelling one of 10 000 timers stays cheap).
 *
 * Each descriptor carries a generation number that changes whenever all
 * interest in it ends; the generation travels in the epoll data, so an event
 * collected before a callback disabled (and perhaps closed and reused) the
 * descriptor is recognised as stale and dropped. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "events.h"
#include "monotime.h"
#include "msg.h"
#include "mymalloc.h"

#define EVENT_BATCH     256             /* epoll events per wait */

typedef struct EVENT_FD {
    EVENT_FN read_fn;
    void *read_ctx;
    EVENT_FN write_fn;
    void *write_ctx;
    unsigned mask;                      /* EVENT_READ | EVENT_WRITE */
    uint32_t gen;                       /* changes when mask becomes 0 */
} EVENT_FD;

typedef struct EVENT_TIMER {
    EVENT_FN fn;
    void *ctx;
    long long when;
    unsigned long long seq;             /* request order breaks ties */
    size_t heap_pos;
    struct EVENT_TIMER *hash_next;
} EVENT_TIMER;

static int event_epfd = -1;
static EVENT_FD *event_fds;
static size_t event_fd_slots;
static int event_running;

static EVENT_TIMER **event_heap;
static size_t event_heap_len;
static size_t event_heap_cap;
static EVENT_TIMER **event_hash;
static size_t event_hash_size;          /* a power of two, or 0 */
static unsigned long long event_timer_seq;

static long long event_now = -1;

/* Time ---------------------------------------------------------------- */

long long
event_time_refresh(void)
{
    event_now = monotime_ms();
    return event_now;
}

long long
event_now_ms(void)
{
    return event_now < 0 ? event_time_refresh() : event_now;
}

/* Descriptors ---------------------------------------------------------- */

static void
event_init(void)
{
    if (event_epfd < 0 && (event_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
        msg_fatal("epoll_create1: %s", strerror(errno));
}

static EVENT_FD *
event_fd_slot(int fd)
{
    size_t slots;

    if (fd < 0)
        msg_panic("event: bad descriptor %d", fd);
    if ((size_t) fd >= event_fd_slots) {
        for (slots = event_fd_slots ? event_fd_slots : 64;
             slots <= (size_t) fd; slots *= 2)
             /* void */ ;
        event_fds = myrealloc(event_fds, slots * sizeof(*event_fds));
        memset(event_fds + event_fd_slots, 0,
               (slots - event_fd_slots) * sizeof(*event_fds));
        event_fd_slots = slots;
    }
    return event_fds + fd;
}

/* Tells epoll about the descriptor's new mask, given its old one. */
static void
event_fd_update(int fd, unsigned old_mask)
{
    EVENT_FD *ef = event_fds + fd;
    struct epoll_event ev;
    int op;

    event_init();
    memset(&ev, 0, sizeof(ev));
    ev.events = ((ef->mask & EVENT_READ) ? EPOLLIN : 0)
        | ((ef->mask & EVENT_WRITE) ? EPOLLOUT : 0);
    ev.data.u64 = ((uint64_t) ef->gen << 32) | (uint32_t) fd;
    op = ef->mask == 0 ? EPOLL_CTL_DEL
        : old_mask == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD;
    if (epoll_ctl(event_epfd, op, fd, &ev) == 0)
        return;
    /* The descriptor was closed (or registered) behind our back. */
    if (op == EPOLL_CTL_DEL && (errno == ENOENT || errno == EBADF))
        return;
    if (op == EPOLL_CTL_MOD && errno == ENOENT
        && epoll_ctl(event_epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return;
    if (op == EPOLL_CTL_ADD && errno == EEXIST
        && epoll_ctl(event_epfd, EPOLL_CTL_MOD, fd, &ev) == 0)
        return;
    msg_fatal("epoll_ctl: descriptor %d: %s", fd, strerror(errno));
}

void
event_enable_read(int fd, EVENT_FN callback, void *context)
{
    EVENT_FD *ef = event_fd_slot(fd);
    unsigned old = ef->mask;

    ef->read_fn = callback;
    ef->read_ctx = context;
    ef->mask |= EVENT_READ;
    if (old != ef->mask)
        event_fd_update(fd, old);
}

void
event_enable_write(int fd, EVENT_FN callback, void *context)
{
    EVENT_FD *ef = event_fd_slot(fd);
    unsigned old = ef->mask;

    ef->write_fn = callback;
    ef->write_ctx = context;
    ef->mask |= EVENT_WRITE;
    if (old != ef->mask)
        event_fd_update(fd, old);
}

static void
event_disable(int fd, unsigned which)
{
    EVENT_FD *ef;
    unsigned old;

    if (fd < 0 || (size_t) fd >= event_fd_slots)
        return;
    ef = event_fds + fd;
    old = ef->mask;
    ef->mask &= ~which;
    if (which & EVENT_READ)
        ef->read_fn = NULL, ef->read_ctx = NULL;
    if (which & EVENT_WRITE)
        ef->write_fn = NULL, ef->write_ctx = NULL;
    if (old == ef->mask)
        return;
    if (ef->mask == 0)
        ef->gen++;
    event_fd_update(fd, old);
}

void
event_disable_read(int fd)
{
    event_disable(fd, EVENT_READ);
}

void
event_disable_write(int fd)
{
    event_disable(fd, EVENT_WRITE);
}

void
event_disable_readwrite(int fd)
{
    event_disable(fd, EVENT_READ | EVENT_WRITE);
}

void
event_fork(void)
{
    size_t fd;

    if (event_epfd < 0)
        return;
    close(event_epfd);
    event_epfd = -1;
    event_init();
    for (fd = 0; fd < event_fd_slots; fd++)
        if (event_fds[fd].mask)
            event_fd_update((int) fd, 0);
}

/* Timers --------------------------------------------------------------- */

static size_t
event_hash_index(EVENT_FN fn, void *ctx, size_t size)
{
    uint64_t h = (uint64_t) (uintptr_t) fn * 0x9e3779b97f4a7c15ULL
        ^ (uint64_t) (uintptr_t) ctx * 0xc2b2ae3d27d4eb4fULL;

    return (size_t) (h ^ (h >> 29)) & (size - 1);
}

static EVENT_TIMER **
event_hash_find(EVENT_FN fn, void *ctx)
{
    EVENT_TIMER **tp;

    if (event_hash_size == 0)
        return NULL;
    for (tp = event_hash + event_hash_index(fn, ctx, event_hash_size); *tp;
         tp = &(*tp)->hash_next)
        if ((*tp)->fn == fn && (*tp)->ctx == ctx)
            return tp;
    return NULL;
}

static void
event_hash_insert(EVENT_TIMER *t)
{
    EVENT_TIMER **old = event_hash, *next;
    size_t old_size = event_hash_size, i, h;

    if (event_heap_len >= event_hash_size) {
        event_hash_size = old_size ? old_size * 2 : 64;
        event_hash = mycalloc(event_hash_size, sizeof(*event_hash));
        for (i = 0; i < old_size; i++) {
            for (EVENT_TIMER *o = old[i]; o; o = next) {
                next = o->hash_next;
                h = event_hash_index(o->fn, o->ctx, event_hash_size);
                o->hash_next = event_hash[h];
                event_hash[h] = o;
            }
        }
        myfree(old);
    }
    h = event_hash_index(t->fn, t->ctx, event_hash_size);
    t->hash_next = event_hash[h];
    event_hash[h] = t;
}

static int
event_timer_before(const EVENT_TIMER *a, const EVENT_TIMER *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void
event_heap_place(EVENT_TIMER *t, size_t pos)
{
    event_heap[pos] = t;
    t->heap_pos = pos;
}

/* Restores heap order around pos after its timer was changed or placed. */
static void
event_heap_fix(size_t pos)
{
    EVENT_TIMER *t = event_heap[pos];
    size_t child;

    while (pos > 0 && event_timer_before(t, event_heap[(pos - 1) / 2])) {
        event_heap_place(event_heap[(pos - 1) / 2], pos);
        pos = (pos - 1) / 2;
    }
    for (;;) {
        child = 2 * pos + 1;
        if (child >= event_heap_len)
            break;
        if (child + 1 < event_heap_len
            && event_timer_before(event_heap[child + 1], event_heap[child]))
            child++;
        if (!event_timer_before(event_heap[child], t))
            break;
        event_heap_place(event_heap[child], pos);
        pos = child;
    }
    event_heap_place(t, pos);
}

/* Takes the timer out of the heap and the hash; tp is its hash link. */
static void
event_timer_unlink(EVENT_TIMER **tp)
{
    EVENT_TIMER *t = *tp;
    size_t pos = t->heap_pos;

    *tp = t->hash_next;
    if (--event_heap_len > pos) {
        event_heap_place(event_heap[event_heap_len], pos);
        event_heap_fix(pos);
    }
}

long long
event_request_timer(EVENT_FN callback, void *context, long long delay_ms)
{
    EVENT_TIMER **tp = event_hash_find(callback, context);
    EVENT_TIMER *t;

    if (delay_ms < 0)
        delay_ms = 0;
    if (tp) {
        t = *tp;
    } else {
        t = mymalloc(sizeof(*t));
        t->fn = callback;
        t->ctx = context;
        event_hash_insert(t);
        if (event_heap_len == event_heap_cap) {
            event_heap_cap = event_heap_cap ? event_heap_cap * 2 : 64;
            event_heap = myrealloc(event_heap,
                                   event_heap_cap * sizeof(*event_heap));
        }
        event_heap_place(t, event_heap_len++);
    }
    t->when = event_now_ms() + delay_ms;
    t->seq = event_timer_seq++;
    event_heap_fix(t->heap_pos);
    return t->when;
}

int
event_cancel_timer(EVENT_FN callback, void *context)
{
    EVENT_TIMER **tp = event_hash_find(callback, context);
    EVENT_TIMER *t;

    if (tp == NULL)
        return -1;
    t = *tp;
    event_timer_unlink(tp);
    myfree(t);
    return 0;
}

/* Runs the timers that are due and were requested before this call. */
static void
event_run_timers(void)
{
    unsigned long long limit = event_timer_seq;
    EVENT_TIMER *t;
    EVENT_FN fn;
    void *ctx;

    while (event_heap_len > 0) {
        t = event_heap[0];
        if (t->when > event_now || t->seq >= limit)
            break;
        event_timer_unlink(event_hash_find(t->fn, t->ctx));
        fn = t->fn;
        ctx = t->ctx;
        myfree(t);
        fn(EVENT_TIME, ctx);
    }
}

/* The loop ------------------------------------------------------------- */

/* Calls the descriptor's callback if the event is not stale. */
static void
event_dispatch(int fd, uint32_t gen, unsigned which)
{
    EVENT_FD *ef;

    if ((size_t) fd >= event_fd_slots)
        return;
    ef = event_fds + fd;
    if (ef->gen != gen || !(ef->mask & which))
        return;
    if (which == EVENT_READ)
        ef->read_fn(EVENT_READ, ef->read_ctx);
    else
        ef->write_fn(EVENT_WRITE, ef->write_ctx);
}

void
event_loop(int max_wait_ms)
{
    static struct epoll_event *events;
    long long delay;
    int timeout = max_wait_ms < 0 ? -1 : max_wait_ms;
    int n, i, fd;
    uint32_t gen;

    if (event_running)
        msg_panic("event_loop: called from an event callback");
    event_running = 1;
    event_init();
    if (events == NULL)
        events = mymalloc(EVENT_BATCH * sizeof(*events));

    event_time_refresh();
    if (event_heap_len > 0) {
        delay = event_heap[0]->when - event_now;
        if (delay < 0)
            delay = 0;
        if (delay > INT_MAX)
            delay = INT_MAX;
        if (timeout < 0 || delay < timeout)
            timeout = (int) delay;
    }
    n = epoll_wait(event_epfd, events, EVENT_BATCH, timeout);
    if (n < 0) {
        if (errno != EINTR)
            msg_fatal("epoll_wait: %s", strerror(errno));
        n = 0;
    }
    event_time_refresh();

    for (i = 0; i < n; i++) {
        fd = (int) (uint32_t) events[i].data.u64;
        gen = (uint32_t) (events[i].data.u64 >> 32);
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
            event_dispatch(fd, gen, EVENT_READ);
        if (events[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
            event_dispatch(fd, gen, EVENT_WRITE);
    }
    event_run_timers();
    event_running = 0;
}
