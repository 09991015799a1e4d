/* The user database of auth_backend = local (auth_user_database): a
 * Berkeley DB btree file whose keys are user names, lowercased, and whose
 * values are their crypt(3) password hashes (pw_hash.h), both without a
 * terminating NUL.  A hash file with the same records is read as well.
 *
 * authd reads it, alligatectl writes it.  A change never touches the file
 * in place: under an exclusive lock on FILE.lock, a complete new copy is
 * written to FILE.tmp, fsynced and renamed over FILE, so that a reader,
 * which opens the file for every lookup, sees the users before or after
 * the change, never half of it, needs no lock, and sees a change at once.
 * The file holds hashes: mode 0600, owned by daemon_user.
 *
 * User names are case-insensitive (ASCII letters; stored lowercased),
 * 1 to AUTH_USERDB_NAME_MAX octets, without white space or control
 * characters; other octets (UTF-8) are taken as they are. */
#ifndef ALLIGATE_AUTH_USERDB_H
#define ALLIGATE_AUTH_USERDB_H

#include <sys/types.h>

#include "vbuf.h"

#define AUTH_USERDB_NAME_MAX    255

/* auth_userdb_update() operations and results. */
#define AUTH_USERDB_ADD         1       /* a new user */
#define AUTH_USERDB_CHANGE      2       /* a new hash for a user */
#define AUTH_USERDB_DELETE      3

#define AUTH_USERDB_OK          0
#define AUTH_USERDB_EXISTS      1       /* ADD: the user is there */
#define AUTH_USERDB_ABSENT      2       /* CHANGE, DELETE: no such user */

/* The stored form of name (lowercased) into out: 0, or -1 with why when
 * name is not a valid user name. */
int     auth_userdb_name(const char *name, VBUF *out, VBUF *why);

/* The hash of user (in its stored form) into hash: 1, or 0 when there is
 * no such user or no database file, or -1 with why when the file cannot
 * be read. */
int     auth_userdb_lookup(const char *path, const char *user, VBUF *hash,
                           VBUF *why);

/* Calls fn for each user, in name order: the number of users (0 when
 * there is no file), or -1 with why. */
typedef void (*AUTH_USERDB_FN)(const char *user, const char *hash,
                               void *context);
int     auth_userdb_walk(const char *path, AUTH_USERDB_FN fn, void *context,
                         VBUF *why);

/* Adds, changes (hash) or deletes user (stored form) as above; the new
 * file, and the lock file when new, are owned by uid and gid unless they
 * are -1.  Returns AUTH_USERDB_OK, _EXISTS or _ABSENT (and then nothing
 * changed), or -1 with why. */
int     auth_userdb_update(const char *path, int op, const char *user,
                           const char *hash, uid_t uid, gid_t gid,
                           VBUF *why);

#endif
