/*  model: see model.h.  */
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "metrics.h"
#include "mp.h"

struct _model_t {
    vae_t *vae;                 //  owned
    stats_t *stats;             //  owned
    size_t window;              //  W
    size_t nfields;             //  F
    model_info_t info;
    uint64_t hash;              //  file checksum (0 until saved/loaded)
    char hex[17];               //  hash as "%016llx" ("" until saved/loaded)
    float *xb;                  //  (max_batch, W F) staging for scoring
    double *score;              //  (max_batch)
    double *resid;              //  (F) residual variance per field, or NULL
    float *wt;                  //  (W F) 1 / resid of each element's field, or NULL
    model_t **member;           //  owned: other models whose scores are averaged in
    size_t nmember;
    double *mscore;             //  (max_batch) a member's scores
};

static model_t *
s_model_wrap (vae_t *vae, stats_t *stats, size_t window, char *err)
{
    size_t F = stats_nfields (stats);
    size_t D = vae_arch (vae)->nin;
    if (window < 1 || D != window * F) {
        errf (err, "model input width %zu is not window %zu x %zu fields", D, window, F);
        return NULL;
    }
    model_t *self = xcalloc (1, sizeof *self);
    self->vae = vae;
    self->stats = stats;
    self->window = window;
    self->nfields = F;
    size_t B = vae_max_batch (vae);
    self->xb = xmalloc (B * D * sizeof (float));
    self->score = xmalloc (B * sizeof (double));
    return self;
}

model_t *
model_new (vae_t **vae_p, stats_t **stats_p, size_t window, const model_info_t *info,
           char *err)
{
    vae_t *vae = *vae_p;
    stats_t *stats = *stats_p;
    *vae_p = NULL;
    *stats_p = NULL;
    model_t *self = s_model_wrap (vae, stats, window, err);
    if (!self) {
        vae_destroy (&vae);
        stats_destroy (&stats);
        return NULL;
    }
    if (info)
        self->info = *info;
    return self;
}

void
model_destroy (model_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    model_t *self = *self_p;
    for (size_t i = 0; i < self->nmember; i++)
        model_destroy (&self->member[i]);
    free (self->member);
    free (self->mscore);
    vae_destroy (&self->vae);
    stats_destroy (&self->stats);
    free (self->xb);
    free (self->score);
    free (self->resid);
    free (self->wt);
    free (self);
    *self_p = NULL;
}

static void
s_set_hash (model_t *self, uint64_t h)
{
    self->hash = h;
    snprintf (self->hex, sizeof self->hex, "%016llx", (unsigned long long) h);
}

int
model_save (model_t *self, const char *path, char *err)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    const vae_arch_t *a = vae_arch (self->vae);
    nn_params_t *P = vae_params (self->vae);
    const model_info_t *in = &self->info;

    msgpack_pack_map (&pk, 8 + (self->resid != NULL));
    mp_pack_str (&pk, "fields");
    msgpack_pack_array (&pk, self->nfields);
    for (size_t i = 0; i < self->nfields; i++)
        mp_pack_str (&pk, stats_field (self->stats, i));
    mp_pack_kv_u64 (&pk, "nfields", self->nfields);
    mp_pack_kv_u64 (&pk, "window", self->window);
    mp_pack_str (&pk, "stats");
    stats_pack (self->stats, &pk);
    mp_pack_str (&pk, "arch");
    msgpack_pack_map (&pk, 5);
    mp_pack_kv_u64 (&pk, "nin", a->nin);
    mp_pack_str (&pk, "hidden");
    msgpack_pack_array (&pk, a->nhidden);
    for (size_t i = 0; i < a->nhidden; i++)
        msgpack_pack_uint64 (&pk, a->hidden[i]);
    mp_pack_kv_u64 (&pk, "latent", a->nlatent);
    mp_pack_kv_str (&pk, "act", nn_act_name (a->act));
    mp_pack_kv_str (&pk, "decoder", a->gauss ? "gauss" : "unit");
    mp_pack_kv_u64 (&pk, "nparams", P->n);
    mp_pack_kv_floats (&pk, "params", P->p, P->n);
    mp_pack_str (&pk, "train");
    msgpack_pack_map (&pk, 10);
    mp_pack_kv_double (&pk, "beta", in->beta);
    mp_pack_kv_double (&pk, "lr", in->lr);
    mp_pack_kv_u64 (&pk, "batch", in->batch);
    mp_pack_kv_u64 (&pk, "seed", in->seed);
    mp_pack_kv_u64 (&pk, "epochs", in->epochs);
    mp_pack_kv_u64 (&pk, "best_epoch", in->best_epoch);
    mp_pack_kv_u64 (&pk, "windows", in->windows);
    mp_pack_kv_u64 (&pk, "val_windows", in->val_windows);
    mp_pack_kv_double (&pk, "val_loss", in->val_loss);
    mp_pack_kv_double (&pk, "val_p99", in->val_p99);
    if (self->resid) {
        mp_pack_str (&pk, "resid");
        msgpack_pack_array (&pk, self->nfields);
        for (size_t i = 0; i < self->nfields; i++)
            msgpack_pack_double (&pk, self->resid[i]);
    }

    int rc = mpfile_write (path, MODEL_FORMAT, MODEL_VERSION, sb.data, sb.size, err);
    if (rc == 0)
        s_set_hash (self, hash64 (sb.data, sb.size));
    msgpack_sbuffer_destroy (&sb);
    return rc;
}

//  Optional number in the train map (absent -> 0).
static double
s_opt_double (const msgpack_object *map, const char *key)
{
    double v = 0;
    if (map)
        mp_get_double (map, key, &v);
    return v;
}

static uint64_t
s_opt_u64 (const msgpack_object *map, const char *key)
{
    uint64_t v = 0;
    if (map)
        mp_get_u64 (map, key, &v);
    return v;
}

model_t *
model_load (const char *path, size_t max_batch, char *err)
{
    char why[ERRLEN] = "";
    mpfile_t *f = mpfile_read (path, MODEL_FORMAT, MODEL_VERSION, err);
    if (!f)
        return NULL;
    const msgpack_object *body = mpfile_body (f);
    stats_t *stats = NULL;
    vae_t *vae = NULL;
    model_t *self = NULL;
    uint64_t window, nfields, nparams, u;
    vae_arch_t a = {0};

    stats = stats_from_obj (mp_get (body, "stats"), why);
    if (!stats)
        goto fail;
    const msgpack_object *fields = mp_get (body, "fields");
    if (mp_get_u64 (body, "window", &window) || mp_get_u64 (body, "nfields", &nfields)
        || !fields || fields->type != MSGPACK_OBJECT_ARRAY || window < 1) {
        errf (why, "missing window, nfields or fields");
        goto fail;
    }
    if (nfields != stats_nfields (stats) || fields->via.array.size != nfields) {
        errf (why, "%llu fields but the embedded stats have %zu",
              (unsigned long long) nfields, stats_nfields (stats));
        goto fail;
    }
    for (size_t i = 0; i < nfields; i++)
        if (!mp_str_eq (&fields->via.array.ptr[i], stats_field (stats, i))) {
            errf (why, "field %zu does not match the embedded stats ('%s')", i + 1,
                  stats_field (stats, i));
            goto fail;
        }
    const msgpack_object *arch = mp_get (body, "arch");
    const msgpack_object *hidden = arch ? mp_get (arch, "hidden") : NULL;
    char act[16];
    const msgpack_object *acto = arch ? mp_get (arch, "act") : NULL;
    if (!arch || !hidden || hidden->type != MSGPACK_OBJECT_ARRAY
        || hidden->via.array.size < 1 || hidden->via.array.size > VAE_MAX_HIDDEN
        || mp_get_u64 (arch, "nin", &u) || !acto || mp_strcpy (acto, act, sizeof act)
        || nn_act_parse (act, &a.act)) {
        errf (why, "bad or missing architecture");
        goto fail;
    }
    a.nin = u;
    a.nhidden = hidden->via.array.size;
    for (size_t i = 0; i < a.nhidden; i++) {
        if (mp_as_u64 (&hidden->via.array.ptr[i], &u)) {
            errf (why, "bad hidden width");
            goto fail;
        }
        a.hidden[i] = u;
    }
    if (mp_get_u64 (arch, "latent", &u)) {
        errf (why, "missing latent width");
        goto fail;
    }
    a.nlatent = u;
    const msgpack_object *deco = mp_get (arch, "decoder");
    if (deco) {
        char dec[16];
        if (mp_strcpy (deco, dec, sizeof dec) || (strcmp (dec, "unit") && strcmp (dec, "gauss"))) {
            errf (why, "unknown decoder (expected unit or gauss)");
            goto fail;
        }
        a.gauss = !strcmp (dec, "gauss");
    }
    if (vae_arch_check (&a, why))
        goto fail;
    if (a.nin != window * nfields) {
        errf (why, "input width %zu is not window %llu x %llu fields", a.nin,
              (unsigned long long) window, (unsigned long long) nfields);
        goto fail;
    }
    if (mp_get_u64 (body, "nparams", &nparams) || nparams != vae_nparams (&a)
        || mp_count_floats (body, "params") != (long) nparams) {
        errf (why, "parameter count does not match the architecture (%zu)",
              vae_nparams (&a));
        goto fail;
    }
    vae = vae_new (&a, max_batch, why);
    if (!vae)
        goto fail;
    nn_params_t *P = vae_params (vae);
    if (mp_get_floats (body, "params", P->p, P->n)) {
        errf (why, "unreadable parameters");
        goto fail;
    }
    for (size_t i = 0; i < P->n; i++)
        if (!isfinite (P->p[i])) {
            errf (why, "parameter %zu is not finite", i);
            goto fail;
        }
    self = s_model_wrap (vae, stats, window, why);
    if (!self)
        goto fail;
    const msgpack_object *tr = mp_get (body, "train");
    if (tr && tr->type != MSGPACK_OBJECT_MAP)
        tr = NULL;
    self->info = (model_info_t) {
        .beta = s_opt_double (tr, "beta"), .lr = s_opt_double (tr, "lr"),
        .batch = s_opt_u64 (tr, "batch"), .seed = s_opt_u64 (tr, "seed"),
        .epochs = s_opt_u64 (tr, "epochs"), .best_epoch = s_opt_u64 (tr, "best_epoch"),
        .windows = s_opt_u64 (tr, "windows"), .val_windows = s_opt_u64 (tr, "val_windows"),
        .val_loss = s_opt_double (tr, "val_loss"), .val_p99 = s_opt_double (tr, "val_p99")};
    const msgpack_object *ro = mp_get (body, "resid");
    if (ro) {
        double var[MODEL_MAX_FIELDS];
        bool ok = ro->type == MSGPACK_OBJECT_ARRAY && ro->via.array.size == nfields
               && nfields <= MODEL_MAX_FIELDS;
        for (size_t i = 0; ok && i < nfields; i++)
            ok = mp_as_double (&ro->via.array.ptr[i], &var[i]) == 0 && var[i] > 0
              && isfinite (var[i]);
        if (!ok || model_set_resid (self, var, why)) {
            errf (why, "bad residual variances (resid)");
            model_destroy (&self);
            stats = NULL, vae = NULL;
            goto fail;
        }
    }
    s_set_hash (self, mpfile_checksum (f));
    mpfile_destroy (&f);
    return self;
fail:
    errf (err, "'%s': %s", path, why);
    vae_destroy (&vae);
    stats_destroy (&stats);
    mpfile_destroy (&f);
    return NULL;
}

vae_t *
model_vae (model_t *self)
{
    return self->vae;
}

const stats_t *
model_stats (const model_t *self)
{
    return self->stats;
}

const model_info_t *
model_info (const model_t *self)
{
    return &self->info;
}

size_t
model_window (const model_t *self)
{
    return self->window;
}

size_t
model_nfields (const model_t *self)
{
    return self->nfields;
}

int
model_set_resid (model_t *self, const double *var, char *err)
{
    size_t W = self->window, F = self->nfields;
    if (F > MODEL_MAX_FIELDS)
        return errf (err, "more than %d fields", MODEL_MAX_FIELDS);
    for (size_t f = 0; f < F; f++)
        if (!(var[f] > 0) || !isfinite (var[f]))
            return errf (err, "residual variance of field %zu is not positive", f + 1);
    if (!self->resid) {
        self->resid = xmalloc (F * sizeof (double));
        self->wt = xmalloc (W * F * sizeof (float));
    }
    for (size_t f = 0; f < F; f++) {
        self->resid[f] = var[f];
        for (size_t w = 0; w < W; w++)
            self->wt[w * F + f] = (float) (1 / var[f]);
    }
    return 0;
}

const double *
model_resid (const model_t *self)
{
    return self->resid;
}

uint64_t
model_hash (const model_t *self)
{
    return self->hash;
}

const char *
model_hash_hex (const model_t *self)
{
    return self->hex;
}

//  Largest |x| scored: a normalised reading beyond a million standard
//  deviations is not a reading, and float32 arithmetic on it can overflow
//  to an infinite or NaN score (found by fuzzing: x = 1.5e27).
#define X_MAX 1e6

int
model_check_window (const record_t *rec, size_t window, size_t nfields, char *err)
{
    if (!(rec->has & REC_X))
        return errf (err, "key 'x': missing (expected a window of %zu x %zu floats)",
                     window, nfields);
    double w;
    if (record_extra_double (rec, "w", &w) == 0 && w != (double) window)
        return errf (err, "key 'w': window of %g steps, the model expects %zu", w, window);
    if (rec->nx != window * nfields)
        return errf (err, "key 'x': %zu values, expected %zu (window %zu x %zu fields)",
                     rec->nx, window * nfields, window, nfields);
    for (size_t i = 0; i < rec->nx; i++)
        if (!isfinite (rec->x[i]))
            return errf (err, "key 'x': value %zu is not finite", i + 1);
        else if (fabsf (rec->x[i]) > X_MAX)
            return errf (err, "key 'x': value %zu (%g) is beyond +-%g", i + 1, rec->x[i], X_MAX);
    return 0;
}

int
model_window_of (const record_t *rec, size_t nfields, size_t *window, char *err)
{
    if (!(rec->has & REC_X) || rec->nx == 0)
        return errf (err, "key 'x': missing (expected a window of floats)");
    double w;
    if (record_extra_double (rec, "w", &w) == 0) {
        if (!(w >= 1 && w == floor (w) && w * nfields == (double) rec->nx))
            return errf (err, "key 'w': window of %g steps does not match %zu values of "
                         "x for %zu fields", w, rec->nx, nfields);
        *window = (size_t) w;
        return 0;
    }
    if (rec->nx % nfields)
        return errf (err, "key 'x': %zu values is not a whole number of steps of %zu fields",
                     rec->nx, nfields);
    *window = rec->nx / nfields;
    return 0;
}

//  The top k fields of scored row i (after vae_score): by squared error
//  summed over the window, observed/expected of the newest step in units.
static size_t
s_top (model_t *self, size_t i, size_t k, record_top_t *out)
{
    size_t W = self->window, F = self->nfields, D = W * F;
    const float *err = vae_err (self->vae), *rec = vae_recon (self->vae);
    if (k > F)
        k = F;
    if (k > REC_TOP_MAX)
        k = REC_TOP_MAX;
    double contrib[REC_TOP_MAX];
    size_t which[REC_TOP_MAX];
    size_t have = 0;
    //  Keep the k largest per-field sums by insertion (k is small).
    for (size_t f = 0; f < F && k > 0; f++) {
        double c = 0;
        for (size_t w = 0; w < W; w++)
            c += err[i * D + w * F + f];
        size_t j = have < k ? have++ : k;
        if (j == k && !(c > contrib[k - 1]))
            continue;
        while (j > 0 && c > contrib[j - 1]) {
            if (j < k)
                contrib[j] = contrib[j - 1], which[j] = which[j - 1];
            j--;
        }
        contrib[j] = c, which[j] = f;
    }
    size_t last = i * D + (W - 1) * F;
    for (size_t j = 0; j < have; j++) {
        size_t f = which[j];
        record_top_t *t = &out[j];
        snprintf (t->field, sizeof t->field, "%s", stats_field (self->stats, f));
        t->contrib = contrib[j];
        t->observed = stats_to_units (self->stats, f, self->xb[last + f]);
        t->expected = stats_to_units (self->stats, f, rec[last + f]);
    }
    return have;
}

//  Scores of the n staged windows into self->score: this model's, averaged
//  with each member's on the same windows (each with its own weights).
static void
s_vae_scores (model_t *self, size_t n, const model_score_opts_t *opts, rng_t *rng)
{
    size_t L = opts->nsamples ? opts->nsamples : 1;
    vae_set_weights (self->vae, opts->scaled ? self->wt : NULL);
    vae_score (self->vae, self->xb, n, opts->mode, L, rng, self->score);
    for (size_t k = 0; k < self->nmember; k++) {
        model_t *o = self->member[k];
        vae_set_weights (o->vae, opts->scaled ? o->wt : NULL);
        vae_score (o->vae, self->xb, n, opts->mode, L, rng, self->mscore);
        for (size_t i = 0; i < n; i++)
            self->score[i] += self->mscore[i];
    }
    for (size_t i = 0; self->nmember && i < n; i++)
        self->score[i] /= (double) (self->nmember + 1);
}

int
model_join (model_t *self, model_t **other_p, char *err)
{
    model_t *o = *other_p;
    if (o->window != self->window || o->nfields != self->nfields) {
        errf (err, "ensemble: windows of %zu x %zu fields, not %zu x %zu",
              o->window, o->nfields, self->window, self->nfields);
        return -1;
    }
    if (vae_arch (o->vae)->gauss != vae_arch (self->vae)->gauss) {
        errf (err, "ensemble: a %s decoder with a %s one (their scores do not mix)",
              vae_arch (o->vae)->gauss ? "Gaussian" : "unit-variance",
              vae_arch (self->vae)->gauss ? "Gaussian" : "unit-variance");
        return -1;
    }
    for (size_t f = 0; f < self->nfields; f++)
        if (strcmp (stats_field (o->stats, f), stats_field (self->stats, f))) {
            errf (err, "ensemble: field %zu is '%s', not '%s'", f + 1,
                  stats_field (o->stats, f), stats_field (self->stats, f));
            return -1;
        }
    if (vae_max_batch (o->vae) < vae_max_batch (self->vae)) {
        errf (err, "ensemble: member batch %zu < %zu", vae_max_batch (o->vae),
              vae_max_batch (self->vae));
        return -1;
    }
    self->member = xrealloc (self->member, (self->nmember + 1) * sizeof (model_t *));
    self->member[self->nmember++] = o;
    *other_p = NULL;
    if (!self->mscore)
        self->mscore = xmalloc (vae_max_batch (self->vae) * sizeof (double));
    //  The ensemble's hash: a mix of the members' (order matters).
    s_set_hash (self, (self->hash ^ (o->hash + 0x9e3779b97f4a7c15ULL + (self->hash << 6)
                                     + (self->hash >> 2))) * 0xff51afd7ed558ccdULL);
    return 0;
}

size_t
model_members (const model_t *self)
{
    return self->nmember + 1;
}

bool
model_resid_all (const model_t *self)
{
    if (!self->resid)
        return false;
    for (size_t k = 0; k < self->nmember; k++)
        if (!self->member[k]->resid)
            return false;
    return true;
}

void
model_score (model_t *self, record_t *recs, size_t n, const model_score_opts_t *opts,
             rng_t *rng)
{
    size_t W = self->window, F = self->nfields, D = W * F;
    assert (n <= vae_max_batch (self->vae));
    for (size_t i = 0; i < n; i++) {
        assert (recs[i].nx == D);
        memcpy (self->xb + i * D, recs[i].x, D * sizeof (float));
    }
    s_vae_scores (self, n, opts, rng);
    vae_set_weights (self->vae, opts->scaled ? self->wt : NULL);
    for (size_t i = 0; i < n; i++) {
        record_t *r = &recs[i];
        r->score = self->score[i];
        r->has |= REC_SCORE;
        r->ntop = s_top (self, i, opts->topk, r->top);
        if (opts->topk > 0)
            r->has |= REC_TOP;
        record_extra_set_str (r, "model", self->hex);
    }
}

struct _model_batch_t {
    model_t *m;                 //  borrowed
    size_t n;                   //  frames held
    char *raw;                  //  input frames, concatenated
    size_t raw_len, raw_cap;
    size_t *off, *len;          //  (max_batch) spans of the input frames
    bool *scored;               //  (max_batch) frame has score/top/model already
    msgpack_sbuffer out;        //  output frames, concatenated
    size_t *ooff, *olen;        //  (max_batch) spans of the output frames
    size_t *kv;                 //  (kv_cap x 2) key offset, pair length
    size_t kv_cap;
};

model_batch_t *
model_batch_new (model_t *model)
{
    model_batch_t *self = xcalloc (1, sizeof *self);
    size_t B = vae_max_batch (model->vae);
    self->m = model;
    self->off = xmalloc (B * sizeof (size_t));
    self->len = xmalloc (B * sizeof (size_t));
    self->scored = xmalloc (B * sizeof (bool));
    self->ooff = xmalloc (B * sizeof (size_t));
    self->olen = xmalloc (B * sizeof (size_t));
    msgpack_sbuffer_init (&self->out);
    return self;
}

void
model_batch_destroy (model_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    model_batch_t *self = *self_p;
    free (self->raw);
    free (self->off);
    free (self->len);
    free (self->scored);
    free (self->ooff);
    free (self->olen);
    free (self->kv);
    msgpack_sbuffer_destroy (&self->out);
    free (self);
    *self_p = NULL;
}

int
model_batch_add (model_batch_t *self, const msgpack_object *obj, const char *data,
                 size_t size, char *err)
{
    model_t *m = self->m;
    size_t W = m->window, F = m->nfields, D = W * F;
    assert (self->n < vae_max_batch (m->vae));
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return errf (err, "not a map");
    long nx = mp_count_floats (obj, "x");
    if (nx < 0)
        return errf (err, "key 'x': missing (expected a window of %zu x %zu floats)", W, F);
    double w;
    if (mp_get_double (obj, "w", &w) == 0 && w != (double) W)
        return errf (err, "key 'w': window of %g steps, the model expects %zu", w, W);
    if ((size_t) nx != D)
        return errf (err, "key 'x': %ld values, expected %zu (window %zu x %zu fields)", nx, D,
                     W, F);
    float *x = m->xb + self->n * D;
    if (mp_get_floats (obj, "x", x, D))
        return errf (err, "key 'x': not an array of numbers");
    for (size_t i = 0; i < D; i++)
        if (!isfinite (x[i]))
            return errf (err, "key 'x': value %zu is not finite", i + 1);
        else if (fabsf (x[i]) > X_MAX)
            return errf (err, "key 'x': value %zu (%g) is beyond +-%g", i + 1, x[i], X_MAX);
    xgrow ((void **) &self->raw, &self->raw_cap, self->raw_len + size, 1);
    memcpy (self->raw + self->raw_len, data, size);
    self->scored[self->n] = mp_get (obj, "score") || mp_get (obj, "top") || mp_get (obj, "model");
    self->off[self->n] = self->raw_len;
    self->len[self->n] = size;
    self->raw_len += size;
    self->n++;
    return 0;
}

size_t
model_batch_count (const model_batch_t *self)
{
    return self->n;
}

//  True if the packed key at p (klen bytes) is the str name.
static bool
s_key_is (const char *p, size_t klen, const char *name)
{
    size_t n = strlen (name);
    unsigned char c = (unsigned char) p[0];
    if ((c & 0xe0) == 0xa0 && (c & 0x1f) == n && klen == n + 1)
        return !memcmp (p + 1, name, n);
    if (c == 0xd9 && klen == n + 2 && (unsigned char) p[1] == n)
        return !memcmp (p + 2, name, n);
    return false;
}

//  Append frame i with its score, top and model to the output.
static void
s_batch_emit (model_batch_t *self, size_t i, const record_top_t *top, size_t ntop, bool has_top)
{
    const char *p = self->raw + self->off[i], *end = p + self->len[i];
    unsigned char c = (unsigned char) p[0];
    size_t npairs, hdr;
    if ((c & 0xf0) == 0x80)
        npairs = c & 0x0f, hdr = 1;
    else if (c == 0xde)
        npairs = ((size_t) (unsigned char) p[1] << 8) | (unsigned char) p[2], hdr = 3;
    else {
        assert (c == 0xdf);
        npairs = ((size_t) (unsigned char) p[1] << 24) | ((size_t) (unsigned char) p[2] << 16)
               | ((size_t) (unsigned char) p[3] << 8) | (unsigned char) p[4];
        hdr = 5;
    }
    xgrow ((void **) &self->kv, &self->kv_cap, 2 * npairs + 2, sizeof (size_t));
    size_t kept = 0;
    const char *q = p + hdr;
    if (!self->scored[i]) {
        //  Nothing to replace: every pair is kept, as one span.
        self->kv[0] = hdr;
        self->kv[1] = self->len[i] - hdr;
        kept = npairs;
        npairs = 0;
    }
    for (size_t j = 0; j < npairs; j++) {
        long klen = frame_scan (q, (size_t) (end - q));
        long vlen = klen > 0 ? frame_scan (q + klen, (size_t) (end - q - klen)) : -1;
        assert (klen > 0 && vlen > 0);      //  the frame was unpacked already
        if (!s_key_is (q, (size_t) klen, "score") && !s_key_is (q, (size_t) klen, "top")
            && !s_key_is (q, (size_t) klen, "model")) {
            self->kv[2 * kept] = (size_t) (q - p);
            self->kv[2 * kept + 1] = (size_t) (klen + vlen);
            kept++;
        }
        q += klen + vlen;
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, &self->out, msgpack_sbuffer_write);
    self->ooff[i] = self->out.size;
    msgpack_pack_map (&pk, kept + 2 + has_top);
    for (size_t j = 0; j < (self->scored[i] ? kept : 1); j++)
        msgpack_sbuffer_write (&self->out, p + self->kv[2 * j], self->kv[2 * j + 1]);
    mp_pack_kv_double (&pk, "score", self->m->score[i]);
    if (has_top) {
        mp_pack_str (&pk, "top");
        msgpack_pack_array (&pk, ntop);
        for (size_t j = 0; j < ntop; j++) {
            msgpack_pack_array (&pk, 4);
            mp_pack_str (&pk, top[j].field);
            msgpack_pack_double (&pk, top[j].contrib);
            msgpack_pack_double (&pk, top[j].observed);
            msgpack_pack_double (&pk, top[j].expected);
        }
    }
    mp_pack_kv_str (&pk, "model", self->m->hex);
    self->olen[i] = self->out.size - self->ooff[i];
}

void
model_batch_score (model_batch_t *self, const model_score_opts_t *opts, rng_t *rng)
{
    model_t *m = self->m;
    size_t n = self->n;
    if (n == 0)
        return;
    s_vae_scores (m, n, opts, rng);
    vae_set_weights (m->vae, opts->scaled ? m->wt : NULL);
    self->out.size = 0;
    record_top_t top[REC_TOP_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t ntop = s_top (m, i, opts->topk, top);
        s_batch_emit (self, i, top, ntop, opts->topk > 0);
    }
}

const char *
model_batch_frame (const model_batch_t *self, size_t i, size_t *size)
{
    assert (i < self->n);
    *size = self->olen[i];
    return self->out.data + self->ooff[i];
}

void
model_batch_clear (model_batch_t *self)
{
    self->n = 0;
    self->raw_len = 0;
    self->out.size = 0;
}

//  ------------------------------------------------------------- training

struct _model_data_t {
    size_t dim, count, cap, lcap, gcap;
    float *x;                   //  (cap, dim)
    int *label;                 //  (cap)
    uint64_t *group;            //  (gcap) group of each window (0 = none), NULL if none yet
};

model_data_t *
model_data_new (size_t dim)
{
    assert (dim > 0);
    model_data_t *self = xcalloc (1, sizeof *self);
    self->dim = dim;
    return self;
}

void
model_data_destroy (model_data_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->x);
    free ((*self_p)->label);
    free ((*self_p)->group);
    free (*self_p);
    *self_p = NULL;
}

void
model_data_add (model_data_t *self, const float *x, int label)
{
    model_data_add_group (self, x, label, 0);
}

void
model_data_add_group (model_data_t *self, const float *x, int label, uint64_t group)
{
    if (group || self->group) {
        size_t had = self->group ? self->gcap : 0;
        xgrow ((void **) &self->group, &self->gcap, self->count + 1, sizeof (uint64_t));
        memset (self->group + had, 0, (self->gcap - had) * sizeof (uint64_t));
        self->group[self->count] = group;
    }
    xgrow ((void **) &self->label, &self->lcap, self->count + 1, sizeof (int));
    xgrow ((void **) &self->x, &self->cap, self->count + 1, self->dim * sizeof (float));
    memcpy (self->x + self->count * self->dim, x, self->dim * sizeof (float));
    self->label[self->count++] = label;
}

size_t
model_data_count (const model_data_t *self)
{
    return self->count;
}

size_t
model_data_dim (const model_data_t *self)
{
    return self->dim;
}

model_data_t *
model_data_read (const char *path, size_t window, size_t nfields, char *err)
{
    char why[ERRLEN];
    frame_reader_t *fr = frame_reader_new (path, NULL, why);
    if (!fr) {
        errf (err, "%s", why);
        return NULL;
    }
    model_data_t *self = model_data_new (window * nfields);
    record_t rec;
    record_init (&rec);
    const msgpack_object *obj;
    int rc;
    while ((rc = frame_reader_next (fr, &obj, why)) == 1) {
        if (record_decode (&rec, obj, why) || model_check_window (&rec, window, nfields, why)) {
            errf (err, "'%s': record %llu: %s", path,
                  (unsigned long long) frame_reader_count (fr), why);
            break;
        }
        model_data_add (self, rec.x, rec.has & REC_LABEL ? rec.label != 0 : -1);
    }
    if (rc < 0)
        errf (err, "'%s': %s", path, why);
    record_destroy (&rec);
    frame_reader_destroy (&fr);
    if (rc != 0)
        model_data_destroy (&self);
    return self;
}

model_train_opts_t
model_train_defaults (void)
{
    model_train_opts_t o = {
        .arch = {.nhidden = 2, .hidden = {64, 32}, .nlatent = 8, .act = NN_RELU},
        .beta = 1.0, .adam = nn_adam_defaults (), .batch = 128, .max_epochs = 100,
        .patience = 10, .val_frac = 0.1, .seed = 1};
    o.adam.clip = 5.0;
    return o;
}

struct _model_trainer_t {
    model_train_opts_t o;
    model_data_t *data;         //  owned: every window
    const model_data_t *eval;   //  borrowed, may be NULL
    vae_t *vae;
    uint32_t *perm;             //  (count) training indices then validation indices
    size_t ntrain, nval;
    float *xb;                  //  (batch, D) gathered mini-batch
    float *best;                //  (nparams) parameters of the best epoch
    double best_loss, best_p99;
    size_t epoch, best_epoch, bad_epochs;
    rng_t rng;                  //  shuffles and eps of training
    double *resid;              //  (D) mean squared error per element (finish)
    double *vscore;             //  (nval) validation scores
    double *escore;             //  (eval count)
    uint8_t *elabel;            //  (eval count)
    bool by_group;              //  validation = whole groups (patients)
};

//  Validation by group: a group is held out when a hash of it and the seed
//  falls below val_frac, so each patient's windows (which overlap their
//  neighbours) are all on one side.  Moves the held-out windows to the end
//  of perm, keeping the shuffled order on each side, and returns how many;
//  0 when a window has no group or the hash picks none or all of them.
static size_t
s_split_groups (model_trainer_t *self)
{
    const model_data_t *d = self->data;
    size_t n = d->count, nval = 0;
    if (!d->group)
        return 0;
    uint8_t *val = xmalloc (n);
    bool all = true;
    for (size_t i = 0; i < n; i++) {
        uint64_t g = d->group[i];
        uint64_t h = hash64_update (hash64 (&g, sizeof g), &self->o.seed, sizeof self->o.seed);
        val[i] = (double) (h >> 11) * 0x1p-53 < self->o.val_frac;
        nval += val[i];
        all &= g != 0;
    }
    if (!all || nval == 0 || nval == n)
        nval = 0;
    else {
        uint32_t *tmp = xmalloc (n * sizeof (uint32_t));
        size_t a = 0, b = n - nval;
        for (size_t i = 0; i < n; i++)
            tmp[val[self->perm[i]] ? b++ : a++] = self->perm[i];
        memcpy (self->perm, tmp, n * sizeof (uint32_t));
        free (tmp);
    }
    free (val);
    return nval;
}

bool
model_trainer_val_by_group (const model_trainer_t *self)
{
    return self->by_group;
}

model_trainer_t *
model_trainer_new (model_data_t **data_p, const model_data_t *eval,
                   const model_train_opts_t *opts, char *err)
{
    model_data_t *data = *data_p;
    *data_p = NULL;
    model_trainer_t *self = NULL;
    size_t n = data ? data->count : 0;
    if (n < 2) {
        errf (err, "need at least 2 windows to train, got %zu", n);
        goto fail;
    }
    if (eval && eval->dim != data->dim) {
        errf (err, "evaluation windows have %zu values, training windows %zu", eval->dim,
              data->dim);
        goto fail;
    }
    model_train_opts_t o = *opts;
    o.arch.nin = data->dim;
    if (o.batch < 1)
        o.batch = 1;
    vae_t *vae = vae_new (&o.arch, o.batch, err);
    if (!vae)
        goto fail;
    self = xcalloc (1, sizeof *self);
    self->o = o;
    self->data = data;
    self->eval = eval;
    self->vae = vae;
    rng_init (&self->rng, o.seed, 0);
    vae_init (vae, &self->rng);
    self->perm = xmalloc (n * sizeof (uint32_t));
    for (size_t i = 0; i < n; i++)
        self->perm[i] = (uint32_t) i;
    rng_shuffle (&self->rng, self->perm, (uint32_t) n);
    self->nval = o.val_windows ? 0 : s_split_groups (self);
    self->by_group = self->nval > 0;
    if (!self->by_group) {
        self->nval = (size_t) llround (o.val_frac * (double) n);
        if (self->nval < 1)
            self->nval = 1;
        if (self->nval > n - 1)
            self->nval = n - 1;
    }
    self->ntrain = n - self->nval;
    self->xb = xmalloc (o.batch * data->dim * sizeof (float));
    self->best = xmalloc (vae_params (vae)->n * sizeof (float));
    memcpy (self->best, vae_params (vae)->p, vae_params (vae)->n * sizeof (float));
    self->best_loss = INFINITY;
    self->vscore = xmalloc (self->nval * sizeof (double));
    if (eval && eval->count) {
        self->escore = xmalloc (eval->count * sizeof (double));
        self->elabel = xmalloc (eval->count);
    }
    return self;
fail:
    model_data_destroy (&data);
    return NULL;
}

void
model_trainer_destroy (model_trainer_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    model_trainer_t *self = *self_p;
    model_data_destroy (&self->data);
    vae_destroy (&self->vae);
    free (self->perm);
    free (self->xb);
    free (self->best);
    free (self->vscore);
    free (self->resid);
    free (self->escore);
    free (self->elabel);
    free (self);
    *self_p = NULL;
}

size_t
model_trainer_max_epochs (const model_trainer_t *self)
{
    return self->o.max_epochs;
}

static void
s_gather (model_trainer_t *self, const model_data_t *d, const uint32_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy (self->xb + i * d->dim, d->x + (size_t) idx[i] * d->dim,
                d->dim * sizeof (float));
}

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

//  q-quantile (0..1) of v[n] by linear interpolation; sorts v.
static double
s_quantile (double *v, size_t n, double q)
{
    qsort (v, n, sizeof *v, s_cmp_double);
    double pos = q * (double) (n - 1);
    size_t i = (size_t) pos;
    if (i + 1 >= n)
        return v[n - 1];
    return v[i] + (pos - (double) i) * (v[i + 1] - v[i]);
}

//  Scores by mu of rows idx (or 0..n-1 when idx is NULL) of d.
static void
s_score_rows (model_trainer_t *self, const model_data_t *d, const uint32_t *idx, size_t n,
              double *out)
{
    size_t B = self->o.batch;
    for (size_t i = 0; i < n; i += B) {
        size_t m = n - i < B ? n - i : B;
        const float *x = d->x + i * d->dim;
        if (idx) {
            s_gather (self, d, idx + i, m);
            x = self->xb;
        }
        vae_score (self->vae, x, m, VAE_SCORE_MU, 1, NULL, out + i);
    }
}

static void
s_eval (model_trainer_t *self, model_epoch_t *e)
{
    const model_data_t *ev = self->eval;
    s_score_rows (self, ev, NULL, ev->count, self->escore);
    uint64_t tp = 0, fp = 0, tn = 0, fn = 0;
    size_t m = 0;
    for (size_t i = 0; i < ev->count; i++) {
        if (ev->label[i] < 0)
            continue;
        bool pos = ev->label[i] != 0, flag = self->escore[i] > e->thr;
        tp += pos && flag, fp += !pos && flag, tn += !pos && !flag, fn += pos && !flag;
        self->escore[m] = self->escore[i];
        self->elabel[m++] = pos;
    }
    double total = (double) (tp + fp + tn + fn);
    e->has_eval = true;
    e->accuracy = total ? (double) (tp + tn) / total : NAN;
    e->precision = tp + fp ? (double) tp / (double) (tp + fp) : NAN;
    e->recall = tp + fn ? (double) tp / (double) (tp + fn) : NAN;
    e->specificity = tn + fp ? (double) tn / (double) (tn + fp) : NAN;
    e->f1 = 2 * tp + fp + fn ? 2.0 * (double) tp / (double) (2 * tp + fp + fn) : NAN;
    e->roc_auc = metrics_roc_auc (self->escore, self->elabel, m);
}

int
model_trainer_epoch (model_trainer_t *self, model_epoch_t *e)
{
    memset (e, 0, sizeof *e);
    const model_data_t *d = self->data;
    size_t B = self->o.batch;
    double t0 = clock_mono ();
    rng_shuffle (&self->rng, self->perm, (uint32_t) self->ntrain);
    double sl = 0, sr = 0, sk = 0;
    for (size_t i = 0; i < self->ntrain; i += B) {
        size_t m = self->ntrain - i < B ? self->ntrain - i : B;
        s_gather (self, d, self->perm + i, m);
        vae_loss_t l;
        vae_train_step (self->vae, self->xb, m, self->o.beta, &self->rng, &self->o.adam, &l);
        sl += l.loss * m, sr += l.recon * m, sk += l.kl * m;
    }
    double t1 = clock_mono ();
    e->epoch = ++self->epoch;
    e->loss = sl / self->ntrain, e->recon = sr / self->ntrain, e->kl = sk / self->ntrain;
    e->seconds = t1 - t0;
    e->windows_per_s = e->seconds > 0 ? self->ntrain / e->seconds : 0;

    //  Validation loss with the same noise every epoch, so epochs compare.
    rng_t vr;
    rng_init (&vr, self->o.seed, 1);
    const uint32_t *vidx = self->perm + self->ntrain;
    sl = sr = sk = 0;
    for (size_t i = 0; i < self->nval; i += B) {
        size_t m = self->nval - i < B ? self->nval - i : B;
        s_gather (self, d, vidx + i, m);
        vae_loss_t l;
        vae_eval (self->vae, self->xb, m, self->o.beta, &vr, &l);
        sl += l.loss * m, sr += l.recon * m, sk += l.kl * m;
    }
    e->val_loss = sl / self->nval, e->val_recon = sr / self->nval, e->val_kl = sk / self->nval;
    s_score_rows (self, d, vidx, self->nval, self->vscore);
    e->thr = s_quantile (self->vscore, self->nval, 0.99);
    if (self->eval && self->eval->count)
        s_eval (self, e);

    nn_params_t *P = vae_params (self->vae);
    if (isfinite (e->val_loss) && e->val_loss < self->best_loss) {
        e->improved = true;
        self->best_loss = e->val_loss;
        self->best_epoch = self->epoch;
        self->best_p99 = e->thr;
        self->bad_epochs = 0;
        memcpy (self->best, P->p, P->n * sizeof (float));
    }
    else
        self->bad_epochs++;
    return self->epoch < self->o.max_epochs && self->bad_epochs < self->o.patience;
}

void
model_residuals (vae_t *vae, const model_data_t *d, size_t batch, double *resid)
{
    size_t D = d->dim, n = d->count;
    double *sc = xmalloc (batch * sizeof (double));
    memset (resid, 0, D * sizeof (double));
    vae_set_weights (vae, NULL);
    for (size_t i = 0; i < n; i += batch) {
        size_t m = n - i < batch ? n - i : batch;
        vae_score (vae, d->x + i * D, m, VAE_SCORE_MU, 1, NULL, sc);
        const float *err = vae_err (vae);
        for (size_t r = 0; r < m; r++)
            for (size_t k = 0; k < D; k++)
                resid[k] += err[r * D + k];
    }
    for (size_t k = 0; n && k < D; k++)
        resid[k] /= (double) n;
    free (sc);
}

vae_t *
model_trainer_finish (model_trainer_t *self, model_info_t *info)
{
    nn_params_t *P = vae_params (self->vae);
    memcpy (P->p, self->best, P->n * sizeof (float));
    nn_params_reset_adam (P);
    //  Residuals of the kept parameters on every window, by mu.
    self->resid = xcalloc (self->data->dim, sizeof (double));
    model_residuals (self->vae, self->data, self->o.batch, self->resid);
    *info = (model_info_t) {
        .beta = self->o.beta, .lr = self->o.adam.lr, .batch = self->o.batch,
        .seed = self->o.seed, .epochs = self->epoch, .best_epoch = self->best_epoch,
        .windows = self->ntrain, .val_windows = self->nval, .val_loss = self->best_loss,
        .val_p99 = self->best_p99};
    vae_t *v = self->vae;
    self->vae = NULL;
    return v;
}

const double *
model_trainer_resid (const model_trainer_t *self)
{
    return self->resid;
}

void
model_resid_per_field (const double *elem, size_t window, size_t nfields, double floor,
                       double *var)
{
    for (size_t f = 0; f < nfields; f++) {
        double s = 0;
        for (size_t w = 0; w < window; w++)
            s += elem[w * nfields + f];
        s /= (double) window;
        var[f] = s > floor ? s : floor;
    }
}

void
model_epoch_csv_header (char *buf, size_t size, bool eval)
{
    snprintf (buf, size, "epoch,loss,recon,kl,val_loss,val_recon,val_kl,seconds,windows_per_s,"
                         "improved%s\n",
              eval ? ",thr,accuracy,precision,recall,specificity,f1,roc_auc" : "");
}

void
model_epoch_csv (const model_epoch_t *e, char *buf, size_t size)
{
    int k = snprintf (buf, size, "%zu,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.4f,%.1f,%d", e->epoch,
                      e->loss, e->recon, e->kl, e->val_loss, e->val_recon, e->val_kl,
                      e->seconds, e->windows_per_s, e->improved);
    if (k > 0 && (size_t) k < size && e->has_eval)
        k += snprintf (buf + k, size - k, ",%.6g,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f", e->thr,
                       e->accuracy, e->precision, e->recall, e->specificity, e->f1,
                       e->roc_auc);
    if (k > 0 && (size_t) k < size)
        snprintf (buf + k, size - k, "\n");
}

//  ------------------------------------------------------------- self-test

static stats_t *
s_test_stats (size_t F)
{
    stats_info_t info[4];
    memset (info, 0, sizeof info);
    const char *names[] = {"hr", "spo2", "temp", "rr"};
    for (size_t i = 0; i < F; i++) {
        snprintf (info[i].name, sizeof info[i].name, "%s", names[i]);
        info[i].count = 100;
        info[i].mean = 50 + 10 * i;
        info[i].std = 2 + i;
        info[i].median = info[i].mean;
        info[i].iqr = 1.349 * info[i].std;
        info[i].min = 0, info[i].max = 200;
    }
    return stats_new (info, F, STATS_SCALE_STD, 100, NULL);
}

static void
s_synth (rng_t *r, float *x, size_t W, size_t F, int spike)
{
    double a = rng_normal (r), b = rng_normal (r);
    for (size_t w = 0; w < W; w++)
        for (size_t f = 0; f < F; f++)
            x[w * F + f] = (float) (a * sin (0.4 * w + f) + 0.7 * b + 0.1 * rng_normal (r));
    if (spike >= 0)
        x[(W - 1) * F + (size_t) spike] += 5;
}

void
model_test (bool verbose)
{
    char err[ERRLEN];
    size_t W = 5, F = 4, D = W * F;
    rng_t r;
    rng_init (&r, 3, 0);

    //  Train on normal windows; validation loss must fall.
    model_data_t *data = model_data_new (D), *eval = model_data_new (D);
    float x[20];
    for (size_t i = 0; i < 1500; i++) {
        s_synth (&r, x, W, F, -1);
        model_data_add (data, x, -1);
    }
    for (size_t i = 0; i < 200; i++) {
        int lab = i % 4 == 0;
        s_synth (&r, x, W, F, lab ? (int) (i % F) : -1);
        model_data_add (eval, x, lab);
    }
    assert (model_data_count (data) == 1500 && model_data_dim (data) == D);
    model_train_opts_t o = model_train_defaults ();
    o.arch.hidden[0] = 16, o.arch.hidden[1] = 8, o.arch.nlatent = 3;
    o.batch = 32, o.max_epochs = 12, o.patience = 3, o.adam.lr = 3e-3;
    model_data_t *none = NULL;
    assert (!model_trainer_new (&none, NULL, &o, err) && strstr (err, "at least 2"));
    model_trainer_t *tr = model_trainer_new (&data, eval, &o, err);
    assert (tr && !data);
    model_epoch_t e, first = {0};
    char line[512];
    int go = 1;
    while (go) {
        go = model_trainer_epoch (tr, &e);
        if (e.epoch == 1)
            first = e;
        model_epoch_csv (&e, line, sizeof line);
        if (verbose)
            printf ("model: %s", line);
    }
    assert (e.has_eval && e.roc_auc > 0.95);
    assert (e.val_loss < 0.7 * first.val_loss);
    model_epoch_csv_header (line, sizeof line, true);
    assert (strstr (line, "roc_auc") && line[strlen (line) - 1] == '\n');
    model_info_t info;
    vae_t *vae = model_trainer_finish (tr, &info);
    assert (info.epochs == e.epoch && info.best_epoch >= 1 && info.val_windows == 150);
    model_trainer_destroy (&tr);
    model_trainer_destroy (&tr);

    //  Model: wrong shape refused; save/load round trip bit-exact.
    stats_t *st = s_test_stats (F);
    assert (st);
    model_t *m = model_new (&vae, &st, W, &info, err);
    assert (m && !vae && !st);
    //  Residual variances: refused unless positive; saved and loaded exactly.
    double var[4] = {0.5, 2, 1, 0.25}, bad_var[4] = {1, 0, 1, 1};
    assert (!model_resid (m));
    assert (model_set_resid (m, bad_var, err) == -1 && strstr (err, "field 2"));
    assert (model_set_resid (m, var, err) == 0 && model_resid (m)[3] == 0.25);
    char path[64], bad[80];
    snprintf (path, sizeof path, "/tmp/vigil-model-test-%ld.model", (long) getpid ());
    assert (model_save (m, path, err) == 0);
    assert (strlen (model_hash_hex (m)) == 16);
    model_t *m2 = model_load (path, 64, err);
    assert (m2);
    nn_params_t *P1 = vae_params (model_vae (m)), *P2 = vae_params (model_vae (m2));
    assert (P1->n == P2->n && !memcmp (P1->p, P2->p, P1->n * sizeof (float)));
    assert (model_hash (m) == model_hash (m2));
    assert (model_window (m2) == W && model_nfields (m2) == F);
    assert (model_info (m2)->best_epoch == info.best_epoch);
    assert (model_info (m2)->val_p99 == info.val_p99);
    assert (model_resid (m2) && !memcmp (model_resid (m2), var, sizeof var));
    assert (!strcmp (stats_field (model_stats (m2), 1), "spo2"));
    assert (memcmp (vae_arch (model_vae (m)), vae_arch (model_vae (m2)), sizeof (vae_arch_t)) == 0);

    //  Scoring records: spiked field on top, values in units.
    record_t recs[4];
    for (int i = 0; i < 4; i++) {
        record_init (&recs[i]);
        s_synth (&r, record_x_resize (&recs[i], D), W, F, i == 2 ? 1 : -1);
        recs[i].has |= REC_X;
        assert (model_check_window (&recs[i], W, F, err) == 0);
    }
    model_score_opts_t so = {.mode = VAE_SCORE_MU, .nsamples = 1, .topk = 3};
    model_score (m2, recs, 4, &so, &r);
    for (int i = 0; i < 4; i++) {
        assert ((recs[i].has & REC_SCORE) && (recs[i].has & REC_TOP) && recs[i].ntop == 3);
        assert (recs[i].top[0].contrib >= recs[i].top[1].contrib);
        assert (recs[i].top[1].contrib >= recs[i].top[2].contrib);
        size_t sz;
        assert (record_extra_get (&recs[i], "model", &sz));
    }
    assert (!strcmp (recs[2].top[0].field, "spo2"));
    //  spo2: mean 60, std 3: observed = 60 + 3 x.
    double obs = 60 + 3 * recs[2].x[(W - 1) * F + 1];
    assert (fabs (recs[2].top[0].observed - obs) < 1e-4);
    assert (recs[2].score > recs[0].score && recs[2].score > recs[1].score);
    //  Scaled: every field's contribution divided by its residual variance,
    //  the score their sum.
    {
        model_score_opts_t all = {.mode = VAE_SCORE_MU, .nsamples = 1, .topk = F};
        record_t *q = &recs[0];
        model_score (m2, q, 1, &all, &r);
        double plain[4], sum = 0;
        for (size_t j = 0; j < F; j++)
            plain[stats_find (model_stats (m2), q->top[j].field)] = q->top[j].contrib;
        double plain_score = q->score;
        all.scaled = true;
        model_score (m2, q, 1, &all, &r);
        for (size_t j = 0; j < F; j++) {
            long f = stats_find (model_stats (m2), q->top[j].field);
            assert (fabs (q->top[j].contrib - plain[f] / var[f]) <= 1e-5 * (1 + plain[f] / var[f]));
            sum += q->top[j].contrib;
        }
        assert (fabs (q->score - sum) <= 1e-5 * sum && q->score != plain_score);
        model_score (m2, q, 1, &so, &r);
    }
    if (verbose)
        printf ("model: spiked window score %.2f (normal %.2f, %.2f): top %s %.1f (expected "
                "%.1f)\n",
                recs[2].score, recs[0].score, recs[1].score, recs[2].top[0].field,
                recs[2].top[0].observed, recs[2].top[0].expected);

    //  Bad windows.
    recs[0].x[3] = 1.5e27f;     //  finite, but its square overflows float32
    assert (model_check_window (&recs[0], W, F, err) == -1 && strstr (err, "value 4 (1.5e+27) is beyond"));
    recs[0].x[3] = NAN;
    assert (model_check_window (&recs[0], W, F, err) == -1 && strstr (err, "not finite"));
    record_x_resize (&recs[1], D - 1);
    assert (model_check_window (&recs[1], W, F, err) == -1 && strstr (err, "expected 20"));
    record_extra_set_double (&recs[3], "w", 7);
    assert (model_check_window (&recs[3], W, F, err) == -1 && strstr (err, "key 'w'"));
    recs[2].has &= ~REC_X;
    assert (model_check_window (&recs[2], W, F, err) == -1 && strstr (err, "missing"));
    //  The raw-frame batch gives the same scores and keeps every other key.
    {
        model_batch_t *b = model_batch_new (m2);
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        msgpack_unpacked u;
        msgpack_unpacked_init (&u);
        record_extra_set_str (&recs[0], "note", "kept");
        recs[0].x[3] = 0.25f;
        record_x_resize (&recs[1], D);
        record_extra_del (&recs[3], "w");
        recs[2].has |= REC_X;
        for (int i = 0; i < 4; i++) {
            sb.size = 0;
            record_encode (&recs[i], &sb);
            size_t off = 0;
            assert (msgpack_unpack_next (&u, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS);
            assert (model_batch_add (b, &u.data, sb.data, sb.size, err) == 0);
        }
        model_score (m2, recs, 4, &so, &r);
        model_batch_score (b, &so, &r);
        assert (model_batch_count (b) == 4);
        record_t out;
        record_init (&out);
        for (size_t i = 0; i < 4; i++) {
            size_t size, off = 0;
            const char *data = model_batch_frame (b, i, &size);
            assert (msgpack_unpack_next (&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS);
            assert (off == size && record_decode (&out, &u.data, err) == 0);
            assert (out.score == recs[i].score && out.ntop == 3);
            assert (!strcmp (out.top[0].field, recs[i].top[0].field));
            assert (out.top[0].expected == recs[i].top[0].expected);
            assert (out.nx == D && !memcmp (out.x, recs[i].x, D * sizeof (float)));
            size_t hs;
            const char *h = record_extra_get (&out, "model", &hs);
            assert (h && hs == 17 && !memcmp (h + 1, model_hash_hex (m2), 16));
            //  Scoring a scored frame replaces score/top/model, adds nothing.
            if (i == 0) {
                assert (record_extra_get (&out, "note", &hs));
                model_batch_t *b2 = model_batch_new (m2);
                assert (model_batch_add (b2, &u.data, data, size, err) == 0);
                model_batch_score (b2, &so, &r);
                size_t size2;
                model_batch_frame (b2, 0, &size2);
                assert (size2 == size);
                model_batch_destroy (&b2);
            }
        }
        bad[0] = 0;
        msgpack_sbuffer_clear (&sb);
        msgpack_pack_map (&(msgpack_packer) {&sb, msgpack_sbuffer_write}, 0);
        size_t off = 0;
        msgpack_unpack_next (&u, sb.data, sb.size, &off);
        assert (model_batch_add (b, &u.data, sb.data, sb.size, err) == -1 && strstr (err, "missing"));
        model_batch_clear (b);
        assert (model_batch_count (b) == 0);
        record_destroy (&out);
        msgpack_unpacked_destroy (&u);
        msgpack_sbuffer_destroy (&sb);
        model_batch_destroy (&b);
        model_batch_destroy (&b);
    }
    for (int i = 0; i < 4; i++)
        record_destroy (&recs[i]);

    //  Ensemble: the mean of the members' scores; top from the first; a new hash.
    {
        model_t *ea = model_load (path, 64, err), *eb = model_load (path, 64, err);
        model_t *pc = model_load (path, 64, err), *small = model_load (path, 32, err);
        assert (ea && eb && pc && small);
        nn_params_t *Pb = vae_params (model_vae (eb)), *Pc = vae_params (model_vae (pc));
        for (size_t j = 0; j < Pb->n; j += 7)
            Pb->p[j] += 0.3f, Pc->p[j] += 0.3f;
        record_t e1[4], e2[4], e3[4];
        for (int i = 0; i < 4; i++) {
            record_init (&e1[i]), record_init (&e2[i]), record_init (&e3[i]);
            s_synth (&r, record_x_resize (&e1[i], D), W, F, i == 1 ? 2 : -1);
            e1[i].has |= REC_X;
            memcpy (record_x_resize (&e2[i], D), e1[i].x, D * sizeof (float));
            memcpy (record_x_resize (&e3[i], D), e1[i].x, D * sizeof (float));
            e2[i].has |= REC_X, e3[i].has |= REC_X;
        }
        model_score_opts_t eo = {.mode = VAE_SCORE_MU, .nsamples = 1, .topk = 2};
        model_score (ea, e1, 4, &eo, &r);
        model_score (pc, e2, 4, &eo, &r);
        assert (model_join (ea, &small, err) == -1 && strstr (err, "batch") && small);
        assert (model_members (ea) == 1 && model_resid_all (ea));
        assert (model_join (ea, &eb, err) == 0 && !eb && model_members (ea) == 2);
        assert (model_hash (ea) != model_hash (m2) && strlen (model_hash_hex (ea)) == 16);
        model_score (ea, e3, 4, &eo, &r);
        for (int i = 0; i < 4; i++) {
            double want = (e1[i].score + e2[i].score) / 2;
            assert (fabs (e3[i].score - want) <= 1e-9 * (1 + want));
            assert (e1[i].score != e2[i].score);
            assert (!strcmp (e3[i].top[0].field, e1[i].top[0].field));
            assert (e3[i].top[0].expected == e1[i].top[0].expected);
        }
        if (verbose)
            printf ("model: ensemble %.4f = (%.4f + %.4f) / 2\n", e3[1].score, e1[1].score,
                    e2[1].score);
        for (int i = 0; i < 4; i++)
            record_destroy (&e1[i]), record_destroy (&e2[i]), record_destroy (&e3[i]);
        model_destroy (&ea);
        model_destroy (&pc);
        model_destroy (&small);
    }

    //  Corrupted, truncated, foreign files are refused.
    FILE *f = fopen (path, "rb");
    fseek (f, 0, SEEK_END);
    long size = ftell (f);
    char *buf = xmalloc (size);
    fseek (f, 0, SEEK_SET);
    assert (fread (buf, 1, size, f) == (size_t) size);
    fclose (f);
    snprintf (bad, sizeof bad, "%s.bad", path);
    buf[size / 2] ^= 0x40;
    f = fopen (bad, "wb");
    fwrite (buf, 1, size, f);
    fclose (f);
    assert (!model_load (bad, 8, err) && strstr (err, "checksum"));
    buf[size / 2] ^= 0x40;
    f = fopen (bad, "wb");
    fwrite (buf, 1, size - 10, f);
    fclose (f);
    assert (!model_load (bad, 8, err));
    if (verbose)
        printf ("model: truncated: %s\n", err);
    assert (stats_save (model_stats (m2), bad, err) == 0);
    assert (!model_load (bad, 8, err) && strstr (err, "vigil-model"));
    free (buf);
    remove (bad);
    remove (path);
    assert (!model_load (path, 8, err) && strstr (err, "cannot open"));

    //  A mismatched model: nin != W x F.
    vae_arch_t a = {.nin = 7, .nhidden = 1, .hidden = {4}, .nlatent = 2};
    vae_t *v = vae_new (&a, 4, NULL);
    st = s_test_stats (F);
    assert (!model_new (&v, &st, 2, NULL, err) && !v && !st && strstr (err, "window"));

    //  Validation by group: whole groups on one side, about val_frac of them;
    //  one ungrouped window (or --val-windows) splits by window instead.
    for (int round = 0; round < 3; round++) {
        model_data_t *g = model_data_new (D);
        float gx[64];
        for (size_t i = 0; i < 40 * 25; i++) {
            s_synth (&r, gx, W, F, -1);
            uint64_t grp = round == 1 && i == 500 ? 0 : 1000 + i % 40;
            model_data_add_group (g, gx, -1, grp);
        }
        model_train_opts_t go = o;
        go.val_windows = round == 2;
        model_trainer_t *gt = model_trainer_new (&g, NULL, &go, err);
        assert (gt && model_trainer_val_by_group (gt) == (round == 0));
        if (round == 0) {
            int side[40];
            for (int k = 0; k < 40; k++)
                side[k] = -1;
            for (size_t i = 0; i < gt->ntrain + gt->nval; i++) {
                uint32_t w = gt->perm[i];
                int k = (int) (w % 40), v = i >= gt->ntrain;
                assert (side[k] < 0 || side[k] == v);
                side[k] = v;
            }
            assert (gt->nval % 25 == 0 && gt->nval >= 25 && gt->nval <= 10 * 25);
        }
        else
            assert (gt->nval == 100);
        model_trainer_destroy (&gt);
    }

    //  A Gaussian decoder: saved and loaded as such; not in an ensemble with
    //  a unit-variance one.
    {
        vae_arch_t ga = *vae_arch (model_vae (m));
        ga.gauss = true;
        vae_t *gv = vae_new (&ga, 8, err);
        rng_t gr;
        rng_init (&gr, 5, 0);
        vae_init (gv, &gr);
        stats_t *gs = s_test_stats (F);
        model_t *g = model_new (&gv, &gs, W, &info, err);
        assert (g && model_save (g, path, err) == 0);
        model_t *g2 = model_load (path, 8, err), *u = model_load (path, 8, err);
        assert (g2 && u && vae_arch (model_vae (g2))->gauss);
        nn_params_t *G1 = vae_params (model_vae (g)), *G2 = vae_params (model_vae (g2));
        assert (G1->n == vae_nparams (&ga) && G1->n == G2->n
                && !memcmp (G1->p, G2->p, G1->n * sizeof (float)));
        assert (model_join (g2, &u, err) == 0 && !u);   //  two Gaussian: fine
        remove (path);
        assert (model_save (m, path, err) == 0);
        model_t *mu = model_load (path, 8, err);
        assert (mu && model_join (g2, &mu, err) == -1 && strstr (err, "decoder") && mu);
        model_destroy (&mu);
        remove (path);
        model_destroy (&g);
        model_destroy (&g2);
    }

    model_destroy (&m);
    model_destroy (&m2);
    model_destroy (&m2);
    model_data_destroy (&eval);
    if (verbose)
        printf ("model: ok\n");
}
