/* The figures a reader of the metrics works out from the queue directory
 * when asked, instead of a process counting them: how many messages wait
 * in each of the queue's directories, and how far behind the archiver
 * is (the links smtpd leaves for it in queue_directory/archive,
 * QUEUE_DIR_ARCHIVE; no such directory, as with archive = no, is no
 * backlog). */
#ifndef ALLIGATE_METRICS_SCAN_H
#define ALLIGATE_METRICS_SCAN_H

#include <stdint.h>
#include <time.h>

/* Sets the QUEUE_MESSAGES, ARCHIVE_BACKLOG and ARCHIVE_LAG cells of
 * values[METRICS_NCELLS]; now is the time the lag is counted to.  A
 * directory that cannot be read counts 0. */
void    metrics_scan_queue(const char *queue_dir, time_t now, uint64_t *values);

#endif
