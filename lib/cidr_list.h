/* Lists of IPv4 and IPv6 addresses and CIDR blocks (killlist, whitelist,
 * relay_networks), matched by binary search over sorted, merged ranges. */
#ifndef ALLIGATE_CIDR_LIST_H
#define ALLIGATE_CIDR_LIST_H

#include <stddef.h>
#include <sys/socket.h>

struct VBUF;
typedef struct CIDR_LIST CIDR_LIST;

CIDR_LIST *cidr_list_create(void);
CIDR_LIST *cidr_list_free(CIDR_LIST *list);

/* Adds one entry: "192.0.2.1", "192.0.2.0/24", "2001:db8::/32", "::1",
 * "[2001:db8::1]", "[2001:db8::]/48".  IPv4-mapped IPv6 addresses match
 * their IPv4 form.  Host bits set below the prefix are an error (as in
 * Postfix: "192.0.2.1/24" is refused, the user meant something else).
 * Returns 0, or -1 with the reason in why (reset first). */
int cidr_list_add(CIDR_LIST *list, const char *entry, struct VBUF *why);

/* Reads a list file: one entry per line, '#' comments, blank lines and
 * surrounding white space ignored.  On error returns -1 with
 * "PATH:LINE: reason" (or "PATH: strerror") in why. */
int cidr_list_load_file(CIDR_LIST *list, const char *path, struct VBUF *why);

/* Sorts and merges; must be called after the last add and before match.
 * Matching an unfinished list is a panic. */
void cidr_list_finish(CIDR_LIST *list);

/* 1 if the address matches, 0 if not (or the string is not an address). */
int cidr_list_match_sa(const CIDR_LIST *list, const struct sockaddr *sa);
int cidr_list_match_str(const CIDR_LIST *list, const char *addr);
size_t cidr_list_count(const CIDR_LIST *list);

#endif
