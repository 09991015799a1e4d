/* Time and size values with units, as in main.cf. */
#ifndef ALLIGATE_UNITS_H
#define ALLIGATE_UNITS_H

struct VBUF;

/* "90" (seconds), "500ms", "30s", "10m", "2h", "5d", "1w" into
 * milliseconds.  Returns 0, or -1 with the reason in why. */
int units_time_ms(const char *str, long long *ms, struct VBUF *why);

/* "10240000", "512k", "10m", "1g" (1024-based) into bytes. */
int units_size(const char *str, long long *bytes, struct VBUF *why);

/* Strict decimal integer (optional leading '-'), no overflow. */
int units_int(const char *str, long long *val, struct VBUF *why);

/* Formats milliseconds with the largest exact unit ("300s", "5d"). */
const char *units_time_str(long long ms, char *buf, unsigned size);

#endif
