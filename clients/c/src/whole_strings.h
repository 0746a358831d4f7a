/* The whole length of a string field protobuf-c unpacked. protobuf-c keeps a string as a
 * NUL-terminated copy and no length, so a name from the server with NUL inside would seem to
 * end at it, hiding the rest ("a\0hidden" would print as "a"). It makes that copy in a block
 * of exactly the string's length + 1 (for the NUL it adds); messages unpacked with
 * `whole_strings_allocator`, which records each block's size, give the whole length back. */
#ifndef SLUICE_C_WHOLE_STRINGS_H
#define SLUICE_C_WHOLE_STRINGS_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

/* For protobuf_c_message_unpack and the matching free_unpacked. */
extern ProtobufCAllocator whole_strings_allocator;

/* The length of string field `s` of a message unpacked with whole_strings_allocator, NUL
 * bytes inside included. */
size_t whole_string_length(const char *s);

#endif
