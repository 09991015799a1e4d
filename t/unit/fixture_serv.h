/* A server for the client a suite tests (attr_clnt, rk_clnt): a child
 * process, killed with the test, that serves a Unix socket in the fixture
 * directory, either with attr_serv or as a misbehaving peer. */
#ifndef ALLIGATE_T_FIXTURE_SERV_H
#define ALLIGATE_T_FIXTURE_SERV_H

/* Runs in the child with the listening socket; does not return. */
typedef void (*FIXTURE_SERV_FN)(int listen_fd, void *context);

/* Listens at path, then runs serve in a child, after event_fork(), that
 * dies when the test does.  The socket exists when this returns, so a
 * client may connect at once.  One server at a time. */
void fixture_serv_start(const char *path, FIXTURE_SERV_FN serve,
                        void *context);

/* Kills the server and waits for it; nothing when none runs. */
void fixture_serv_stop(void);

/* A FIXTURE_SERV_FN: greets each client with context (a string) and says
 * nothing more; connections stay open, so clients see no EOF. */
void fixture_serv_silent(int listen_fd, void *greeting);

/* Runs the child's event loop (an attr_serv's) for ever. */
void fixture_serv_loop(void);

#endif
