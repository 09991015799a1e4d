/* Unit tests for queue ids. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mymalloc.h"
#include "queue_id.h"

static int
compare_ids(const void *a, const void *b)
{
    return memcmp(a, b, QUEUE_ID_LEN + 1);
}

START_TEST(test_queue_id)
{
    enum { N = 10000, KIDS = 4, PER_KID = 2000 };
    char  (*ids)[QUEUE_ID_LEN + 1] = mycalloc(N + KIDS * PER_KID, QUEUE_ID_LEN + 1);
    int     i, k, fds[2], status;
    ssize_t n;
    size_t  got = 0;

    for (i = 0; i < N; i++) {
        queue_id_new(ids[i]);
        ck_assert(queue_id_valid(ids[i]));
        if (i > 0)      /* strictly increasing within a process */
            ck_assert_int_lt(memcmp(ids[i - 1], ids[i], QUEUE_ID_LEN), 0);
    }
    /* Other processes, at the same time. */
    ck_assert_int_eq(pipe(fds), 0);
    for (k = 0; k < KIDS; k++) {
        if (fork() == 0) {
            char    id[QUEUE_ID_LEN + 1];

            for (i = 0; i < PER_KID; i++) {
                queue_id_new(id);
                if (write(fds[1], id, sizeof(id)) != sizeof(id))
                    _exit(1);
            }
            _exit(0);
        }
    }
    close(fds[1]);
    while ((n = read(fds[0], (char *) ids[N] + got,
                     KIDS * PER_KID * (QUEUE_ID_LEN + 1) - got)) > 0)
        got += (size_t) n;
    close(fds[0]);
    for (k = 0; k < KIDS; k++) {
        ck_assert_int_gt(wait(&status), 0);
        ck_assert_int_eq(status, 0);
    }
    ck_assert_uint_eq(got, KIDS * PER_KID * (QUEUE_ID_LEN + 1));
    qsort(ids, N + KIDS * PER_KID, QUEUE_ID_LEN + 1, compare_ids);
    for (i = 1; i < N + KIDS * PER_KID; i++)
        ck_assert_str_ne(ids[i - 1], ids[i]);
    myfree(ids);

    ck_assert(queue_id_valid("0123456789ABCDEF012"));
    ck_assert(!queue_id_valid("0123456789abcdef012"));
    ck_assert(!queue_id_valid("0123456789ABCDEF01"));
    ck_assert(!queue_id_valid("0123456789ABCDEF0123"));
    ck_assert(!queue_id_valid("../../../etc/passwd"));
    ck_assert(!queue_id_valid("0123456789ABCDEF01/"));
    ck_assert(!queue_id_valid(""));
}
END_TEST

int
main(void)
{
    Suite  *s = suite_create("queue_id");
    TCase  *tc = tcase_create("queue_id");
    SRunner *sr;
    int     failed;

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_queue_id);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
