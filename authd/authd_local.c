/* The local user database check; see authd_local.h. */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "auth_clnt.h"
#include "auth_userdb.h"
#include "authd_local.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "pw_hash.h"

struct AUTHD_LOCAL {
    char *path;
    char *dummy;
    VBUF *name;
    VBUF *hash;
    VBUF *tmp;
};

AUTHD_LOCAL *
authd_local_create(const char *db_path, const char *dummy_hash)
{
    AUTHD_LOCAL *local = mymalloc(sizeof(*local));
    unsigned char rnd[16];
    char secret[2 * sizeof(rnd) + 1];
    size_t i;

    local->path = mystrdup(db_path);
    local->name = vbuf_create(64);
    local->hash = vbuf_create(128);
    local->tmp = vbuf_create(64);
    if (dummy_hash) {
        local->dummy = mystrdup(dummy_hash);
    } else {
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
            msg_fatal("authd: no random bytes for the dummy hash");
        for (i = 0; i < sizeof(rnd); i++)
            snprintf(secret + 2 * i, 3, "%02x", rnd[i]);
        if (pw_hash_make(secret, local->hash, local->tmp) < 0)
            msg_fatal("authd: %s", vbuf_str(local->tmp));
        local->dummy = mystrdup(vbuf_str(local->hash));
        explicit_bzero(secret, sizeof(secret));
    }
    return local;
}

AUTHD_LOCAL *
authd_local_free(AUTHD_LOCAL *local)
{
    if (local) {
        myfree(local->path);
        myfree(local->dummy);
        vbuf_free(local->name);
        vbuf_free(local->hash);
        vbuf_free(local->tmp);
        myfree(local);
    }
    return NULL;
}

void
authd_local_set_path(AUTHD_LOCAL *local, const char *db_path)
{
    myfree(local->path);
    local->path = mystrdup(db_path);
}

/* The time a wrong password would have cost, then the failure. */
static int
authd_local_dummy(AUTHD_LOCAL *local, const char *password, VBUF *why,
                  const char *reason)
{
    (void) pw_hash_check(local->dummy, password, local->tmp);
    vbuf_set(why, reason);
    return AUTH_CLNT_FAIL;
}

int
authd_local_verify(AUTHD_LOCAL *local, const char *user,
                   const char *password, VBUF *why)
{
    int found;

    if (auth_userdb_name(user, local->name, local->tmp) < 0)
        return authd_local_dummy(local, password, why, "invalid user name");
    found = auth_userdb_lookup(local->path, vbuf_str(local->name),
                               local->hash, why);
    if (found < 0)
        return AUTH_CLNT_TEMP;
    if (found == 0)
        return authd_local_dummy(local, password, why, "unknown user");
    switch (pw_hash_check(vbuf_str(local->hash), password, local->tmp)) {
    case 1:
        return AUTH_CLNT_OK;
    case 0:
        vbuf_set(why, "wrong password");
        return AUTH_CLNT_FAIL;
    default:
        /* A locked account ("!...") or a broken entry: nobody gets in. */
        return authd_local_dummy(local, password, why,
                                 "unusable password hash in the user database");
    }
}
