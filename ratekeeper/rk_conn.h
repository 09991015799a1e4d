/* Open connections per client address, as the smtpd processes register
 * them.  Each registration belongs to the ratekeeper client (socket) that
 * made it and goes away with it, so a crashed smtpd leaks nothing.  Only
 * in memory: after a restart of ratekeeper every socket is new, and so is
 * every registration. */
#ifndef ALLIGATE_RK_CONN_H
#define ALLIGATE_RK_CONN_H

typedef struct RK_CONN RK_CONN;

RK_CONN *rk_conn_create(void);
RK_CONN *rk_conn_free(RK_CONN *conn);

/* Registers one connection of key for client (a socket's id, not 0).
 * Returns key's connections, this one included. */
unsigned long rk_conn_register(RK_CONN *conn, unsigned long client,
                               const char *key);
/* Releases one of client's registrations of key: returns 0 with key's
 * remaining connections in *count, or -1 (with the count) when client
 * holds none. */
int rk_conn_release(RK_CONN *conn, unsigned long client, const char *key,
                    unsigned long *count);
/* Releases everything client holds (its socket closed); returns how many
 * registrations that was. */
unsigned long rk_conn_release_client(RK_CONN *conn, unsigned long client);

unsigned long rk_conn_count(const RK_CONN *conn, const char *key);
/* How many of key's connections client holds. */
unsigned long rk_conn_held(const RK_CONN *conn, unsigned long client,
                           const char *key);
/* Calls fn on every key client holds connections of, with how many;
 * fn must not change conn. */
void rk_conn_client_walk(const RK_CONN *conn, unsigned long client,
                         void (*fn)(const char *key, unsigned long n,
                                    void *context),
                         void *context);

/* 1 when client holds at least one registration. */
int rk_conn_holds(const RK_CONN *conn, unsigned long client);
/* Keys with connections, and clients holding some. */
unsigned long rk_conn_keys(const RK_CONN *conn);
unsigned long rk_conn_clients(const RK_CONN *conn);

/* Calls fn on every key with connections; fn must not change conn. */
void rk_conn_walk(const RK_CONN *conn,
                  void (*fn)(const char *key, unsigned long count,
                             void *context),
                  void *context);

#endif
