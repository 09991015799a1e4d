/* Sealed AUTH credentials for relay_auth_replay (see cred_seal.h): AES-256-
 * GCM with the per-instance key in data_directory/replay.key.
 *
 * Sealed text, before base64:
 *
 *   version (1 byte, CRED_SEAL_VERSION) | nonce (12) | ciphertext | tag (16)
 *
 * The plaintext is "user NUL password"; the associated data is the version
 * byte and the queue id, so that neither can be changed, and a record
 * copied into another queue file does not open.  A fresh random nonce per
 * seal: with 96 random bits, the same key may seal far more messages than
 * any queue will ever hold.
 *
 * The key file is made once by whoever needs it first (smtpd or relay,
 * both daemon_user), in a temporary file created with O_EXCL and mode
 * 0600, filled and synced, then link()ed into place: link() fails when
 * another process was quicker, and nobody ever reads a half-written key.
 * A key file that group or others may read, or of the wrong size, is
 * refused, not repaired: someone has been at it. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cred_seal.h"
#include "mymalloc.h"
#include "sasl.h"
#include "vbuf.h"

#define CRED_SEAL_VERSION   1
#define CRED_SEAL_KEY_LEN   32          /* AES-256 */
#define CRED_SEAL_NONCE_LEN 12          /* GCM's natural nonce */
#define CRED_SEAL_TAG_LEN   16
#define CRED_SEAL_HEAD_LEN  (1 + CRED_SEAL_NONCE_LEN)
#define CRED_SEAL_PLAIN_MAX (SASL_NAME_MAX + 1 + SASL_PASSWORD_MAX)
#define CRED_SEAL_RAW_MAX   (CRED_SEAL_HEAD_LEN + CRED_SEAL_PLAIN_MAX + CRED_SEAL_TAG_LEN)

static unsigned char cred_seal_key[CRED_SEAL_KEY_LEN];
static int cred_seal_have_key;

/* Sets why (when given) to a formatted reason; returns -1. */
static int __attribute__((format(printf, 2, 3)))
cred_seal_why(VBUF *why, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL) {
        vbuf_reset(why);
        va_start(ap, fmt);
        vbuf_vprintf(why, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Reads the key from an open key file, checking what it is first. */
static int
cred_seal_read_key(int fd, const char *path, VBUF *why)
{
    unsigned char key[CRED_SEAL_KEY_LEN + 1];
    struct stat st;
    ssize_t n;

    if (fstat(fd, &st) < 0)
        return cred_seal_why(why, "fstat %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return cred_seal_why(why, "%s is not a regular file", path);
    if (st.st_mode & (S_IRWXG | S_IRWXO))
        return cred_seal_why(why, "%s has mode %04o: group and others must have no "
                             "access (chmod 600)", path, (unsigned) (st.st_mode & 07777));
    if (st.st_size != CRED_SEAL_KEY_LEN)
        return cred_seal_why(why, "%s has %lld bytes, not %d", path,
                             (long long) st.st_size, CRED_SEAL_KEY_LEN);
    while ((n = read(fd, key, sizeof(key))) < 0 && errno == EINTR)
         /* void */ ;
    if (n != CRED_SEAL_KEY_LEN) {
        OPENSSL_cleanse(key, sizeof(key));
        return n < 0 ? cred_seal_why(why, "read %s: %s", path, strerror(errno))
            : cred_seal_why(why, "%s has %lld bytes, not %d", path, (long long) n,
                            CRED_SEAL_KEY_LEN);
    }
    memcpy(cred_seal_key, key, CRED_SEAL_KEY_LEN);
    OPENSSL_cleanse(key, sizeof(key));
    cred_seal_have_key = 1;
    return 0;
}

/* Makes a new key file at path unless one appears meanwhile: 0 when
 * there is one now (ours or another's), -1 with why. */
static int
cred_seal_make_key(const char *path, VBUF *why)
{
    unsigned char key[CRED_SEAL_KEY_LEN];
    VBUF   *tmp = vbuf_create(100);
    int     fd, rc = -1, tries;
    ssize_t n;

    vbuf_printf(tmp, "%s.%ld.tmp", path, (long) getpid());
    for (tries = 0; tries < 2; tries++) {
        fd = open(vbuf_str(tmp), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            break;
        (void) unlink(vbuf_str(tmp));   /* left by a process of our pid */
    }
    if (fd < 0) {
        cred_seal_why(why, "create %s: %s", vbuf_str(tmp), strerror(errno));
        goto out;
    }
    if (RAND_bytes(key, sizeof(key)) != 1) {
        cred_seal_why(why, "RAND_bytes failed: no random key");
    } else if (fchmod(fd, 0600) < 0) {
        cred_seal_why(why, "chmod %s: %s", vbuf_str(tmp), strerror(errno));
    } else if ((n = write(fd, key, sizeof(key))) != (ssize_t) sizeof(key)) {
        cred_seal_why(why, "write %s: %s", vbuf_str(tmp), n < 0 ? strerror(errno) : "short write");
    } else if (fsync(fd) < 0) {
        cred_seal_why(why, "fsync %s: %s", vbuf_str(tmp), strerror(errno));
    } else if (link(vbuf_str(tmp), path) < 0 && errno != EEXIST) {
        cred_seal_why(why, "link %s to %s: %s", vbuf_str(tmp), path, strerror(errno));
    } else {
        rc = 0;
    }
    OPENSSL_cleanse(key, sizeof(key));
    close(fd);
    (void) unlink(vbuf_str(tmp));
  out:
    vbuf_free(tmp);
    return rc;
}

int
cred_seal_init(const char *data_dir, VBUF *why)
{
    VBUF   *path = vbuf_create(100);
    int     fd, tries, rc = -1;

    cred_seal_have_key = 0;
    OPENSSL_cleanse(cred_seal_key, sizeof(cred_seal_key));
    vbuf_printf(path, "%s/%s", data_dir, CRED_SEAL_KEY_FILE);
    for (tries = 0;; tries++) {
        if ((fd = open(vbuf_str(path), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
            rc = cred_seal_read_key(fd, vbuf_str(path), why);
            close(fd);
            break;
        }
        if (errno != ENOENT) {
            cred_seal_why(why, "open %s: %s", vbuf_str(path), strerror(errno));
            break;
        }
        if (tries > 0) {
            cred_seal_why(why, "%s vanished as it was made", vbuf_str(path));
            break;
        }
        if (cred_seal_make_key(vbuf_str(path), why) < 0)
            break;
    }
    vbuf_free(path);
    return rc;
}

/* Base64 ---------------------------------------------------------------- */

static void
cred_seal_base64(const unsigned char *data, size_t len, VBUF *out)
{
    size_t  need = 4 * ((len + 2) / 3);

    vbuf_reset(out);
    vbuf_reserve(out, need);
    EVP_EncodeBlock((unsigned char *) out->data, data, (int) len);
    out->len = need;
    out->data[need] = 0;
}

/* Decodes canonical base64 only (what cred_seal_base64 makes: padding,
 * no white space, zero bits where the last character has bits to spare),
 * so that a sealed text has exactly one spelling. The result is
 * mymalloc'ed; -1 when in is anything else, or longer than max bytes. */
static int
cred_seal_unbase64(const char *in, size_t max, unsigned char **out, size_t *out_len)
{
    size_t  len = strlen(in), pad = 0, i;
    unsigned char *raw;
    VBUF   *again;
    int     n, same;

    if (len == 0 || len % 4 != 0 || len / 4 * 3 > max + 2)
        return -1;
    while (pad < 2 && in[len - 1 - pad] == '=')
        pad++;
    for (i = 0; i < len - pad; i++) {
        unsigned char c = (unsigned char) in[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '+' || c == '/'))
            return -1;
    }
    raw = mymalloc(len / 4 * 3 + 1);
    if ((n = EVP_DecodeBlock(raw, (const unsigned char *) in, (int) len)) < 0
        || (size_t) n < pad) {
        myfree(raw);
        return -1;
    }
    *out_len = (size_t) n - pad;
    again = vbuf_create(len + 1);
    cred_seal_base64(raw, *out_len, again);
    same = strcmp(vbuf_str(again), in) == 0;
    vbuf_free(again);
    if (!same) {
        myfree(raw);
        return -1;
    }
    *out = raw;
    return 0;
}

/* Sealing and opening ------------------------------------------------------ */

/* One AES-256-GCM operation: encrypt (tag out) or decrypt (tag in, checked).
 * 0, or -1 when OpenSSL fails or the tag does not match. */
static int
cred_seal_gcm(int encrypt, const unsigned char *nonce, const char *queue_id,
              const unsigned char *in, size_t len, unsigned char *out,
              unsigned char *tag)
{
    EVP_CIPHER_CTX *ctx;
    unsigned char version = CRED_SEAL_VERSION;
    int     n, ok;

    if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
        return -1;
    ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1
        && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, CRED_SEAL_NONCE_LEN, NULL) == 1
        && EVP_CipherInit_ex(ctx, NULL, NULL, cred_seal_key, nonce, encrypt) == 1
        && EVP_CipherUpdate(ctx, NULL, &n, &version, 1) == 1
        && EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *) queue_id,
                            (int) strlen(queue_id)) == 1
        && EVP_CipherUpdate(ctx, out, &n, in, (int) len) == 1 && (size_t) n == len
        && (encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRED_SEAL_TAG_LEN,
                                           tag) == 1)
        && EVP_CipherFinal_ex(ctx, out + len, &n) == 1 && n == 0
        && (!encrypt || EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRED_SEAL_TAG_LEN,
                                            tag) == 1);
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int
cred_seal(const char *queue_id, const char *user, const char *password,
          VBUF *out, VBUF *why)
{
    size_t  ulen = strlen(user), plen = strlen(password);
    size_t  len = ulen + 1 + plen;
    unsigned char *plain, *raw;
    int     rc = -1;

    if (!cred_seal_have_key)
        return cred_seal_why(why, "no key (cred_seal_init failed or was not called)");
    if (ulen == 0 || ulen > SASL_NAME_MAX)
        return cred_seal_why(why, "bad user name length %zu", ulen);
    if (plen == 0 || plen > SASL_PASSWORD_MAX)
        return cred_seal_why(why, "bad password length");
    plain = mymalloc(len);
    memcpy(plain, user, ulen + 1);
    memcpy(plain + ulen + 1, password, plen);
    raw = mymalloc(CRED_SEAL_HEAD_LEN + len + CRED_SEAL_TAG_LEN);
    raw[0] = CRED_SEAL_VERSION;
    if (RAND_bytes(raw + 1, CRED_SEAL_NONCE_LEN) != 1) {
        cred_seal_why(why, "RAND_bytes failed: no nonce");
    } else if (cred_seal_gcm(1, raw + 1, queue_id, plain, len, raw + CRED_SEAL_HEAD_LEN,
                             raw + CRED_SEAL_HEAD_LEN + len) < 0) {
        cred_seal_why(why, "AES-256-GCM encryption failed");
    } else {
        cred_seal_base64(raw, CRED_SEAL_HEAD_LEN + len + CRED_SEAL_TAG_LEN, out);
        rc = 0;
    }
    OPENSSL_cleanse(plain, len);
    myfree(plain);
    myfree(raw);
    return rc;
}

int
cred_open(const char *queue_id, const char *sealed, VBUF *user,
          VBUF *password, VBUF *why)
{
    unsigned char *raw, *plain = NULL, *nul;
    size_t  raw_len, len = 0;
    int     rc = -1;

    cred_wipe(user);
    cred_wipe(password);
    if (!cred_seal_have_key)
        return cred_seal_why(why, "no key (cred_seal_init failed or was not called)");
    if (cred_seal_unbase64(sealed, CRED_SEAL_RAW_MAX, &raw, &raw_len) < 0)
        return cred_seal_why(why, "bad base64");
    if (raw_len > 0 && raw[0] != CRED_SEAL_VERSION) {
        cred_seal_why(why, "unknown version %u", raw[0]);
        goto out;
    }
    if (raw_len < CRED_SEAL_HEAD_LEN + CRED_SEAL_TAG_LEN + 3) {
        cred_seal_why(why, "truncated (%zu bytes)", raw_len);
        goto out;
    }
    len = raw_len - CRED_SEAL_HEAD_LEN - CRED_SEAL_TAG_LEN;
    plain = mymalloc(len + 1);
    if (cred_seal_gcm(0, raw + 1, queue_id, raw + CRED_SEAL_HEAD_LEN, len, plain,
                      raw + CRED_SEAL_HEAD_LEN + len) < 0) {
        cred_seal_why(why, "authentication failed (another key, another message, "
                      "or changed)");
        goto out;
    }
    /* Exactly one NUL, with something on each side of it. */
    if ((nul = memchr(plain, 0, len)) == NULL || nul == plain || nul == plain + len - 1
        || memchr(nul + 1, 0, len - (size_t) (nul + 1 - plain)) != NULL) {
        cred_seal_why(why, "malformed contents");
        goto out;
    }
    /* Room first, so that no copy is left behind by a realloc. */
    vbuf_reserve(password, len);
    vbuf_append(user, plain, (size_t) (nul - plain));
    vbuf_append(password, nul + 1, len - (size_t) (nul + 1 - plain));
    rc = 0;
  out:
    if (plain != NULL) {
        OPENSSL_cleanse(plain, len + 1);
        myfree(plain);
    }
    myfree(raw);
    return rc;
}

void
cred_wipe(VBUF *secret)
{
    if (secret == NULL)
        return;
    OPENSSL_cleanse(secret->data, secret->cap);
    secret->len = 0;
    secret->data[0] = 0;
}
