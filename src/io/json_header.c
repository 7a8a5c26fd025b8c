#include "io/json_header.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

void gf_json_init(gf_json_cursor *c, const char *text, size_t length) {
    c->text = text;
    c->length = length;
    c->pos = 0;
}

static void skip_space(gf_json_cursor *c) {
    while (c->pos < c->length) {
        char ch = c->text[c->pos];
        if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r') break;
        c->pos++;
    }
}

/* "'x'" or "the end of the header" for messages */
static const char *describe_next(const gf_json_cursor *c, char *buf, size_t size) {
    if (c->pos >= c->length) return "the end of the header";
    unsigned char ch = (unsigned char)c->text[c->pos];
    if (ch >= 0x20 && ch < 0x7f)
        snprintf(buf, size, "'%c'", ch);
    else
        snprintf(buf, size, "byte 0x%02x", ch);
    return buf;
}

bool gf_json_accept(gf_json_cursor *c, char ch) {
    skip_space(c);
    if (c->pos < c->length && c->text[c->pos] == ch) {
        c->pos++;
        return true;
    }
    return false;
}

int gf_json_expect(gf_json_cursor *c, char ch) {
    if (gf_json_accept(c, ch)) return GF_OK;
    char buf[16];
    return gf_fail("bad JSON at byte %zu: expected '%c', found %s", c->pos, ch,
                   describe_next(c, buf, sizeof buf));
}

static int hex4(gf_json_cursor *c, unsigned *out) {
    if (c->length - c->pos < 4)
        return gf_fail("bad JSON at byte %zu: truncated \\u escape", c->pos);
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char h = c->text[c->pos++];
        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f')
            v |= (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            v |= (unsigned)(h - 'A' + 10);
        else
            return gf_fail("bad JSON at byte %zu: '%c' in a \\u escape", c->pos - 1, h);
    }
    *out = v;
    return GF_OK;
}

static size_t put_utf8(char *dst, unsigned cp) {
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xc0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xe0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        dst[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    dst[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static int unicode_escape(gf_json_cursor *c, char *dst, size_t *used) {
    size_t at = c->pos - 2;
    unsigned cp = 0;
    if (hex4(c, &cp) != GF_OK) return GF_ERR;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        unsigned low = 0;
        if (c->length - c->pos < 2 || c->text[c->pos] != '\\' || c->text[c->pos + 1] != 'u')
            return gf_fail("bad JSON at byte %zu: unpaired surrogate \\u%04x", at, cp);
        c->pos += 2;
        if (hex4(c, &low) != GF_OK) return GF_ERR;
        if (low < 0xdc00 || low > 0xdfff)
            return gf_fail("bad JSON at byte %zu: unpaired surrogate \\u%04x", at, cp);
        cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return gf_fail("bad JSON at byte %zu: unpaired surrogate \\u%04x", at, cp);
    }
    if (cp == 0) return gf_fail("bad JSON at byte %zu: \\u0000 in a string", at);
    *used = put_utf8(dst, cp);
    return GF_OK;
}

int gf_json_string(gf_json_cursor *c, char **out) {
    *out = NULL;
    if (gf_json_expect(c, '"') != GF_OK) return GF_ERR;
    size_t start = c->pos;
    /* the unescaped string is never longer than the escaped one */
    size_t end = start;
    while (end < c->length && c->text[end] != '"') end += c->text[end] == '\\' ? 2 : 1;
    if (end >= c->length) return gf_fail("bad JSON at byte %zu: unterminated string", start - 1);
    char *s = malloc(end - start + 1);
    if (!s) return gf_fail("out of memory reading a JSON string");
    size_t n = 0;
    while (c->pos < end) {
        unsigned char ch = (unsigned char)c->text[c->pos++];
        if (ch < 0x20) {
            free(s);
            return gf_fail("bad JSON at byte %zu: control character 0x%02x in a string", c->pos - 1,
                           ch);
        }
        if (ch != '\\') {
            s[n++] = (char)ch;
            continue;
        }
        char e = c->text[c->pos++];
        size_t used = 1;
        switch (e) {
        case '"': s[n] = '"'; break;
        case '\\': s[n] = '\\'; break;
        case '/': s[n] = '/'; break;
        case 'b': s[n] = '\b'; break;
        case 'f': s[n] = '\f'; break;
        case 'n': s[n] = '\n'; break;
        case 'r': s[n] = '\r'; break;
        case 't': s[n] = '\t'; break;
        case 'u':
            /* a \u escape is 6 bytes and decodes to at most 3 (4 for a 12-byte pair) */
            if (unicode_escape(c, s + n, &used) != GF_OK) {
                free(s);
                return GF_ERR;
            }
            break;
        default:
            free(s);
            return gf_fail("bad JSON at byte %zu: unknown escape '\\%c'", c->pos - 2, e);
        }
        n += used;
    }
    c->pos = end + 1;
    s[n] = '\0';
    *out = s;
    return GF_OK;
}

int gf_json_uint(gf_json_cursor *c, uint64_t *out) {
    skip_space(c);
    size_t start = c->pos;
    uint64_t v = 0;
    while (c->pos < c->length && c->text[c->pos] >= '0' && c->text[c->pos] <= '9') {
        unsigned digit = (unsigned)(c->text[c->pos] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return gf_fail("bad JSON at byte %zu: integer too large", start);
        v = v * 10 + digit;
        c->pos++;
    }
    char buf[16];
    if (c->pos == start)
        return gf_fail("bad JSON at byte %zu: expected a non-negative integer, found %s", start,
                       describe_next(c, buf, sizeof buf));
    if (c->pos - start > 1 && c->text[start] == '0')
        return gf_fail("bad JSON at byte %zu: integer with a leading zero", start);
    if (c->pos < c->length &&
        (c->text[c->pos] == '.' || c->text[c->pos] == 'e' || c->text[c->pos] == 'E'))
        return gf_fail("bad JSON at byte %zu: expected an integer, found a fraction or exponent",
                       start);
    *out = v;
    return GF_OK;
}

int gf_json_end(gf_json_cursor *c) {
    skip_space(c);
    char buf[16];
    if (c->pos != c->length)
        return gf_fail("bad JSON at byte %zu: unexpected %s after the header object", c->pos,
                       describe_next(c, buf, sizeof buf));
    return GF_OK;
}
