/* relay's counters (lib/metrics.h): each recipient's result of an
 * attempt, and for those delivered or bounced the time since the
 * message arrived.  Delivery agents, forked from relay, share its slot:
 * the additions are atomic. */
#include "metrics.h"
#include "relay.h"

void
relay_metrics_attempt(const RELAY_RCPT *rcpt, size_t count, double delay)
{
    uint64_t us = delay > 0 ? (uint64_t) (delay * 1e6) : 0;
    size_t  i;

    for (i = 0; i < count; i++) {
        switch (rcpt[i].outcome) {
        case RELAY_RCPT_SENT:
            metrics_inc(METRICS_AT(RELAY_DELIVERIES, METRICS_DELIVERY_SENT, 0));
            metrics_observe(METRICS_FAM_RELAY_DELAY, METRIC_RELAY_DELAY, us);
            break;
        case RELAY_RCPT_BOUNCE:
            metrics_inc(METRICS_AT(RELAY_DELIVERIES, METRICS_DELIVERY_BOUNCED, 0));
            metrics_observe(METRICS_FAM_RELAY_DELAY, METRIC_RELAY_DELAY, us);
            break;
        default:
            metrics_inc(METRICS_AT(RELAY_DELIVERIES, METRICS_DELIVERY_DEFERRED, 0));
            break;
        }
    }
}
