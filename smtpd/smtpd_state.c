/* The session state: created per connection, reset between
 * transactions; everything a transaction allocated dies in the reset. */
#include <string.h>
#include <unistd.h>

#include "mymalloc.h"
#include "smtpd.h"

SMTPD_STATE *
smtpd_state_create(int fd, const char *service)
{
    SMTPD_STATE *state = mycalloc(1, sizeof(*state));

    state->fd = fd;
    state->service = service;
    state->in = mymalloc(SMTPD_INBUF_SIZE);
    state->out = vbuf_create(1024);
    strcpy(state->name, "unknown");
    state->where = "CONNECT";
    return state;
}

void
smtpd_state_reset(SMTPD_STATE *state)
{
    size_t i;

    for (i = 0; i < state->rcpt_count; i++)
        myfree(state->rcpt[i]);
    state->rcpt_count = 0;
    state->rcpt_tried = 0;
    state->rcpt_invalid = 0;
    state->sender = myfree(state->sender);
    state->in_mail = 0;
    state->queue_id[0] = 0;
}

SMTPD_STATE *
smtpd_state_free(SMTPD_STATE *state)
{
    smtpd_state_reset(state);
    myfree(state->rcpt);
    myfree(state->helo);
    myfree(state->in);
    vbuf_free(state->out);
    myfree(state);
    return NULL;
}

/* Counts a command for "disconnect from ... ehlo=1 mail=1 rcpt=1/2". */
void
smtpd_count(SMTPD_STATE *state, const char *cmd, int ok)
{
    int i;

    for (i = 0; i < state->ncounts; i++)
        if (strcmp(state->counts[i].name, cmd) == 0)
            break;
    if (i == state->ncounts) {
        if (i == (int) (sizeof(state->counts) / sizeof(state->counts[0])))
            return;
        state->counts[i].name = cmd;
        state->ncounts++;
    }
    state->counts[i].total++;
    state->counts[i].ok += ok;
}
