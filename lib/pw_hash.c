/* crypt(3) password hashes through libxcrypt's crypt_r() and
 * crypt_gensalt_rn().  crypt_r() fails by returning a string that starts
 * with '*' (or NULL): never a hash, so never a match. */
#include <crypt.h>
#include <string.h>

#include <openssl/crypto.h>

#include "mymalloc.h"
#include "pw_hash.h"

#define PW_HASH_NEW_PREFIX  "$y$"

_Static_assert(PW_HASH_PASSWORD_MAX == CRYPT_MAX_PASSPHRASE_SIZE - 1,
               "PW_HASH_PASSWORD_MAX is libxcrypt's limit");

/* The methods accepted for import. */
static const char *pw_hash_prefixes[] = {
    "$y$", "$6$", "$5$", "$2b$", "$2y$", NULL,
};

/* crypt_r() of password with setting into *out (in data); -1 when it
 * fails. */
static int
pw_hash_crypt(struct crypt_data *data, const char *password,
              const char *setting, const char **out)
{
    const char *res;

    memset(data, 0, sizeof(*data));
    res = crypt_r(password, setting, data);
    if (res == NULL || *res == '*' || *res == 0)
        return -1;
    *out = res;
    return 0;
}

int
pw_hash_make(const char *password, VBUF *out, VBUF *why)
{
    struct crypt_data *data = mycalloc(1, sizeof(*data));
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    const char *res;
    int ret = -1;

    /* No random bytes given: libxcrypt takes them from the kernel. */
    if (strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE) {
        vbuf_set(why, "");
        vbuf_printf(why, "password longer than %d octets",
                    CRYPT_MAX_PASSPHRASE_SIZE - 1);
    } else if (crypt_gensalt_rn(PW_HASH_NEW_PREFIX, 0, NULL, 0, salt,
                         sizeof(salt)) == NULL)
        vbuf_set(why, "crypt_gensalt_rn: cannot make a yescrypt salt");
    else if (pw_hash_crypt(data, password, salt, &res) < 0)
        vbuf_set(why, "crypt_r: cannot hash with yescrypt");
    else {
        vbuf_set(out, res);
        ret = 0;
    }
    explicit_bzero(data, sizeof(*data));
    myfree(data);
    return ret;
}

int
pw_hash_valid(const char *hash, VBUF *why)
{
    struct crypt_data *data;
    const char *res, **p;
    size_t len = strlen(hash);
    int ret = -1;

    for (p = pw_hash_prefixes; *p; p++)
        if (strncmp(hash, *p, strlen(*p)) == 0)
            break;
    if (*p == NULL) {
        vbuf_set(why, "not a yescrypt ($y$), SHA-512 ($6$), SHA-256 ($5$) or bcrypt ($2b$, $2y$) hash");
        return -1;
    }
    if (len > PW_HASH_MAX || strspn(hash, "abcdefghijklmnopqrstuvwxyz"
                                    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                                    "./$=,") != len) {
        vbuf_set(why, "malformed hash");
        return -1;
    }
    /* A complete hash hashes any password to one of its own length with
     * its own setting; a bare setting ("$6$salt") or a mangled hash does
     * not. */
    data = mycalloc(1, sizeof(*data));
    if (pw_hash_crypt(data, "", hash, &res) < 0)
        vbuf_set(why, "malformed hash: crypt_r refuses it");
    else if (strlen(res) != len
             || strncmp(res, hash, (size_t) (strrchr(hash, '$') - hash)) != 0)
        vbuf_set(why, "malformed hash: not a complete hash");
    else
        ret = 0;
    myfree(data);
    return ret;
}

int
pw_hash_check(const char *hash, const char *password, VBUF *why)
{
    struct crypt_data *data = mycalloc(1, sizeof(*data));
    size_t len = strlen(hash);
    const char *res;
    int ret;

    /* Longer than crypt(3) takes: no hash can be of it. */
    if (strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE) {
        ret = 0;
    } else if (pw_hash_crypt(data, password, hash, &res) < 0) {
        vbuf_set(why, "unusable password hash");
        ret = -1;
    } else {
        ret = strlen(res) == len && CRYPTO_memcmp(res, hash, len) == 0;
    }
    explicit_bzero(data, sizeof(*data));
    myfree(data);
    return ret;
}
