/* The outcome of an operation: a gRPC status code and message, whether it came from the
 * server or from this side (a local failure is given the code that describes it best, e.g.
 * NOT_FOUND for a missing local file, DATA_LOSS for a hash mismatch). */
#ifndef SLUICE_C_STATUS_H
#define SLUICE_C_STATUS_H

#include <stdbool.h>

enum {
    GRPC_OK = 0, GRPC_CANCELLED = 1, GRPC_UNKNOWN = 2, GRPC_INVALID_ARGUMENT = 3,
    GRPC_DEADLINE_EXCEEDED = 4, GRPC_NOT_FOUND = 5, GRPC_ALREADY_EXISTS = 6,
    GRPC_PERMISSION_DENIED = 7, GRPC_RESOURCE_EXHAUSTED = 8, GRPC_FAILED_PRECONDITION = 9,
    GRPC_ABORTED = 10, GRPC_OUT_OF_RANGE = 11, GRPC_UNIMPLEMENTED = 12, GRPC_INTERNAL = 13,
    GRPC_UNAVAILABLE = 14, GRPC_DATA_LOSS = 15, GRPC_UNAUTHENTICATED = 16,
};

/* Exit codes, the same as the Swift `sluice` CLI's (README, "Command-line client"). */
enum {
    EXIT_OK = 0, EXIT_OTHER = 1, EXIT_USAGE = 2, EXIT_NOT_FOUND = 3, EXIT_DENIED = 4,
    EXIT_INTEGRITY = 5, EXIT_TRANSIENT = 6, EXIT_OUT_OF_SPACE = 7, EXIT_QUOTA = 8,
    EXIT_INTERRUPTED = 130,
};

/* What a RESOURCE_EXHAUSTED is about, as the Swift client's FailureKind sorts it: the trailer
 * `sluice-exhausted` names the resource; without it, a negative `grpc-retry-pushback-ms` says
 * that sending the same again cannot pass (a message larger than the receiver takes). */
typedef enum Exhaustion {
    EXHAUSTED_BUSY = 0,   /* a rate or call limit, or unmarked: a later try may pass (exit 6) */
    EXHAUSTED_SPACE,      /* `sluice-exhausted: space`: the server's storage is full (exit 7) */
    EXHAUSTED_QUOTA,      /* `sluice-exhausted: quota`: a quota of the caller (exit 8) */
    EXHAUSTED_FIXED,      /* a limit no retry passes (exit 1) */
} Exhaustion;

typedef struct Status {
    int code;            /* GRPC_* */
    char *message;       /* owned; NULL when there is none */
    bool tls_failure;    /* a TLS handshake refused by either side: exit 4, as in the Swift CLI */
    Exhaustion exhausted; /* for RESOURCE_EXHAUSTED */
} Status;

#define STATUS_INIT {GRPC_OK, NULL, false, EXHAUSTED_BUSY}

/* Sets code and a printf-formatted message, replacing what was there. Returns false so that
 * `return status_set(...)` reads as a failure. */
bool status_set(Status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Puts "<context>: " before the message, keeping code and flags. */
void status_prefix(Status *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Moves `from` into `to` (which is cleared first); `from` is left OK. */
void status_move(Status *to, Status *from);
void status_clear(Status *st);
static inline bool status_ok(const Status *st) { return st->code == GRPC_OK; }

/* "NOT_FOUND" for 5, and so on; "CODE_<n>" outside 0..16. */
const char *status_name(int code);
/* The exit code the Swift CLI gives this outcome (FailureKind and SluiceExitCode). */
int status_exit_code(const Status *st);

#endif
