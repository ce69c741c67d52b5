/*  fuzz_baseline: the Random Forest, HMM and Isolation Forest loaders.  The
    first byte picks the loader (mod 3); the rest is as in fuzz.h (its low
    bit: body wrapped in a valid container, or the raw file).  A model that
    loads must score windows of its own shape: the loaders' checks of node
    indices, features and shapes are what keep a crafted file from making
    scoring read out of bounds.  */
#include <assert.h>
#include <math.h>

#include "hmm.h"
#include "iforest.h"
#include "rf.h"
#include "fuzz.h"

static float *
s_window (size_t n, int kind)
{
    float *x = calloc (n ? n : 1, sizeof *x);
    for (size_t i = 0; kind && i < n; i++)
        x[i] = (float) ((i * 7919) % 13) - 6.0f;
    return x;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char err[ERRLEN];
    int which = data[0] % 3;
    data++, size--;
    if (which == 0) {
        const char *path = fuzz_file (data, size, RF_FORMAT, RF_VERSION);
        rf_t *m = path ? rf_load (path, err) : NULL;
        if (m) {
            size_t n = rf_window (m) * rf_nfeat (m);
            for (int k = 0; k < 2; k++) {
                float *x = s_window (n, k);
                double s = rf_score (m, x);
                assert (s >= 0 && s <= 1);
                free (x);
            }
            rf_destroy (&m);
        }
    }
    else if (which == 1) {
        const char *path = fuzz_file (data, size, HMM_FORMAT, HMM_VERSION);
        hmm_t *m = path ? hmm_load (path, err) : NULL;
        if (m) {
            size_t n = hmm_window (m) * hmm_nfeat (m);
            for (int k = 0; k < 2; k++) {
                float *x = s_window (n, k);
                hmm_score (m, x);
                free (x);
            }
            hmm_destroy (&m);
        }
    }
    else {
        const char *path = fuzz_file (data, size, IFOREST_FORMAT, IFOREST_VERSION);
        iforest_t *m = path ? iforest_load (path, err) : NULL;
        if (m) {
            size_t n = iforest_window (m) * iforest_nfeat (m);
            for (int k = 0; k < 2; k++) {
                float *x = s_window (n, k);
                double s = iforest_score (m, x);
                assert (s >= 0 && s <= 1);
                free (x);
            }
            iforest_destroy (&m);
        }
    }
    return 0;
}
