/*  fuzz_model: the model loader (lib/model.h).  A model that loads must
    score a window of its own shape (zeros and a ramp) to finite scores and
    a `top` of valid fields: the loader's checks are what keep a crafted
    file from making scoring read out of bounds.  */
#include <assert.h>
#include <math.h>

#include "model.h"
#include "rng.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[ERRLEN];
    const char *path = fuzz_file (data, size, MODEL_FORMAT, MODEL_VERSION);
    if (!path)
        return 0;
    model_t *m = model_load (path, 2, err);
    if (!m)
        return 0;
    size_t w = model_window (m), f = model_nfields (m);
    assert (w >= 1 && f >= 1 && stats_nfields (model_stats (m)) == f);
    assert (strlen (model_hash_hex (m)) == 16);
    record_t recs[2];
    for (int i = 0; i < 2; i++) {
        record_init (&recs[i]);
        float *x = record_x_resize (&recs[i], w * f);
        for (size_t j = 0; j < w * f; j++)
            x[j] = i ? (float) j / (float) (w * f) - 0.5f : 0.0f;
        recs[i].has |= REC_X;
        assert (model_check_window (&recs[i], w, f, err) == 0);
    }
    model_score_opts_t opts = {.topk = 3};
    rng_t rng;
    rng_init (&rng, 1, 1);
    model_score (m, recs, 2, &opts, &rng);
    for (int i = 0; i < 2; i++) {
        assert (recs[i].has & REC_SCORE);
        for (size_t k = 0; k < recs[i].ntop; k++)
            assert (stats_find (model_stats (m), recs[i].top[k].field) >= 0);
        record_destroy (&recs[i]);
    }
    model_destroy (&m);
    return 0;
}
