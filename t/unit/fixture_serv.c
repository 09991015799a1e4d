/* The forked server the client suites share (see fixture_serv.h), so that
 * each suite says only how its server answers. */
#include <check.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "events.h"
#include "fixture_serv.h"
#include "unix_sock.h"
#include "vbuf.h"

static pid_t fixture_serv_pid;

void
fixture_serv_start(const char *path, FIXTURE_SERV_FN serve, void *context)
{
    VBUF *why = vbuf_create(100);
    int fd = unix_sock_listen(path, 0600, 128, why);

    ck_assert_msg(fd >= 0, "%s", vbuf_str(why));
    vbuf_free(why);
    ck_assert_int_eq(fixture_serv_pid, 0);
    fixture_serv_pid = fork();
    ck_assert_int_ge(fixture_serv_pid, 0);
    if (fixture_serv_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        event_fork();
        serve(fd, context);
        _exit(0);
    }
    close(fd);
}

void
fixture_serv_stop(void)
{
    if (fixture_serv_pid > 0) {
        kill(fixture_serv_pid, SIGKILL);
        waitpid(fixture_serv_pid, NULL, 0);
        fixture_serv_pid = 0;
    }
}

void
fixture_serv_silent(int listen_fd, void *greeting)
{
    size_t len = strlen(greeting);
    int fd;

    for (;;)
        if ((fd = accept(listen_fd, NULL, NULL)) >= 0
            && write(fd, greeting, len) < 0)
            continue;
}

void
fixture_serv_loop(void)
{
    for (;;)
        event_loop(-1);
}
