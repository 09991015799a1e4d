/* alligatectl user: the users of auth_backend = local, in
 * auth_user_database (lib/auth_userdb.h), written here directly; authd
 * reads the file for every check, so a change counts at once.
 *
 *   user add NAME [--password-stdin | --hash HASH]
 *   user passwd NAME [--password-stdin]
 *   user delete NAME
 *   user list
 *
 * A password is never an argument (ps would show it): it is the first
 * line of standard input (--password-stdin), or typed twice without echo
 * when standard input is a terminal.  It is stored as a yescrypt hash;
 * --hash imports an existing one ($y$, $6$, $5$, $2b$, $2y$).  After a
 * change or a deletion authd is told to forget the user's cached checks. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "auth_clnt.h"
#include "auth_userdb.h"
#include "conf.h"
#include "ctl.h"
#include "dirs.h"
#include "printable.h"
#include "pw_hash.h"
#include "vbuf.h"

#define CTL_USER_LINE_MAX       4096    /* what is read of standard input */
#define CTL_USER_FORGET_MS      5000

/* Reads the first line of standard input, without its newline, into pw;
 * with a prompt and no echo when it is a terminal.  0, or -1 (said). */
static int
ctl_user_read_line(const char *prompt, VBUF *pw)
{
    struct termios saved, quiet;
    int tty = isatty(0), restore = 0, ch;

    if (tty) {
        fputs(prompt, stderr);
        fflush(stderr);
        if (tcgetattr(0, &saved) == 0) {
            quiet = saved;
            quiet.c_lflag &= ~(tcflag_t) ECHO;
            restore = tcsetattr(0, TCSAFLUSH, &quiet) == 0;
        }
    }
    vbuf_reset(pw);
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (vbuf_len(pw) >= CTL_USER_LINE_MAX)
            break;
        vbuf_append_char(pw, ch);
    }
    if (restore)
        tcsetattr(0, TCSAFLUSH, &saved);
    if (tty)
        fputc('\n', stderr);
    if (ch != EOF && ch != '\n') {
        fprintf(stderr, "alligatectl: password longer than %d octets\n",
                PW_HASH_PASSWORD_MAX);
        return -1;
    }
    if (vbuf_len(pw) == 0) {
        fprintf(stderr, "alligatectl: empty password%s\n",
                tty ? "" : " (the first line of standard input)");
        return -1;
    }
    if (strlen(vbuf_str(pw)) != vbuf_len(pw)) {
        fprintf(stderr, "alligatectl: password with a NUL byte\n");
        return -1;
    }
    if (vbuf_len(pw) > PW_HASH_PASSWORD_MAX) {
        fprintf(stderr, "alligatectl: password longer than %d octets\n",
                PW_HASH_PASSWORD_MAX);
        return -1;
    }
    return 0;
}

static void
ctl_user_wipe(VBUF *pw)
{
    explicit_bzero(pw->data, pw->cap);
    vbuf_reset(pw);
}

/* The new password's hash into hash: 0, or -1 (said). */
static int
ctl_user_new_hash(VBUF *hash)
{
    VBUF *pw = vbuf_create(64), *again = vbuf_create(64), *why;
    int ret = -1;

    if (ctl_user_read_line("Password: ", pw) < 0)
        goto out;
    if (isatty(0)) {
        if (ctl_user_read_line("Password again: ", again) < 0)
            goto out;
        if (strcmp(vbuf_str(pw), vbuf_str(again)) != 0) {
            fprintf(stderr, "alligatectl: the passwords differ\n");
            goto out;
        }
    }
    why = vbuf_create(64);
    if ((ret = pw_hash_make(vbuf_str(pw), hash, why)) < 0)
        fprintf(stderr, "alligatectl: %s\n", vbuf_str(why));
    vbuf_free(why);
  out:
    ctl_user_wipe(pw);
    ctl_user_wipe(again);
    vbuf_free(pw);
    vbuf_free(again);
    return ret;
}

/* The stored form of a name given on the command line: 0, or -1 (said). */
static int
ctl_user_name(const char *arg, VBUF *name)
{
    VBUF *why = vbuf_create(64);
    int ret = auth_userdb_name(arg, name, why);

    if (ret < 0)
        fprintf(stderr, "alligatectl: \"%s\": %s\n", printable_str(arg),
                vbuf_str(why));
    vbuf_free(why);
    return ret;
}

/* The owner of the file: daemon_user when we are root. */
static int
ctl_user_owner(uid_t *uid, gid_t *gid)
{
    struct passwd *pw;

    *uid = (uid_t) -1;
    *gid = (gid_t) -1;
    if (geteuid() != 0)
        return 0;
    if ((pw = getpwnam(conf_str(P_daemon_user))) == NULL) {
        fprintf(stderr, "alligatectl: daemon_user %s: no such user\n",
                conf_str(P_daemon_user));
        return -1;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* The change, or why not: the exit status. */
static int
ctl_user_update(int op, const char *name, const char *hash)
{
    VBUF *why = vbuf_create(64);
    uid_t uid;
    gid_t gid;
    int ret;

    if (ctl_user_owner(&uid, &gid) < 0) {
        vbuf_free(why);
        return 1;
    }
    if (dirs_ensure(why) < 0) {
        fprintf(stderr, "alligatectl: %s\n", vbuf_str(why));
        vbuf_free(why);
        return 1;
    }
    ret = auth_userdb_update(conf_str(P_auth_user_database), op, name, hash,
                             uid, gid, why);
    if (ret < 0)
        fprintf(stderr, "alligatectl: %s\n", vbuf_str(why));
    else if (ret == AUTH_USERDB_EXISTS)
        fprintf(stderr, "alligatectl: user %s exists (user passwd changes its password)\n",
                printable_str(name));
    else if (ret == AUTH_USERDB_ABSENT)
        fprintf(stderr, "alligatectl: no user %s\n", printable_str(name));
    vbuf_free(why);
    return ret == AUTH_USERDB_OK ? 0 : 1;
}

/* authd drops what it cached of name.  authd not running has nothing
 * cached; one that does not answer is worth a warning. */
static void
ctl_user_forget(const char *name)
{
    AUTH_CLNT *clnt = auth_clnt_create(auth_clnt_default_path(),
                                       CTL_USER_FORGET_MS);
    VBUF *why = vbuf_create(64);

    if (auth_clnt_forget(clnt, name, why) < 0
        && access(auth_clnt_default_path(), F_OK) == 0)
        fprintf(stderr, "alligatectl: warning: authd did not forget the cached checks of %s: %s; they expire within auth_cache_time\n",
                printable_str(name), vbuf_str(why));
    vbuf_free(why);
    auth_clnt_free(clnt);
}

static void
ctl_user_relay_warning(void)
{
    if (conf_enum(P_auth_backend) != 0)
        fprintf(stderr, "alligatectl: warning: auth_backend = %s: authd does not read %s\n",
                conf_str(P_auth_backend), conf_str(P_auth_user_database));
}

/* add and passwd: NAME [--password-stdin | --hash HASH]. */
static int
ctl_user_set(int argc, char **argv, int op)
{
    VBUF *name, *hash, *why;
    const char *imported = NULL, *arg = NULL;
    int i, from_stdin = 0, ret;

    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--password-stdin") == 0)
            from_stdin = 1;
        else if (strcmp(argv[i], "--hash") == 0 && i + 1 < argc
                 && op == AUTH_USERDB_ADD && imported == NULL)
            imported = argv[++i];
        else if (strncmp(argv[i], "--hash=", 7) == 0
                 && op == AUTH_USERDB_ADD && imported == NULL)
            imported = argv[i] + 7;
        else if (argv[i][0] == '-' || arg != NULL)
            /* Never a password on the command line. */
            ctl_usage();
        else
            arg = argv[i];
    }
    if (arg == NULL || (from_stdin && imported))
        ctl_usage();
    ctl_load_config();
    name = vbuf_create(64);
    if (ctl_user_name(arg, name) < 0) {
        vbuf_free(name);
        return 1;
    }
    hash = vbuf_create(128);
    if (imported) {
        why = vbuf_create(64);
        if (pw_hash_valid(imported, why) < 0) {
            fprintf(stderr, "alligatectl: --hash: %s\n", vbuf_str(why));
            vbuf_free(why);
            vbuf_free(name);
            vbuf_free(hash);
            return 1;
        }
        vbuf_free(why);
        vbuf_set(hash, imported);
    } else if (ctl_user_new_hash(hash) < 0) {
        vbuf_free(name);
        vbuf_free(hash);
        return 1;
    }
    ctl_user_relay_warning();
    if ((ret = ctl_user_update(op, vbuf_str(name), vbuf_str(hash))) == 0) {
        if (op == AUTH_USERDB_CHANGE)
            ctl_user_forget(vbuf_str(name));
        printf("alligatectl: %s %s\n", op == AUTH_USERDB_ADD ? "added user"
               : "changed the password of", printable_str(vbuf_str(name)));
    }
    vbuf_free(name);
    vbuf_free(hash);
    return ret;
}

static int
ctl_user_delete(const char *arg)
{
    VBUF *name = vbuf_create(64);
    int ret;

    ctl_load_config();
    if (ctl_user_name(arg, name) < 0) {
        vbuf_free(name);
        return 1;
    }
    if ((ret = ctl_user_update(AUTH_USERDB_DELETE, vbuf_str(name), NULL))
        == 0) {
        ctl_user_forget(vbuf_str(name));
        printf("alligatectl: deleted user %s\n",
               printable_str(vbuf_str(name)));
    }
    vbuf_free(name);
    return ret;
}

static void
ctl_user_print(const char *user, const char *hash, void *context)
{
    (void) hash;
    (void) context;
    printf("%s\n", printable_str(user));
}

static int
ctl_user_list(void)
{
    VBUF *why = vbuf_create(64);

    ctl_load_config();
    if (auth_userdb_walk(conf_str(P_auth_user_database), ctl_user_print, NULL,
                         why) < 0) {
        fprintf(stderr, "alligatectl: %s\n", vbuf_str(why));
        vbuf_free(why);
        return 1;
    }
    vbuf_free(why);
    return 0;
}

int
ctl_user(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "add") == 0)
        return ctl_user_set(argc, argv, AUTH_USERDB_ADD);
    if (argc >= 3 && strcmp(argv[1], "passwd") == 0)
        return ctl_user_set(argc, argv, AUTH_USERDB_CHANGE);
    if (argc == 3 && strcmp(argv[1], "delete") == 0)
        return ctl_user_delete(argv[2]);
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return ctl_user_list();
    ctl_usage();
}
