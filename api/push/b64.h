/*
 * b64.h - base64 and base64url (RFC 4648) for push messages and JWTs.
 *
 * Decoding is strict about everything that could hide data: characters
 * outside the alphabet (whitespace included), padding anywhere but at the
 * end, a final quantum of one character, and non-zero bits left over in the
 * last character are all errors.  Padding is optional because the protobuf
 * JSON mapping that Pub/Sub uses accepts both padded and unpadded text, and
 * JWTs never pad.  The two alphabets are separate modes; B64_ANY accepts
 * either (protobuf JSON parsers accept both for bytes fields) but not a mix.
 *
 * Pure functions: no I/O, no globals.
 */
#ifndef ROAM_B64_H
#define ROAM_B64_H

#include <stddef.h>

enum b64_alphabet {
    B64_STD, /* A-Z a-z 0-9 + / */
    B64_URL, /* A-Z a-z 0-9 - _ */
    B64_ANY, /* either, but one per text */
    B64_ALPHABET_MAX
};

/*
 * Decodes len bytes of text into a new buffer (*ret, NUL-terminated for
 * convenience, the NUL not counted in *ret_len; free() it).  An empty text
 * decodes to an empty buffer.  Returns 0, or ERR_PARSE with *ret untouched.
 */
int b64_decode(const char *text, size_t len, enum b64_alphabet alpha, unsigned char **ret,
               size_t *ret_len);

/* Encodes n bytes; pad adds '=' padding.  A new string the caller frees. */
char *b64_encode(const void *data, size_t n, enum b64_alphabet alpha, int pad);

#endif
