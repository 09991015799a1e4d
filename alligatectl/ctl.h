/* alligatectl: the administrator's command.  Each verb lives in its own
 * file; they share this small interface. */
#ifndef ALLIGATE_CTL_H
#define ALLIGATE_CTL_H

struct CONFIG;

/* The -c directory, made absolute. */
extern const char *ctl_config_dir;

/* Loads and activates the configuration, or prints every error to stderr
 * and exits 1. */
struct CONFIG *ctl_load_config(void);

/* The checks conf_load cannot make (tls_conf.c: the certificate and key;
 * conf_env.c: daemon_user and log_file on this machine): prints each
 * error, and each warning after "warning: ", to stderr; -1 when there was
 * an error.  For the verbs that start or change the service, and check. */
int ctl_check_conf(struct CONFIG *conf);

/* Prints the usage message to stderr and exits 2. */
void ctl_usage(void) __attribute__((noreturn));

int ctl_check(int argc, char **argv);
int ctl_config(int argc, char **argv);
int ctl_start(int argc, char **argv);
int ctl_stop(int argc, char **argv);
int ctl_reload(int argc, char **argv);
int ctl_status(int argc, char **argv);
int ctl_rate(int argc, char **argv);
int ctl_queue(int argc, char **argv);
int ctl_user(int argc, char **argv);
int ctl_dns(int argc, char **argv);
int ctl_stats(int argc, char **argv);

/* ctl_queue.c: one line for status, the number of queued messages. */
void ctl_queue_status(void);
/* alligatectl status: ratekeeper's backend and whether it answers. */
void ctl_rate_status(void);

/* ctl_queue.c: prints a JSON string (NULL: null); valid UTF-8 is kept,
 * other bytes become U+FFFD. */
void ctl_json_str(const char *s);

/* ctl_archive.c */
int ctl_archive(int argc, char **argv);
/* One line for status: links waiting for the archiver. */
void ctl_archive_status(void);

#endif
