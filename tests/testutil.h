/* Shared test helpers (cmocka): temporary directories, running the scnn program, files,
 * and the parity harness that compares a kernel's output with the reference. */
#ifndef SCNN_TESTUTIL_H
#define SCNN_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* A fresh temporary directory (under $TMPDIR or /tmp), removed by tu_rmrf. */
char *tu_mkdtemp(void);
void tu_rmrf(const char *path);
/* Path of the scnn program under test ($SCNN_BIN, else ./scnn). */
const char *tu_scnn(void);
/* Runs a shell command; returns its exit status (or 128+signal); stdout+stderr go to *out
 * (malloc'd, NUL-terminated; may be NULL). */
int tu_run(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes/reads a whole file; read returns malloc'd bytes and sets *len (NULL on failure). */
void tu_write_file(const char *path, const void *data, size_t len);
void *tu_read_file(const char *path, size_t *len);
/* The fetched data directory for a data set (data/idx/<name> or $SCNN_DATA/idx/<name>). */
const char *tu_data_dir(const char *dataset);

#endif
