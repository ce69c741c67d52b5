#!/bin/sh
# Throughput of vigil-norm apply and vigil-window (bar: 1,000,000 records/s
# each on one core, 12 fields, W = 10), and flat memory of vigil-window
# (peak RSS after 1M and after 10M records of 100 patients within 10 %).
# The input is made once by a small generator compiled here (12 readings per
# record, 100 patients, 1 record/s each, about 1 % nil readings).
set -u
cd "$(dirname "$0")/.." || exit 1
BIN=${BIN:-$(pwd)/bin}
export PATH="$BIN:$PATH" OPENBLAS_NUM_THREADS=1
N=${NORM_BENCH_N:-1000000}
BIG=${NORM_BENCH_BIG:-10000000}
BAR=1000000
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

cat > "$d/gen.c" <<'GEN'
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static const char *F[12] = {"hr", "sys", "dia", "spo2", "temp", "rr", "pkt_rate",
                            "byte_rate", "ipt", "jitter", "latency", "loss"};
static const double M[12] = {75, 120, 80, 97, 36.8, 14, 10, 2000, 100, 5, 40, 0.01};
static unsigned long long s = 88172645463325252ULL;
static double u (void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (s >> 11) * 0x1.0p-53; }
int main (int argc, char **argv)
{
    long n = atol (argv[1]), p = 100;
    msgpack_sbuffer sb; msgpack_sbuffer_init (&sb);
    msgpack_packer pk; msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    char id[16];
    for (long i = 0; i < n; i++) {
        msgpack_pack_map (&pk, 5);
        msgpack_pack_str (&pk, 1); msgpack_pack_str_body (&pk, "t", 1);
        msgpack_pack_double (&pk, 1.7e9 + (double) (i / p));
        int len = snprintf (id, sizeof id, "p%03ld", i % p);
        msgpack_pack_str (&pk, 2); msgpack_pack_str_body (&pk, "id", 2);
        msgpack_pack_str (&pk, len); msgpack_pack_str_body (&pk, id, len);
        msgpack_pack_str (&pk, 3); msgpack_pack_str_body (&pk, "seq", 3);
        msgpack_pack_uint64 (&pk, (uint64_t) (i / p));
        msgpack_pack_str (&pk, 1); msgpack_pack_str_body (&pk, "v", 1);
        msgpack_pack_map (&pk, 12);
        for (int f = 0; f < 12; f++) {
            msgpack_pack_str (&pk, strlen (F[f])); msgpack_pack_str_body (&pk, F[f], strlen (F[f]));
            if (u () < 0.01) msgpack_pack_nil (&pk);
            else msgpack_pack_double (&pk, M[f] * (0.9 + 0.2 * u ()));
        }
        int a = u () < 0.02;
        msgpack_pack_str (&pk, 5); msgpack_pack_str_body (&pk, "label", 5);
        msgpack_pack_uint8 (&pk, (uint8_t) a);
        if (sb.size > (1 << 20)) { fwrite (sb.data, 1, sb.size, stdout); sb.size = 0; }
    }
    fwrite (sb.data, 1, sb.size, stdout);
    return 0;
}
GEN
cc -O2 -o "$d/gen" "$d/gen.c" -lmsgpackc || exit 1

# records/s of one stage over a file: N / CPU seconds (user + sys) of the
# stage process, i.e. one core's throughput, robust to other load on the
# machine; the wall-clock rate is printed beside it.
rate () {   # rate N OUTFILE CMD...
    n=$1; o=$2; shift 2
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S' -o "$d/cpu" "$@" > "$o" || return 1
    t1=$(date +%s.%N)
    awk -v n="$n" -v t0="$t0" -v t1="$t1" '{ printf "%.0f %.0f", n / ($1 + $2), n / (t1 - t0) }' "$d/cpu"
}
report () {   # report NAME "CPU_RATE WALL_RATE" [nobar]
    echo "$2" | awk -v name="$1" -v b=$BAR -v nb="${3:-}" '{
        if (nb) printf "%s: %d records/s (wall %d/s), no bar\n", name, $1, $2
        else printf "%s: %d records/s on one core (wall %d/s), %.2fx the bar of %d\n", name, $1, $2, $1 / b, b }'
}

"$d/gen" "$N" > "$d/in.mp"
vigil-norm fit --stats "$d/s.stats" < "$d/in.mp" || exit 1
fail=0
vigil-norm apply --stats "$d/s.stats" < "$d/in.mp" > "$d/norm.mp" || exit 1
r=$(rate "$N" /dev/null vigil-norm apply --stats "$d/s.stats" -i "$d/in.mp") || exit 1
report "vigil-norm apply (12 fields)" "$r"
[ "${r%% *}" -ge "$BAR" ] || fail=1
r=$(rate "$N" /dev/null vigil-window --size 10 -i "$d/norm.mp") || exit 1
report "vigil-window (W = 10, 12 fields)" "$r"
[ "${r%% *}" -ge "$BAR" ] || fail=1
r=$(rate "$N" /dev/null vigil-norm apply --by id --stats "$d/s.stats" -i "$d/in.mp") || exit 1
report "vigil-norm apply --by id (x and xp)" "$r" nobar

# peak RSS of vigil-window after N and after BIG records of 100 patients
rss () {
    "$d/gen" "$1" | vigil-norm apply --stats "$d/s.stats" \
        | /usr/bin/time -f '%M' -o "$d/rss" vigil-window --size 10 > /dev/null || return 1
    cat "$d/rss"
}
a=$(rss "$N") && b=$(rss "$BIG") || exit 1
echo "$a $b $N $BIG" | awk '{ printf "vigil-window peak RSS: %d KiB after %d records, %d KiB after %d (%+.1f %%, bar < 10 %%)\n", $1, $3, $2, $4, 100 * ($2 - $1) / $1 }'
echo "$a $b" | awk '{ d = ($2 - $1) / $1; exit (d < 0 ? -d : d) < 0.10 ? 0 : 1 }' || fail=1
exit $fail
