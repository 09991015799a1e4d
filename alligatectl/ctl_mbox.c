/* Messages in mboxrd form; see ctl_mbox.h. */
#include <string.h>
#include <time.h>

#include "ctl_mbox.h"

void
ctl_mbox_from_line(VBUF *out, const char *sender, long long arrival)
{
    static const char *days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug",
                                   "Sep", "Oct", "Nov", "Dec"};
    const unsigned char *cp;
    time_t  t = (time_t) arrival;
    struct tm tm;

    vbuf_append_str(out, "From ");
    if (sender == NULL || *sender == 0) {
        vbuf_append_str(out, "MAILER-DAEMON");
    } else {
        for (cp = (const unsigned char *) sender; *cp; cp++)
            vbuf_append_char(out, *cp <= ' ' || *cp == 0x7f ? '_' : *cp);
    }
    gmtime_r(&t, &tm);
    vbuf_printf(out, " %s %s %2d %02d:%02d:%02d %04d\n", days[tm.tm_wday], months[tm.tm_mon],
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

/* 1 when the line (without its end) is ^>*From followed by a space. */
static int
ctl_mbox_from_like(const char *line, size_t len)
{
    size_t  i = 0;

    while (i < len && line[i] == '>')
        i++;
    return len - i >= 5 && memcmp(line + i, "From ", 5) == 0;
}

void
ctl_mbox_body(VBUF *out, const char *msg, size_t len)
{
    const char *line = msg, *end = msg + len, *nl;
    size_t  n;

    while (line < end) {
        nl = memchr(line, '\n', (size_t) (end - line));
        n = nl ? (size_t) (nl - line) : (size_t) (end - line);
        /* CR LF becomes LF. */
        if (nl && n > 0 && line[n - 1] == '\r')
            n--;
        if (ctl_mbox_from_like(line, n))
            vbuf_append_char(out, '>');
        vbuf_append(out, line, n);
        vbuf_append_char(out, '\n');
        line = nl ? nl + 1 : end;
    }
    vbuf_append_char(out, '\n');
}
