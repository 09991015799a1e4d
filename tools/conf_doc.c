/* conf_doc: writes the parameter section of alligate.conf(5) and the
 * commented etc/main.cf from the one parameter table, so that the
 * documentation cannot drift from the code.
 *
 *   conf_doc man   < man/alligate.conf.5.in  > man/alligate.conf.5
 *   conf_doc maincf < etc/main.cf.in         > etc/main.cf
 *
 * The template's line "@PARAMETERS@" is replaced by the generated text.
 * Text lines of the page are wrapped at DOC_MAN_WIDTH bytes (mandoc
 * -Tlint's style), between words. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "vbuf.h"

#define DOC_MAN_WIDTH   80

typedef struct DOC_ENTRY {
    const char *section;                /* non-NULL starts a group */
    int id;
} DOC_ENTRY;

static const DOC_ENTRY doc_entries[] = {
#define SECTION(title) {title, -1},
#define PARAM(name, type, def, min, max, values, help) {NULL, P_##name},
#include "conf_params.def"
#undef PARAM
#undef SECTION
};

#define DOC_NENTRIES (sizeof(doc_entries) / sizeof(doc_entries[0]))

/* Escapes roff special characters of text into out. */
static void
doc_roff_escape(VBUF *out, const char *text)
{
    for (; *text; text++) {
        if (*text == '\\')
            vbuf_append_str(out, "\\e");
        else if (*text == '-')
            vbuf_append_str(out, "\\-");
        else
            vbuf_append_char(out, *text);
    }
}

/* 1 when text, escaped, has a word longer than DOC_MAN_WIDTH bytes. */
static int
doc_long_word(const char *text)
{
    VBUF *esc = vbuf_create(256);
    const char *cp;
    size_t len;
    int found = 0;

    doc_roff_escape(esc, text);
    for (cp = vbuf_str(esc); *cp && !found; cp += len) {
        cp += strspn(cp, " ");
        len = strcspn(cp, " ");
        found = len > DOC_MAN_WIDTH;
    }
    vbuf_free(esc);
    return found;
}

/* Writes text as roff text lines of at most DOC_MAN_WIDTH bytes, broken
 * between words (a word longer than that gets a line of its own, with
 * places after its colons where the formatter may break it, \:, for
 * tls_ciphers' default); a line that would start with a control
 * character is protected with \&. */
static void
doc_roff(const char *text)
{
    VBUF *esc = vbuf_create(256);
    const char *cp, *end;
    size_t col = 0, len;

    doc_roff_escape(esc, text);
    for (cp = vbuf_str(esc); *cp; cp = end) {
        while (*cp == ' ')
            cp++;
        if (*cp == 0)
            break;
        end = cp + strcspn(cp, " ");
        len = (size_t) (end - cp) + (*cp == '.' || *cp == '\'' ? 2 : 0);
        if (col > 0 && col + 1 + len > DOC_MAN_WIDTH) {
            putchar('\n');
            col = 0;
        }
        if (col > 0) {
            putchar(' ');
            col++;
        }
        if (*cp == '.' || *cp == '\'')
            fputs("\\&", stdout);
        if (len > DOC_MAN_WIDTH) {
            for (; cp < end; cp++) {
                putchar(*cp);
                if (*cp == ':')
                    fputs("\\:", stdout);
            }
        } else {
            fwrite(cp, 1, (size_t) (end - cp), stdout);
        }
        col += len;
    }
    vbuf_free(esc);
}

/* "int, 1..10000" and the like. */
static void
doc_type(const CONF_PARAM *p, char *buf, size_t size)
{
    if (p->type == CONF_ENUM)
        snprintf(buf, size, "one of %s", p->values);
    else if (p->type == CONF_INT && (p->min || p->max))
        snprintf(buf, size, "%s, %lld..%lld", conf_type_name(p->type), p->min, p->max);
    else
        snprintf(buf, size, "%s", conf_type_name(p->type));
}

static const char *
doc_default(const CONF_PARAM *p)
{
    if (strcmp(p->name, "myhostname") == 0)
        return "(the system's host name)";
    if (strcmp(p->name, "config_directory") == 0)
        return "(set by alligatectl -c)";
    return *p->def ? p->def : "(empty)";
}

static void
doc_man(void)
{
    size_t i;
    char type[200];
    char line[1000];
    int long_word;

    for (i = 0; i < DOC_NENTRIES; i++) {
        const CONF_PARAM *p;

        if (doc_entries[i].section) {
            printf(".SS ");
            doc_roff(doc_entries[i].section);
            putchar('\n');
            continue;
        }
        p = &conf_params[doc_entries[i].id];
        doc_type(p, type, sizeof(type));
        snprintf(line, sizeof(line), "(%s; default: %s)", type, doc_default(p));
        /* A word wider than the page cannot be justified around: such an
         * entry is set ragged-right (groff would warn otherwise). */
        long_word = doc_long_word(line) || doc_long_word(p->help);
        if (long_word)
            printf(".ad l\n");
        printf(".TP\n.B ");
        doc_roff(p->name);
        putchar('\n');
        doc_roff(line);
        putchar('\n');
        doc_roff(p->help);
        putchar('\n');
        if (long_word)
            printf(".ad\n");
    }
}

static void
doc_maincf(void)
{
    size_t i;
    char type[200];
    const char *def;

    for (i = 0; i < DOC_NENTRIES; i++) {
        const CONF_PARAM *p;

        if (doc_entries[i].section) {
            printf("\n# === %s ===\n", doc_entries[i].section);
            continue;
        }
        p = &conf_params[doc_entries[i].id];
        if (strcmp(p->name, "config_directory") == 0)
            continue;                   /* not settable in main.cf */
        doc_type(p, type, sizeof(type));
        def = strcmp(p->name, "myhostname") == 0 ? "" : p->def;
        printf("\n# %s (%s)\n# %s\n#%s =%s%s\n", p->name, type, p->help,
               p->name, *def ? " " : "", def);
    }
}

int
main(int argc, char **argv)
{
    char line[4096];
    int man;

    if (argc != 2 || (strcmp(argv[1], "man") && strcmp(argv[1], "maincf"))) {
        fprintf(stderr, "usage: conf_doc man|maincf < template\n");
        return 2;
    }
    man = strcmp(argv[1], "man") == 0;
    for (size_t i = 0; i < DOC_NENTRIES; i++) {
        int id = doc_entries[i].id;

        if (id >= 0 && (conf_params[id].help == NULL || *conf_params[id].help == 0)) {
            fprintf(stderr, "conf_doc: parameter %s has no help text\n",
                    conf_params[id].name);
            return 1;
        }
    }
    while (fgets(line, sizeof(line), stdin)) {
        if (strcmp(line, "@PARAMETERS@\n") == 0) {
            if (man)
                doc_man();
            else
                doc_maincf();
        } else {
            fputs(line, stdout);
        }
    }
    return 0;
}
