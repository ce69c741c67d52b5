/*  keytab: see keytab.h.  Separate chaining over a power-of-two bucket
    array (doubled at load factor 1) plus a doubly-linked touch list.  */
#include "keytab.h"

#include <assert.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp.h"
#include "util.h"

typedef struct s_entry {
    struct s_entry *chain;      //  next in the bucket
    struct s_entry *prev, *next;    //  touch list, oldest first
    uint64_t hash;              //  hash64 of the key
    double t;                   //  stream time of the last touch
    char *key;                  //  points after the value block
    alignas (max_align_t) char value[];
} s_entry_t;

struct _keytab_t {
    size_t value_size;          //  bytes of each value block
    s_entry_t **bucket;         //  (nbucket) chains
    size_t nbucket;             //  power of two
    size_t size, peak;          //  entries held, most ever held
    s_entry_t *oldest, *newest; //  touch list ends
};

keytab_t *
keytab_new (size_t value_size)
{
    keytab_t *self = xcalloc (1, sizeof *self);
    self->value_size = (value_size + alignof (max_align_t) - 1) & ~(alignof (max_align_t) - 1);
    self->nbucket = 64;
    self->bucket = xcalloc (self->nbucket, sizeof *self->bucket);
    return self;
}

void
keytab_destroy (keytab_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    keytab_t *self = *self_p;
    s_entry_t *e = self->oldest;
    while (e) {
        s_entry_t *next = e->next;
        free (e);
        e = next;
    }
    free (self->bucket);
    free (self);
    *self_p = NULL;
}

static void
s_unlink (keytab_t *self, s_entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        self->oldest = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        self->newest = e->prev;
    e->prev = e->next = NULL;
}

static void
s_append (keytab_t *self, s_entry_t *e)
{
    e->prev = self->newest;
    e->next = NULL;
    if (self->newest)
        self->newest->next = e;
    else
        self->oldest = e;
    self->newest = e;
}

static s_entry_t *
s_lookup (keytab_t *self, const char *key, uint64_t h)
{
    for (s_entry_t *e = self->bucket[h & (self->nbucket - 1)]; e; e = e->chain)
        if (e->hash == h && !strcmp (e->key, key))
            return e;
    return NULL;
}

static void
s_rehash (keytab_t *self)
{
    size_t n = self->nbucket * 2;
    s_entry_t **b = xcalloc (n, sizeof *b);
    for (s_entry_t *e = self->oldest; e; e = e->next) {
        e->chain = b[e->hash & (n - 1)];
        b[e->hash & (n - 1)] = e;
    }
    free (self->bucket);
    self->bucket = b;
    self->nbucket = n;
}

void *
keytab_get (keytab_t *self, const char *key, double t, bool *created)
{
    size_t len = strlen (key);
    uint64_t h = hash64 (key, len);
    s_entry_t *e = s_lookup (self, key, h);
    if (e) {
        if (self->newest != e) {
            s_unlink (self, e);
            s_append (self, e);
        }
        e->t = t;
        if (created)
            *created = false;
        return e->value;
    }
    e = xcalloc (1, sizeof *e + self->value_size + len + 1);
    e->hash = h;
    e->t = t;
    e->key = e->value + self->value_size;
    memcpy (e->key, key, len + 1);
    size_t b = h & (self->nbucket - 1);
    e->chain = self->bucket[b];
    self->bucket[b] = e;
    s_append (self, e);
    if (++self->size > self->peak)
        self->peak = self->size;
    if (self->size > self->nbucket)
        s_rehash (self);
    if (created)
        *created = true;
    return e->value;
}

void *
keytab_find (keytab_t *self, const char *key)
{
    s_entry_t *e = s_lookup (self, key, hash64 (key, strlen (key)));
    return e ? e->value : NULL;
}

size_t
keytab_expire (keytab_t *self, double before)
{
    size_t n = 0;
    while (self->oldest && self->oldest->t < before) {
        s_entry_t *e = self->oldest;
        s_entry_t **pp = &self->bucket[e->hash & (self->nbucket - 1)];
        while (*pp != e)
            pp = &(*pp)->chain;
        *pp = e->chain;
        s_unlink (self, e);
        free (e);
        self->size--;
        n++;
    }
    return n;
}

size_t
keytab_size (const keytab_t *self)
{
    return self->size;
}

size_t
keytab_peak (const keytab_t *self)
{
    return self->peak;
}

int
keytab_record_key (const record_t *rec, const char *name, char *buf, size_t size)
{
    if (!strcmp (name, "id")) {
        if (!(rec->has & REC_ID) || strlen (rec->id) >= size)
            return -1;
        strcpy (buf, rec->id);
        return 0;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int rc = -1;
    if (record_extra_unpack (rec, name, &u) == 0) {
        if (u.data.type == MSGPACK_OBJECT_STR)
            rc = mp_strcpy (&u.data, buf, size);
        else if (u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            int n = snprintf (buf, size, "%llu", (unsigned long long) u.data.via.u64);
            rc = n > 0 && (size_t) n < size ? 0 : -1;
        }
    }
    msgpack_unpacked_destroy (&u);
    return rc;
}

void
keytab_test (bool verbose)
{
    (void) verbose;
    keytab_t *kt = keytab_new (sizeof (double) * 3);
    bool created;
    double *v = keytab_get (kt, "p1", 1, &created);
    assert (created && v[0] == 0 && v[2] == 0);
    v[1] = 42;
    assert (keytab_get (kt, "p1", 2, &created) == v && !created && v[1] == 42);
    assert (keytab_find (kt, "p2") == NULL && keytab_find (kt, "p1") == v);
    //  many keys: rehash keeps values and pointers
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf (key, sizeof key, "k%d", i);
        double *w = keytab_get (kt, key, 10 + i, &created);
        assert (created);
        w[0] = i;
    }
    assert (keytab_size (kt) == 1001 && keytab_find (kt, "p1") == v);
    for (int i = 0; i < 1000; i += 37) {
        snprintf (key, sizeof key, "k%d", i);
        assert (((double *) keytab_find (kt, key))[0] == i);
    }
    //  touch p1 late: expiring before 510 drops p1? no, it was touched at 2000
    keytab_get (kt, "p1", 2000, NULL);
    assert (keytab_expire (kt, 510) == 500);
    assert (keytab_size (kt) == 501 && keytab_find (kt, "k499") == NULL);
    assert (keytab_find (kt, "k500") && keytab_find (kt, "p1") == v);
    assert (keytab_expire (kt, 1e9) == 501 && keytab_size (kt) == 0);
    assert (keytab_peak (kt) == 1001);
    //  the table is usable after emptying
    v = keytab_get (kt, "p1", 1, &created);
    assert (created && v[1] == 0);
    keytab_destroy (&kt);
    keytab_destroy (&kt);

    record_t rec;
    record_init (&rec);
    char buf[REC_ID_MAX];
    assert (keytab_record_key (&rec, "id", buf, sizeof buf) == -1);
    record_set_id (&rec, "p7");
    assert (keytab_record_key (&rec, "id", buf, sizeof buf) == 0 && !strcmp (buf, "p7"));
    assert (keytab_record_key (&rec, "bed", buf, sizeof buf) == -1);
    record_extra_set_str (&rec, "bed", "icu-3");
    assert (keytab_record_key (&rec, "bed", buf, sizeof buf) == 0 && !strcmp (buf, "icu-3"));
    assert (keytab_record_key (&rec, "bed", buf, 4) == -1);
    record_extra_set (&rec, "dev", "\x2a", 1);
    assert (keytab_record_key (&rec, "dev", buf, sizeof buf) == 0 && !strcmp (buf, "42"));
    record_extra_set_double (&rec, "dev", 1.5);
    assert (keytab_record_key (&rec, "dev", buf, sizeof buf) == -1);
    record_destroy (&rec);
}
