/* Command-line and environment parsing. */
#include "options.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void options_usage(FILE *out) {
    fputs(
        "usage: sluice-c [OPTIONS] COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  upload LOCAL REMOTE     upload a file (resumes an interrupted upload of it)\n"
        "  download REMOTE LOCAL   download an object, verified, written atomically\n"
        "  ls [PREFIX]             list objects (-l long format, -r without folders)\n"
        "  health                  ask whether the server is serving\n"
        "\n"
        "options (and the variables they default to):\n"
        "  --server HOST:PORT      SLUICE_SERVER, else 127.0.0.1:8443\n"
        "  --ca FILE               SLUICE_CA: CA certificates that verify the server\n"
        "  --cert FILE             SLUICE_CERT: client certificate (mutual TLS)\n"
        "  --key FILE              SLUICE_KEY: its private key\n"
        "  --server-name NAME      name the server certificate must carry (default: the host)\n"
        "  --owner HANDLE          another principal's objects shared with you\n"
        "  --partition-size SIZE   bytes per partition, e.g. 8MiB (default), at most 64MiB\n"
        "  --parallel N            partitions moved at once over one connection (default 4)\n"
        "  --timeout SECONDS       give up after this long without traffic (default 60)\n"
        "  --deadline SECONDS      grpc-timeout sent with every call (default none)\n"
        "  --state-dir DIR         SLUICE_C_STATE_DIR: where interrupted uploads are remembered\n"
        "                          (default $XDG_STATE_HOME/sluice-c or ~/.local/state/sluice-c)\n"
        "\n"
        "exit codes: 0 success; 1 other error; 2 usage (INVALID_ARGUMENT); 3 not found;\n"
        "4 authentication, permission or TLS refused; 5 integrity (SHA-256, DATA_LOSS);\n"
        "6 transient (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED of a rate or\n"
        "call limit, ABORTED); 7 server out of storage space; 8 a quota of yours is used up;\n"
        "130 interrupted\n",
        out);
}

static const char *env_or(const char *name, const char *fallback) {
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' ? v : fallback;
}

/* "8MiB", "512KiB", "1048576", "1G": a positive byte count. */
static bool parse_size(const char *text, int64_t *out) {
    char *end = NULL;
    long long n = strtoll(text, &end, 10);
    if (end == text || n <= 0) return false;
    static const struct { const char *suffix; int64_t scale; } units[] = {
        {"", 1}, {"B", 1}, {"K", 1024}, {"KiB", 1024}, {"M", 1 << 20}, {"MiB", 1 << 20},
        {"G", 1 << 30}, {"GiB", 1 << 30},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (n > INT64_MAX / units[i].scale) return false;
            *out = (int64_t)n * units[i].scale;
            return true;
        }
    }
    return false;
}

static bool parse_int(const char *text, int lo, int hi, int *out) {
    char *end = NULL;
    long n = strtol(text, &end, 10);
    if (end == text || *end != '\0' || n < lo || n > hi) return false;
    *out = (int)n;
    return true;
}

static bool check_arity(Options *o, Status *st) {
    static const struct { const char *name; int min, max; const char *args; } commands[] = {
        {"upload", 2, 2, "LOCAL REMOTE"}, {"download", 2, 2, "REMOTE LOCAL"},
        {"ls", 0, 1, "[PREFIX]"}, {"health", 0, 0, ""},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(o->command, commands[i].name) != 0) continue;
        if (o->n_args < commands[i].min || o->n_args > commands[i].max) {
            return status_set(st, GRPC_INVALID_ARGUMENT, "usage: sluice-c %s %s", commands[i].name,
                              commands[i].args);
        }
        return true;
    }
    return status_set(st, GRPC_INVALID_ARGUMENT, "unknown command '%s' (see sluice-c --help)",
                      o->command);
}

bool options_parse(int argc, char **argv, Options *o, Status *st) {
    enum { SERVER = 1000, CA, CERT, KEY, SERVER_NAME, OWNER, PARTITION_SIZE, PARALLEL, TIMEOUT, DEADLINE, STATE_DIR };
    static const struct option longs[] = {
        {"server", required_argument, NULL, SERVER}, {"ca", required_argument, NULL, CA},
        {"cert", required_argument, NULL, CERT}, {"key", required_argument, NULL, KEY},
        {"server-name", required_argument, NULL, SERVER_NAME},
        {"owner", required_argument, NULL, OWNER},
        {"partition-size", required_argument, NULL, PARTITION_SIZE},
        {"parallel", required_argument, NULL, PARALLEL}, {"timeout", required_argument, NULL, TIMEOUT},
        {"deadline", required_argument, NULL, DEADLINE},
        {"state-dir", required_argument, NULL, STATE_DIR}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    *o = (Options){
        .channel = {.server = env_or("SLUICE_SERVER", "127.0.0.1:8443"),
                    .tls = {.ca_file = env_or("SLUICE_CA", NULL), .cert_file = env_or("SLUICE_CERT", NULL),
                            .key_file = env_or("SLUICE_KEY", NULL), .timeout_ms = 60000},
                    .timeout_ms = 60000},
        .owner = "", .partition_size = DEFAULT_PARTITION_SIZE, .parallel = 4,
        .state_dir = env_or("SLUICE_C_STATE_DIR", NULL),
    };
    opterr = 0;
    int c, seconds;
    while ((c = getopt_long(argc, argv, "hlr", longs, NULL)) != -1) {
        switch (c) {
        case SERVER: o->channel.server = optarg; break;
        case CA: o->channel.tls.ca_file = optarg; break;
        case CERT: o->channel.tls.cert_file = optarg; break;
        case KEY: o->channel.tls.key_file = optarg; break;
        case SERVER_NAME: o->channel.tls.server_name = optarg; break;
        case OWNER: o->owner = optarg; break;
        case STATE_DIR: o->state_dir = optarg; break;
        case PARTITION_SIZE:
            if (!parse_size(optarg, &o->partition_size) || o->partition_size > MAX_PARTITION_SIZE) {
                return status_set(st, GRPC_INVALID_ARGUMENT,
                                  "--partition-size %s: expected a size of 1 byte to 64MiB", optarg);
            }
            break;
        case PARALLEL:
            if (!parse_int(optarg, 1, MAX_PARALLEL, &o->parallel)) {
                return status_set(st, GRPC_INVALID_ARGUMENT, "--parallel %s: expected 1 to %d",
                                  optarg, MAX_PARALLEL);
            }
            break;
        case TIMEOUT:
        case DEADLINE:
            if (!parse_int(optarg, 1, 86400, &seconds)) {
                return status_set(st, GRPC_INVALID_ARGUMENT, "--%s %s: expected 1 to 86400 seconds",
                                  c == TIMEOUT ? "timeout" : "deadline", optarg);
            }
            if (c == TIMEOUT) o->channel.timeout_ms = o->channel.tls.timeout_ms = seconds * 1000;
            else o->channel.deadline_ms = seconds * 1000;
            break;
        case 'l': o->long_format = 1; break;
        case 'r': o->recursive = 1; break;
        case 'h': o->help = 1; return true;
        default:
            return status_set(st, GRPC_INVALID_ARGUMENT, "unknown option or missing value: %s",
                              argv[optind - 1]);
        }
    }
    if (optind >= argc) return status_set(st, GRPC_INVALID_ARGUMENT, "no command given (see sluice-c --help)");
    o->command = argv[optind++];
    for (; optind < argc; optind++) {
        if (o->n_args == 2) return status_set(st, GRPC_INVALID_ARGUMENT, "too many arguments");
        o->args[o->n_args++] = argv[optind];
    }
    if (!check_arity(o, st)) return false;
    if (o->channel.tls.ca_file == NULL) {
        return status_set(st, GRPC_INVALID_ARGUMENT, "no CA: give --ca FILE or set SLUICE_CA");
    }
    return true;
}
