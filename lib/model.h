/*  model: the trained VAE as a self-contained file, the training loop that
    produces it (Algorithm 1 with mini-batches, a validation split and early
    stopping), and batch scoring of window records.

    File: an mpfile container, format "vigil-model", version 1.  Body map:
        fields   [str]   field order of x (the stats' order)
        nfields  uint    F
        window   uint    W; windows are W x F floats, oldest step first
        stats    map     the normalisation (stats_pack), so scores can be
                         stated in the fields' units
        arch     map     nin (= W x F), hidden [uint], latent, act (str),
                         decoder ("unit" or "gauss"; absent = unit)
        nparams  uint    floats in params
        params   bin     float32 LE, the vae.h slab layout
        train    map     beta, lr, batch, seed, epochs, best_epoch, windows,
                         val_windows, val_loss, val_p99 (99th percentile of the
                         validation scores by mu)
        resid    [float64] (optional) residual variance per field: the mean
                         of (x - x^)^2 over the steps of every training
                         window (decoding of mu), at least MODEL_RESID_FLOOR;
                         the scaled score divides each squared error by it
    The file's checksum (mpfile_checksum) is the model's identity: scorers
    write it as the extra key `model` ("%016llx").  A file that is foreign,
    truncated, corrupted (checksum), of another version, or whose parts do not
    agree (field count, window x fields = nin, parameter count, non-finite
    weights) is refused with a reason.

    Nothing here prints or exits; the training loop returns one epoch's
    figures at a time for the caller to show.  */
#ifndef VIGIL_MODEL_H
#define VIGIL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "stats.h"
#include "vae.h"

#define MODEL_FORMAT  "vigil-model"
#define MODEL_VERSION 1
#define MODEL_MAX_FIELDS 256    //  most fields with residual variances
#define MODEL_RESID_FLOOR 1e-3  //  least residual variance (scaled units)

//  What the file records about training.
typedef struct {
    double beta;                //  KL weight
    double lr;                  //  learning rate
    uint64_t batch;             //  mini-batch size
    uint64_t seed;              //  training seed
    uint64_t epochs;            //  epochs run
    uint64_t best_epoch;        //  epoch whose parameters were kept
    uint64_t windows;           //  training windows
    uint64_t val_windows;       //  validation windows
    double val_loss;            //  best validation loss
    double val_p99;             //  99th percentile of validation scores (by mu)
} model_info_t;

typedef struct _model_t model_t;

//  A model from a trained VAE, its stats and the window length; takes
//  ownership of *vae_p and *stats_p (nulled) even on failure.  NULL + err
//  when nin != window x fields.
model_t *
    model_new (vae_t **vae_p, stats_t **stats_p, size_t window, const model_info_t *info,
               char *err);
//  Load and check a model file; the VAE gets buffers for max_batch rows.
//  NULL + err (naming the file and what is wrong).  Caller owns.
model_t *
    model_load (const char *path, size_t max_batch, char *err);
//  Write the model to path (atomically).  0, or -1 + err.  Sets the hash.
int
    model_save (model_t *self, const char *path, char *err);
void
    model_destroy (model_t **self_p);

//  Borrowed views.
vae_t *
    model_vae (model_t *self);
const stats_t *
    model_stats (const model_t *self);
const model_info_t *
    model_info (const model_t *self);
size_t
    model_window (const model_t *self);
size_t
    model_nfields (const model_t *self);
//  The checksum of the saved/loaded file, and as 16 lowercase hex digits
//  (borrowed); 0 / "" before the model was saved or loaded.
//  Set the residual variance of each field (F values, each > 0 and finite;
//  copied): scores then weigh each squared error by 1 / var of its field.
//  0, or -1 + err.
int
    model_set_resid (model_t *self, const double *var, char *err);
//  The residual variances (F), or NULL when the model has none (then every
//  score is plain Eq. 5).  Borrowed.
const double *
    model_resid (const model_t *self);
uint64_t
    model_hash (const model_t *self);
const char *
    model_hash_hex (const model_t *self);

//  Make self an ensemble: other (taken over, *other_p set to NULL) scores
//  the same windows and every score (model_score, model_batch_score) is the
//  mean of the members' scores, each member with its own residual weights;
//  `top` stays the first model's.  The members must share W and the field
//  names, and a member's batch must be >= self's.  The hash (and hex)
//  becomes a mix of the members' hashes, so thresholds fitted for one
//  model are not taken for the ensemble.  0, or -1 + err (other untouched).
int
    model_join (model_t *self, model_t **other_p, char *err);
//  Models in the ensemble (1 for a plain model).
size_t
    model_members (const model_t *self);
//  Whether every member has residual variances (for --score scaled).
bool
    model_resid_all (const model_t *self);

//  Check a window record: x present, W x F finite floats, extra `w` (if
//  present) = W.  0, or -1 + err naming the key.
int
    model_check_window (const record_t *rec, size_t window, size_t nfields, char *err);

//  The window length of a record for nfields fields: its extra `w` if
//  present, else x's length / nfields.  0, or -1 + err (x missing, not a
//  multiple of nfields, or disagreeing with `w`).
int
    model_window_of (const record_t *rec, size_t nfields, size_t *window, char *err);

typedef struct {
    vae_score_t mode;           //  VAE_SCORE_MU (default), _SAMPLES, _ELBO
    size_t nsamples;            //  L for the sampling modes (>= 1)
    size_t topk;                //  entries in `top` (0..REC_TOP_MAX, at most F)
    bool scaled;                //  divide each squared error by its field's residual variance
                                //  (needs model_resid; else plain Eq. 5)
} model_score_opts_t;

//  Score n <= max_batch checked window records: sets `score` (Eq. 5, or with
//  opts->scaled and residual variances in the model each squared error
//  divided by its field's variance), `top` (the
//  topk fields by that error summed over the window, observed = newest
//  step and expected = its reconstruction, both in units) and the extra key
//  `model`.  rng is used by the sampling modes.
void
    model_score (model_t *self, record_t *recs, size_t n, const model_score_opts_t *opts,
                 rng_t *rng);

//  Raw frames in, raw frames out: the fast path of vigil-score.  A batch
//  keeps up to max_batch frames' bytes and their windows; scoring writes each
//  frame back with every key as it came (byte for byte, in order) except
//  `score`, `top` and `model`, which are appended (replacing old ones).
typedef struct _model_batch_t model_batch_t;

//  A batch for the model (borrowed; must outlive the batch).  Caller owns.
model_batch_t *
    model_batch_new (model_t *model);
void
    model_batch_destroy (model_batch_t **self_p);
//  Add a frame (obj, and its raw bytes): 0, or -1 + err naming the key when
//  it is not a window of the model's shape (then nothing is added).
int
    model_batch_add (model_batch_t *self, const msgpack_object *obj, const char *data,
                     size_t size, char *err);
size_t
    model_batch_count (const model_batch_t *self);
//  Score the frames added; afterwards model_batch_frame (i) gives frame i's
//  output bytes (borrowed until the next clear).
void
    model_batch_score (model_batch_t *self, const model_score_opts_t *opts, rng_t *rng);
const char *
    model_batch_frame (const model_batch_t *self, size_t i, size_t *size);
//  Forget the frames (buffers are kept).
void
    model_batch_clear (model_batch_t *self);

//  ---------------------------------------------------------------- training

//  Windows held in memory: (count, D) floats and a label per window (-1 =
//  none).  Grows by doubling.
typedef struct _model_data_t model_data_t;

model_data_t *
    model_data_new (size_t dim);
void
    model_data_destroy (model_data_t **self_p);
void
    model_data_add (model_data_t *self, const float *x, int label);
//  The same, in a group (e.g. a hash of the patient id; 0 = none): the
//  trainer holds out whole groups for validation (model_train_opts_t).
void
    model_data_add_group (model_data_t *self, const float *x, int label, uint64_t group);
size_t
    model_data_count (const model_data_t *self);
size_t
    model_data_dim (const model_data_t *self);
//  Read every window of a frames file (labelled windows for evaluation):
//  label 0/1 from `label`, -1 when absent.  NULL + err naming the file and
//  the frame when one is unreadable or not a window of window x nfields.
model_data_t *
    model_data_read (const char *path, size_t window, size_t nfields, char *err);

typedef struct {
    vae_arch_t arch;            //  nin is set from the data
    double beta;                //  KL weight (1)
    nn_adam_t adam;             //  learning rate, weight decay, clipping
    size_t batch;               //  mini-batch (128)
    size_t max_epochs;          //  most epochs (100)
    size_t patience;            //  epochs without improvement before stopping (10)
    double val_frac;            //  validation fraction (0.1): of the groups when every
                                //  window has one (whole patients held out), else of
                                //  the windows
    bool val_windows;           //  split by window even when windows have groups
    uint64_t seed;              //  shuffle, split, init and eps
} model_train_opts_t;

model_train_opts_t
    model_train_defaults (void);

typedef struct {
    size_t epoch;               //  1-based
    double loss, recon, kl;     //  training means over the epoch's batches
    double val_loss, val_recon, val_kl;   //  on the validation split (fixed eps)
    double seconds;             //  this epoch's wall time
    double windows_per_s;       //  training windows per second
    bool improved;              //  new best validation loss (parameters kept)
    bool has_eval;              //  eval figures below are set
    double thr;                 //  threshold: 99th percentile of validation scores
    double accuracy, precision, recall, specificity, f1, roc_auc;   //  on the eval set
} model_epoch_t;

typedef struct _model_trainer_t model_trainer_t;

//  A trainer over data (taken: *data_p nulled); eval (labelled windows, may
//  be NULL) is borrowed and must outlive the trainer.  NULL + err when there
//  are fewer than 2 windows or the architecture is invalid.
model_trainer_t *
    model_trainer_new (model_data_t **data_p, const model_data_t *eval,
                       const model_train_opts_t *opts, char *err);
//  Whether the validation windows are whole groups (patients) rather than
//  windows drawn at random.
bool
    model_trainer_val_by_group (const model_trainer_t *self);
//  Run one epoch and fill *out.  Returns 1 if training should go on, 0 when
//  it has finished (max epochs, or patience exhausted).
int
    model_trainer_epoch (model_trainer_t *self, model_epoch_t *out);
//  Total epochs training may run (for an ETA).
size_t
    model_trainer_max_epochs (const model_trainer_t *self);
//  The VAE with the best parameters (caller owns) and what to record.
vae_t *
    model_trainer_finish (model_trainer_t *self, model_info_t *info);
void
    model_trainer_destroy (model_trainer_t **self_p);
//  After finish: the mean squared error (by mu) of each of the D = W x F
//  inputs over every window, training and validation.  Borrowed.
const double *
    model_trainer_resid (const model_trainer_t *self);
//  Per-field residual variance from per-element ones: the mean over the W
//  steps, at least floor.
//  Mean squared reconstruction error (decoding of mu) of every element of the
//  windows in d, into resid (d's dim); batch at most the vae's batch size.
void
    model_residuals (vae_t *vae, const model_data_t *d, size_t batch, double *resid);
void
    model_resid_per_field (const double *elem, size_t window, size_t nfields, double floor,
                           double *var);

//  One CSV line of an epoch (with or without the eval columns), and the
//  header; written into buf (size bytes), newline included.
void
    model_epoch_csv_header (char *buf, size_t size, bool eval);
void
    model_epoch_csv (const model_epoch_t *e, char *buf, size_t size);

void
    model_test (bool verbose);

#endif
