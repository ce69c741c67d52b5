/*  stats: the population statistics of the readings, per field, and the
    scaling they define — the content of a "vigil-stats" file, and the copy
    a model file embeds so later stages can turn scaled values back into
    units.

    Per field the file holds the number of readings, mean and standard
    deviation (population, ddof 0), median and inter-quartile range, min and
    max, and whether the field is log-transformed.  All of them are of the
    transformed value y = T(v), where T is the identity or, for a field marked
    log1p, the signed log: T(v) = sign(v) * log1p(|v|) (invertible, defined
    for every real v, equal to log1p for v >= 0).

    Scaling (the file's `scale`):
        std      x = (y - mean) / std
        robust   x = (y - median) / (iqr / 1.349)   (1.349 makes the divisor
                 equal to the std for normal data)
    A divisor that is zero or not finite (a constant field) is replaced by 1,
    so scaling never produces Inf or NaN from a finite reading.

    Invariants: fields are unique, at least one, names shorter than
    STATS_NAME_MAX; every statistic is finite; count >= 1.  stats_from_obj
    refuses anything else with a reason, so a loaded stats_t is always usable.  */
#ifndef VIGIL_STATS_H
#define VIGIL_STATS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define STATS_FORMAT   "vigil-stats"
#define STATS_VERSION  1
#define STATS_NAME_MAX 48       //  longest field name + 1 (as REC_NAME_MAX)

typedef enum {
    STATS_SCALE_STD = 0,
    STATS_SCALE_ROBUST = 1,
} stats_scale_t;

//  One field's statistics, all of the transformed value y = T(v).
typedef struct {
    char name[STATS_NAME_MAX];  //  reading name in `v`
    uint64_t count;             //  readings that went into the statistics
    uint64_t missing;           //  records where the reading was missing/NaN/Inf
    double mean;                //  mean of y
    double std;                 //  population standard deviation of y
    double median;              //  median of y (streaming sketch estimate)
    double iqr;                 //  q75 - q25 of y (streaming sketch estimate)
    double min, max;            //  extremes of y
    bool log1p;                 //  y = sign(v) log1p(|v|) instead of y = v
} stats_info_t;

typedef struct _stats_t stats_t;

//  Build from n field records (copied).  NULL + err if the invariants above
//  do not hold.  Caller owns.
stats_t *
    stats_new (const stats_info_t *info, size_t n, stats_scale_t scale,
               uint64_t records, char *err);
//  Load a "vigil-stats" file.  NULL + err (naming the file and what is
//  wrong) on a missing, foreign, truncated or corrupted file.  Caller owns.
stats_t *
    stats_load (const char *path, char *err);
//  Write the stats to path as a "vigil-stats" file.  0, or -1 + err.
int
    stats_save (const stats_t *s, const char *path, char *err);
//  From the body map (as packed by stats_pack, e.g. embedded in a model).
//  NULL + err.  Caller owns.
stats_t *
    stats_from_obj (const msgpack_object *map, char *err);
//  Pack the body map (one msgpack map) onto pk.
void
    stats_pack (const stats_t *s, msgpack_packer *pk);

size_t
    stats_nfields (const stats_t *s);
//  Name of field i (borrowed, lives as long as s).
const char *
    stats_field (const stats_t *s, size_t i);
//  Index of a field by name, or -1.
long
    stats_find (const stats_t *s, const char *name);
//  Field i's statistics (borrowed).
const stats_info_t *
    stats_info (const stats_t *s, size_t i);
stats_scale_t
    stats_scale (const stats_t *s);
//  Readings the fit saw but was told to leave out (--fields): apply passes
//  them through; a reading neither scaled nor ignored is an unknown field.
//  set copies the names (each shorter than STATS_NAME_MAX; longer are cut).
void
    stats_set_ignored (stats_t *s, const char *const *names, size_t n);
size_t
    stats_nignored (const stats_t *s);
bool
    stats_is_ignored (const stats_t *s, const char *name);
//  Records the statistics were fitted on.
uint64_t
    stats_records (const stats_t *s);
//  The centre and divisor of field i's scaling, in transformed space.
double
    stats_center (const stats_t *s, size_t i);
double
    stats_divisor (const stats_t *s, size_t i);

//  The transform T of field i and its inverse (identity unless log1p).
double
    stats_transform (const stats_t *s, size_t i, double v);
double
    stats_untransform (const stats_t *s, size_t i, double y);
//  Scaled value -> units, and units -> scaled (not clamped).
double
    stats_to_units (const stats_t *s, size_t i, double x);
double
    stats_from_units (const stats_t *s, size_t i, double v);

//  One line describing field i (for -v), into buf.
void
    stats_describe (const stats_t *s, size_t i, char *buf, size_t size);
//  "std" / "robust"; parse returns 0 or -1.
const char *
    stats_scale_name (stats_scale_t scale);
int
    stats_scale_parse (const char *name, stats_scale_t *scale);

void
    stats_destroy (stats_t **s_p);

void
    stats_test (bool verbose);

#endif
