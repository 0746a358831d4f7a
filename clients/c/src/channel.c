/* Splits host:port, connects with TLS, opens the HTTP/2 session. */
#include "channel.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* "host:port" or "[v6]:port" into its parts (host without brackets). */
static bool split_server(const char *server, char **host, char **port, Status *st) {
    const char *colon = strrchr(server, ':');
    if (colon == NULL || colon[1] == '\0' || colon == server) {
        return status_set(st, GRPC_INVALID_ARGUMENT, "--server %s: expected HOST:PORT", server);
    }
    const char *start = server, *end = colon;
    if (server[0] == '[') {
        if (end[-1] != ']') return status_set(st, GRPC_INVALID_ARGUMENT, "--server %s: expected [IPv6]:PORT", server);
        start++, end--;
    }
    *host = xcalloc((size_t)(end - start) + 1, 1);
    memcpy(*host, start, (size_t)(end - start));
    *port = xstrdup(colon + 1);
    return true;
}

bool channel_open(const ChannelConfig *cfg, Channel **out, Status *st) {
    char *host = NULL, *port = NULL;
    if (!split_server(cfg->server, &host, &port, st)) return false;
    TlsConn *tls = NULL;
    H2Conn *h2 = NULL;
    bool ok = tls_connect(&cfg->tls, host, port, &tls, st) &&
              h2_open(tls, cfg->timeout_ms, &h2, st);
    free(host);
    free(port);
    if (!ok) return false;
    Channel *ch = xcalloc(1, sizeof *ch);
    ch->h2 = h2;
    ch->authority = xstrdup(cfg->server);
    ch->deadline_ms = cfg->deadline_ms;
    *out = ch;
    return true;
}

void channel_close(Channel *ch) {
    if (ch == NULL) return;
    h2_close(ch->h2);
    free(ch->authority);
    free(ch);
}
