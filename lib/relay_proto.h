/* What relay and alligatectl agree on: relay's control socket in
 * run_directory (see relay/relay_ctl.c). */
#ifndef ALLIGATE_RELAY_PROTO_H
#define ALLIGATE_RELAY_PROTO_H

#define RELAY_CTL_SOCKET    "relay.sock"
#define RELAY_CTL_PROTO     "relay"
#define RELAY_CTL_VERSION   1

#endif
