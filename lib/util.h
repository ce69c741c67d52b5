/*  util: allocation that cannot fail, number and duration parsing, hashing
    and a monotonic clock — the small things every vigil module needs.

    The x* allocators are the one place in lib/ that prints and aborts: running
    out of memory is not a condition a stream filter can recover from.  Every
    parser returns 0 on success and -1 on malformed input, never exits.  */
#ifndef VIGIL_UTIL_H
#define VIGIL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_VERSION "0.1.0"

//  Allocate or abort with a message on stderr.  Callers own the result.
void *
    xmalloc (size_t size);
void *
    xcalloc (size_t n, size_t size);
void *
    xrealloc (void *ptr, size_t size);
char *
    xstrdup (const char *s);

//  Grow *buf (holding *cap elements of elem bytes) to at least need elements,
//  doubling; contents are kept.  Never shrinks.
void
    xgrow (void **buf, size_t *cap, size_t need, size_t elem);

//  Parse a whole string as a number; trailing junk, empty input or overflow
//  gives -1.
int
    parse_double (const char *s, double *out);
int
    parse_long (const char *s, long *out);

//  "90", "90s", "1.5m", "24h", "7d", "250ms" -> seconds.  Returns 0 or -1.
int
    parse_duration (const char *s, double *seconds);

//  "4096", "64k", "16M", "1G" (powers of 1024) -> bytes.  Returns 0 or -1.
int
    parse_size (const char *s, size_t *bytes);

//  64-bit FNV-1a over bytes; stable across runs and machines (routing,
//  checksums of stats/model/threshold files).
uint64_t
    hash64 (const void *data, size_t size);
uint64_t
    hash64_update (uint64_t h, const void *data, size_t size);
#define HASH64_INIT 0xcbf29ce484222325ULL

//  Seconds from a monotonic clock, and from the wall clock (epoch).
double
    clock_mono (void);
double
    clock_wall (void);

//  Error text for lib/ functions that fail: they take `char *err` (ERRLEN
//  bytes, may be NULL), fill it with a lowercase reason without a full stop,
//  and return -1 (or NULL).  errf() formats and returns -1.
#define ERRLEN 256
int
    errf (char *err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

void
    util_test (bool verbose);

#endif
