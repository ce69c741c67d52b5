/*  wset: the windows a baseline program (vigil-rf, vigil-hmm, vigil-iforest)
    trains on or scores, and the train/score command line they share.

    A window is a record with x (W*F floats, oldest step first) and the extra
    key w = W (absent: 1), as vigil-window writes it.  `train` collects every
    good window into one growing (n, W*F) float matrix, with 0/1 labels when
    the model learns from them; `score` checks each window against the
    model's shape and writes it on with score and model (the model file's
    checksum, 16 hex digits).  The messages for bad windows are written here
    once, so the three programs report them alike.

    Invariants: every window in a set has the shape of the first (w steps of
    f features) and only finite values; labels, when kept, are 0 or 1 and
    there is one per window.  The check and collect functions never print;
    wset_read and wset_score report bad records through the stage, and
    wset_cli_parse exits on a usage error, as cli_parse does.  */
#ifndef VIGIL_WSET_H
#define VIGIL_WSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "record.h"
#include "stage.h"
#include "util.h"

typedef struct _wset_t wset_t;

//  Score of one window of w*f floats under a model (the program's model_t).
typedef double (wset_score_fn) (void *model, const float *x);

//  The window's steps (key w, default 1) into *w after checking x against
//  it: present and non-empty, w a whole step count that divides x, every
//  value finite.  0, or -1 + err ("key 'x': ..." or "key 'w': ...").
int
    wset_shape (const record_t *rec, size_t *w, char *err);

//  wset_shape, then that the window is w steps x f features (a model's
//  shape).  0, or -1 + err.
int
    wset_expect (const record_t *rec, size_t w, size_t f, char *err);

//  Set rec's score and its extra key model = hash as 16 hex digits.
void
    wset_set_score (record_t *rec, double score, uint64_t hash);

//  A new, empty set.  label_why NULL: labels are neither needed nor kept;
//  else every window needs a label, and one without is refused with
//  "key 'label': missing (<label_why>)".  Caller owns.
wset_t *
    wset_new (const char *label_why);

//  Add a copy of rec's window (and label).  0, or -1 + err if the window is
//  malformed (wset_shape), has no label when one is needed, or has another
//  shape than the first.
int
    wset_add (wset_t *self, const record_t *rec, char *err);

//  Windows held, and their shape (both 0 while the set is empty).
size_t
    wset_size (const wset_t *self);
size_t
    wset_window (const wset_t *self);
size_t
    wset_nfeat (const wset_t *self);
//  The windows, (size, window*nfeat) row-major; borrowed until the next add.
const float *
    wset_x (const wset_t *self);
//  The labels (0/1, one per window), or NULL when not kept; borrowed.
const uint8_t *
    wset_y (const wset_t *self);
//  How many labels are 1.
size_t
    wset_npos (const wset_t *self);

void
    wset_destroy (wset_t **self_p);

//  Read every record of st into a new set (wset_new (label_why)); each bad
//  one is reported with stage_reject and skipped.  Caller owns.
wset_t *
    wset_read (stage_t *st, const char *label_why);

//  Read every record of st; one that is not a window of w steps x f
//  features is reported and skipped, the others get score = fn (model, x)
//  and model = hash and are written on.
void
    wset_score (stage_t *st, size_t w, size_t f, uint64_t hash, wset_score_fn *fn,
                void *model);

//  Parse "prog train|score --model FILE [options]".  longopts[0] must be
//  "model"; the other options, passed to fn (with ud) as by cli_parse, are
//  options of train, and given to score they are a usage error.  Sets
//  *model and returns true for train.  Exits as cli_parse does (0 after
//  --help/--version, 2 on a usage error).
bool
    wset_cli_parse (cli_t *cli, int argc, char **argv, const struct option *longopts,
                    cli_opt_fn *fn, void *ud, const char **model);

void
    wset_test (bool verbose);

#endif
