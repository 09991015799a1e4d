/* Session ticket keys in a memfd that master writes and smtpd workers
 * read (see tls_ticket.h).
 *
 * The area holds a current and a previous key, each a 16-byte name (sent
 * in the clear in every ticket, to find the key again), an AES-256-CBC
 * key and an HMAC-SHA256 key.  master is the only writer; the area is
 * sealed against writes through any mapping or descriptor made after
 * master's own, so a worker can read the keys but not change them for
 * the others.  A worker copies the keys out under a sequence lock: the
 * counter is odd while master writes, and a reader that saw it odd or
 * changed reads again, so it never uses half of one key and half of
 * another. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "msg.h"
#include "mymalloc.h"
#include "tls_ticket.h"
#include "vbuf.h"

#define TLS_TICKET_MAGIC    "alligate tls ticket keys v1"
#define TLS_TICKET_NAME_LEN 16          /* as OpenSSL's callback has it */
#define TLS_TICKET_AES_LEN  32          /* AES-256 */
#define TLS_TICKET_HMAC_LEN 32          /* HMAC-SHA256 */
#define TLS_TICKET_TRIES    100000      /* reads of a counter stuck odd */

typedef struct TLS_TICKET_KEY {
    unsigned char name[TLS_TICKET_NAME_LEN];
    unsigned char aes[TLS_TICKET_AES_LEN];
    unsigned char hmac[TLS_TICKET_HMAC_LEN];
} TLS_TICKET_KEY;

/* The current key first, then the previous. */
typedef struct TLS_TICKET_KEYS {
    TLS_TICKET_KEY key[2];
} TLS_TICKET_KEYS;

typedef struct TLS_TICKET_AREA {
    char magic[32];                     /* TLS_TICKET_MAGIC, NUL-padded */
    _Atomic uint32_t seq;               /* odd while master writes */
    uint32_t unused;
    TLS_TICKET_KEYS keys;
} TLS_TICKET_AREA;

/* Across processes: the counter must be a plain word in memory. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "lock-free atomic int needed");

/* The areas this process made, with their writable mapping. */
typedef struct TLS_TICKET_OWN {
    int fd;
    TLS_TICKET_AREA *area;
    struct TLS_TICKET_OWN *next;
} TLS_TICKET_OWN;

static TLS_TICKET_OWN *tls_ticket_own;

/* Fresh random bytes from the kernel; -1 with errno when there are none. */
static int
tls_ticket_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    ssize_t n;

    while (len > 0) {
        if ((n = getrandom(p, len, 0)) < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Writes keys as the area's new content, for readers to see whole. */
static void
tls_ticket_store(TLS_TICKET_AREA *area, const TLS_TICKET_KEYS *keys)
{
    uint32_t seq = atomic_load_explicit(&area->seq, memory_order_relaxed);

    atomic_store_explicit(&area->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    memcpy(&area->keys, keys, sizeof(*keys));
    atomic_store_explicit(&area->seq, seq + 2, memory_order_release);
}

/* Copies the keys out whole; -1 when the writer seems to have died in
 * the middle (the counter stays odd): no ticket then, not a hang. */
static int
tls_ticket_load(const TLS_TICKET_AREA *area, TLS_TICKET_KEYS *keys)
{
    TLS_TICKET_AREA *a = (TLS_TICKET_AREA *) area;     /* atomics need it */
    uint32_t before, after;
    int tries;

    for (tries = 0; tries < TLS_TICKET_TRIES; tries++) {
        before = atomic_load_explicit(&a->seq, memory_order_acquire);
        if (before & 1) {
            sched_yield();
            continue;
        }
        memcpy(keys, &a->keys, sizeof(*keys));
        atomic_thread_fence(memory_order_acquire);
        after = atomic_load_explicit(&a->seq, memory_order_relaxed);
        if (before == after)
            return 0;
    }
    OPENSSL_cleanse(keys, sizeof(*keys));
    return -1;
}

static TLS_TICKET_AREA *
tls_ticket_find_own(int fd)
{
    TLS_TICKET_OWN *own;

    for (own = tls_ticket_own; own; own = own->next)
        if (own->fd == fd)
            return own->area;
    return NULL;
}

int
tls_ticket_create(VBUF *why)
{
    TLS_TICKET_AREA *area;
    TLS_TICKET_KEYS keys;
    TLS_TICKET_OWN *own;
    int saved;
    int fd;

    if ((fd = memfd_create("alligate-tls-tickets",
                           MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0) {
        vbuf_printf(why, "memfd_create: %s", strerror(errno));
        return -1;
    }
    if (ftruncate(fd, sizeof(*area)) < 0) {
        vbuf_printf(why, "ftruncate: %s", strerror(errno));
        goto fail;
    }
    area = mmap(NULL, sizeof(*area), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (area == MAP_FAILED) {
        vbuf_printf(why, "mmap: %s", strerror(errno));
        goto fail;
    }
    /* Kept out of swap and core dumps where the system lets us. */
    (void) mlock(area, sizeof(*area));
    (void) madvise(area, sizeof(*area), MADV_DONTDUMP);
    if (tls_ticket_random(&keys, sizeof(keys)) < 0) {
        vbuf_printf(why, "getrandom: %s", strerror(errno));
        munmap(area, sizeof(*area));
        goto fail;
    }
    memcpy(area->magic, TLS_TICKET_MAGIC, sizeof(TLS_TICKET_MAGIC));
    atomic_store_explicit(&area->seq, 0, memory_order_relaxed);
    tls_ticket_store(area, &keys);
    OPENSSL_cleanse(&keys, sizeof(keys));

    /* From now on only this mapping writes.  A kernel before 5.1 has no
     * such seal; the area is still only master's and its workers'. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0
        || (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) < 0 && errno != EINVAL)
        || fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) < 0) {
        vbuf_printf(why, "seal: %s", strerror(errno));
        munmap(area, sizeof(*area));
        goto fail;
    }
    own = mymalloc(sizeof(*own));
    own->fd = fd;
    own->area = area;
    own->next = tls_ticket_own;
    tls_ticket_own = own;
    return fd;

fail:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

void
tls_ticket_rotate(int fd)
{
    TLS_TICKET_AREA *area;
    TLS_TICKET_KEYS keys;

    if ((area = tls_ticket_find_own(fd)) == NULL)
        msg_panic("tls_ticket_rotate: descriptor %d is no area of ours", fd);
    /* The new key is made before the readers are told to wait. */
    keys.key[1] = area->keys.key[0];
    if (tls_ticket_random(&keys.key[0], sizeof(keys.key[0])) < 0) {
        /* Keep the keys as they are; the next period tries again. */
        msg_warn("cannot make a new TLS session ticket key: getrandom: %m");
        OPENSSL_cleanse(&keys, sizeof(keys));
        return;
    }
    tls_ticket_store(area, &keys);
    OPENSSL_cleanse(&keys, sizeof(keys));
}

/* Worker side ---------------------------------------------------------- */

static int tls_ticket_ex_index = -1;
static EVP_CIPHER *tls_ticket_cipher;

/* A context freed: its mapping goes with it. */
static void
tls_ticket_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                   long argl, void *argp)
{
    (void) parent;
    (void) ad;
    (void) idx;
    (void) argl;
    (void) argp;
    if (ptr)
        munmap(ptr, sizeof(TLS_TICKET_AREA));
}

/* The key's two halves put in place for OpenSSL; 0 or -1. */
static int
tls_ticket_use(const TLS_TICKET_KEY *key, unsigned char *iv,
               EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    OSSL_PARAM params[2];

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (EVP_MAC_init(hctx, key->hmac, sizeof(key->hmac), params) != 1)
        return -1;
    if (enc)
        return EVP_EncryptInit_ex2(cctx, tls_ticket_cipher, key->aes, iv,
                                   NULL) == 1 ? 0 : -1;
    return EVP_DecryptInit_ex2(cctx, tls_ticket_cipher, key->aes, iv,
                               NULL) == 1 ? 0 : -1;
}

/* OpenSSL's ticket key callback: encrypt with the current key; decrypt
 * with the key named in the ticket, renewing a ticket of the previous
 * key; a ticket of an older key means a full handshake. */
static int
tls_ticket_callback(SSL *ssl, unsigned char name[TLS_TICKET_NAME_LEN],
                    unsigned char *iv, EVP_CIPHER_CTX *cctx,
                    EVP_MAC_CTX *hctx, int enc)
{
    const TLS_TICKET_AREA *area;
    TLS_TICKET_KEYS keys;
    int iv_len = EVP_CIPHER_get_iv_length(tls_ticket_cipher);
    int status = 0;
    int i;

    area = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), tls_ticket_ex_index);
    if (area == NULL || tls_ticket_load(area, &keys) < 0)
        return 0;                       /* no ticket; full handshakes */
    if (enc) {
        memcpy(name, keys.key[0].name, TLS_TICKET_NAME_LEN);
        if (RAND_bytes(iv, iv_len) != 1
            || tls_ticket_use(&keys.key[0], iv, cctx, hctx, 1) < 0)
            status = -1;
        else
            status = 1;
    } else {
        for (i = 0; i < 2; i++) {
            if (memcmp(name, keys.key[i].name, TLS_TICKET_NAME_LEN) == 0) {
                if (tls_ticket_use(&keys.key[i], iv, cctx, hctx, 0) < 0)
                    status = -1;
                else
                    status = i == 0 ? 1 : 2;    /* 2: use, and renew */
                break;
            }
        }
    }
    OPENSSL_cleanse(&keys, sizeof(keys));
    return status;
}

int
tls_ticket_attach(SSL_CTX *ctx, int fd, VBUF *why)
{
    TLS_TICKET_AREA *area;
    struct stat st;

    if (fstat(fd, &st) < 0) {
        vbuf_printf(why, "ticket key descriptor %d: %s", fd, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode) || st.st_size != (off_t) sizeof(*area)) {
        vbuf_printf(why, "descriptor %d is not a ticket key area", fd);
        return -1;
    }
    area = mmap(NULL, sizeof(*area), PROT_READ, MAP_SHARED, fd, 0);
    if (area == MAP_FAILED) {
        vbuf_printf(why, "ticket key area: mmap: %s", strerror(errno));
        return -1;
    }
    if (memcmp(area->magic, TLS_TICKET_MAGIC, sizeof(TLS_TICKET_MAGIC)) != 0) {
        munmap(area, sizeof(*area));
        vbuf_printf(why, "descriptor %d is not a ticket key area", fd);
        return -1;
    }
    (void) madvise(area, sizeof(*area), MADV_DONTDUMP);

    if (tls_ticket_cipher == NULL
        && (tls_ticket_cipher = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL)) == NULL) {
        munmap(area, sizeof(*area));
        vbuf_printf(why, "ticket keys: no AES-256-CBC in OpenSSL");
        return -1;
    }
    if (tls_ticket_ex_index < 0
        && (tls_ticket_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
                                                           tls_ticket_ex_free)) < 0) {
        munmap(area, sizeof(*area));
        vbuf_printf(why, "ticket keys: SSL_CTX_get_ex_new_index failed");
        return -1;
    }
    /* A second attach to the same context replaces the first area. */
    if (SSL_CTX_get_ex_data(ctx, tls_ticket_ex_index) != NULL)
        munmap(SSL_CTX_get_ex_data(ctx, tls_ticket_ex_index), sizeof(*area));
    if (SSL_CTX_set_ex_data(ctx, tls_ticket_ex_index, area) != 1
        || SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_callback) != 1) {
        SSL_CTX_set_ex_data(ctx, tls_ticket_ex_index, NULL);
        munmap(area, sizeof(*area));
        vbuf_printf(why, "ticket keys: cannot install the callback");
        return -1;
    }
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    return 0;
}
