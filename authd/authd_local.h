/* auth_backend = local: a user name and password checked against
 * auth_user_database (lib/auth_userdb.h), the file opened for every check
 * so that alligatectl's changes count at once.  An unknown user, or a
 * name that cannot be one, still costs one crypt_r() against a dummy
 * yescrypt hash made at start, so that it takes the time a wrong password
 * takes (for users whose hashes are yescrypt at the default cost, as
 * alligatectl makes them). */
#ifndef ALLIGATE_AUTHD_LOCAL_H
#define ALLIGATE_AUTHD_LOCAL_H

#include "vbuf.h"

typedef struct AUTHD_LOCAL AUTHD_LOCAL;

/* dummy_hash: the hash unknown users are checked against; NULL makes a
 * yescrypt one of a random password (tests pass a cheaper one). */
AUTHD_LOCAL *authd_local_create(const char *db_path, const char *dummy_hash);
AUTHD_LOCAL *authd_local_free(AUTHD_LOCAL *local);
/* After a reload. */
void    authd_local_set_path(AUTHD_LOCAL *local, const char *db_path);

/* AUTH_CLNT_OK, AUTH_CLNT_FAIL with why ("unknown user", "wrong
 * password", ...: for the log, never for the client), or AUTH_CLNT_TEMP
 * with why (the database cannot be read). */
int     authd_local_verify(AUTHD_LOCAL *local, const char *user,
                           const char *password, VBUF *why);

#endif
