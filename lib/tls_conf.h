/* The TLS part of a loaded configuration, checked before anything uses
 * it (alligatectl check, master's start and reload): the certificate and
 * key files' content, their match and dates, tls_ciphers, and the
 * security levels that need a certificate. */
#ifndef ALLIGATE_TLS_CONF_H
#define ALLIGATE_TLS_CONF_H

#include <time.h>

#include "conf.h"

struct VBUF;

/* A certificate this close to its end is a warning. */
#define TLS_CONF_EXPIRY_WARN_DAYS   14

/* Checks conf, with certificate dates against now.  Appends one line per
 * problem, in conf_load's shape ("DIR/main.cf:LINE: name: problem\n"), to
 * errors, or to warnings for what is not wrong yet (a certificate that
 * expires within TLS_CONF_EXPIRY_WARN_DAYS, a key readable by everyone, a
 * word of tls_ciphers that matches no cipher); warnings carry no
 * "warning: " prefix, that is the caller's.  Returns -1 when there was an
 * error, 0 otherwise. */
int     tls_conf_check(const CONFIG *conf, time_t now, struct VBUF *errors,
                       struct VBUF *warnings);

#endif
