/* The redis-server of fixture_redis.h. */
#include <check.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "fixture_redis.h"

static pid_t fixture_redis_child;
static int fixture_redis_port_num;
static char fixture_redis_dir[4096];

/* A port that nothing listens on now. */
static int
fixture_redis_free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    ck_assert_int_ge(fd, 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

static int
fixture_redis_ping(void)
{
    struct timeval tv = {0, 200000};
    redisContext *c = redisConnectWithTimeout("127.0.0.1",
                                              fixture_redis_port_num, tv);
    redisReply *r;
    int ok = 0;

    if (c == NULL)
        return 0;
    if (!c->err && (r = redisCommand(c, "PING")) != NULL) {
        ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
        freeReplyObject(r);
    }
    redisFree(c);
    return ok;
}

static void
fixture_redis_spawn(void)
{
    char port[16];
    int i;

    snprintf(port, sizeof(port), "%d", fixture_redis_port_num);
    fixture_redis_child = fork();
    ck_assert_int_ge(fixture_redis_child, 0);
    if (fixture_redis_child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execlp("redis-server", "redis-server", "--port", port,
               "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", fixture_redis_dir, "--loglevel", "warning",
               "--logfile", "redis.log", "--daemonize", "no", (char *) NULL);
        perror("redis-server");
        _exit(127);
    }
    for (i = 0; i < 250; i++) {
        if (fixture_redis_ping())
            return;
        usleep(20000);
    }
    ck_abort_msg("redis-server on port %d does not answer",
                 fixture_redis_port_num);
}

int
fixture_redis_start(void)
{
    ck_assert_int_eq(fixture_redis_child, 0);
    snprintf(fixture_redis_dir, sizeof(fixture_redis_dir), "%s",
             fixture_dir_create("redis"));
    fixture_redis_port_num = fixture_redis_free_port();
    fixture_redis_spawn();
    return fixture_redis_port_num;
}

void
fixture_redis_restart(void)
{
    ck_assert_int_eq(fixture_redis_child, 0);
    ck_assert_int_ne(fixture_redis_port_num, 0);
    fixture_redis_spawn();
}

void
fixture_redis_stop(void)
{
    if (fixture_redis_child > 0) {
        kill(fixture_redis_child, SIGKILL);
        waitpid(fixture_redis_child, NULL, 0);
        fixture_redis_child = 0;
    }
}

void
fixture_redis_pause(int stop)
{
    ck_assert_int_gt(fixture_redis_child, 0);
    kill(fixture_redis_child, stop ? SIGSTOP : SIGCONT);
}

long long
fixture_redis_int(const char *command)
{
    redisContext *c = redisConnect("127.0.0.1", fixture_redis_port_num);
    redisReply *r;
    long long v = -1;

    ck_assert_msg(c != NULL && !c->err, "cannot connect to redis-server");
    r = redisCommand(c, command);
    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return v;
}
