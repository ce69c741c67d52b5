#!/bin/sh
# wustl-ehms.sh: the VAE and the baselines on WUSTL-EHMS-2020 (Hady et al.,
# IEEE Access 8, 2020), real network flows and vital signs from a healthcare
# IoT testbed with spoofing and data-alteration attacks.
#
#   pipelines/wustl-ehms.sh wustl-ehms-2020.csv [OUTDIR]
#
# The project ships no copy of the data: download the CSV yourself.
#
# What it does, and why:
#   - rows are kept in capture order; row i gets t = i (seconds) and one
#     id, so the stream has the shape every stage expects;
#   - identifier and address columns are dropped (SrcAddr, DstAddr, Sport,
#     Dport, SrcMac, DstMac, Packet_num, Dir, Flgs): SrcMac names the
#     attacker's machine and Sport/Packet_num number the rows, so a model
#     that saw them would be told the label; so are columns constant over
#     the training rows (they carry nothing);
#   - a vital sign of 0 (Temp, SpO2, Pulse_Rate, SYS, DIA, Heart_rate,
#     Resp_Rate) is a sensor drop-out, not a reading: it becomes a missing
#     reading, which vigil-norm imputes and flags;
#   - the heavy-tailed network fields are scaled as log1p (vigil-norm fit
#     --log1p);
#   - the first 60 % of rows (time order) are for learning, the last 40 %
#     for testing.  Of the first 60 %, the normal rows (Label 0) train the
#     unsupervised models (VAE, HMM, IForest): the first 75 % of them to
#     train, the last 25 % as the validation stream on which each threshold
#     is fitted without labels.  The Random Forest (supervised) learns from
#     all rows of the first 60 % with their labels and decides by majority
#     vote;
#   - one table (rows = models, the paper's metrics and PR AUC) on the test
#     rows, and the Fig. 4 chart.
#
# Environment: BIN [./bin], W [1: each flow is judged alone, as in Hady et
# al.; rows of several flows interleave], THRESH [vigil-thresh fit options;
# default peaks over threshold, or the 0.99 quantile when the validation
# stream has fewer than 1000 windows, too few for a tail fit],
# RF_TREES [100], EPOCHS [100], KEEP=1 keeps intermediate files.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
PATH="$BIN:$PATH"
export PATH OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
W=${W:-1}
THRESH=${THRESH:-}
RF_TREES=${RF_TREES:-100}
EPOCHS=${EPOCHS:-100}
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: wustl-ehms.sh FILE.csv [OUTDIR]" >&2; exit 2; }
CSV=$1
[ -r "$CSV" ] || { echo "wustl-ehms: cannot read '$CSV'" >&2; exit 1; }
OUT=${2:-$(mktemp -d "${TMPDIR:-/tmp}/vigil-wustl.XXXXXX")}
D="$OUT/data"
mkdir -p "$D"
say() { echo "wustl-ehms: $*" >&2; }
for p in vigil-cat vigil-norm vigil-window vigil-train vigil-score vigil-thresh \
         vigil-eval vigil-rf vigil-hmm vigil-iforest jq; do
    command -v "$p" >/dev/null || { say "$p not found (build with make)"; exit 1; }
done

IDS="SrcAddr DstAddr Sport Dport SrcMac DstMac Packet_num Dir Flgs"
VITALS="Temp SpO2 Pulse_Rate SYS DIA Heart_rate Resp_Rate"
NET="SrcBytes DstBytes SrcLoad DstLoad SrcGap DstGap SIntPkt DIntPkt SIntPktAct DIntPktAct
     SrcJitter DstJitter sMaxPktSz dMaxPktSz sMinPktSz dMinPktSz Dur Trans TotPkts TotBytes
     Load Loss pLoss pSrcLoss pDstLoss Rate"

# Header check, then the rows with t and id in front, zero vitals emptied,
# split 60/40 in capture order.  The header's names are trimmed.
tr -d '\r' < "$CSV" | awk -F, -v vitals="$VITALS" -v d="$D" '
    function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
    NR == 1 {
        for (i = 1; i <= NF; i++) { $i = trim($i); col[$i] = i }
        if (!("Label" in col) || !("Attack Category" in col)) {
            print "wustl-ehms: the header has no Label or Attack Category column" > "/dev/stderr"; exit 3
        }
        n = split(vitals, v, " ")
        for (i = 1; i <= n; i++) if (v[i] in col) zero[col[v[i]]] = 1
        header = "t,id," $0; ncol = NF; next
    }
    NF == 0 { next }
    { rows++; line[rows] = $0 }
    END {
        if (rows < 10) { print "wustl-ehms: fewer than 10 data rows" > "/dev/stderr"; exit 3 }
        cut = int(rows * 0.6)
        print header > (d "/learn.csv"); print header > (d "/test.csv")
        for (r = 1; r <= rows; r++) {
            nf = split(line[r], c, ",")
            s = r ",ehms"
            for (i = 1; i <= nf; i++) {
                x = c[i]
                if ((i in zero) && trim(x) + 0 == 0 && trim(x) ~ /^[-+0-9.eE]+$/) x = ""
                s = s "," x
            }
            print s > (d "/" (r <= cut ? "learn" : "test") ".csv")
        }
    }' FS=, OFS=, || { [ $? -eq 3 ] && exit 1; exit 1; }

# The normal learning rows: first 75 % train, last 25 % validation.
awk -F, -v d="$D" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "Label") lab = i
              print > (d "/train.csv"); print > (d "/val.csv"); next }
    { g = $lab; gsub(/ /, "", g); if (g + 0 == 0) { n++; row[n] = $0 } }
    END { for (r = 1; r <= n; r++) print row[r] > (d "/" (r <= int(n * 0.75) ? "train" : "val") ".csv") }' \
    "$D/learn.csv"
[ "$(wc -l < "$D/val.csv")" -gt 1 ] || { say "too few normal rows in the first 60 %"; exit 1; }

# Columns constant over the training rows are dropped too.
CONST=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) name[i] = $i; n = NF; next }
    { for (i = 1; i <= n; i++) { x = $i; gsub(/^ +| +$/, "", x)
          if (NR == 2) first[i] = x; else if (x != first[i]) varies[i] = 1 } }
    END { for (i = 3; i <= n; i++) if (!(i in varies) && name[i] != "Label" && name[i] != "Attack Category") printf "%s ", name[i] }' \
    "$D/train.csv")
CONST=$(for c in $CONST; do case " $IDS " in *" $c "*) ;; *) printf '%s ' "$c" ;; esac; done)
DROP=$(echo $IDS $CONST | tr ' ' ',')
LOG1P=$(for f in $NET; do case " $CONST " in *" $f "*) ;; *) printf '%s,' "$f" ;; esac; done | sed 's/,$//')
say "dropped: $DROP"

ingest() {
    vigil-cat --from csv --t t --id id --label Label --kind "Attack Category" --drop "$DROP" \
        -i "$D/$1.csv" > "$D/$1.mp"
}
for s in train val learn test; do ingest $s; done
vigil-norm fit --stats "$D/stats" --log1p "$LOG1P" < "$D/train.mp"
for s in train val learn test; do
    vigil-norm apply --stats "$D/stats" < "$D/$s.mp" | vigil-window --size "$W" > "$D/$s.w"
done
count() { vigil-cat --to json < "$1" | wc -l; }
nval=$(count "$D/val.w")
say "$(count "$D/train.w") training, $nval validation, $(count "$D/test.w") test windows"
if [ -z "$THRESH" ]; then
    THRESH="--method pot"
    [ "$nval" -ge 1000 ] || THRESH="--method quantile --q 0.99"
fi

vigil-train --stats "$D/stats" -m "$D/vae.model" -q --epochs "$EPOCHS" < "$D/train.w"
vigil-hmm train --model "$D/hmm.model" < "$D/train.w"
vigil-iforest train --model "$D/iforest.model" < "$D/train.w"
vigil-rf train --model "$D/rf.model" --trees "$RF_TREES" < "$D/learn.w"

. "$ROOT/pipelines/models.sh"
evaluate_models
print_table
# shellcheck disable=SC2086
vigil-eval --compare --plots "$OUT" $reports > "$OUT/compare.txt"
[ "${KEEP:-0}" = 1 ] || rm -rf "$D"
echo "wustl-ehms: reports and plots in $OUT (Fig. 4: $OUT/compare.png)"
