/* The fuzz targets (fuzz/fuzz_*.c): each defines scnn_fuzz_NAME(data, size), which feeds one
 * input to one reader and returns 0. Built with clang and libFuzzer (make fuzz), where
 * SCNN_FUZZ_LIBFUZZER makes it the LLVMFuzzerTestOneInput of its own binary; built with gcc,
 * the corpus replay test (tests/test_fuzz_replay.c) calls every target on its corpus. A reader
 * that crashes, leaks, hangs or breaks an invariant (abort) is a finding. */
#ifndef SCNN_FUZZ_H
#define SCNN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef SCNN_FUZZ_LIBFUZZER
#define SCNN_FUZZ_TARGET(name)                                                                    \
    int scnn_fuzz_##name(const uint8_t *data, size_t size);                                       \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);                                 \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                                  \
    {                                                                                             \
        return scnn_fuzz_##name(data, size);                                                      \
    }                                                                                             \
    int scnn_fuzz_##name(const uint8_t *data, size_t size)
#else
#define SCNN_FUZZ_TARGET(name) int scnn_fuzz_##name(const uint8_t *data, size_t size)
#endif

/* An invariant a reader promises was broken: a finding, like a crash. */
#define FUZZ_CHECK(cond)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

int scnn_fuzz_idx(const uint8_t *data, size_t size);
int scnn_fuzz_png(const uint8_t *data, size_t size);
int scnn_fuzz_checkpoint(const uint8_t *data, size_t size);
int scnn_fuzz_runfolder(const uint8_t *data, size_t size);

#endif
