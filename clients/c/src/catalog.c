/* Listing and health checking. */
#include "catalog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "bytes.h"
#include "channel.h"
#include "grpc_call.h"
#include "grpc/health/v1/health.pb-c.h"
#include "plan.h"
#include "sluice/v1/objects.pb-c.h"
#include "terminal.h"

/* A name from the server on a line of its own, control characters escaped. */
static void print_name(const char *name) {
    terminal_put(name, stdout);
    putchar('\n');
}

static void print_page(const Options *opts, const Sluice__V1__ListObjectsResponse *page) {
    for (size_t i = 0; i < page->n_common_prefixes; i++) print_name(page->common_prefixes[i]);
    for (size_t i = 0; i < page->n_objects; i++) {
        const Sluice__V1__ObjectInfo *o = page->objects[i];
        if (!opts->long_format) {
            print_name(o->name);
            continue;
        }
        char hex[2 * SHA256_LEN + 1] = "";
        if (o->sha256.len == SHA256_LEN) hex_encode(o->sha256.data, SHA256_LEN, hex);
        /* As `sluice ls -l`: a hash that proved not to be the declared one is never shown
         * as if it described the object. */
        const char *mark = o->sha256_state == SLUICE__V1__SHA256_STATE__SHA256_STATE_MISMATCH ? "MISMATCH:" : "";
        printf("%" PRId64 "\t%" PRId64 "\t%s%s\t", o->size, o->version, mark, hex);
        print_name(o->name);
    }
}

static bool list_pages(Channel *ch, const Options *opts, const char *prefix, Status *st) {
    char *token = xstrdup("");
    bool ok = true;
    do {
        Sluice__V1__ListObjectsRequest req = SLUICE__V1__LIST_OBJECTS_REQUEST__INIT;
        req.prefix = (char *)prefix;
        req.delimiter = opts->recursive ? "" : "/";
        req.page_size = 1000;
        req.page_token = token;
        req.owner = (char *)opts->owner;
        Sluice__V1__ListObjectsResponse *page = NULL;
        ok = grpc_unary(ch, "/sluice.v1.ObjectService/ListObjects", &req.base,
                        &sluice__v1__list_objects_response__descriptor, (ProtobufCMessage **)&page, st);
        free(token);
        token = NULL;
        if (ok) {
            print_page(opts, page);
            token = xstrdup(page->next_page_token);
            sluice__v1__list_objects_response__free_unpacked(page, NULL);
        }
    } while (ok && token[0] != '\0');
    free(token);
    return ok;
}

bool list_run(const Options *opts, const char *prefix, Status *st) {
    Channel *ch = NULL;
    bool ok = channel_open(&opts->channel, &ch, st) && list_pages(ch, opts, prefix ? prefix : "", st);
    channel_close(ch);
    return ok;
}

bool health_run(const Options *opts, Status *st) {
    Channel *ch = NULL;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Grpc__Health__V1__HealthCheckResponse *r = NULL;
    bool ok = channel_open(&opts->channel, &ch, st) &&
              grpc_unary(ch, "/grpc.health.v1.Health/Check", &req.base,
                         &grpc__health__v1__health_check_response__descriptor, (ProtobufCMessage **)&r, st);
    channel_close(ch);
    if (!ok) return false;
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
        &grpc__health__v1__health_check_response__serving_status__descriptor, (int)r->status);
    printf("%s\n", v ? v->name : "UNKNOWN");
    if (r->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING) {
        /* Exit 6, as `sluice health`: up but unable to serve now (its database is down), a
         * transient state like an unreachable server. */
        ok = status_set(st, GRPC_UNAVAILABLE, "the server is NOT_SERVING");
    } else if (r->status != GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING) {
        ok = status_set(st, GRPC_UNKNOWN, "the server is %s", v ? v->name : "not serving");
    }
    grpc__health__v1__health_check_response__free_unpacked(r, NULL);
    return ok;
}
