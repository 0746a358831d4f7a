/* sluice-c: parses the command line, runs the command, reports a failure as its gRPC
 * status and message and exits with the Swift CLI's exit code for it. */
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "download.h"
#include "interrupt.h"
#include "options.h"
#include "status.h"
#include "terminal.h"
#include "tls.h"
#include "upload.h"

/* The hints the Swift CLI prints after the same failures (its FailureHint). PERMISSION_DENIED
 * is about what a known principal may do, which the server's message says; the hint about
 * certificates fits only a refused handshake and UNAUTHENTICATED. */
static const char *hint(const Status *st) {
    switch (status_exit_code(st)) {
    case EXIT_DENIED:
        if (st->code == GRPC_PERMISSION_DENIED) return "";
        if (st->message && strstr(st->message, NOT_TLS)) {
            return "sluice-c: check --server: it must be the host and port sluiced serves TLS on\n";
        }
        if (st->message && strstr(st->message, NAME_MISMATCH)) {
            return "sluice-c: check --server (or --server-name): connect by a name or address the server's "
                   "certificate holds\n";
        }
        return "sluice-c: check --cert/--key (the server must accept the certificate) and --ca (it must verify the server)\n";
    case EXIT_TRANSIENT:
        return "sluice-c: the server could not be reached or stayed busy; an upload or download resumes when run again\n";
    case EXIT_OUT_OF_SPACE:
        return "sluice-c: the server is out of storage space; what was sent is kept, run the same upload again to resume once space was freed\n";
    case EXIT_QUOTA:
        return "sluice-c: `sluice usage` shows what you store and your quotas\n";
    default:
        return "";
    }
}

static int report(const Status *st) {
    int code = status_exit_code(st);
    if (code == EXIT_INTERRUPTED) {
        fputs("sluice-c: interrupted; run the same command again to resume\n", stderr);
    } else {
        /* The message may be the server's: escaped, as every line from the server is. */
        fprintf(stderr, "sluice-c: error: %s: ", status_name(st->code));
        terminal_put(st->message ? st->message : "", stderr);
        fprintf(stderr, "\n%s", hint(st));
    }
    return code;
}

int main(int argc, char **argv) {
    interrupt_install();
    Options opts;
    Status st = STATUS_INIT;
    bool ok = options_parse(argc, argv, &opts, &st);
    if (ok && opts.help) {
        options_usage(stdout);
        return EXIT_OK;
    }
    if (ok) {
        const char *cmd = opts.command;
        if (strcmp(cmd, "upload") == 0) ok = upload_run(&opts, opts.args[0], opts.args[1], &st);
        else if (strcmp(cmd, "download") == 0) ok = download_run(&opts, opts.args[0], opts.args[1], &st);
        else if (strcmp(cmd, "ls") == 0) ok = list_run(&opts, opts.n_args ? opts.args[0] : "", &st);
        else ok = health_run(&opts, &st);
    }
    int code = ok ? EXIT_OK : report(&st);
    status_clear(&st);
    fflush(stdout);
    return code;
}
