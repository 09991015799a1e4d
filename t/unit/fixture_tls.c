/* Certificates and keys for the TLS suites (see fixture_tls.h). */
#include <check.h>
#include <string.h>

#include "fixture.h"
#include "fixture_tls.h"
#include "mymalloc.h"
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static EVP_PKEY *
fixture_tls_new_key(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");

    ck_assert_ptr_nonnull(key);
    return key;
}

/* The PEM text a writer puts into a memory BIO, to a file. */
static void
fixture_tls_write_bio(const char *path, BIO *bio)
{
    char *data;
    long len = BIO_get_mem_data(bio, &data);

    ck_assert_int_ge(len, 0);
    fixture_write(path, data, (size_t) len);
}

void
fixture_tls_key(const char *key_path, const char *passphrase)
{
    EVP_PKEY *key = fixture_tls_new_key();
    BIO *bio = BIO_new(BIO_s_mem());

    ck_assert_ptr_nonnull(bio);
    if (passphrase)
        ck_assert_int_eq(PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(),
                                                       passphrase, (int) strlen(passphrase),
                                                       NULL, NULL), 1);
    else
        ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
    fixture_tls_write_bio(key_path, bio);
    BIO_free(bio);
    EVP_PKEY_free(key);
}

void
fixture_tls_cert(const char *cert_path, const char *key_path, time_t not_before,
                 time_t not_after)
{
    EVP_PKEY *key = fixture_tls_new_key();
    X509 *cert = X509_new();
    X509_NAME *name;
    BIO *bio = BIO_new(BIO_s_mem());

    ck_assert_ptr_nonnull(cert);
    ck_assert_ptr_nonnull(bio);
    ck_assert_int_eq(X509_set_version(cert, 2), 1);
    ck_assert_int_eq(ASN1_INTEGER_set(X509_get_serialNumber(cert), 1), 1);
    ck_assert_ptr_nonnull(ASN1_TIME_set(X509_getm_notBefore(cert), not_before));
    ck_assert_ptr_nonnull(ASN1_TIME_set(X509_getm_notAfter(cert), not_after));
    ck_assert_int_eq(X509_set_pubkey(cert, key), 1);
    name = X509_get_subject_name(cert);
    ck_assert_int_eq(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                                (const unsigned char *) "mx.test.example",
                                                -1, -1, 0), 1);
    ck_assert_int_eq(X509_set_issuer_name(cert, name), 1);
    ck_assert_int_gt(X509_sign(cert, key, EVP_sha256()), 0);

    ck_assert_int_eq(PEM_write_bio_X509(bio, cert), 1);
    if (key_path == NULL) {
        ck_assert_int_eq(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL), 1);
    } else {
        BIO *kbio = BIO_new(BIO_s_mem());

        ck_assert_ptr_nonnull(kbio);
        ck_assert_int_eq(PEM_write_bio_PrivateKey(kbio, key, NULL, NULL, 0, NULL, NULL), 1);
        fixture_tls_write_bio(key_path, kbio);
        BIO_free(kbio);
    }
    fixture_tls_write_bio(cert_path, bio);
    BIO_free(bio);
    X509_free(cert);
    EVP_PKEY_free(key);
}
