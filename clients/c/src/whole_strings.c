/* Allocation that remembers block sizes, for whole string lengths (whole_strings.h). */
#include "whole_strings.h"

#include <stdalign.h>
#include <stdlib.h>

/* The size of a block, before it, aligned as malloc's blocks are. */
typedef union BlockHead {
    size_t size;
    max_align_t align;
} BlockHead;

static void *sized_alloc(void *data, size_t size) {
    (void)data;
    BlockHead *head = malloc(sizeof *head + size);
    if (head == NULL) abort();
    head->size = size;
    return head + 1;
}

static void sized_free(void *data, void *block) {
    (void)data;
    if (block != NULL) free((BlockHead *)block - 1);
}

ProtobufCAllocator whole_strings_allocator = {sized_alloc, sized_free, NULL};

size_t whole_string_length(const char *s) {
    /* An absent field points at protobuf-c's shared empty string, which is no block of ours. */
    if (s == protobuf_c_empty_string) return 0;
    return ((const BlockHead *)(const void *)s - 1)->size - 1;
}
