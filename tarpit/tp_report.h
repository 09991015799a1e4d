/* The tarpit's reports of tarpit disconnects to ratekeeper, without
 * blocking the event loop: requests go out on one connection as they
 * come, the answers are read from the event loop in order, and each
 * report's callback runs with the count ratekeeper returned, or with
 * why there is none (ratekeeper down, closed, or not answering within
 * the timeout; then the connection is dropped and the next report opens
 * a new one).  The request is the one rk_clnt_count() makes
 * (rk_clnt.h). */
#ifndef ALLIGATE_TP_REPORT_H
#define ALLIGATE_TP_REPORT_H

/* count >= 0 with why NULL, or count -1 with why. */
typedef void (*TP_REPORT_FN)(long count, const char *why, void *context);

/* Nothing happens before the first report. */
void    tp_report_init(const char *socket_path, int timeout_ms);

/* Counts one tarpit disconnect of key (rk_key.h) over window_ms; done
 * runs from the event loop, or at once when ratekeeper cannot be
 * reached. */
void    tp_report_disconnect(const char *key, long long window_ms,
                             TP_REPORT_FN done, void *context);

/* Reports waiting for an answer. */
int     tp_report_pending(void);

/* Gives up the reports under way (each callback runs with why) and
 * closes the connection. */
void    tp_report_end(void);

#endif
