/* A small JSON reader for safetensors headers: objects, arrays, strings and
 * non-negative integers, read with a cursor. Errors go through core/error.h and
 * give the byte position ("at byte 17: expected ':'"); the caller adds the file. */
#ifndef GRAFT_IO_JSON_HEADER_H
#define GRAFT_IO_JSON_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct gf_json_cursor {
    const char *text;
    size_t length, pos;
} gf_json_cursor;

void gf_json_init(gf_json_cursor *c, const char *text, size_t length);
/* Skips whitespace, then consumes `ch` if it is next; returns whether it did. */
bool gf_json_accept(gf_json_cursor *c, char ch);
/* Like accept, but a different character is an error naming both. */
int gf_json_expect(gf_json_cursor *c, char ch);
/* A string, unescaped into UTF-8, malloc'd into *out (NUL-terminated). A string
 * holding "\u0000" is refused, since names are C strings. */
int gf_json_string(gf_json_cursor *c, char **out);
/* A non-negative integer (no sign, fraction or exponent) that fits in uint64_t. */
int gf_json_uint(gf_json_cursor *c, uint64_t *out);
/* Only whitespace remains. */
int gf_json_end(gf_json_cursor *c);

#endif
