/*  fuzz_score: vigil-score's raw-frame path.  A valid model (the seed in
    tests/fuzz-corpus/model/file) is loaded once; the input is a stream of
    frames, each given to model_batch_add as vigil-score gives it, and the
    batch is scored every 4 windows and at the end.  Every output frame must
    be one MessagePack map that decodes as a record with a finite score.  */
#include <assert.h>
#include <math.h>

#include "frame.h"
#include "model.h"
#include "rng.h"
#include "fuzz.h"

#define BATCH 4

static model_t *s_model;

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc, (void) argv;
    const char *seed = getenv ("VIGIL_FUZZ_MODEL");
    if (!seed)
        seed = "tests/fuzz-corpus/model/file";
    FILE *f = fopen (seed, "rb");
    if (!f) {
        fprintf (stderr, "fuzz_score: cannot open %s (run from the repository root)\n", seed);
        exit (1);
    }
    static char buf[1 << 20];
    size_t n = fread (buf, 1, sizeof buf, f);
    fclose (f);
    //  The seed is a selector byte (1 = whole file) and the file.
    const char *path = fuzz_file ((const uint8_t *) buf, n, MODEL_FORMAT, MODEL_VERSION);
    char err[ERRLEN];
    s_model = path ? model_load (path, BATCH, err) : NULL;
    if (!s_model) {
        fprintf (stderr, "fuzz_score: %s: %s\n", seed, err);
        exit (1);
    }
    return 0;
}

static void
s_score (model_batch_t *b, rng_t *rng)
{
    size_t n = model_batch_count (b);
    if (n == 0)
        return;
    model_score_opts_t opts = {.topk = 3};
    model_batch_score (b, &opts, rng);
    record_t rec;
    record_init (&rec);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    for (size_t i = 0; i < n; i++) {
        size_t size;
        const char *data = model_batch_frame (b, i, &size);
        assert (frame_scan (data, size) == (long) size);
        size_t off = 0;
        assert (msgpack_unpack_next (&u, data, size, &off) == MSGPACK_UNPACK_SUCCESS);
        assert (u.data.type == MSGPACK_OBJECT_MAP);
        const msgpack_object *s = mp_get (&u.data, "score");
        double d;
        assert (s && mp_as_double (s, &d) == 0 && isfinite (d));
    }
    msgpack_unpacked_destroy (&u);
    record_destroy (&rec);
    model_batch_clear (b);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    model_batch_t *b = model_batch_new (s_model);
    rng_t rng;
    rng_init (&rng, 1, 1);
    msgpack_unpacked unp;
    msgpack_unpacked_init (&unp);
    char err[ERRLEN];
    size_t pos = 0;
    while (pos < size) {
        long n = frame_scan ((const char *) data + pos, size - pos);
        if (n <= 0)
            break;
        size_t off = 0;
        if (msgpack_unpack_next (&unp, (const char *) data + pos, n, &off) != MSGPACK_UNPACK_SUCCESS)
            break;
        if (unp.data.type == MSGPACK_OBJECT_MAP) {
            model_batch_add (b, &unp.data, (const char *) data + pos, n, err);
            if (model_batch_count (b) == BATCH)
                s_score (b, &rng);
        }
        pos += n;
    }
    s_score (b, &rng);
    msgpack_unpacked_destroy (&unp);
    model_batch_destroy (&b);
    return 0;
}
