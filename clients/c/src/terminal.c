/* Escaping control characters on output (terminal.h). */
#include "terminal.h"

#include <stdint.h>
#include <string.h>

/* The length of the valid UTF-8 sequence starting at s (shortest form, no surrogates, at
 * most U+10FFFF), or 0 when s does not start one; its code point goes to *cp_out. */
static size_t utf8_sequence(const unsigned char *s, uint32_t *cp_out) {
    *cp_out = s[0];
    if (s[0] < 0x80) return 1;
    size_t len;
    uint32_t cp;
    if (s[0] >= 0xC2 && s[0] <= 0xDF) len = 2, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF) len = 3, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4) len = 4, cp = s[0] & 0x07;
    else return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0; /* also stops at the terminating NUL */
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        return 0;
    }
    *cp_out = cp;
    return len;
}

/* Characters that print as nothing yet change what is shown (as the Swift CLI's
 * TerminalText.isInvisibleFormat): bidirectional marks, embeddings, overrides and isolates,
 * which reorder the text around them, and zero-width and separator characters, which make
 * two names look the same or one name look like two lines. */
static int invisible_format(uint32_t cp) {
    return cp == 0x061C || (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

/* The escape for the one-byte character c, or NULL when it prints as it is. */
static const char *named_escape(unsigned char c) {
    switch (c) {
    case '\\': return "\\\\";
    case '\t': return "\\t";
    case '\n': return "\\n";
    case '\r': return "\\r";
    default: return NULL;
    }
}

void terminal_put(const char *text, FILE *out) {
    terminal_put_n(text, strlen(text), out);
}

void terminal_put_n(const char *text, size_t n, FILE *out) {
    const unsigned char *s = (const unsigned char *)text, *end = s + n;
    while (s < end) {
        uint32_t cp;
        size_t len = utf8_sequence(s, &cp);
        const char *named = len == 1 ? named_escape(*s) : NULL;
        if (named) {
            fputs(named, out);
        } else if (len == 0 || (len == 1 && (*s < 0x20 || *s == 0x7F))) {
            fprintf(out, "\\x%02x", *s);
            len = 1;
        } else if ((len == 2 && cp <= 0x9F) || invisible_format(cp)) {
            fprintf(out, "\\u%04x", (unsigned)cp);
        } else {
            fwrite(s, 1, len, out);
        }
        s += len;
    }
}
