/* The command line: a command, its arguments, and the connection and transfer options
 * (flags first, then SLUICE_* variables, then defaults — as in the Swift CLI). */
#ifndef SLUICE_C_OPTIONS_H
#define SLUICE_C_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "channel.h"
#include "status.h"

#define DEFAULT_PARTITION_SIZE (8 * 1024 * 1024)
#define MAX_PARTITION_SIZE (64 * 1024 * 1024)
#define MAX_PARALLEL 64

typedef struct Options {
    const char *command;      /* upload, download, ls, health */
    const char *args[2];      /* its positional arguments */
    int n_args;
    ChannelConfig channel;
    const char *owner;        /* --owner; "" for the caller */
    int64_t partition_size;
    int parallel;
    const char *state_dir;    /* where interrupted uploads are remembered */
    int long_format;          /* ls -l */
    int recursive;            /* ls -r */
    int help;
} Options;

/* Fills opts from argv and the environment; INVALID_ARGUMENT for anything wrong. */
bool options_parse(int argc, char **argv, Options *opts, Status *st);
void options_usage(FILE *out);

#endif
