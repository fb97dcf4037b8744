/*
 * b64.c - strict base64 / base64url decoding and encoding (see b64.h).
 *
 * A 256-entry table per alphabet would be faster; at the sizes we decode
 * (tokens, push payloads up to the body cap) a switch is fast enough and
 * easier to check.
 */
#include "b64.h"

#include <stdint.h>
#include <stdlib.h>

#include "api/common/err.h"
#include "api/common/xalloc.h"

/* The 6-bit value of c, or -1; *seen_std / *seen_url record which
 * alphabet-specific characters appeared. */
static int sextet(unsigned char c, int *seen_std, int *seen_url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '/') {
        *seen_std = 1;
        return c == '+' ? 62 : 63;
    }
    if (c == '-' || c == '_') {
        *seen_url = 1;
        return c == '-' ? 62 : 63;
    }
    return -1;
}

/* Length without padding, or (size_t)-1 when the padding is malformed. */
static size_t unpadded_len(const char *text, size_t len)
{
    size_t n = len, pad = 0;

    while (n > 0 && text[n - 1] == '=') {
        n--;
        pad++;
    }
    if (pad == 0)
        return n;
    /* Padding, when present, must complete the last quantum exactly. */
    if (pad > 2 || len % 4 != 0)
        return (size_t)-1;
    if ((n % 4 == 2 && pad != 2) || (n % 4 == 3 && pad != 1) || n % 4 < 2)
        return (size_t)-1;
    return n;
}

static int alphabet_ok(enum b64_alphabet alpha, int seen_std, int seen_url)
{
    switch (alpha) {
    case B64_STD:
        return !seen_url;
    case B64_URL:
        return !seen_std;
    case B64_ANY:
        return !(seen_std && seen_url);
    default:
        return 0;
    }
}

int b64_decode(const char *text, size_t len, enum b64_alphabet alpha, unsigned char **ret,
               size_t *ret_len)
{
    size_t n = unpadded_len(text, len), i, o = 0;
    int seen_std = 0, seen_url = 0;
    unsigned char *out;
    uint32_t acc = 0;
    unsigned bits = 0;

    if (n == (size_t)-1 || n % 4 == 1)
        return ERR_PARSE;
    out = xmalloc(n / 4 * 3 + 3);
    for (i = 0; i < n; i++) {
        int v = sextet((unsigned char)text[i], &seen_std, &seen_url);

        if (v < 0)
            goto out_free;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero, or two texts would decode alike. */
    if (acc != 0 || !alphabet_ok(alpha, seen_std, seen_url))
        goto out_free;
    out[o] = '\0';
    *ret = out;
    *ret_len = o;
    return 0;

out_free:
    free(out);
    return ERR_PARSE;
}

char *b64_encode(const void *data, size_t n, enum b64_alphabet alpha, int pad)
{
    static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const char *tab = alpha == B64_URL ? url : std;
    const unsigned char *p = data;
    char *out = xmalloc(n / 3 * 4 + 5), *q = out;
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *q++ = tab[v >> 18];
        *q++ = tab[(v >> 12) & 63];
        *q++ = tab[(v >> 6) & 63];
        *q++ = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *q++ = tab[v >> 18];
        *q++ = tab[(v >> 12) & 63];
        if (pad) {
            *q++ = '=';
            *q++ = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *q++ = tab[v >> 18];
        *q++ = tab[(v >> 12) & 63];
        *q++ = tab[(v >> 6) & 63];
        if (pad)
            *q++ = '=';
    }
    *q = '\0';
    return out;
}
