/* OpenSSL's headers, for every file of ours that uses OpenSSL.
 *
 * OpenSSL declares a type CONF (its configuration files) and so does
 * conf.h; a file that includes both fails to compile.  Here OpenSSL's is
 * renamed OPENSSL_CONF while its headers are read, so that conf.h's CONF
 * is the only one a file sees.  This works only if these are the first
 * OpenSSL headers the file reads: include OpenSSL through this file, never
 * <openssl/...> directly, in any file that also includes conf.h (and
 * before tls_ticket.h, which includes <openssl/ssl.h> itself). */
#ifndef ALLIGATE_TLS_OPENSSL_H
#define ALLIGATE_TLS_OPENSSL_H

#if defined(OPENSSL_TYPES_H) && !defined(ALLIGATE_TLS_OPENSSL_RENAMED)
#error "an OpenSSL header was included before tls_openssl.h"
#endif

#define CONF OPENSSL_CONF
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#undef CONF
#define ALLIGATE_TLS_OPENSSL_RENAMED

#endif
