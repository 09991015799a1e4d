/* The one reader of list files, shared by cidr_list and addr_list, so that
 * every list accepts the same syntax and reports errors the same way. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "list_file.h"
#include "vbuf.h"

/* Reads the next line of fp into buf (size LIST_FILE_LINE_MAX + 1) without
 * its newline.  Returns 1, 0 at end of file, or -1 with *err set to the
 * reason, or to NULL for a read error (errno set). */
static int
list_file_getline(FILE *fp, char *buf, const char **err)
{
    size_t len = 0;
    int ch;

    while ((ch = getc(fp)) != EOF && ch != '\n') {
        if (ch == 0) {
            *err = "NUL byte in line";
            return -1;
        }
        if (len == LIST_FILE_LINE_MAX) {
            *err = "line too long";
            return -1;
        }
        buf[len++] = (char) ch;
    }
    buf[len] = 0;
    if (ch == EOF && ferror(fp)) {
        *err = NULL;
        return -1;
    }
    return (ch == EOF && len == 0) ? 0 : 1;
}

/* Removes a '#' comment and surrounding white space, in place. */
static char *
list_file_trim(char *line)
{
    char *end;

    line[strcspn(line, "#")] = 0;
    while (isspace((unsigned char) *line))
        line++;
    end = line + strlen(line);
    while (end > line && isspace((unsigned char) end[-1]))
        *--end = 0;
    return line;
}

int
list_file_read(const char *path, LIST_FILE_ADD_FN add, void *ctx, VBUF *why)
{
    char line[LIST_FILE_LINE_MAX + 1];
    const char *err;
    unsigned long lineno = 0;
    VBUF *reason;
    FILE *fp;
    char *entry;
    int status;
    int ret = 0;

    vbuf_reset(why);
    if ((fp = fopen(path, "r")) == NULL) {
        vbuf_printf(why, "%s: %s", path, strerror(errno));
        return -1;
    }
    reason = vbuf_create(128);
    while (ret == 0 && (status = list_file_getline(fp, line, &err)) != 0) {
        lineno++;
        if (status < 0) {
            if (err)
                vbuf_printf(why, "%s:%lu: %s", path, lineno, err);
            else
                vbuf_printf(why, "%s: %s", path, strerror(errno));
            ret = -1;
        } else if (*(entry = list_file_trim(line)) != 0) {
            vbuf_reset(reason);
            if (add(ctx, entry, reason) < 0) {
                vbuf_printf(why, "%s:%lu: %s", path, lineno,
                            vbuf_str(reason));
                ret = -1;
            }
        }
    }
    vbuf_free(reason);
    fclose(fp);
    return ret;
}
