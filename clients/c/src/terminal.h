/* Printing text that came from the server. Object names, prefixes and server messages are
 * data other principals choose: printed raw, an ESC sequence could rewrite the reader's
 * terminal and a newline could fake listing lines. Everything sluice-c prints from the
 * server goes through here, with the escapes the Swift `sluice` CLI uses. */
#ifndef SLUICE_C_TERMINAL_H
#define SLUICE_C_TERMINAL_H

#include <stdio.h>

/* Writes `text` to `out` with control characters escaped: C0 and DEL as \xNN (tab,
 * newline and carriage return as \t, \n, \r), C1 (U+0080 to U+009F) and the invisible
 * formatting characters (bidirectional overrides such as U+202E, zero-width ones) as
 * \uNNNN, the backslash as \\, and any byte that is not part of valid UTF-8 as \xNN (so a terminal in
 * an 8-bit mode cannot take it for a C1 control). */
void terminal_put(const char *text, FILE *out);
/* The same for `len` bytes of text, NUL bytes included (escaped as \x00, as the Swift CLI
 * shows them); text[len] must be NUL. */
void terminal_put_n(const char *text, size_t len, FILE *out);

#endif
