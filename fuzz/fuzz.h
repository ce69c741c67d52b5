/*  fuzz: shared pieces of the libFuzzer harnesses.

    The file loaders (stats, model, thresh, rf, hmm, iforest) read an mp.h
    container whose body is checksummed, so a mutated file almost always
    fails the checksum and the body parser is never reached.  The harnesses
    therefore take a selector byte first:
        even   the rest is a body: wrapped in a valid container (right format,
               version and checksum) and written to a scratch file
        odd    the rest is the whole file, written as it is (container checks)
    fuzz_file() does that and returns the scratch path (one per process).  */
#ifndef VIGIL_FUZZ_H
#define VIGIL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mp.h"

//  Write the input as a file of `format` (see above); NULL if it cannot.
static inline const char *
fuzz_file (const uint8_t *data, size_t size, const char *format, uint32_t version)
{
    static char path[64];
    if (!path[0])
        snprintf (path, sizeof path, "/tmp/vigil-fuzz-%ld", (long) getpid ());
    if (size == 0)
        return NULL;
    char err[ERRLEN];
    if (data[0] & 1) {
        FILE *f = fopen (path, "wb");
        if (!f)
            return NULL;
        fwrite (data + 1, 1, size - 1, f);
        fclose (f);
    }
    else if (mpfile_write (path, format, version, (const char *) data + 1, size - 1, err))
        return NULL;
    return path;
}

#endif
