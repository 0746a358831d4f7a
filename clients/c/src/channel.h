/* A connection to one Sluice server: TLS, then HTTP/2, plus what every call's headers need. */
#ifndef SLUICE_C_CHANNEL_H
#define SLUICE_C_CHANNEL_H

#include "h2.h"
#include "status.h"
#include "tls.h"

typedef struct ChannelConfig {
    const char *server;      /* host:port, [v6]:port */
    TlsConfig tls;
    int timeout_ms;          /* connect, and idle time without any traffic */
    int deadline_ms;         /* sent as grpc-timeout on every call; 0 sends none */
} ChannelConfig;

typedef struct Channel {
    H2Conn *h2;
    char *authority;         /* :authority, the server as given */
    int deadline_ms;
} Channel;

bool channel_open(const ChannelConfig *cfg, Channel **out, Status *st);
void channel_close(Channel *ch);

#endif
