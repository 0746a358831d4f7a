/* Listing and health checking. */
#include "catalog.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "channel.h"
#include "grpc_call.h"
#include "grpc/health/v1/health.pb-c.h"
#include "plan.h"
#include "sluice/v1/objects.pb-c.h"
#include "terminal.h"
#include "whole_strings.h"

/* A name from the server on a line of its own, control characters escaped; all of it, also
 * past a NUL (the page is unpacked with whole_strings_allocator). */
static void print_name(const char *name) {
    terminal_put_n(name, whole_string_length(name), stdout);
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

/* Pages without items in a row after which a listing is taken to never end: sluiced ends a
 * page early only at its byte budget, which takes items. */
#define MAX_EMPTY_PAGES 100

/* The tokens a listing was given, as SHA-256s (a token may be long), so that a server that
 * answers one again, which would make the listing go round for ever, is stopped. */
typedef struct PageTokens {
    Bytes seen;          /* SHA256_LEN bytes a token */
    int empty_pages;
} PageTokens;

/* Remembers the token a page answered; fails (INTERNAL, as other answers that break the
 * protocol) when it was given before, or after too many empty pages in a row. */
static bool page_tokens_follow(PageTokens *t, const Sluice__V1__ListObjectsResponse *page, Status *st) {
    if (page->next_page_token[0] == '\0') return true;
    t->empty_pages = page->n_objects + page->n_common_prefixes == 0 ? t->empty_pages + 1 : 0;
    if (t->empty_pages > MAX_EMPTY_PAGES) {
        return status_set(st, GRPC_INTERNAL, "the server answered %d empty pages in a row, each with a next page; "
                          "the listing would never end", t->empty_pages);
    }
    uint8_t digest[SHA256_LEN];
    if (!EVP_Digest(page->next_page_token, strlen(page->next_page_token), digest, NULL, EVP_sha256(), NULL)) abort();
    size_t pages = t->seen.len / SHA256_LEN;
    for (size_t i = 0; i < pages; i++) {
        if (memcmp(t->seen.data + i * SHA256_LEN, digest, SHA256_LEN) == 0) {
            return status_set(st, GRPC_INTERNAL, "the server answered page %zu with the page token of page %zu; "
                              "the listing would never end", pages + 1, i + 1);
        }
    }
    bytes_append(&t->seen, digest, SHA256_LEN);
    return true;
}

static bool list_pages(Channel *ch, const Options *opts, const char *prefix, Status *st) {
    char *token = xstrdup("");
    PageTokens tokens = {0};
    bool ok = true;
    do {
        Sluice__V1__ListObjectsRequest req = SLUICE__V1__LIST_OBJECTS_REQUEST__INIT;
        req.prefix = (char *)prefix;
        req.delimiter = opts->recursive ? "" : "/";
        req.page_size = 1000;
        req.page_token = token;
        req.owner = (char *)opts->owner;
        Sluice__V1__ListObjectsResponse *page = NULL;
        ok = grpc_unary_with(ch, "/sluice.v1.ObjectService/ListObjects", &req.base,
                             &sluice__v1__list_objects_response__descriptor, &whole_strings_allocator,
                             (ProtobufCMessage **)&page, st);
        free(token);
        token = NULL;
        if (ok) {
            print_page(opts, page);
            ok = page_tokens_follow(&tokens, page, st);
            token = xstrdup(ok ? page->next_page_token : "");
            sluice__v1__list_objects_response__free_unpacked(page, &whole_strings_allocator);
        }
    } while (ok && token[0] != '\0');
    free(token);
    bytes_free(&tokens.seen);
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
