/*  norm: learn the population statistics of the readings in one pass
    (norm_fit_*), and turn each record's readings into the dense, scaled,
    gap-free feature vector `x` the model sees (norm_*).

    Fit, per field, in constant memory: Welford's running mean and variance
    (Welford 1962; Knuth TAOCP vol. 2, 4.2.2), min/max, and a KLL sketch for
    median and IQR.  Missing readings (absent, nil, NaN, ±Inf) are counted and
    left out.

    Apply, per record, in the stats file's field order:
        y  = T(v)                           (identity or signed log1p)
        x  = clamp ((y - centre) / divisor) (population scaling, stats.h)
    and, with personal baselines (`by` set), per key k:
        xp = clamp ((y - m_k) / max (s_k, floor * divisor))
    where m_k, s_k^2 are an exponentially weighted mean and variance with
    weight alpha on the newest reading (West 1979, "Updating mean and
    variance estimates"; Finch 2009, eq. 140-143), warm-started at the
    population centre and divisor^2, and updated *after* scaling, so a
    reading is judged against the history before it.  Two options make a
    baseline robust for detection: `gate` winsorises each update at
    +-gate x the personal sd (an anomaly moves the baseline little), and
    `own_start` starts the mean from the key's own readings (weight
    max(alpha, 1/n) on the n-th) and the variance from the population's,
    worth NORM_VAR_PRIOR readings (weight max(alpha, 1/(n + prior))).
    Personal fields: a stats field named "F@key" (norm_fit_personal) is the
    reading F scaled this way, so one `x` can hold both the population and
    the personal view of a reading.  Run fields: a stats field "F:run"
    (norm_fit_runs) is log1p of how many records in a row the key's reading
    F has not changed: a frozen sensor, whose window has *less* variation
    than normal and so no larger reconstruction error, shows as a run far
    beyond any normal one.  Change fields "F:dN" (norm_fit_deltas): how far
    the key's reading moved over its last N records, beyond one unit;
    "F:fN" the same counting only falls.
    A missing reading is imputed with the last value seen for that key, else
    the population centre; it is flagged in `mask`, counted, and never
    updates a baseline.  A reading that is not a field of the stats and not
    one the fit was told to ignore is an unknown field: the record is
    refused (norm_apply returns -1 naming it).

    Per-key state lives in a keytab, dropped after `idle` seconds of stream
    time without a record of that key: memory is bounded by the active
    keys.  */
#ifndef VIGIL_NORM_H
#define VIGIL_NORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "stats.h"

#define NORM_MAX_FIELDS 256     //  most fields a fit tracks

//  --- fit -------------------------------------------------------------------

typedef struct _norm_fit_t norm_fit_t;

//  New fit.  fields/nfields choose and order the fields (NULL/0: every
//  reading seen, in first-seen order); log1p names the fields to
//  log-transform.  Names are copied.  Caller owns.
norm_fit_t *
    norm_fit_new (const char *const *fields, size_t nfields, const char *const *log1p,
                  size_t nlog1p, stats_scale_t scale);
void
    norm_fit_destroy (norm_fit_t **self_p);
//  Account one record.  0, or -1 + err (too many distinct fields).
int
    norm_fit_add (norm_fit_t *self, const record_t *rec, char *err);
//  Add personal fields: for each F of fields (which must be among the fit's
//  fields), a field named "F@key" with F's statistics, which apply scales
//  against the personal baseline of the record's key (see norm_apply).
//  Call before norm_fit_stats.  0, or -1 + err (a name with '@' or too long).
int
    norm_fit_personal (norm_fit_t *self, const char *const *fields, size_t n, const char *key,
                       char *err);
//  Add run fields: for each F of fields, a field named "F:run", the number
//  of records in a row (per key, as norm_fit_personal's, default id) whose
//  reading F equalled the one before (0 when it changed), log1p-scaled: a
//  frozen sensor shows as a run far longer than normal noise allows.
//  Call before any norm_fit_add.  0, or -1 + err.
int
    norm_fit_runs (norm_fit_t *self, const char *const *fields, size_t n, char *err);
#define NORM_RUN_SUFFIX ":run"
//  Add missing-run fields: for each F of fields, "F:miss", the number of
//  records in a row (per key) whose reading F was missing (nil, NaN, Inf or
//  absent; 0 when present), on a linear scale (so the clamp bounds it): the
//  imputation flag as an input, so a sensor or link dropout shows although
//  its readings are imputed.  (A field never missing in the fitted data has
//  std 0, so its divisor is 1 and a missing run of k records gives x = k.)
//  Never missing itself.  Call before any norm_fit_add.  0, or -1 + err.
int
    norm_fit_misses (norm_fit_t *self, const char *const *fields, size_t n, char *err);
#define NORM_MISS_SUFFIX ":miss"
//  Add change fields: for each F of fields, "F:dN" with N = NORM_DELTA_LAG:
//  how far the reading moved over the key's last N records beyond one unit,
//  sign(d) max(0, |d| - 1) for d = the reading less the one N records
//  before (in the scale F is transformed to; 0 for the key's first reading,
//  against the oldest until N are held).  A reading reported in whole units
//  (a battery in %) moves by one unit from rounding alone; a battery
//  draining in minutes moves by several.  With fall set the fields are
//  "F:fN" and count only falls, min(0, d + 1): a battery fails by falling,
//  and rises (a charger, a swap) are no fault.  Apply reads N and the kind
//  from the name.  Call before any norm_fit_add.  0, or -1 + err.
int
    norm_fit_deltas (norm_fit_t *self, const char *const *fields, size_t n, bool fall,
                     char *err);
#define NORM_DELTA_LAG 30
#define NORM_DELTA_LAG_MAX 600     //  longest N apply accepts in a stats file

//  The statistics so far; NULL + err when a field has no readings, a log1p
//  field is not among the fields, or nothing was read.  Caller owns.
stats_t *
    norm_fit_stats (norm_fit_t *self, char *err);

//  --- apply -----------------------------------------------------------------

typedef enum {
    NORM_EMIT_POPULATION,       //  x = population scaling
    NORM_EMIT_PERSONAL,         //  x = personal scaling
    NORM_EMIT_BOTH,             //  x = population, xp = personal
} norm_emit_t;

typedef struct {
    double clamp;               //  bound on |x| (0 = none)
    const char *by;             //  key of personal baselines (NULL = none)
    norm_emit_t emit;           //  what to write (personal needs `by`)
    double alpha;               //  weight of the newest reading, (0, 1]
    double floor;               //  personal divisor >= floor * population divisor
    double idle;                //  seconds of stream time before a key is dropped (0 = never)
    double gate;                //  > 0: a baseline update moves by at most gate x its sd
    bool own_start;             //  mean starts from the key's own readings (else population)
} norm_opts_t;

#define NORM_VAR_PRIOR 100      //  own start: the population variance counts as 100 readings

//  "population" / "personal" / "both" -> emit; 0 or -1.
int
    norm_emit_parse (const char *name, norm_emit_t *emit);
//  Defaults: clamp 10, no by, population, alpha 0.02, floor 0.1, idle 24h,
//  no gate, population start.
void
    norm_opts_default (norm_opts_t *opts);

typedef struct {
    uint64_t records;           //  records scaled
    uint64_t imputed;           //  readings imputed, all causes
    uint64_t absent;            //  ... because the field was not in `v`
    uint64_t nil;               //  ... because it was nil or NaN
    uint64_t inf;               //  ... because it was +-Inf
    uint64_t from_last;         //  imputed with the key's last value
    uint64_t expired;           //  keys dropped as idle
    size_t keys, peak_keys;     //  keys held now, most at once
} norm_counts_t;

typedef struct _norm_t norm_t;

//  New normaliser over stats (borrowed; must outlive it).  Caller owns.
norm_t *
    norm_new (const stats_t *stats, const norm_opts_t *opts);
void
    norm_destroy (norm_t **self_p);
//  Scale one record in place: sets `x`, extra `mask` (array of 0/1, 1 =
//  imputed) and, with NORM_EMIT_BOTH, extra `xp`.  A stats field "F@key"
//  (norm_fit_personal) is F's reading scaled against the personal baseline
//  of the record's `key` (the per-key state of --by, whose options apply),
//  whatever the emit mode; the records then need that key.  0, or -1 + err (an
//  unknown field; no `by` key on a record when personal baselines are on).
int
    norm_apply (norm_t *self, record_t *rec, char *err);
const norm_counts_t *
    norm_counts (const norm_t *self);
//  The counts as one line of text (for -v), into buf.
void
    norm_summary (const norm_t *self, char *buf, size_t size);

//  Split a comma-separated list in place into out (at most max names).
//  Returns the count, or -1 for an empty name, a name of STATS_NAME_MAX
//  bytes or more, a repeated name, or more than max.
long
    norm_split (char *list, const char **out, size_t max);

void
    norm_test (bool verbose);

#endif
