/* List files (killlist, whitelist, relay_networks, local_recipients): one
 * entry per line, read once and handed to a list module's add function. */
#ifndef ALLIGATE_LIST_FILE_H
#define ALLIGATE_LIST_FILE_H

struct VBUF;

/* Longest line in a list file, newline excluded. */
#define LIST_FILE_LINE_MAX  1024

/* Adds one entry (trimmed, never empty) to ctx.  Returns 0, or -1 with the
 * reason in why (reset before each call). */
typedef int (*LIST_FILE_ADD_FN)(void *ctx, const char *entry,
                                struct VBUF *why);

/* Reads path and calls add for each entry, in file order.  Everything from
 * '#' to the end of the line is a comment; white space around an entry
 * (including the '\r' of a CRLF line end) and blank lines are ignored; the
 * last line needs no newline.  A line longer than LIST_FILE_LINE_MAX bytes
 * or one with a NUL byte is an error, as is the first entry add refuses.
 * Returns 0 with why empty, or -1 with "PATH:LINE: reason" (or "PATH:
 * strerror" when the file cannot be opened or read) in why. */
int list_file_read(const char *path, LIST_FILE_ADD_FN add, void *ctx,
                   struct VBUF *why);

#endif
