/*  util: see util.h.  */
#define _POSIX_C_SOURCE 200809L
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
s_oom (size_t size)
{
    fprintf (stderr, "vigil: out of memory (%zu bytes)\n", size);
    abort ();
}

void *
xmalloc (size_t size)
{
    void *p = malloc (size ? size : 1);
    if (!p)
        s_oom (size);
    return p;
}

void *
xcalloc (size_t n, size_t size)
{
    void *p = calloc (n ? n : 1, size ? size : 1);
    if (!p)
        s_oom (n * size);
    return p;
}

void *
xrealloc (void *ptr, size_t size)
{
    void *p = realloc (ptr, size ? size : 1);
    if (!p)
        s_oom (size);
    return p;
}

char *
xstrdup (const char *s)
{
    size_t n = strlen (s) + 1;
    char *p = xmalloc (n);
    memcpy (p, s, n);
    return p;
}

void
xgrow (void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    *buf = xrealloc (*buf, n * elem);
    *cap = n;
}

int
parse_double (const char *s, double *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod (s, &end);
    if (end == s || *end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int
parse_long (const char *s, long *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    long v = strtol (s, &end, 10);
    if (end == s || *end || errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

int
parse_duration (const char *s, double *seconds)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod (s, &end);
    if (end == s || errno == ERANGE || !isfinite (v) || v < 0)
        return -1;
    double mul;
    if (!*end || !strcmp (end, "s"))
        mul = 1;
    else if (!strcmp (end, "ms"))
        mul = 1e-3;
    else if (!strcmp (end, "m"))
        mul = 60;
    else if (!strcmp (end, "h"))
        mul = 3600;
    else if (!strcmp (end, "d"))
        mul = 86400;
    else
        return -1;
    *seconds = v * mul;
    return 0;
}

int
parse_size (const char *s, size_t *bytes)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod (s, &end);
    if (end == s || errno == ERANGE || !isfinite (v) || v < 0)
        return -1;
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024.0, end++;
    else if (*end == 'M')
        mul = 1024.0 * 1024, end++;
    else if (*end == 'G')
        mul = 1024.0 * 1024 * 1024, end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || v * mul > (double) SIZE_MAX / 2)
        return -1;
    *bytes = (size_t) (v * mul);
    return 0;
}

uint64_t
hash64_update (uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t
hash64 (const void *data, size_t size)
{
    return hash64_update (HASH64_INIT, data, size);
}

double
clock_mono (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double
clock_wall (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int
errf (char *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (err, ERRLEN, fmt, ap);
        va_end (ap);
    }
    return -1;
}

void
util_test (bool verbose)
{
    (void) verbose;
    double d;
    long l;
    size_t z;
    assert (parse_double ("1.5", &d) == 0 && d == 1.5);
    assert (parse_double ("1.5x", &d) == -1);
    assert (parse_double ("", &d) == -1);
    assert (parse_long ("42", &l) == 0 && l == 42);
    assert (parse_long ("4 2", &l) == -1);
    assert (parse_duration ("24h", &d) == 0 && d == 86400);
    assert (parse_duration ("250ms", &d) == 0 && fabs (d - 0.25) < 1e-12);
    assert (parse_duration ("90", &d) == 0 && d == 90);
    assert (parse_duration ("1.5m", &d) == 0 && d == 90);
    assert (parse_duration ("-1s", &d) == -1);
    assert (parse_duration ("3y", &d) == -1);
    assert (parse_size ("16M", &z) == 0 && z == 16u << 20);
    assert (parse_size ("64k", &z) == 0 && z == 65536);
    assert (parse_size ("12q", &z) == -1);
    //  FNV-1a test vectors
    assert (hash64 ("", 0) == 0xcbf29ce484222325ULL);
    assert (hash64 ("a", 1) == 0xaf63dc4c8601ec8cULL);
    assert (hash64 ("foobar", 6) == 0x85944171f73967e8ULL);
    int *buf = NULL;
    size_t cap = 0;
    xgrow ((void **) &buf, &cap, 100, sizeof *buf);
    assert (cap >= 100);
    buf[99] = 1;
    free (buf);
    assert (clock_mono () > 0);
}
