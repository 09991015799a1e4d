/* The TLS part of a loaded configuration, checked before anything uses
 * it: by `alligatectl check`, and by master before it starts or reloads,
 * so that a bad certificate is refused with its main.cf line and the
 * running service keeps its old one, instead of every smtpd worker
 * failing on its own.  conf_load has checked each value already (the
 * files are readable, tls_protocols parses); here the files' content and
 * the rules between parameters.  Problems come in the shape of conf_load's
 * errors (conf_problem()). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "msg.h"
#include "mymalloc.h"
#include "printable.h"
#include "tls_conf.h"
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include "tls_server.h"
#include "vbuf.h"

/* Nobody types a passphrase here, and a worker could not either. */
static int
tls_conf_no_passphrase(char *buf, int size, int rwflag, void *context)
{
    (void) buf, (void) size, (void) rwflag, (void) context;
    return 0;
}

/* "2026-01-31 12:00:00 UTC" */
static const char *
tls_conf_date(const ASN1_TIME *t, char *buf, size_t size)
{
    struct tm tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1 || strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(buf, size, "(unreadable date)");
    return buf;
}

/* The security levels that need a certificate. */
static int
tls_conf_levels(const CONFIG *conf, VBUF *errors)
{
    int rc = 0;

    if (*conf_value(conf, P_tls_cert_file))
        return 0;
    if (strcmp(conf_value(conf, P_smtpd_tls_security_level), "encrypt") == 0) {
        conf_problem(conf, errors, P_smtpd_tls_security_level,
                     "encrypt needs tls_cert_file");
        rc = -1;
    }
    if (*conf_value(conf, P_submission_listen)
        && strcmp(conf_value(conf, P_submission_tls_security_level), "encrypt") == 0) {
        conf_problem(conf, errors, P_submission_listen,
                     "needs tls_cert_file, as submission_tls_security_level is "
                     "encrypt%s (or set it to may or none)",
                     conf_is_set(conf, P_submission_tls_security_level) ? "" :
                     " by default");
        rc = -1;
    }
    return rc;
}

/* tls_ciphers: an error when OpenSSL finds no cipher at all in it, a
 * warning for each word that matches none (OpenSSL skips those quietly,
 * so a misspelt cipher would just be missing). */
static int
tls_conf_ciphers(const CONFIG *conf, VBUF *errors, VBUF *warnings)
{
    const char *ciphers = conf_value(conf, P_tls_ciphers);
    SSL_CTX *ctx;
    VBUF *list = vbuf_create(256);
    char *copy, *word, *save = NULL;
    int rc = 0;

    ERR_clear_error();
    if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        ERR_clear_error();
        conf_problem(conf, errors, P_tls_ciphers, "cannot make a TLS context to check it");
        vbuf_free(list);
        return -1;
    }
    tls_server_cipher_list(ciphers, list);
    if (SSL_CTX_set_cipher_list(ctx, vbuf_str(list)) != 1) {
        conf_problem(conf, errors, P_tls_ciphers, "OpenSSL finds no cipher to use in "
                     "\"%s\" (anonymous, NULL, EXPORT, RC4 and MD5 ciphers are "
                     "never used)", printable_str(ciphers));
        rc = -1;
    } else {
        copy = mystrdup(ciphers);
        for (word = strtok_r(copy, ":, ", &save); word; word = strtok_r(NULL, ":, ", &save)) {
            /* Excluding what does not exist is harmless; @STRENGTH and
             * @SECLEVEL=N are not ciphers. */
            if (*word == '!' || *word == '-' || *word == '@')
                continue;
            if (*word == '+')
                word++;
            if (*word == 0 || SSL_CTX_set_cipher_list(ctx, word) == 1)
                continue;
            conf_problem(conf, warnings, P_tls_ciphers, "\"%s\" matches no cipher%s",
                         printable_str(word), strncmp(word, "TLS_", 4) == 0 ?
                         " (TLS 1.3 suites are not set here: smtpd keeps OpenSSL's)" :
                         " that OpenSSL knows");
        }
        myfree(copy);
    }
    ERR_clear_error();
    SSL_CTX_free(ctx);
    vbuf_free(list);
    return rc;
}

/* Opens a PEM file for reading; NULL after reporting why. */
static BIO *
tls_conf_open(const CONFIG *conf, CONF_ID id, const char *path, VBUF *errors)
{
    BIO *bio;

    errno = 0;
    if ((bio = BIO_new_file(path, "r")) == NULL) {
        conf_problem(conf, errors, id, "cannot read \"%s\": %s", path,
                     errno ? strerror(errno) : "unknown error");
        ERR_clear_error();
    }
    return bio;
}

/* The first certificate of tls_cert_file (the server's own; the rest is
 * its chain) into *certp, its dates checked against now; -1 after an
 * error, with *certp set when the certificate could be read. */
static int
tls_conf_cert(const CONFIG *conf, time_t now, X509 **certp, VBUF *errors,
              VBUF *warnings)
{
    const char *path = conf_value(conf, P_tls_cert_file);
    ASN1_TIME *asn_now;
    X509 *cert;
    BIO *bio;
    char date[64];
    int day, sec;
    int rc = 0;

    *certp = NULL;
    if ((bio = tls_conf_open(conf, P_tls_cert_file, path, errors)) == NULL)
        return -1;
    cert = PEM_read_bio_X509(bio, NULL, tls_conf_no_passphrase, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (cert == NULL) {
        conf_problem(conf, errors, P_tls_cert_file, "no PEM certificate in \"%s\"", path);
        return -1;
    }
    *certp = cert;
    if ((asn_now = ASN1_TIME_set(NULL, now)) == NULL)
        msg_fatal("out of memory");
    if (ASN1_TIME_diff(&day, &sec, asn_now, X509_get0_notAfter(cert)) != 1) {
        conf_problem(conf, errors, P_tls_cert_file, "cannot read the dates of the "
                     "certificate in \"%s\"", path);
        rc = -1;
    } else if (day < 0 || sec < 0 || (day == 0 && sec == 0)) {
        conf_problem(conf, errors, P_tls_cert_file, "the certificate in \"%s\" expired on %s",
                     path, tls_conf_date(X509_get0_notAfter(cert), date, sizeof(date)));
        rc = -1;
    } else if (day < TLS_CONF_EXPIRY_WARN_DAYS) {
        day += sec > 0;
        conf_problem(conf, warnings, P_tls_cert_file, "the certificate in \"%s\" "
                     "expires on %s, in %d day%s", path,
                     tls_conf_date(X509_get0_notAfter(cert), date, sizeof(date)),
                     day, day == 1 ? "" : "s");
    }
    if (rc == 0 && ASN1_TIME_diff(&day, &sec, asn_now, X509_get0_notBefore(cert)) == 1
        && (day > 0 || sec > 0))
        conf_problem(conf, warnings, P_tls_cert_file, "the certificate in \"%s\" is "
                     "not valid before %s", path,
                     tls_conf_date(X509_get0_notBefore(cert), date, sizeof(date)));
    ASN1_TIME_free(asn_now);
    ERR_clear_error();
    return rc;
}

/* 1 when a PEM file holds an encrypted key: OpenSSL 3 does not say so
 * when it fails to read one without a passphrase. */
static int
tls_conf_encrypted(const char *path)
{
    FILE *fp;
    char line[256];
    int found = 0;

    if ((fp = fopen(path, "r")) == NULL)
        return 0;
    while (!found && fgets(line, sizeof(line), fp) != NULL)
        found = strncmp(line, "-----BEGIN ENCRYPTED PRIVATE KEY-----", 37) == 0
            || strncmp(line, "Proc-Type: 4,ENCRYPTED", 22) == 0;
    fclose(fp);
    return found;
}

/* tls_key_file (empty: the key is in tls_cert_file) and that it belongs
 * to cert, when there is a cert. */
static int
tls_conf_key(const CONFIG *conf, X509 *cert, VBUF *errors, VBUF *warnings)
{
    const char *cert_path = conf_value(conf, P_tls_cert_file);
    const char *path = conf_value(conf, P_tls_key_file);
    EVP_PKEY *key;
    struct stat st;
    BIO *bio;
    int rc = 0;

    if (*path == 0)
        path = cert_path;
    if ((bio = tls_conf_open(conf, P_tls_key_file, path, errors)) == NULL)
        return -1;
    ERR_clear_error();
    key = PEM_read_bio_PrivateKey(bio, NULL, tls_conf_no_passphrase, NULL);
    BIO_free(bio);
    if (key == NULL) {
        ERR_clear_error();
        if (tls_conf_encrypted(path))
            conf_problem(conf, errors, P_tls_key_file, "the private key in \"%s\" is "
                         "encrypted; smtpd needs it without a passphrase", path);
        else
            conf_problem(conf, errors, P_tls_key_file, "no PEM private key in \"%s\"", path);
        return -1;
    }
    if (cert != NULL && X509_check_private_key(cert, key) != 1) {
        conf_problem(conf, errors, P_tls_key_file, "the private key in \"%s\" does not "
                     "match the certificate in \"%s\"", path, cert_path);
        rc = -1;
    }
    EVP_PKEY_free(key);
    ERR_clear_error();
    if (stat(path, &st) == 0 && (st.st_mode & S_IROTH))
        conf_problem(conf, warnings, P_tls_key_file, "the private key in \"%s\" is "
                     "readable by everyone (chmod o-r)", path);
    return rc;
}

/* Run as root, smtpd reads the files as daemon_user, with its primary
 * group only (server_drop_privileges()): a key that root alone may read
 * would make every STARTTLS fail.  A child with those privileges tries to
 * open them; each errno comes back through a pipe. */
static int
tls_conf_access(const CONFIG *conf, VBUF *errors)
{
    const char *user = conf_value(conf, P_daemon_user);
    const char *cert = conf_value(conf, P_tls_cert_file);
    const char *key = *conf_value(conf, P_tls_key_file) ?
        conf_value(conf, P_tls_key_file) : cert;
    const char *paths[2] = {cert, key};
    const CONF_ID ids[2] = {P_tls_cert_file, P_tls_key_file};
    int     err[2] = {0, 0};
    struct passwd *pw;
    int     pipefd[2];
    int     status, i, rc = 0;
    pid_t   pid;

    if (geteuid() != 0 || (pw = getpwnam(user)) == NULL || pw->pw_uid == 0)
        return 0;                       /* the daemons say so themselves */
    if (pipe(pipefd) < 0)
        return 0;
    if ((pid = fork()) < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return 0;
    }
    if (pid == 0) {
        close(pipefd[0]);
        if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0
            || setuid(pw->pw_uid) < 0)
            _exit(2);
        for (i = 0; i < 2; i++) {
            int fd = open(paths[i], O_RDONLY | O_CLOEXEC);

            err[i] = fd < 0 ? errno : 0;
            if (fd >= 0)
                close(fd);
        }
        _exit(write(pipefd[1], err, sizeof(err)) == sizeof(err) ? 0 : 2);
    }
    close(pipefd[1]);
    if (read(pipefd[0], err, sizeof(err)) != sizeof(err))
        err[0] = err[1] = 0;
    close(pipefd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        /* void */ ;
    for (i = 0; i < 2; i++) {
        if (err[i] == 0 || (i == 1 && strcmp(paths[0], paths[1]) == 0 && err[0]))
            continue;
        conf_problem(conf, errors, ids[i], "daemon_user %s, as which smtpd reads it, "
                     "cannot read \"%s\": %s", user, paths[i], strerror(err[i]));
        rc = -1;
    }
    return rc;
}

int
tls_conf_check(const CONFIG *conf, time_t now, VBUF *errors, VBUF *warnings)
{
    X509 *cert = NULL;
    VBUF *why;
    SSL_CTX *ctx;
    int rc = 0;

    if (tls_conf_levels(conf, errors) < 0)
        rc = -1;
    if (tls_conf_ciphers(conf, errors, warnings) < 0)
        rc = -1;
    if (*conf_value(conf, P_tls_cert_file) == 0)
        return rc;
    if (tls_conf_access(conf, errors) < 0)
        rc = -1;
    if (tls_conf_cert(conf, now, &cert, errors, warnings) < 0)
        rc = -1;
    if (tls_conf_key(conf, cert, errors, warnings) < 0)
        rc = -1;
    X509_free(cert);
    if (rc < 0)
        return rc;

    /* Last, the context itself, exactly as smtpd will make it: what the
     * checks above did not foresee (a broken chain, a key type OpenSSL
     * refuses) shows here rather than in every worker. */
    why = vbuf_create(100);
    ctx = tls_server_ctx_make(conf_value(conf, P_tls_cert_file),
                              conf_value(conf, P_tls_key_file),
                              conf_value(conf, P_tls_protocols),
                              conf_value(conf, P_tls_ciphers), why);
    if (ctx == NULL) {
        conf_problem(conf, errors, P_tls_cert_file, "%s", vbuf_str(why));
        rc = -1;
    }
    SSL_CTX_free(ctx);
    vbuf_free(why);
    return rc;
}
