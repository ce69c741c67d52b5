/*  route: which of N outputs a frame goes to, by a stable hash of one of its
    keys, so that every record of one patient reaches the same downstream
    (stateful) process.

    The value is hashed as text: a string as its bytes, an unsigned or
    negative integer as its decimal digits (so "17" and 17 agree), with
    64-bit FNV-1a (hash64): the same across runs, processes and machines.
    Output = hash mod N.  */
#ifndef VIGIL_ROUTE_H
#define VIGIL_ROUTE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "util.h"

//  Output index in [0, n) for a frame (a map), by the value of key; -1 + err
//  when the key is missing or not a string or integer.  n >= 1.
long
    route_pick (const msgpack_object *frame, const char *key, size_t n, char *err);

void
    route_test (bool verbose);

#endif
