/* TCP connect and the OpenSSL client handshake. */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytes.h"

static bool is_ip_literal(const char *host) {
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Non-blocking connect to one address, waiting at most timeout_ms. */
static int connect_one(const struct addrinfo *ai, int timeout_ms, int *err) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) {
        *err = errno;
        return -1;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            *err = errno;
            close(fd);
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int n = poll(&p, 1, timeout_ms);
        int soerr = 0;
        socklen_t len = sizeof soerr;
        if (n <= 0) {
            *err = n == 0 ? ETIMEDOUT : errno;
            close(fd);
            return -1;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr != 0) {
            *err = soerr ? soerr : errno;
            close(fd);
            return -1;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static int tcp_connect(const char *host, const char *port, int timeout_ms, Status *st) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *list = NULL;
    int rc = getaddrinfo(host, port, &hints, &list);
    if (rc != 0) {
        status_set(st, GRPC_UNAVAILABLE, "cannot resolve %s:%s: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = list; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, timeout_ms, &err);
    }
    freeaddrinfo(list);
    if (fd < 0) status_set(st, GRPC_UNAVAILABLE, "cannot connect to %s:%s: %s", host, port, strerror(err));
    return fd;
}

/* The peer closed or reset the connection without a TLS alert: SSL_ERROR_SYSCALL (a reset, a
 * broken pipe, or an EOF OpenSSL did not name), SSL_ERROR_ZERO_RETURN (an EOF, which
 * SSL_OP_IGNORE_UNEXPECTED_EOF reports so, or close_notify: a close, not a refusal), or
 * SSL_R_UNEXPECTED_EOF_WHILE_READING. A received alert or a certificate this side did not
 * verify is none of these. */
static bool closed_without_alert(int err, unsigned long e) {
    if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN) return true;
    return ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* Whether OpenSSL's error says the peer answered with something that is not TLS (a plain
 * HTTP server, another service on that port): its bytes do not parse as a TLS record. */
static bool not_tls(unsigned long e) {
    if (ERR_GET_LIB(e) != ERR_LIB_SSL) return false;
    int reason = ERR_GET_REASON(e);
    return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG;
}

bool tls_failed(Status *st, SSL *ssl, int err, const char *what) {
    int saved_errno = errno;
    unsigned long e = ERR_peek_last_error();
    char reason[256] = "no reason given";
    if (e != 0) ERR_error_string_n(e, reason, sizeof reason);
    long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    ERR_clear_error();
    if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
        status_set(st, GRPC_UNAVAILABLE, "TLS failed: %s: " NAME_MISMATCH " (%s)", what,
                   X509_verify_cert_error_string(verify));
    } else if (verify != X509_V_OK) {
        status_set(st, GRPC_UNAVAILABLE, "TLS failed: %s: the server's certificate did not verify: %s",
                   what, X509_verify_cert_error_string(verify));
    } else if (closed_without_alert(err, e)) {
        /* A network cut, a load balancer, a server over its --max-connections: worth another
         * try (exit 6), and nothing says the certificates are wrong. */
        if (err == SSL_ERROR_SYSCALL && saved_errno != 0) {
            return status_set(st, GRPC_UNAVAILABLE, "connection lost during the TLS %s: %s", what,
                              strerror(saved_errno));
        }
        return status_set(st, GRPC_UNAVAILABLE, "the server closed the connection during the TLS %s",
                          what);
    } else if (not_tls(e)) {
        status_set(st, GRPC_UNAVAILABLE, "TLS failed: %s: " NOT_TLS " (%s)", what, reason);
    } else {
        status_set(st, GRPC_UNAVAILABLE, "TLS failed: %s: %s", what, reason);
    }
    st->tls_failure = true;
    return false;
}

/* A certificate or key file that cannot be opened, refused with the reason in words (a missing
 * one is "not found", exit 3, as any local file to read) before OpenSSL's error chain. */
static bool require_readable(const char *path, const char *flag, Status *st) {
    if (path == NULL) return true;
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        return status_set(st, errno == ENOENT ? GRPC_NOT_FOUND : GRPC_UNKNOWN, "cannot read %s %s: %s", flag, path,
                          strerror(errno));
    }
    close(fd);
    return true;
}

static SSL_CTX *make_context(const TlsConfig *cfg, Status *st) {
    if (!require_readable(cfg->ca_file, "--ca", st) || !require_readable(cfg->cert_file, "--cert", st) ||
        !require_readable(cfg->key_file, "--key", st)) {
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        status_set(st, GRPC_INTERNAL, "cannot make a TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* A peer that closes TCP without close_notify has closed the connection, not failed
     * TLS (HTTP/2 framing catches a truncated answer). */
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    static const unsigned char alpn[] = {2, 'h', '2'};
    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cfg->ca_file == NULL || SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) != 1) {
        status_set(st, GRPC_INVALID_ARGUMENT, "cannot load the CA certificates from --ca %s",
                   cfg->ca_file ? cfg->ca_file : "(none given)");
        goto fail;
    }
    /* Every certificate in --ca is an anchor in its own right, as in the Swift CLI: an
     * intermediate CA named there is enough, without the root above it. */
    X509_STORE_set_flags(SSL_CTX_get_cert_store(ctx), X509_V_FLAG_PARTIAL_CHAIN);
    if (cfg->cert_file != NULL) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
            status_set(st, GRPC_INVALID_ARGUMENT, "cannot load the client certificate --cert %s",
                       cfg->cert_file);
            goto fail;
        }
        const char *key = cfg->key_file ? cfg->key_file : cfg->cert_file;
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            status_set(st, GRPC_INVALID_ARGUMENT,
                       "cannot load --key %s, or it does not match the certificate", key);
            goto fail;
        }
    }
    return ctx;
fail:
    ERR_clear_error();
    SSL_CTX_free(ctx);
    return NULL;
}

static bool handshake(TlsConn *c, int timeout_ms, Status *st) {
    for (;;) {
        ERR_clear_error();
        errno = 0;
        int rc = SSL_connect(c->ssl);
        if (rc == 1) return true;
        int err = SSL_get_error(c->ssl, rc);
        short events;
        if (err == SSL_ERROR_WANT_READ) {
            events = POLLIN;
        } else if (err == SSL_ERROR_WANT_WRITE) {
            events = POLLOUT;
        } else {
            return tls_failed(st, c->ssl, err, "handshake");
        }
        struct pollfd p = {.fd = c->fd, .events = events};
        int n = poll(&p, 1, timeout_ms);
        if (n == 0) return status_set(st, GRPC_UNAVAILABLE, "TLS handshake timed out");
        if (n < 0 && errno != EINTR) return status_set(st, GRPC_UNAVAILABLE, "poll: %s", strerror(errno));
    }
}

bool tls_connect(const TlsConfig *cfg, const char *host, const char *port, TlsConn **out,
                 Status *st) {
    TlsConn *c = xcalloc(1, sizeof *c);
    c->fd = -1;
    c->ctx = make_context(cfg, st);
    if (c->ctx == NULL) goto fail;
    c->fd = tcp_connect(host, port, cfg->timeout_ms, st);
    if (c->fd < 0) goto fail;
    c->ssl = SSL_new(c->ctx);
    if (c->ssl == NULL) {
        status_set(st, GRPC_INTERNAL, "cannot make a TLS connection object");
        goto fail;
    }
    SSL_set_fd(c->ssl, c->fd);
    X509_VERIFY_PARAM *param = SSL_get0_param(c->ssl);
    const char *name = cfg->server_name != NULL ? cfg->server_name : host;
    if (is_ip_literal(name)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, name);
    } else {
        SSL_set_tlsext_host_name(c->ssl, name);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, name, 0);
    }
    if (!handshake(c, cfg->timeout_ms, st)) goto fail;
    const unsigned char *proto = NULL;
    unsigned int proto_len = 0;
    SSL_get0_alpn_selected(c->ssl, &proto, &proto_len);
    if (proto_len != 2 || memcmp(proto, "h2", 2) != 0) {
        status_set(st, GRPC_UNAVAILABLE, "the server at %s:%s did not agree to HTTP/2 (ALPN h2)",
                   host, port);
        goto fail;
    }
    *out = c;
    return true;
fail:
    tls_close(c);
    return false;
}

void tls_close(TlsConn *c) {
    if (c == NULL) return;
    if (c->ssl) SSL_free(c->ssl);
    if (c->ctx) SSL_CTX_free(c->ctx);
    if (c->fd >= 0) close(c->fd);
    free(c);
}
