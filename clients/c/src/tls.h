/* A TCP connection with TLS (OpenSSL): mutual TLS when a client certificate is given,
 * ALPN h2, the server verified by the CA and by host name (or IP address). The socket is
 * non-blocking once connected; the HTTP/2 layer drives SSL_read/SSL_write with poll. */
#ifndef SLUICE_C_TLS_H
#define SLUICE_C_TLS_H

#include <openssl/ssl.h>

#include "status.h"

typedef struct TlsConfig {
    const char *ca_file;     /* PEM CA bundle that must verify the server */
    const char *cert_file;   /* PEM client certificate chain; NULL for none */
    const char *key_file;    /* PEM private key of cert_file */
    const char *server_name; /* name the server certificate must carry; NULL: the host */
    int timeout_ms;          /* for connect and handshake */
} TlsConfig;

typedef struct TlsConn {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
} TlsConn;

/* Connects to host:port and completes the handshake. Failures: UNAVAILABLE for the
 * network (refused, unreachable, timeout, or the connection closed or reset during the
 * handshake without a TLS alert), UNAVAILABLE with tls_failure set for a handshake either
 * side refused, INVALID_ARGUMENT for unusable certificate files. */
bool tls_connect(const TlsConfig *cfg, const char *host, const char *port, TlsConn **out,
                 Status *st);
/* A failed SSL_connect, SSL_read or SSL_write (err: SSL_get_error's answer; errno as the call
 * left it) as the Swift CLI sorts it. A TLS alert from the peer, a server certificate that did
 * not verify, or another TLS error: "TLS failed: ..." with tls_failure set (exit 4). The peer
 * closing or resetting the connection without an alert: UNAVAILABLE without it (exit 6). */
bool tls_failed(Status *st, SSL *ssl, int err, const char *what);

/* What a failure's message says when the server answered in something other than TLS, so
 * that the hint can point at --server rather than at the certificates. */
#define NOT_TLS "the server does not speak TLS"
/* What a handshake failure says when the server's certificate names another host or address
 * than the one connected to: the hint then points at the address, not the certificates. */
#define NAME_MISMATCH "the server's certificate does not name the host or address connected to"
void tls_close(TlsConn *conn);

#endif
