/* Unit tests for descriptor passing (lib/fd_pass.c) over a socketpair:
 * a message and its descriptor arrive together and the descriptor works
 * and is close-on-exec; a message without one; and the refusals, each of
 * which leaves no descriptor open in the receiver: two descriptors,
 * more than the receiver has room for (truncated control data), a
 * message too long, credentials instead of descriptors.  Also EOF and
 * EAGAIN. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fd_pass.h"

static int sv[2];

static void
setup(void)
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
}

static void
teardown(void)
{
    close(sv[0]);
    close(sv[1]);
}

/* Descriptors open in this process. */
static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1;                       /* the directory's own */
}

/* Sends msg with the count descriptors of fds, as a confused peer may. */
static void
send_raw(int sock, const char *msg, const int *fds, int count)
{
    char space[CMSG_SPACE(64 * sizeof(int))];
    struct msghdr mh;
    struct iovec iov;
    struct cmsghdr *cmsg;

    memset(&mh, 0, sizeof(mh));
    memset(space, 0, sizeof(space));
    iov.iov_base = (void *) msg;
    iov.iov_len = strlen(msg);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = space;
    mh.msg_controllen = CMSG_SPACE(count * sizeof(int));
    cmsg = CMSG_FIRSTHDR(&mh);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(count * sizeof(int));
    memcpy(CMSG_DATA(cmsg), fds, count * sizeof(int));
    ck_assert_int_eq(sendmsg(sock, &mh, 0), (ssize_t) strlen(msg));
}

START_TEST(test_pass)
{
    int pipefd[2], fd = -1;
    char buf[64];
    ssize_t n;

    ck_assert_int_eq(pipe(pipefd), 0);
    ck_assert_int_eq(fd_pass_send(sv[0], "hello", 5, pipefd[1],
                                  MSG_DONTWAIT | MSG_NOSIGNAL), 5);
    close(pipefd[1]);
    n = fd_pass_recv(sv[1], buf, sizeof(buf), &fd, MSG_DONTWAIT);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(memcmp(buf, "hello", 5), 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    /* The same pipe: what goes in at the passed end comes out. */
    ck_assert_int_eq(write(fd, "x", 1), 1);
    ck_assert_int_eq(read(pipefd[0], buf, sizeof(buf)), 1);
    ck_assert_int_eq(buf[0], 'x');
    close(fd);
    close(pipefd[0]);
}
END_TEST

START_TEST(test_no_descriptor)
{
    int fd = 123;
    char buf[64];

    ck_assert_int_eq(fd_pass_send(sv[0], "plain", 5, -1, 0), 5);
    ck_assert_int_eq(fd_pass_recv(sv[1], buf, sizeof(buf), &fd, 0), 5);
    ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_eof_and_again)
{
    int fd = 123;
    char buf[64];

    ck_assert_int_eq(fd_pass_recv(sv[1], buf, sizeof(buf), &fd, MSG_DONTWAIT), -1);
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(fd, -1);
    close(sv[0]);
    sv[0] = open("/dev/null", O_RDONLY);
    ck_assert_int_eq(fd_pass_recv(sv[1], buf, sizeof(buf), &fd, MSG_DONTWAIT), 0);
    ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_two_descriptors)
{
    int fds[2], fd = 123, before;
    char buf[64];

    fds[0] = open("/dev/null", O_RDONLY);
    fds[1] = open("/dev/null", O_RDONLY);
    send_raw(sv[0], "two", fds, 2);
    close(fds[0]);
    close(fds[1]);
    before = open_fds();
    ck_assert_int_eq(fd_pass_recv(sv[1], buf, sizeof(buf), &fd, 0), -1);
    ck_assert_int_eq(errno, EBADMSG);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(open_fds(), before);
}
END_TEST

START_TEST(test_control_truncated)
{
    int fds[40], fd = 123, before, i;
    char buf[64];

    for (i = 0; i < 40; i++)
        fds[i] = open("/dev/null", O_RDONLY);
    send_raw(sv[0], "many", fds, 40);
    for (i = 0; i < 40; i++)
        close(fds[i]);
    before = open_fds();
    ck_assert_int_eq(fd_pass_recv(sv[1], buf, sizeof(buf), &fd, 0), -1);
    ck_assert_int_eq(errno, EBADMSG);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(open_fds(), before);
}
END_TEST

START_TEST(test_message_too_long)
{
    int devnull = open("/dev/null", O_RDONLY), fd = 123, before;
    char buf[4];

    ck_assert_int_eq(fd_pass_send(sv[0], "too long", 8, devnull, 0), 8);
    close(devnull);
    before = open_fds();
    ck_assert_int_eq(fd_pass_recv(sv[1], buf, sizeof(buf), &fd, 0), -1);
    ck_assert_int_eq(errno, EMSGSIZE);
    ck_assert_int_eq(fd, -1);
    ck_assert_int_eq(open_fds(), before);
    /* The next message is whole again. */
    ck_assert_int_eq(fd_pass_send(sv[0], "ok", 2, -1, 0), 2);
    ck_assert_int_eq(fd_pass_recv(sv[1], buf, sizeof(buf), &fd, 0), 2);
}
END_TEST

START_TEST(test_credentials_refused)
{
    int on = 1, fd = 123;
    char buf[64];

    /* With SO_PASSCRED every message carries SCM_CREDENTIALS. */
    ck_assert_int_eq(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)), 0);
    ck_assert_int_eq(fd_pass_send(sv[0], "cred", 4, -1, 0), 4);
    ck_assert_int_eq(fd_pass_recv(sv[1], buf, sizeof(buf), &fd, 0), -1);
    ck_assert_int_eq(errno, EBADMSG);
    ck_assert_int_eq(fd, -1);
}
END_TEST

START_TEST(test_send_to_closed)
{
    int devnull = open("/dev/null", O_RDONLY);

    close(sv[1]);
    sv[1] = open("/dev/null", O_RDONLY);
    ck_assert_int_eq(fd_pass_send(sv[0], "x", 1, devnull,
                                  MSG_DONTWAIT | MSG_NOSIGNAL), -1);
    ck_assert_int_eq(errno, EPIPE);
    close(devnull);
}
END_TEST

static Suite *
fd_pass_suite(void)
{
    Suite *s = suite_create("fd_pass");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_pass);
    tcase_add_test(tc, test_no_descriptor);
    tcase_add_test(tc, test_eof_and_again);
    tcase_add_test(tc, test_two_descriptors);
    tcase_add_test(tc, test_control_truncated);
    tcase_add_test(tc, test_message_too_long);
    tcase_add_test(tc, test_credentials_refused);
    tcase_add_test(tc, test_send_to_closed);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    SRunner *sr = srunner_create(fd_pass_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
