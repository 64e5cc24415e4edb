/*
 * utf8.h — make text from devices valid UTF-8 before it is stored or
 * rendered as JSON (jansson refuses invalid UTF-8, and a history event with
 * such a note used to vanish from the admin API).
 *
 * utf8_clean copies in[0..inlen) into out (capacity cap, always
 * NUL-terminated when cap > 0): valid characters are kept, never cut in the
 * middle (a character that does not fit whole, or a sequence cut short at
 * the very end of the input, is left out); every other byte (stray
 * continuation bytes, overlong forms, surrogates, code points over
 * U+10FFFF, 0xC0/0xC1/0xF5..0xFF, NUL) becomes U+FFFD. No allocation.
 */
#ifndef OPENFOTA_SERVER_UTF8_H
#define OPENFOTA_SERVER_UTF8_H

#include <stddef.h>

/* Returns the bytes written (without the NUL). out and in may not overlap. */
size_t utf8_clean(char *out, size_t cap, const char *in, size_t inlen);

/* Clean a NUL-terminated string in its own buffer of capacity cap (uses a
 * stack copy of at most 512 bytes; longer buffers are cleaned in their
 * first 511 bytes and cut there). */
void utf8_clean_inplace(char *s, size_t cap);

/* 1 when in[0..len) is valid UTF-8 without NUL. */
int utf8_valid(const char *in, size_t len);

#endif
