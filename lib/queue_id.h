/* Queue ids: the name of a queue file in every directory it passes.
 *
 *   19 upper-case hex digits: 8 of the seconds, 5 of the microseconds, 6 of
 *   the process id (pid_max can reach 2^22). Ids from one process strictly
 *   increase; O_EXCL creation and the no-replace rename catch the rest. */
#ifndef ALLIGATE_QUEUE_ID_H
#define ALLIGATE_QUEUE_ID_H

#define QUEUE_ID_LEN        19

void    queue_id_new(char buf[QUEUE_ID_LEN + 1]);
/* 1 when str is a well-formed queue id, and nothing more. */
int     queue_id_valid(const char *str);

#endif
