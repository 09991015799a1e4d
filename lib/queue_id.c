/* Queue ids: new ones, and telling one from any other file name. */
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

#include "queue_id.h"

void
queue_id_new(char buf[QUEUE_ID_LEN + 1])
{
    static unsigned long long last;     /* microseconds of the last id */
    unsigned long long now;
    struct timeval tv;

    gettimeofday(&tv, NULL);
    now = (unsigned long long) tv.tv_sec * 1000000 + (unsigned long long) tv.tv_usec;
    if (now <= last)                    /* same microsecond, or clock step */
        now = last + 1;
    last = now;
    snprintf(buf, QUEUE_ID_LEN + 1, "%08X%05X%06X",
             (unsigned) (now / 1000000 & 0xffffffff),
             (unsigned) (now % 1000000),
             (unsigned) getpid() & 0xffffff);
}

int
queue_id_valid(const char *str)
{
    size_t  i;

    for (i = 0; i < QUEUE_ID_LEN; i++)
        if (!((str[i] >= '0' && str[i] <= '9') || (str[i] >= 'A' && str[i] <= 'F')))
            return 0;
    return str[i] == 0;
}
