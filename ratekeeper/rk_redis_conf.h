/* What the Redis backend needs besides the parameters: this gateway's
 * id, which names its connection registrations and its heartbeat in
 * Redis, and the password from redis_password_file. */
#ifndef ALLIGATE_RK_REDIS_CONF_H
#define ALLIGATE_RK_REDIS_CONF_H

#include "vbuf.h"

#define RK_REDIS_GATEWAY_FILE   "gateway_id"
#define RK_REDIS_GATEWAY_MAX    128
#define RK_REDIS_PASSWORD_MAX   1024

/* The id kept in dir/gateway_id: HOSTNAME-RANDOM (16 hex digits), made
 * once (mode 0600) and the same at every start, so that the log and
 * Redis name a gateway the same way over time.  A copied data_directory
 * copies the id: give each gateway its own.  Returns 0, or -1 with why. */
int rk_redis_conf_gateway(const char *dir, const char *hostname, VBUF *id,
                          VBUF *why);

/* The first line of path, without its line end, into password (which the
 * caller wipes).  Returns 0, or -1 with why (which never holds the
 * password). */
int rk_redis_conf_password(const char *path, VBUF *password, VBUF *why);

/* 1 when text is a valid gateway id. */
int rk_redis_conf_gateway_ok(const char *text);

#endif
