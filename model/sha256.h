/* SHA-256 (FIPS 180-4), incremental. Internal to the library and its tests. */
#ifndef SCNN_SHA256_H
#define SCNN_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct scnn_sha256 {
    uint32_t h[8];
    uint64_t total;       /* bytes hashed so far */
    uint8_t buf[64];
    size_t fill;          /* bytes waiting in buf */
} scnn_sha256;

void scnn_sha256_init(scnn_sha256 *s);
void scnn_sha256_update(scnn_sha256 *s, const void *data, size_t len);
/* Writes the 32-byte digest; s must be re-initialised before reuse. */
void scnn_sha256_final(scnn_sha256 *s, uint8_t digest[32]);
/* 32 bytes -> 64 lower-case hex digits + NUL. */
void scnn_sha256_to_hex(const uint8_t digest[32], char out[65]);

#endif
