/* Creating Alligate's working directories. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "dirs.h"
#include "queue_dir.h"
#include "vbuf.h"

/* mkdir -p path, the last component with the given mode. */
static int
dirs_make(const char *path, mode_t mode, VBUF *why)
{
    char buf[4096];
    char *cp;
    struct stat st;

    if (strlen(path) >= sizeof(buf) || *path != '/') {
        vbuf_printf(why, "bad directory name \"%s\"", path);
        return -1;
    }
    memcpy(buf, path, strlen(path) + 1);
    for (cp = buf + 1; (cp = strchr(cp, '/')) != NULL; cp++) {
        *cp = 0;
        if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
            vbuf_printf(why, "cannot create %s: %s", buf, strerror(errno));
            return -1;
        }
        *cp = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST) {
        vbuf_printf(why, "cannot create %s: %s", buf, strerror(errno));
        return -1;
    }
    if (stat(buf, &st) < 0 || !S_ISDIR(st.st_mode)) {
        vbuf_printf(why, "%s is not a directory", buf);
        return -1;
    }
    return 0;
}

static int
dirs_own(const char *path, const struct passwd *pw, VBUF *why)
{
    if (pw && chown(path, pw->pw_uid, pw->pw_gid) < 0) {
        vbuf_printf(why, "cannot chown %s to %s: %s", path, pw->pw_name,
                    strerror(errno));
        return -1;
    }
    return 0;
}

/* Creates the log file (log_file names one), and its directory (owned by
 * whoever runs this), the file owned by pw, so that every process can
 * open it again after a rotation, as daemon_user. */
static int
dirs_log_file_own(const struct passwd *pw, VBUF *why)
{
    char dir[4096];
    const char *slash;
    int fd;

    if (*conf_str(P_log_file) != '/')
        return 0;
    slash = strrchr(conf_str(P_log_file), '/');
    if (slash > conf_str(P_log_file) && (size_t) (slash - conf_str(P_log_file)) < sizeof(dir)) {
        memcpy(dir, conf_str(P_log_file), (size_t) (slash - conf_str(P_log_file)));
        dir[slash - conf_str(P_log_file)] = 0;
        if (dirs_make(dir, 0755, why) < 0)
            return -1;
    }
    if (pw == NULL)
        return 0;
    fd = open(conf_str(P_log_file), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
              0640);
    if (fd < 0 || fchown(fd, pw->pw_uid, pw->pw_gid) < 0) {
        vbuf_printf(why, "cannot create log file %s: %s", conf_str(P_log_file),
                    strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int
dirs_log_file(VBUF *why)
{
    const struct passwd *pw = NULL;

    if (geteuid() == 0 && (pw = getpwnam(conf_str(P_daemon_user))) == NULL) {
        vbuf_printf(why, "daemon_user \"%s\" does not exist", conf_str(P_daemon_user));
        return -1;
    }
    return dirs_log_file_own(pw, why);
}

int
dirs_ensure(VBUF *why)
{
    static const char *queue_subdirs[] = {
        QUEUE_DIR_TMP, QUEUE_DIR_INCOMING, QUEUE_DIR_DEFERRED, QUEUE_DIR_HOLD,
        QUEUE_DIR_CORRUPT, QUEUE_DIR_ARCHIVE,
    };
    struct {
        CONF_ID id;
        mode_t mode;
    } dirs[] = {
        {P_queue_directory, 0700}, {P_data_directory, 0700},
        {P_run_directory, 0755}, {P_archive_directory, 0700},
    };
    const struct passwd *pw = NULL;
    VBUF *path;
    size_t i;
    int status = 0;

    vbuf_reset(why);
    if (geteuid() == 0 && (pw = getpwnam(conf_str(P_daemon_user))) == NULL) {
        vbuf_printf(why, "daemon_user \"%s\" does not exist", conf_str(P_daemon_user));
        return -1;
    }
    for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        if (dirs[i].id == P_archive_directory && !conf_bool(P_archive))
            continue;
        if (dirs_make(conf_str(dirs[i].id), dirs[i].mode, why) < 0
            || dirs_own(conf_str(dirs[i].id), pw, why) < 0)
            return -1;
    }
    if (queue_dir_init(conf_str(P_queue_directory), why) < 0)
        return -1;
    /* A log file shared by every process must be writable by all. */
    if (dirs_log_file_own(pw, why) < 0)
        return -1;
    path = vbuf_create(100);
    for (i = 0; i < sizeof(queue_subdirs) / sizeof(queue_subdirs[0]) && status == 0; i++)
        status = dirs_own(queue_dir_path(path, conf_str(P_queue_directory), queue_subdirs[i],
                                         NULL), pw, why);
    vbuf_free(path);
    return status;
}
