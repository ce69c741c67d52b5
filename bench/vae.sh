#!/bin/sh
# bench/vae.sh: speed of the VAE core, as ratios measured in this one run at
# one thread (OPENBLAS_NUM_THREADS=1):
#   1. scoring by mu at batch 256 reaches >= 50 % of the GFLOP/s cblas_sgemm
#      reaches alone on the same layer shapes;
#   2. vigil-score on window frames runs at >= 50 % of vigil-cat's
#      pass-through rate on the same frames;
#   3. one training epoch on 100,000 windows is faster than PyTorch (Debian's
#      python3-torch, same architecture, batch size, Adam and clipping, one
#      thread); skipped with a note when torch is not installed.
# Architecture: window 10 x 14 fields = 140 inputs, hidden 64,32, latent 8.
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-$(pwd)/bin}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail=0
ratio_ok() { awk -v r="$1" -v min="$2" 'BEGIN { exit !(r >= min) }'; }

# 1. GFLOP/s of scoring vs bare sgemm, compiled against the library.
cat > "$W/gemm.c" <<'C'
#include <cblas.h>
#include <stdio.h>
#include "vae.h"
int main (void) {
    vae_arch_t a = {.nin = 140, .nhidden = 2, .hidden = {64, 32}, .nlatent = 8, .act = NN_RELU};
    size_t B = 256, reps = 2000;
    vae_t *v = vae_new (&a, B, NULL);
    rng_t r; rng_init (&r, 1, 0); vae_init (v, &r);
    static float x[256 * 140], buf[2][256 * 140], w[140 * 64];
    static double score[256];
    for (size_t i = 0; i < B * 140; i++) x[i] = (float) rng_normal (&r);
    for (size_t i = 0; i < 140 * 64; i++) w[i] = (float) rng_normal (&r) * 0.1f;
    /* The layer shapes of one forward by mu: (in, out). */
    size_t sh[][2] = {{140, 64}, {64, 32}, {32, 8}, {8, 32}, {32, 64}, {64, 140}};
    double flops = vae_forward_flops (&a) * B;
    vae_score (v, x, B, VAE_SCORE_MU, 1, NULL, score);
    double t0 = clock_mono ();
    for (size_t k = 0; k < reps; k++)
        vae_score (v, x, B, VAE_SCORE_MU, 1, NULL, score);
    double t_score = clock_mono () - t0;
    t0 = clock_mono ();
    for (size_t k = 0; k < reps; k++)
        for (size_t l = 0; l < 6; l++)
            cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, (int) B, (int) sh[l][1],
                         (int) sh[l][0], 1.0f, l ? buf[l & 1] : x, (int) sh[l][0], w,
                         (int) sh[l][0], 0.0f, buf[(l + 1) & 1], (int) sh[l][1]);
    double t_gemm = clock_mono () - t0;
    printf ("%.3f %.3f\n", flops * reps / t_score / 1e9, flops * reps / t_gemm / 1e9);
    vae_destroy (&v);
    return 0;
}
C
if ! cc -O2 -std=c11 -D_GNU_SOURCE -Ilib -o "$W/gemm" "$W/gemm.c" "$BIN/../libvigil.a" \
        -lczmq -lzmq -lmsgpackc -ljansson -lopenblas -lpthread -lm; then
    echo "vae: cannot build the GFLOP/s probe (is $BIN/../libvigil.a there?)"
    exit 1
fi
set -- $("$W/gemm")
r=$(awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }')
echo "vae: scoring at batch 256: $1 GFLOP/s; cblas_sgemm alone on the same shapes: $2 GFLOP/s; ratio $r (bar 0.50)"
ratio_ok "$r" 0.5 || { echo "vae: FAIL scoring GFLOP/s ratio"; fail=1; }

# Data: normal windows for a model, then a stream to score.
"$BIN/vigil-sim" --no-anomalies --patients 20 --duration 84m --tick 1s --seed 1 > "$W/raw.mp"
"$BIN/vigil-norm" fit --stats "$W/s.stats" < "$W/raw.mp"
"$BIN/vigil-norm" apply --stats "$W/s.stats" < "$W/raw.mp" | "$BIN/vigil-window" --size 10 > "$W/w.mp"
n=$("$BIN/vigil-cat" --to json -i "$W/w.mp" | wc -l)

# 3. One epoch on ~100,000 windows (training time only, from the log).
"$BIN/vigil-train" -q --stats "$W/s.stats" -m "$W/m.model" --hidden 64,32 --latent 8 \
    --batch 128 --epochs 1 --val 0.00001 --clip 5 --log "$W/log.csv" -i "$W/w.mp" || fail=1
t_c=$(awk -F, 'NR == 2 { print $8 }' "$W/log.csv")
echo "vae: one epoch on $n windows (140-64-32-8, batch 128, 1 thread): vigil-train ${t_c}s"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    t_py=$(/usr/bin/python3 - "$n" <<'PY'
import sys, time, torch
torch.set_num_threads(1)
torch.manual_seed(1)
n = int(sys.argv[1])
x = torch.randn(n, 140)
class VAE(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.enc = torch.nn.Sequential(torch.nn.Linear(140, 64), torch.nn.ReLU(),
                                    torch.nn.Linear(64, 32), torch.nn.ReLU())
        s.mu, s.lv = torch.nn.Linear(32, 8), torch.nn.Linear(32, 8)
        s.dec = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(),
                                    torch.nn.Linear(32, 64), torch.nn.ReLU(),
                                    torch.nn.Linear(64, 140))
    def forward(s, x):
        h = s.enc(x); mu, lv = s.mu(h), s.lv(h)
        z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
        return mu, lv, s.dec(z)
m = VAE()
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
perm = torch.randperm(n)
t0 = time.perf_counter()
for i in range(0, n, 128):
    xb = x[perm[i:i + 128]]
    mu, lv, xh = m(xb)
    loss = (((xb - xh) ** 2).sum() + (-0.5 * (1 + lv - mu ** 2 - lv.exp())).sum()) / len(xb)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 5.0)
    opt.step()
print("%.3f" % (time.perf_counter() - t0))
PY
)
    r=$(awk -v a="$t_py" -v b="$t_c" 'BEGIN { printf "%.2f", a / b }')
    echo "vae: same epoch in PyTorch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'): ${t_py}s; vigil-train is ${r}x faster (bar > 1)"
    awk -v r="$r" 'BEGIN { exit !(r > 1) }' || { echo "vae: FAIL slower than PyTorch"; fail=1; }
else
    echo "vae: python3-torch not installed: PyTorch comparison skipped"
fi

# 2. vigil-score vs vigil-cat pass-through on the same frames (best of 3 each).
best() {
    b=
    for i in 1 2 3; do
        t0=$(date +%s.%N); "$@" > /dev/null; t1=$(date +%s.%N)
        b=$(awk -v b="$b" -v t="$(awk -v a="$t0" -v c="$t1" 'BEGIN { print c - a }')" \
            'BEGIN { print (b == "" || t < b) ? t : b }')
    done
    echo "$b"
}
t_cat=$(best "$BIN/vigil-cat" -i "$W/w.mp")
t_score=$(best "$BIN/vigil-score" --model "$W/m.model" -i "$W/w.mp")
r=$(awk -v a="$t_cat" -v b="$t_score" 'BEGIN { printf "%.2f", a / b }')
echo "vae: $n windows: vigil-cat $(awk -v n="$n" -v t="$t_cat" 'BEGIN { printf "%.0f", n / t }')/s, vigil-score $(awk -v n="$n" -v t="$t_score" 'BEGIN { printf "%.0f", n / t }')/s; ratio $r (bar 0.50)"
ratio_ok "$r" 0.5 || { echo "vae: FAIL vigil-score rate below half of vigil-cat"; fail=1; }
exit $fail
