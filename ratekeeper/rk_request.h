/* ratekeeper's requests (the protocol of rk_clnt.h), answered from the
 * state.  No socket here: the glue in ratekeeper.c, the unit tests and
 * the fuzz target all call rk_request_handle() with a parsed request. */
#ifndef ALLIGATE_RK_REQUEST_H
#define ALLIGATE_RK_REQUEST_H

#include "attr.h"
#include "rk_state.h"

/* Fills in reply (empty on entry) for request from client (the id of its
 * socket; 0 for none, which cannot register connections) at now. */
void rk_request_handle(RK_STATE *state, const ATTR *request, ATTR *reply,
                       unsigned long client, long long now);

/* client's socket closed: its registrations go. */
void rk_request_client_gone(RK_STATE *state, unsigned long client);

#endif
