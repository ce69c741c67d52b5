/*  fuzz_thresh: the threshold loader.  A threshold that loads must describe
    itself, decide scores, and decide a record carrying another model's hash
    without harm.  */
#include <assert.h>
#include <math.h>

#include "thresh.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err[ERRLEN];
    const char *path = fuzz_file (data, size, THRESH_FORMAT, THRESH_VERSION);
    if (!path)
        return 0;
    thresh_t *t = thresh_load (path, err);
    if (!t)
        return 0;
    assert (thresh_method_name (thresh_method (t)) != NULL);
    assert (strlen (thresh_model (t)) < 64);
    char *d = thresh_describe (t);
    assert (d);
    free (d);
    bool anomaly;
    double thr;
    thresh_apply (t, 1.0, &anomaly, &thr);
    thresh_apply (t, -1e300, &anomaly, &thr);
    record_t rec;
    record_init (&rec);
    rec.score = 0.5;
    rec.has |= REC_SCORE;
    record_extra_set_str (&rec, "model", "0123456789abcdef");
    thresh_apply_record (t, &rec, err);
    assert (rec.has & REC_ANOMALY);
    record_destroy (&rec);
    thresh_destroy (&t);
    return 0;
}
