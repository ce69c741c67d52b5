/*  keytab: per-key state for streaming stages (personal baselines, last
    values, window ring buffers), in a hash table that forgets idle keys.

    Each entry holds a fixed-size value block (value_size bytes, zeroed when
    the key is first seen, aligned for any type) and the stream time it was
    last touched.  Entries are also kept on a list in the order they were
    touched, so expiring idle keys costs O(evicted), not O(keys): memory is
    bounded by the keys active within the idle period, never by the length of
    the stream.  Time is the stream's own (record `t`), so a replayed file
    behaves as the live stream did.  */
#ifndef VIGIL_KEYTAB_H
#define VIGIL_KEYTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

typedef struct _keytab_t keytab_t;

//  New empty table whose entries carry value_size bytes.  Caller owns.
keytab_t *
    keytab_new (size_t value_size);
void
    keytab_destroy (keytab_t **self_p);
//  The value of key, created (zeroed, *created = true) if absent; the entry
//  is marked touched at time t.  The pointer stays valid until the entry is
//  expired or the table destroyed.
void *
    keytab_get (keytab_t *self, const char *key, double t, bool *created);
//  The value of key or NULL; does not touch.
void *
    keytab_find (keytab_t *self, const char *key);
//  Drop entries last touched before `before` (oldest-touched first; stops at
//  the first entry touched at or after it).  Returns how many were dropped.
size_t
    keytab_expire (keytab_t *self, double before);
//  Keys held now, and the most ever held at once.
size_t
    keytab_size (const keytab_t *self);
size_t
    keytab_peak (const keytab_t *self);

//  The value of a record's key `name` as text into buf: `id`, or an extra
//  key holding a string or an unsigned integer (as decimal).  0, or -1 if
//  the record has no such key, it is of another type or longer than size-1.
int
    keytab_record_key (const record_t *rec, const char *name, char *buf, size_t size);

void
    keytab_test (bool verbose);

#endif
