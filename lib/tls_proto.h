/* tls_protocols, in Postfix's syntax: ">=TLSv1.2", "<=TLSv1.3", both
 * (">=TLSv1.2 <=TLSv1.3"), a list of exclusions ("!SSLv3, !TLSv1,
 * !TLSv1.1") or of inclusions ("TLSv1.2 TLSv1.3").  Names: SSLv2, SSLv3,
 * TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, case as written.  Pure: no OpenSSL
 * state is touched, so the configuration check and the contexts agree. */
#ifndef ALLIGATE_TLS_PROTO_H
#define ALLIGATE_TLS_PROTO_H

struct VBUF;

/* Sets *min and *max to OpenSSL version constants (TLS1_2_VERSION, ...;
 * never below TLS1_VERSION: SSLv2 and SSLv3 are never offered) and
 * returns 0; returns -1 with the reason in why for an unknown name, an
 * empty range or an inclusion list with holes that OpenSSL cannot
 * express as one range. */
int     tls_proto_parse(const char *spec, int *min, int *max, struct VBUF *why);

/* "TLSv1.2" for TLS1_2_VERSION; "unknown" for what it does not know. */
const char *tls_proto_name(int version);

#endif
