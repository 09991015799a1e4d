/* The event loop: one per process, single-threaded, epoll for descriptors
 * and a binary heap for timers, in the manner of Postfix's events.c.
 *
 * Callbacks run from event_loop() only. A callback may enable or disable
 * any descriptor, close it, and request or cancel any timer: an event that
 * was already collected for a descriptor disabled meanwhile is dropped, as
 * is a timer cancelled meanwhile. A timer is named by its callback and
 * context: requesting the same pair again moves it. */
#ifndef ALLIGATE_EVENTS_H
#define ALLIGATE_EVENTS_H

#define EVENT_READ      (1 << 0)        /* readable, or EOF/error/hangup */
#define EVENT_WRITE     (1 << 1)        /* writable, or error */
#define EVENT_TIME      (1 << 2)        /* a timer expired */

typedef void (*EVENT_FN)(int event, void *context);

/* Interest in a descriptor; enabling again replaces the callback. Read and
 * write interest are independent and may have different callbacks. */
void event_enable_read(int fd, EVENT_FN callback, void *context);
void event_enable_write(int fd, EVENT_FN callback, void *context);
void event_disable_read(int fd);
void event_disable_write(int fd);
/* Call this before closing a descriptor that has interest. */
void event_disable_readwrite(int fd);

/* Runs callback(EVENT_TIME, context) once, delay_ms after the loop's
 * current time; returns the deadline. */
long long event_request_timer(EVENT_FN callback, void *context,
                              long long delay_ms);
/* Returns 0 when the timer was pending, -1 when there was none. */
int event_cancel_timer(EVENT_FN callback, void *context);

/* Waits for at most max_wait_ms (-1: until a descriptor is ready or a timer
 * is due), then runs the ready descriptors' callbacks and the due timers.
 * A timer requested by a callback runs at the earliest in the next call. */
void event_loop(int max_wait_ms);

/* Monotonic milliseconds, read once per event_loop() call. */
long long event_now_ms(void);
/* Reads the clock again and returns the new time. */
long long event_time_refresh(void);

/* In the child after fork(): gives the child its own epoll instance with
 * the same interest (the parent's is shared across fork otherwise). */
void event_fork(void);

#endif
