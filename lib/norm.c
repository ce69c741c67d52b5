/*  norm: see norm.h.

    Hot path (norm_apply): the readings of consecutive records nearly always
    come in the same order, so the field index of each position in `v` is
    cached and confirmed with one name compare; a miss falls back to a
    search.  No allocation per record once the buffers have grown.  */
#include "norm.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keytab.h"
#include "mp.h"
#include "sketch.h"

#define S_IGNORED (-2)          //  cache: a reading the fit left out
#define S_UNKNOWN (-1)

//  Position cache: field index of the reading at each position of `v`.
typedef struct {
    size_t n, cap;
    char (*name)[REC_NAME_MAX]; //  (cap) reading name at this position
    long *idx;                  //  (cap) field index, S_IGNORED or S_UNKNOWN
} s_cache_t;

static long
s_cache_lookup (s_cache_t *c, size_t j, const char *name, bool *hit)
{
    if (j < c->n && !strcmp (c->name[j], name)) {
        *hit = true;
        return c->idx[j];
    }
    *hit = false;
    return S_UNKNOWN;
}

static void
s_cache_store (s_cache_t *c, size_t j, const char *name, long idx)
{
    size_t cap = c->cap;
    xgrow ((void **) &c->name, &c->cap, j + 1, sizeof *c->name);
    xgrow ((void **) &c->idx, &cap, j + 1, sizeof *c->idx);
    while (c->n <= j) {
        c->name[c->n][0] = 0;
        c->idx[c->n++] = S_UNKNOWN;
    }
    snprintf (c->name[j], REC_NAME_MAX, "%s", name);
    c->idx[j] = idx;
}

static void
s_cache_free (s_cache_t *c)
{
    free (c->name);
    free (c->idx);
}

static double
s_signed_log1p (double v)
{
    return v < 0 ? -log1p (-v) : log1p (v);
}

//  --- fit -------------------------------------------------------------------

typedef struct {
    char name[STATS_NAME_MAX];  //  field
    bool log1p;                 //  accumulate sign(v) log1p |v|
    bool hidden;                //  not a field itself, only the base of a personal one
    bool run;                   //  a run field F:run (counts, not readings)
    uint64_t n;                 //  readings
    double mean, m2;            //  Welford running mean and sum of squared deviations
    double min, max;
    sketch_t *sk;               //  quantiles
} s_acc_t;

//  A field derived per key from a reading: run and change fields.
typedef struct {
    char base[STATS_NAME_MAX];  //  the reading it is derived from
    long acc;                   //  its accumulator
    bool flag;                  //  a run field: F:miss, not F:run; a change field: F:fN
} s_derived_t;

struct _norm_fit_t {
    s_acc_t *acc;               //  (NORM_MAX_FIELDS) accumulators
    size_t nacc;                //  fields in use
    bool fixed;                 //  fields given: others are ignored
    char (*log1p)[STATS_NAME_MAX];  //  (nlog1p) fields to log-transform
    size_t nlog1p;
    char (*ignored)[STATS_NAME_MAX];    //  (NORM_MAX_FIELDS) readings left out
    size_t nignored;
    stats_scale_t scale;
    uint64_t records;
    s_cache_t cache;
    char (*personal)[STATS_NAME_MAX];   //  (npersonal) fields to add as F@key
    size_t npersonal;
    char key[STATS_NAME_MAX];   //  key of the personal and run fields
    s_derived_t *runs;          //  (nruns) run fields F:run, F:miss (flag)
    size_t nruns;
    keytab_t *rkt;              //  key -> double[2 nruns]: last reading, run
    s_derived_t *deltas;        //  (ndeltas) change fields F:dN, F:fN (flag)
    size_t ndeltas;
    keytab_t *dkt;              //  key -> double[ndeltas (N + 1)]: last N readings, count
    double *cur;                //  (NORM_MAX_FIELDS) this record's readings, NaN if none
};

static void
s_acc_init (norm_fit_t *self, s_acc_t *a, const char *name)
{
    memset (a, 0, sizeof *a);
    snprintf (a->name, STATS_NAME_MAX, "%s", name);
    for (size_t i = 0; i < self->nlog1p; i++)
        if (!strcmp (self->log1p[i], name))
            a->log1p = true;
    a->min = INFINITY;
    a->max = -INFINITY;
    a->sk = sketch_new (0, hash64 (name, strlen (name)));
}

norm_fit_t *
norm_fit_new (const char *const *fields, size_t nfields, const char *const *log1p,
              size_t nlog1p, stats_scale_t scale)
{
    assert (nfields <= NORM_MAX_FIELDS);
    norm_fit_t *self = xcalloc (1, sizeof *self);
    self->acc = xcalloc (NORM_MAX_FIELDS, sizeof *self->acc);
    self->ignored = xcalloc (NORM_MAX_FIELDS, STATS_NAME_MAX);
    self->log1p = xcalloc (nlog1p + 1, STATS_NAME_MAX);
    for (size_t i = 0; i < nlog1p; i++)
        snprintf (self->log1p[i], STATS_NAME_MAX, "%s", log1p[i]);
    self->nlog1p = nlog1p;
    self->scale = scale;
    self->fixed = nfields > 0;
    snprintf (self->key, sizeof self->key, "id");
    self->cur = xmalloc (NORM_MAX_FIELDS * sizeof (double));
    for (size_t i = 0; i < nfields; i++)
        s_acc_init (self, &self->acc[self->nacc++], fields[i]);
    return self;
}

void
norm_fit_destroy (norm_fit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    norm_fit_t *self = *self_p;
    for (size_t i = 0; i < self->nacc; i++)
        sketch_destroy (&self->acc[i].sk);
    free (self->acc);
    free (self->ignored);
    free (self->log1p);
    free (self->personal);
    free (self->runs);
    free (self->deltas);
    free (self->cur);
    keytab_destroy (&self->rkt);
    keytab_destroy (&self->dkt);
    s_cache_free (&self->cache);
    free (self);
    *self_p = NULL;
}

//  Append derived fields named F + suffix for each F of fields to *list
//  (*n of them), each with a new accumulator.  0, or -1 + err.
static int
s_fit_derived (norm_fit_t *self, s_derived_t **list, size_t *n, const char *const *fields,
               size_t nf, const char *suffix, bool flag, char *err)
{
    if (self->nacc + nf > NORM_MAX_FIELDS)
        return errf (err, "more than %d fields", NORM_MAX_FIELDS);
    *list = xrealloc (*list, (*n + nf + 1) * sizeof **list);
    for (size_t i = 0; i < nf; i++) {
        if (strlen (fields[i]) + strlen (suffix) + 1 > STATS_NAME_MAX)
            return errf (err, "'%s%s' cannot be a field name", fields[i], suffix);
        s_derived_t *d = &(*list)[(*n)++];
        snprintf (d->base, sizeof d->base, "%s", fields[i]);
        char name[2 * STATS_NAME_MAX];
        snprintf (name, sizeof name, "%s%s", fields[i], suffix);
        s_acc_init (self, &self->acc[self->nacc], name);
        self->acc[self->nacc].run = true;
        d->acc = (long) self->nacc++;
        d->flag = flag;
    }
    return 0;
}

static int
s_fit_runs (norm_fit_t *self, const char *const *fields, size_t n, bool miss, char *err)
{
    size_t r0 = self->nruns;
    if (s_fit_derived (self, &self->runs, &self->nruns, fields, n,
                       miss ? NORM_MISS_SUFFIX : NORM_RUN_SUFFIX, miss, err))
        return -1;
    for (size_t r = r0; r < self->nruns; r++)
        self->acc[self->runs[r].acc].log1p = !miss;
    keytab_destroy (&self->rkt);
    self->rkt = keytab_new (2 * (self->nruns + 1) * sizeof (double));
    return 0;
}

int
norm_fit_runs (norm_fit_t *self, const char *const *fields, size_t n, char *err)
{
    return s_fit_runs (self, fields, n, false, err);
}

int
norm_fit_misses (norm_fit_t *self, const char *const *fields, size_t n, char *err)
{
    return s_fit_runs (self, fields, n, true, err);
}

int
norm_fit_deltas (norm_fit_t *self, const char *const *fields, size_t n, bool fall, char *err)
{
    char suffix[16];
    snprintf (suffix, sizeof suffix, ":%c%d", fall ? 'f' : 'd', NORM_DELTA_LAG);
    if (s_fit_derived (self, &self->deltas, &self->ndeltas, fields, n, suffix, fall, err))
        return -1;
    keytab_destroy (&self->dkt);
    self->dkt = keytab_new ((self->ndeltas * (NORM_DELTA_LAG + 1) + 1) * sizeof (double));
    return 0;
}

//  Change of a reading over the last N of its key, beyond one unit (only a
//  fall when fall is set): ring holds the last N readings, *count how many
//  were ever pushed.  The first reading changes by 0; until N are held, the
//  change is against the oldest.
static double
s_delta_push (double *ring, double *count, size_t N, double y, bool fall)
{
    size_t n = (size_t) *count;
    double d = n == 0 ? 0 : y - ring[n < N ? 0 : n % N];
    ring[n % N] = y;
    *count = (double) (n + 1);
    return d > 1 && !fall ? d - 1 : d < -1 ? d + 1 : 0;
}

int
norm_fit_personal (norm_fit_t *self, const char *const *fields, size_t n, const char *key,
                   char *err)
{
    if (!key || !*key || strchr (key, '@') || strlen (key) + 2 >= STATS_NAME_MAX)
        return errf (err, "bad key '%s' for personal fields", key ? key : "");
    self->personal = xrealloc (self->personal, (n + 1) * STATS_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        if (strchr (fields[i], '@') || strlen (fields[i]) + strlen (key) + 2 > STATS_NAME_MAX)
            return errf (err, "'%s@%s' cannot be a field name", fields[i], key);
        snprintf (self->personal[i], STATS_NAME_MAX, "%s", fields[i]);
    }
    self->npersonal = n;
    snprintf (self->key, sizeof self->key, "%s", key);
    return 0;
}

//  Accumulator index of a reading name: existing, new (auto mode), or
//  S_IGNORED.  -1 + err when there are too many fields.
static long
s_fit_index (norm_fit_t *self, const char *name, char *err)
{
    for (size_t i = 0; i < self->nacc; i++)
        if (!strcmp (self->acc[i].name, name))
            return (long) i;
    if (self->fixed) {
        for (size_t i = 0; i < self->npersonal + self->nruns; i++)
            if (!strcmp (i < self->npersonal ? self->personal[i]
                                             : self->runs[i - self->npersonal].base, name)
                && self->nacc < NORM_MAX_FIELDS) {
                s_acc_init (self, &self->acc[self->nacc], name);
                self->acc[self->nacc].hidden = true;
                return (long) self->nacc++;
            }
        for (size_t i = 0; i < self->nignored; i++)
            if (!strcmp (self->ignored[i], name))
                return S_IGNORED;
        if (self->nignored == NORM_MAX_FIELDS)
            return errf (err, "more than %d distinct readings", NORM_MAX_FIELDS);
        snprintf (self->ignored[self->nignored++], STATS_NAME_MAX, "%s", name);
        return S_IGNORED;
    }
    if (self->nacc == NORM_MAX_FIELDS)
        return errf (err, "key 'v': reading '%s' would be field %d: more than the %d allowed",
                     name, NORM_MAX_FIELDS + 1, NORM_MAX_FIELDS);
    s_acc_init (self, &self->acc[self->nacc], name);
    return (long) self->nacc++;
}

static void
s_acc_add (s_acc_t *a, double v)
{
    double y = a->log1p ? s_signed_log1p (v) : v;
    a->n++;
    double d = y - a->mean;
    a->mean += d / (double) a->n;
    a->m2 += d * (y - a->mean);
    if (y < a->min)
        a->min = y;
    if (y > a->max)
        a->max = y;
    sketch_add (a->sk, y);
}

//  The accumulator of the reading named name (not a derived field), or -1
//  while it has not been seen.
static long
s_reading_acc (const norm_fit_t *self, const char *name)
{
    for (size_t k = 0; k < self->nacc; k++)
        if (!self->acc[k].run && !strcmp (self->acc[k].name, name))
            return (long) k;
    return -1;
}

int
norm_fit_add (norm_fit_t *self, const record_t *rec, char *err)
{
    if (self->records == 0)
        for (size_t k = 0; k < NORM_MAX_FIELDS; k++)
            self->cur[k] = NAN;
    size_t nv = (rec->has & REC_V) ? rec->nv : 0;
    for (size_t j = 0; j < nv; j++) {
        bool hit;
        long k = s_cache_lookup (&self->cache, j, rec->v_name[j], &hit);
        if (!hit) {
            k = s_fit_index (self, rec->v_name[j], err);
            if (k == -1)
                return -1;
            s_cache_store (&self->cache, j, rec->v_name[j], k);
        }
        if (k < 0)
            continue;
        double v = rec->v_val[j];
        if (!isfinite (v))
            continue;
        s_acc_add (&self->acc[k], v);
        self->cur[k] = v;
    }
    //  run fields: per key, how many records in a row the reading was unchanged
    char key[REC_ID_MAX];
    bool keyed = (self->nruns || self->ndeltas)
              && keytab_record_key (rec, self->key, key, sizeof key) == 0;
    if (self->nruns && keyed) {
        bool created;
        double *st = keytab_get (self->rkt, key, (rec->has & REC_T) ? rec->t : 0, &created);
        for (size_t r = 0; r < self->nruns; r++) {
            if (created)
                st[2 * r] = NAN, st[2 * r + 1] = 0;
            long b = s_reading_acc (self, self->runs[r].base);
            if (b >= 0 && self->runs[r].flag) {
                st[2 * r + 1] = isnan (self->cur[b]) ? st[2 * r + 1] + 1 : 0;
                s_acc_add (&self->acc[self->runs[r].acc], st[2 * r + 1]);
                continue;
            }
            if (b < 0 || isnan (self->cur[b]))
                continue;
            st[2 * r + 1] = self->cur[b] == st[2 * r] ? st[2 * r + 1] + 1 : 0;
            st[2 * r] = self->cur[b];
            s_acc_add (&self->acc[self->runs[r].acc], st[2 * r + 1]);
        }
    }
    //  change fields: per key, the reading less the one NORM_DELTA_LAG before
    if (self->ndeltas && keyed) {
        bool created;
        double *st = keytab_get (self->dkt, key, (rec->has & REC_T) ? rec->t : 0, &created);
        size_t N = NORM_DELTA_LAG;
        if (created)
            memset (st, 0, self->ndeltas * (N + 1) * sizeof (double));
        for (size_t r = 0; r < self->ndeltas; r++) {
            long b = s_reading_acc (self, self->deltas[r].base);
            if (b < 0 || isnan (self->cur[b]))
                continue;
            //  in the space the field is scaled in, as apply sees it
            double y = self->acc[b].log1p ? s_signed_log1p (self->cur[b]) : self->cur[b];
            double *ring = st + r * (N + 1);
            s_acc_add (&self->acc[self->deltas[r].acc],
                       s_delta_push (ring, ring + N, N, y, self->deltas[r].flag));
        }
    }
    for (size_t k = 0; k < self->nacc; k++)
        self->cur[k] = NAN;
    self->records++;
    return 0;
}

stats_t *
norm_fit_stats (norm_fit_t *self, char *err)
{
    if (self->records == 0) {
        errf (err, "no records");
        return NULL;
    }
    for (size_t i = 0; i < self->nlog1p; i++) {
        bool found = false;
        for (size_t k = 0; k < self->nacc; k++)
            found |= !strcmp (self->acc[k].name, self->log1p[i]);
        if (!found) {
            errf (err, "log1p field '%s' is not among the fields", self->log1p[i]);
            return NULL;
        }
    }
    if (self->nacc == 0) {
        errf (err, "no readings in %llu records", (unsigned long long) self->records);
        return NULL;
    }
    stats_info_t *all = xcalloc (self->nacc, sizeof *all);
    stats_info_t *info = xcalloc (self->nacc + self->npersonal + 1, sizeof *info);
    size_t nf = 0;
    for (size_t k = 0; k < self->nacc; k++) {
        s_acc_t *a = &self->acc[k];
        stats_info_t *f = &all[k];
        snprintf (f->name, STATS_NAME_MAX, "%s", a->name);
        f->count = a->n;
        f->missing = self->records - a->n;
        f->log1p = a->log1p;
        if (a->n) {
            f->mean = a->mean;
            f->std = sqrt (a->m2 / (double) a->n);
            f->median = sketch_quantile (a->sk, 0.5);
            f->iqr = sketch_quantile (a->sk, 0.75) - sketch_quantile (a->sk, 0.25);
            f->min = a->min;
            f->max = a->max;
        }
        if (!a->hidden && !a->run)
            info[nf++] = *f;
    }
    //  Personal fields: the statistics of their base field, named F@key.
    for (size_t i = 0; i < self->npersonal; i++) {
        size_t k = 0;
        while (k < self->nacc && strcmp (self->acc[k].name, self->personal[i]))
            k++;
        if (k == self->nacc) {
            errf (err, "personal field '%s' has no readings", self->personal[i]);
            free (info);
            free (all);
            return NULL;
        }
        info[nf] = all[k];
        char name[2 * STATS_NAME_MAX + 2];  //  fits: lengths checked in norm_fit_personal
        snprintf (name, sizeof name, "%s@%s", self->personal[i], self->key);
        memcpy (info[nf].name, name, STATS_NAME_MAX - 1);
        info[nf++].name[STATS_NAME_MAX - 1] = 0;
    }
    for (size_t r = 0; r < self->nruns; r++) {
        if (self->acc[self->runs[r].acc].n == 0) {
            errf (err, "run field '%s' has no readings", self->runs[r].base);
            free (info);
            free (all);
            return NULL;
        }
        info[nf++] = all[self->runs[r].acc];
    }
    for (size_t r = 0; r < self->ndeltas; r++) {
        if (self->acc[self->deltas[r].acc].n == 0) {
            errf (err, "change field '%s' has no readings", self->acc[self->deltas[r].acc].name);
            free (info);
            free (all);
            return NULL;
        }
        info[nf++] = all[self->deltas[r].acc];
    }
    free (all);
    stats_t *s = stats_new (info, nf, self->scale, self->records, err);
    free (info);
    if (s) {
        const char **names = xcalloc (self->nignored + 1, sizeof *names);
        for (size_t i = 0; i < self->nignored; i++)
            names[i] = self->ignored[i];
        stats_set_ignored (s, names, self->nignored);
        free (names);
    }
    return s;
}

//  --- apply -----------------------------------------------------------------

enum { S_OK, S_ABSENT, S_NIL, S_INF };

struct _norm_t {
    const stats_t *st;          //  borrowed
    norm_opts_t o;
    const char *key;            //  record key of the per-key state
    size_t F;                   //  fields
    double *c, *d;              //  (F) population centre and divisor
    bool *lg;                   //  (F) signed log1p transform
    double *y;                  //  (F) this record's transformed readings
    unsigned char *src;         //  (F) S_OK or why the reading is missing
    float *xp;                  //  (F) personal scaling
    long *base;                 //  (F) for a personal field F@key, the index of F; else -1
    bool *pers;                 //  (F) a personal field F@key
    long *runb;                 //  (F) for a run field F:run or F:miss, the index of F (or F@key); else -1
    bool *miss;                 //  (F) a missing-run field F:miss
    long *dbase;                //  (F) for a change field F:dN or F:fN, the index of F; else -1
    bool *dfall;                //  (F) a falls-only change field F:fN
    size_t *dlag, *doff;        //  (F) its N and the offset of its ring in the key's state
    size_t npersonal;           //  personal fields in the stats
    size_t nruns;               //  run fields in the stats
    size_t ndeltas;             //  change fields in the stats
    size_t rings;               //  doubles of the change fields' rings per key
    char *mask_raw;             //  packed mask array
    char *xp_raw;               //  packed xp array
    size_t mask_len, xp_len;
    keytab_t *kt;               //  key -> double[6F + rings]: last y, EW mean, EW variance,
                                //  readings, last reading and run of run fields, then the
                                //  change fields' rings (N readings and a count each)
    s_cache_t cache;
    double now;                 //  latest record time seen
    norm_counts_t cnt;
};

void
norm_opts_default (norm_opts_t *opts)
{
    *opts = (norm_opts_t) {.clamp = 10, .by = NULL, .emit = NORM_EMIT_POPULATION,
                           .alpha = 0.02, .floor = 0.1, .idle = 86400, .gate = 0,
                           .own_start = false};
}

int
norm_emit_parse (const char *name, norm_emit_t *emit)
{
    if (!strcmp (name, "population"))
        *emit = NORM_EMIT_POPULATION;
    else if (!strcmp (name, "personal"))
        *emit = NORM_EMIT_PERSONAL;
    else if (!strcmp (name, "both"))
        *emit = NORM_EMIT_BOTH;
    else
        return -1;
    return 0;
}

//  Size of a MessagePack array header for n entries.
static size_t
s_array_header (char *p, size_t n)
{
    if (n < 16) {
        p[0] = (char) (0x90 | n);
        return 1;
    }
    p[0] = (char) 0xdc;
    p[1] = (char) (n >> 8);
    p[2] = (char) n;
    return 3;
}

norm_t *
norm_new (const stats_t *stats, const norm_opts_t *opts)
{
    norm_t *self = xcalloc (1, sizeof *self);
    self->st = stats;
    self->o = *opts;
    assert (self->o.emit == NORM_EMIT_POPULATION || self->o.by);
    assert (self->o.alpha > 0 && self->o.alpha <= 1);
    self->key = self->o.by ? self->o.by : "id";
    size_t F = self->F = stats_nfields (stats);
    self->base = xmalloc (F * sizeof (long));
    self->pers = xcalloc (F, sizeof (bool));
    self->runb = xmalloc (F * sizeof (long));
    self->miss = xcalloc (F, sizeof (bool));
    self->dbase = xmalloc (F * sizeof (long));
    self->dlag = xcalloc (F, sizeof (size_t));
    self->dfall = xcalloc (F, sizeof (bool));
    self->doff = xcalloc (F, sizeof (size_t));
    for (size_t i = 0; i < F; i++) {
        char name[STATS_NAME_MAX];
        snprintf (name, sizeof name, "%s", stats_field (stats, i));
        char *at = strchr (name, '@');
        self->base[i] = -1;
        self->runb[i] = -1;
        self->dbase[i] = -1;
        char *colon = strrchr (name, ':'), *end = NULL;
        long lag = colon && (colon[1] == 'd' || colon[1] == 'f') && colon[2] >= '1'
                 && colon[2] <= '9' ? strtol (colon + 2, &end, 10) : 0;
        if (lag >= 1 && lag <= NORM_DELTA_LAG_MAX && end && !*end) {
            *colon = 0;
            self->dbase[i] = stats_find (stats, name);
            *colon = ':';
        }
        if (self->dbase[i] >= 0) {
            self->dlag[i] = (size_t) lag;
            self->dfall[i] = colon[1] == 'f';
            self->doff[i] = self->rings;
            self->rings += (size_t) lag + 1;
            self->ndeltas++;
            continue;
        }
        size_t len = strlen (name), slen = strlen (NORM_RUN_SUFFIX);
        size_t mlen = strlen (NORM_MISS_SUFFIX);
        self->miss[i] = len > mlen && !strcmp (name + len - mlen, NORM_MISS_SUFFIX);
        if (self->miss[i])
            slen = mlen;
        if (len > slen && (self->miss[i] || !strcmp (name + len - slen, NORM_RUN_SUFFIX))) {
            name[len - slen] = 0;
            self->runb[i] = stats_find (stats, name);
            for (size_t j = 0; j < F && self->runb[i] < 0; j++)
                if (!strncmp (stats_field (stats, j), name, len - slen)
                    && stats_field (stats, j)[len - slen] == '@')
                    self->runb[i] = (long) j;
            self->nruns++;
            continue;
        }
        if (at) {
            *at = 0;
            self->base[i] = stats_find (stats, name);
            self->pers[i] = true;
            if (!self->npersonal++)
                self->key = stats_field (stats, i) + (at + 1 - name);
        }
    }
    assert (F < 65536);
    self->c = xmalloc (F * sizeof (double));
    self->d = xmalloc (F * sizeof (double));
    self->lg = xmalloc (F * sizeof (bool));
    self->y = xmalloc (F * sizeof (double));
    self->src = xmalloc (F);
    self->xp = xmalloc (F * sizeof (float));
    for (size_t i = 0; i < F; i++) {
        self->c[i] = stats_center (stats, i);
        self->d[i] = stats_divisor (stats, i);
        self->lg[i] = stats_info (stats, i)->log1p;
    }
    self->mask_raw = xmalloc (3 + F);
    self->xp_raw = xmalloc (3 + 5 * F);
    self->kt = keytab_new ((6 * F + self->rings) * sizeof (double));
    self->now = -INFINITY;
    return self;
}

void
norm_destroy (norm_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    norm_t *self = *self_p;
    free (self->c);
    free (self->d);
    free (self->lg);
    free (self->y);
    free (self->src);
    free (self->xp);
    free (self->base);
    free (self->pers);
    free (self->runb);
    free (self->miss);
    free (self->dbase);
    free (self->dlag);
    free (self->dfall);
    free (self->doff);
    free (self->mask_raw);
    free (self->xp_raw);
    keytab_destroy (&self->kt);
    s_cache_free (&self->cache);
    free (self);
    *self_p = NULL;
}

static inline float
s_clamp (double x, double bound)
{
    if (bound > 0)
        x = x > bound ? bound : x < -bound ? -bound : x;
    return (float) x;
}

static void
s_pack_float_be (char *p, float f)
{
    uint32_t u;
    memcpy (&u, &f, 4);
    p[0] = (char) 0xca;
    p[1] = (char) (u >> 24);
    p[2] = (char) (u >> 16);
    p[3] = (char) (u >> 8);
    p[4] = (char) u;
}

int
norm_apply (norm_t *self, record_t *rec, char *err)
{
    size_t F = self->F;
    for (size_t i = 0; i < F; i++)
        self->src[i] = S_ABSENT;
    size_t nv = (rec->has & REC_V) ? rec->nv : 0;
    for (size_t j = 0; j < nv; j++) {
        bool hit;
        long k = s_cache_lookup (&self->cache, j, rec->v_name[j], &hit);
        if (!hit) {
            k = stats_find (self->st, rec->v_name[j]);
            if (k < 0 && self->npersonal) {
                char name[REC_NAME_MAX + STATS_NAME_MAX + 1];
                snprintf (name, sizeof name, "%s@%s", rec->v_name[j], self->key);
                k = stats_find (self->st, name);
            }
            if (k < 0 && stats_is_ignored (self->st, rec->v_name[j]))
                k = S_IGNORED;
            s_cache_store (&self->cache, j, rec->v_name[j], k);
        }
        if (k == S_UNKNOWN)
            return errf (err, "key 'v': reading '%s' is not a field of the stats file",
                         rec->v_name[j]);
        if (k < 0)
            continue;
        double v = rec->v_val[j];
        if (isnan (v))
            self->src[k] = S_NIL;
        else if (isinf (v))
            self->src[k] = S_INF;
        else {
            self->src[k] = S_OK;
            self->y[k] = self->lg[k] ? s_signed_log1p (v) : v;
        }
    }

    //  per-key state: expire idle keys, then find or create this one
    if (rec->has & REC_T && rec->t > self->now)
        self->now = rec->t;
    if (self->o.idle > 0 && isfinite (self->now))
        self->cnt.expired += keytab_expire (self->kt, self->now - self->o.idle);
    double *state = NULL;
    char key[REC_ID_MAX];
    if (keytab_record_key (rec, self->key, key, sizeof key) == 0) {
        bool created;
        state = keytab_get (self->kt, key, (rec->has & REC_T) ? rec->t : self->now, &created);
        if (created)
            for (size_t i = 0; i < F; i++) {
                state[i] = NAN;
                state[F + i] = self->c[i];
                state[2 * F + i] = self->d[i] * self->d[i];
                state[3 * F + i] = 0;
                state[4 * F + i] = NAN;
                state[5 * F + i] = 0;
            }
        if (created)
            memset (state + 6 * F, 0, self->rings * sizeof (double));
    }
    else if (self->o.by || self->npersonal || self->nruns || self->ndeltas)
        return errf (err, "key '%s' missing or not a string (needed by %s)", self->key,
                     self->o.by ? "--by" : self->npersonal ? "the personal fields"
                                     : self->nruns ? "the run fields" : "the change fields");
    for (size_t i = 0; i < F; i++)
        if (self->base[i] >= 0) {
            self->src[i] = self->src[self->base[i]];
            self->y[i] = self->y[self->base[i]];
        }
    for (size_t i = 0; i < F; i++) {
        long b = self->runb[i];
        if (b < 0)
            continue;
        if (self->miss[i]) {
            double *run = &state[5 * F + i];
            *run = self->src[b] == S_OK ? 0 : *run + 1;
            self->src[i] = S_OK;
            self->y[i] = self->lg[i] ? s_signed_log1p (*run) : *run;
            continue;
        }
        self->src[i] = self->src[b];
        if (self->src[i] == S_OK) {
            double *last = &state[4 * F + i], *run = &state[5 * F + i];
            *run = self->y[b] == *last ? *run + 1 : 0;
            *last = self->y[b];
            self->y[i] = self->lg[i] ? s_signed_log1p (*run) : *run;
        }
    }
    for (size_t i = 0; i < F; i++) {
        long b = self->dbase[i];
        if (b < 0)
            continue;
        self->src[i] = self->src[b];
        if (self->src[i] == S_OK) {
            double *ring = state + 6 * F + self->doff[i];
            self->y[i] = s_delta_push (ring, ring + self->dlag[i], self->dlag[i], self->y[b],
                                       self->dfall[i]);
        }
    }
    self->cnt.keys = keytab_size (self->kt);
    self->cnt.peak_keys = keytab_peak (self->kt);

    float *x = record_x_resize (rec, F);
    rec->has |= REC_X;
    char *mask = self->mask_raw + s_array_header (self->mask_raw, F);
    bool by = self->o.by != NULL;
    for (size_t i = 0; i < F; i++) {
        double y;
        unsigned char why = self->src[i];
        if (why == S_OK) {
            y = self->y[i];
            if (state)
                state[i] = y;
        }
        else {
            self->cnt.imputed++;
            self->cnt.absent += why == S_ABSENT;
            self->cnt.nil += why == S_NIL;
            self->cnt.inf += why == S_INF;
            if (state && !isnan (state[i])) {
                y = state[i];
                self->cnt.from_last++;
            }
            else
                y = self->c[i];
        }
        mask[i] = why != S_OK;
        x[i] = s_clamp ((y - self->c[i]) / self->d[i], self->o.clamp);
        if (by || self->pers[i]) {
            double *m = &state[F + i], *var = &state[2 * F + i], *cnt = &state[3 * F + i];
            double s = sqrt (*var), lo = self->o.floor * self->d[i];
            double sd = s > lo ? s : lo, a = self->o.alpha;
            self->xp[i] = s_clamp ((y - *m) / sd, self->o.clamp);
            if (why == S_OK) {
                double n = ++*cnt, diff = y - *m, g = self->o.gate * sd;
                if (g > 0 && n > 1)
                    diff = diff > g ? g : diff < -g ? -g : diff;
                if (self->o.own_start) {
                    double am = 1 / n, av = 1 / (n + NORM_VAR_PRIOR);
                    *m += (am > a ? am : a) * diff;
                    a = av > a ? av : a;
                }
                else
                    *m += a * diff;
                *var = (1 - a) * (*var + a * diff * diff);
            }
            if (self->pers[i])
                x[i] = self->xp[i];
        }
    }
    record_extra_set (rec, "mask", self->mask_raw, (size_t) (mask + F - self->mask_raw));
    if (self->o.emit == NORM_EMIT_PERSONAL)
        memcpy (x, self->xp, F * sizeof (float));
    else if (self->o.emit == NORM_EMIT_BOTH) {
        char *p = self->xp_raw + s_array_header (self->xp_raw, F);
        for (size_t i = 0; i < F; i++, p += 5)
            s_pack_float_be (p, self->xp[i]);
        record_extra_set (rec, "xp", self->xp_raw, (size_t) (p - self->xp_raw));
    }
    self->cnt.records++;
    return 0;
}

const norm_counts_t *
norm_counts (const norm_t *self)
{
    return &self->cnt;
}

void
norm_summary (const norm_t *self, char *buf, size_t size)
{
    const norm_counts_t *k = &self->cnt;
    snprintf (buf, size, "%llu records scaled, %llu readings imputed (%llu absent, %llu nil/NaN, "
              "%llu Inf; %llu from the key's last value), %zu keys (peak %zu), %llu expired",
              (unsigned long long) k->records, (unsigned long long) k->imputed,
              (unsigned long long) k->absent, (unsigned long long) k->nil,
              (unsigned long long) k->inf, (unsigned long long) k->from_last, k->keys,
              k->peak_keys, (unsigned long long) k->expired);
}

long
norm_split (char *list, const char **out, size_t max)
{
    size_t n = 0;
    char *p = list;
    while (true) {
        char *comma = strchr (p, ',');
        if (comma)
            *comma = 0;
        size_t len = strlen (p);
        if (len == 0 || len >= STATS_NAME_MAX || n == max)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!strcmp (out[i], p))
                return -1;
        out[n++] = p;
        if (!comma)
            return (long) n;
        p = comma + 1;
    }
}

//  --- test ------------------------------------------------------------------

static void
s_rec (record_t *rec, const char *id, double t, const char *names, const double *vals)
{
    record_clear (rec);
    record_set_id (rec, id);
    rec->t = t;
    rec->has |= REC_T;
    char buf[256];
    snprintf (buf, sizeof buf, "%s", names);
    size_t i = 0;
    for (char *tok = strtok (buf, ","); tok; tok = strtok (NULL, ","))
        record_v_set (rec, tok, vals[i++]);
    rec->has |= REC_V;
}

static void
s_extra_floats (const record_t *rec, const char *key, double *out, size_t n)
{
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    assert (record_extra_unpack (rec, key, &u) == 0);
    assert (u.data.type == MSGPACK_OBJECT_ARRAY && u.data.via.array.size == n);
    for (size_t i = 0; i < n; i++)
        assert (mp_as_double (&u.data.via.array.ptr[i], &out[i]) == 0);
    msgpack_unpacked_destroy (&u);
}

void
norm_test (bool verbose)
{
    (void) verbose;
    char err[ERRLEN];
    record_t rec;
    record_init (&rec);

    //  fit: hr 60, 70, 80, 90 (mean 75, population std sqrt(125)); spo2 with
    //  one nil; bytes log1p; an auto-discovered field order
    const char *lg[] = {"bytes"};
    norm_fit_t *fit = norm_fit_new (NULL, 0, lg, 1, STATS_SCALE_STD);
    double rows[4][3] = {{60, 97, 0}, {70, NAN, 10}, {80, 99, 100}, {90, 95, 1000}};
    for (int r = 0; r < 4; r++) {
        s_rec (&rec, "p1", r, "hr,spo2,bytes", rows[r]);
        assert (norm_fit_add (fit, &rec, err) == 0);
    }
    stats_t *s = norm_fit_stats (fit, err);
    assert (s && stats_nfields (s) == 3);
    assert (!strcmp (stats_field (s, 0), "hr") && !strcmp (stats_field (s, 2), "bytes"));
    const stats_info_t *hr = stats_info (s, 0), *spo2 = stats_info (s, 1), *by = stats_info (s, 2);
    assert (fabs (hr->mean - 75) < 1e-12 && fabs (hr->std - sqrt (125)) < 1e-12);
    assert (hr->median == 75 && hr->iqr == 15 && hr->min == 60 && hr->max == 90);
    assert (spo2->count == 3 && spo2->missing == 1 && spo2->mean == 97);
    double lm = (log1p (0) + log1p (10) + log1p (100) + log1p (1000)) / 4;
    assert (by->log1p && fabs (by->mean - lm) < 1e-12);
    norm_fit_destroy (&fit);
    norm_fit_destroy (&fit);

    //  fixed fields: others are remembered as ignored; log1p must be a field
    const char *only[] = {"spo2", "hr"};
    fit = norm_fit_new (only, 2, lg, 1, STATS_SCALE_ROBUST);
    s_rec (&rec, "p1", 0, "hr,spo2,bytes", rows[0]);
    assert (norm_fit_add (fit, &rec, err) == 0);
    assert (!norm_fit_stats (fit, err) && strstr (err, "'bytes'"));
    norm_fit_destroy (&fit);
    fit = norm_fit_new (only, 2, NULL, 0, STATS_SCALE_ROBUST);
    assert (!norm_fit_stats (fit, err) && strstr (err, "no records"));
    s_rec (&rec, "p1", 0, "hr,bytes", rows[0]);
    assert (norm_fit_add (fit, &rec, err) == 0);
    assert (!norm_fit_stats (fit, err) && strstr (err, "'spo2'"));
    norm_fit_destroy (&fit);

    //  apply, population scaling, clamp 1.5
    norm_opts_t o;
    norm_opts_default (&o);
    o.clamp = 1.5;
    norm_t *n = norm_new (s, &o);
    double a[3] = {10, 85, 96};
    s_rec (&rec, "p1", 10, "bytes,hr,spo2", a);
    assert (norm_apply (n, &rec, err) == 0);
    assert (rec.nx == 3 && (rec.has & REC_X));
    assert (rec.x[0] == (float) ((85 - 75) / sqrt (125)));
    assert (rec.x[1] == (float) (-1 / spo2->std));
    assert (rec.x[2] == (float) ((log1p (10) - lm) / by->std));
    double m[3];
    s_extra_floats (&rec, "mask", m, 3);
    assert (m[0] == 0 && m[1] == 0 && m[2] == 0);
    //  missing hr, NaN spo2, Inf bytes: last values of p1 (hr 85, spo2 96, bytes 10)
    double b[2] = {NAN, INFINITY};
    s_rec (&rec, "p1", 11, "spo2,bytes", b);
    assert (norm_apply (n, &rec, err) == 0);
    assert (rec.x[0] == (float) ((85 - 75) / sqrt (125)) && rec.x[1] == (float) (-1 / spo2->std));
    s_extra_floats (&rec, "mask", m, 3);
    assert (m[0] == 1 && m[1] == 1 && m[2] == 1);
    //  a new patient: imputed with the mean; far values clamped
    double c[1] = {1000};
    s_rec (&rec, "p2", 12, "hr", c);
    assert (norm_apply (n, &rec, err) == 0);
    assert (rec.x[0] == 1.5f && rec.x[1] == 0 && rec.x[2] == 0);
    const norm_counts_t *k = norm_counts (n);
    assert (k->records == 3 && k->imputed == 5 && k->absent == 3 && k->nil == 1 && k->inf == 1);
    assert (k->from_last == 3 && k->keys == 2);
    //  unknown field
    double d[2] = {80, 1};
    s_rec (&rec, "p1", 13, "hr,pressure", d);
    assert (norm_apply (n, &rec, err) == -1 && strstr (err, "'pressure'"));
    //  idle keys expire (24 h of stream time)
    s_rec (&rec, "p3", 13 + 86400, "hr", c);
    assert (norm_apply (n, &rec, err) == 0);
    assert (norm_counts (n)->expired == 2 && norm_counts (n)->keys == 1);
    norm_destroy (&n);

    //  personal baselines, both emitted: warm start at the population, EW update
    o.clamp = 0;
    o.by = "id";
    o.emit = NORM_EMIT_BOTH;
    o.alpha = 0.5;
    n = norm_new (s, &o);
    double mu = 75, var = 125, xp[3];
    double hrs[3] = {95, 95, 55};
    for (int r = 0; r < 3; r++) {
        double v[3] = {hrs[r], 97, 10};
        s_rec (&rec, "p9", r, "hr,spo2,bytes", v);
        assert (norm_apply (n, &rec, err) == 0);
        s_extra_floats (&rec, "xp", xp, 3);
        double sd = sqrt (var) > 0.1 * sqrt (125) ? sqrt (var) : 0.1 * sqrt (125);
        assert (xp[0] == (float) ((hrs[r] - mu) / sd));
        assert (rec.x[0] == (float) ((hrs[r] - 75) / sqrt (125)));
        double diff = hrs[r] - mu;
        mu += 0.5 * diff;
        var = 0.5 * (var + diff * 0.5 * diff);
    }
    record_clear (&rec);
    assert (norm_apply (n, &rec, err) == -1 && strstr (err, "'id'"));
    norm_destroy (&n);
    norm_destroy (&n);
    stats_destroy (&s);

    norm_emit_t e;
    assert (norm_emit_parse ("personal", &e) == 0 && e == NORM_EMIT_PERSONAL);
    assert (norm_emit_parse ("all", &e) == -1);
    const char *names[3];
    char l1[] = "hr,spo2", l2[] = "hr,,x", l3[] = "a,b,c,d", l4[] = "hr,hr";
    assert (norm_split (l1, names, 3) == 2 && !strcmp (names[1], "spo2"));
    assert (norm_split (l2, names, 3) == -1 && norm_split (l3, names, 3) == -1);
    assert (norm_split (l4, names, 3) == -1);
    record_destroy (&rec);
}
