/* Status values, their names, and the one mapping of outcomes to exit codes. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool status_set(Status *st, int code, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    free(st->message);
    st->code = code;
    st->message = strdup(buf);
    st->tls_failure = false;
    st->exhausted = EXHAUSTED_BUSY;
    return false;
}

void status_prefix(Status *st, const char *fmt, ...) {
    char context[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(context, sizeof context, fmt, ap);
    va_end(ap);
    size_t len = strlen(context) + 2 + (st->message ? strlen(st->message) : 0) + 1;
    char *message = malloc(len);
    if (message == NULL) abort();
    snprintf(message, len, "%s: %s", context, st->message ? st->message : "");
    free(st->message);
    st->message = message;
}

void status_move(Status *to, Status *from) {
    status_clear(to);
    *to = *from;
    *from = (Status)STATUS_INIT;
}

void status_clear(Status *st) {
    free(st->message);
    *st = (Status)STATUS_INIT;
}

const char *status_name(int code) {
    static const char *const names[] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
        "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if (code >= 0 && code < (int)(sizeof names / sizeof names[0])) return names[code];
    return "UNKNOWN";
}

int status_exit_code(const Status *st) {
    switch (st->code) {
    case GRPC_OK: return EXIT_OK;
    case GRPC_NOT_FOUND: return EXIT_NOT_FOUND;
    case GRPC_UNAUTHENTICATED:
    case GRPC_PERMISSION_DENIED: return EXIT_DENIED;
    case GRPC_DATA_LOSS: return EXIT_INTEGRITY;
    case GRPC_INVALID_ARGUMENT: return EXIT_USAGE;
    case GRPC_CANCELLED: return EXIT_INTERRUPTED;
    case GRPC_UNAVAILABLE: return st->tls_failure ? EXIT_DENIED : EXIT_TRANSIENT;
    case GRPC_RESOURCE_EXHAUSTED:
        switch (st->exhausted) {
        case EXHAUSTED_SPACE: return EXIT_OUT_OF_SPACE;
        case EXHAUSTED_QUOTA: return EXIT_QUOTA;
        case EXHAUSTED_FIXED: return EXIT_OTHER;
        default: return EXIT_TRANSIENT;
        }
    case GRPC_DEADLINE_EXCEEDED:
    case GRPC_ABORTED: return EXIT_TRANSIENT;
    default: return EXIT_OTHER;
    }
}
