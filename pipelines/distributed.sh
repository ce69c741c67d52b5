#!/bin/bash
# The detection pipeline spread over processes and hosts, over ZeroMQ:
#
#   vigil-sim -> vigil-norm apply -> vigil-route --key id ──> K x vigil-window
#        (front)                                                  (window)
#   each window fans out over all M scorers ("EP1;...;EPM"), each scorer
#   reads K producers -> M x vigil-score (score) -> fan-in to
#   vigil-thresh apply --producers M -> vigil-alert --seq-check (sink)
#
# Consumers bind, producers connect; every stream ends with end-of-stream
# frames that carry the number of frames sent, so each consumer knows when
# its producers are done and whether their counts add up.  Every stage runs
# with -v; at the end the script prints each stage's records in and out and
# checks them end to end (records in = records out at every hop, windows =
# records - keys x (W-1)); the sink checks per-patient sequence numbers.  Any
# mismatch, gap or failed stage: exit 1.
#
# Stages of a role run where --run ROLE=PREFIX says (the prefix gets one
# more argument, a shell command line: 'ip netns exec ns1 sh -c', 'ssh host'),
# and bind on the role's --host address.  On another host the programs, the
# model files and the keys must be at the same paths.
#
# SIGTERM or SIGINT to this script stops the source; every stage drains what
# it holds and forwards end-of-stream.  A stage whose producers are gone
# without an end of stream (a killed worker) is stopped after --grace, and
# the sink reports what is missing.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/bin}
BIN=$(cd "$BIN" && pwd)
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}

usage() {
    cat <<'EOF'
usage: distributed.sh [options]

  -K N                window processes, partitioned by patient (default 2)
  -M N                scorer workers (default 2)
  --patients N        simulated patients (default 8)
  --duration DUR      simulated time (default 10m)
  --sim-args ARGS     more vigil-sim options, e.g. "--realtime --tick 100ms"
  --window W          window size (default 10)
  --model DIR         stats.vs, model.vm and thresh.vt from DIR (default:
                      built once into OUT/model from a small simulation)
  --out DIR           logs, alerts, pids (default out/distributed)
  --port N            first TCP port; N..N+3+K+M are used (default 5600)
  --curve             CURVE on every endpoint; keys in OUT/keys, made with
                      vigil-keygen when missing
  --keys DIR          CURVE with the keys of DIR (implies --curve)
  --host ROLE=ADDR    address ROLE's stages bind and are reached at; roles:
                      front (sim, norm, route), window, score, sink
                      (thresh, alert); default 127.0.0.1
  --run ROLE=PREFIX   start ROLE's stages with PREFIX followed by one shell
                      command line, e.g. "ip netns exec ns1 sh -c", "ssh hostB"
  --linger DUR        how long a stage waits at exit for a gone peer (default 5s)
  --grace SECS        wait this long for a stage whose producers have all
                      exited before stopping it with SIGTERM (default 3)
  --timeout SECS      stop every stage after this long (default 600)
  -h, --help          this text

Files in OUT: logs/<stage>.err (each stage's -v summary), alerts.txt,
pids ("stage pid" per line, for signals).  Exit 0 when every stage succeeded
and the counts add up; 1 otherwise; 2 on a usage error.
EOF
}

K=2 M=2 PATIENTS=8 DURATION=10m SIM_ARGS="" W=10 MODEL="" OUT=$ROOT/out/distributed
PORT=5600 CURVE=0 KEYS="" LINGER=5s GRACE=3 TIMEOUT=600
declare -A HOST=([front]=127.0.0.1 [window]=127.0.0.1 [score]=127.0.0.1 [sink]=127.0.0.1)
declare -A RUN=([front]="" [window]="" [score]="" [sink]="")

die2() { echo "distributed.sh: $*" >&2; echo "usage: distributed.sh [options] (--help)" >&2; exit 2; }
num() { case $2 in ''|*[!0-9]*) die2 "$1: '$2' is not a number";; esac; }
role() { case $1 in front|window|score|sink) ;; *) die2 "unknown role '$1' (front, window, score, sink)";; esac; }
while [ $# -gt 0 ]; do
    case $1 in
    -h|--help) usage; exit 0;;
    -K) num -K "${2-}"; K=$2; shift;;
    -M) num -M "${2-}"; M=$2; shift;;
    --patients) num "$1" "${2-}"; PATIENTS=$2; shift;;
    --duration) DURATION=${2?}; shift;;
    --sim-args) SIM_ARGS=${2?}; shift;;
    --window) num "$1" "${2-}"; W=$2; shift;;
    --model) MODEL=${2?}; shift;;
    --out) OUT=${2?}; shift;;
    --port) num "$1" "${2-}"; PORT=$2; shift;;
    --curve) CURVE=1;;
    --keys) KEYS=${2?}; CURVE=1; shift;;
    --host) r=${2%%=*}; role "$r"; HOST[$r]=${2#*=}; shift;;
    --run) r=${2%%=*}; role "$r"; RUN[$r]=${2#*=}; shift;;
    --linger) LINGER=${2?}; shift;;
    --grace) num "$1" "${2-}"; GRACE=$2; shift;;
    --timeout) num "$1" "${2-}"; TIMEOUT=$2; shift;;
    *) die2 "unknown option '$1'";;
    esac
    shift
done
[ "$K" -ge 1 ] && [ "$K" -le 64 ] || die2 "-K: 1..64"
[ "$M" -ge 1 ] && [ "$M" -le 64 ] || die2 "-M: 1..64"
[ "$W" -ge 1 ] || die2 "--window: at least 1"
for p in vigil-sim vigil-norm vigil-route vigil-window vigil-score vigil-thresh vigil-alert vigil-keygen vigil-train; do
    [ -x "$BIN/$p" ] || { echo "distributed.sh: $BIN/$p missing (make, or set BIN)" >&2; exit 1; }
done
mkdir -p "$OUT/logs" && OUT=$(cd "$OUT" && pwd) || exit 1
LOG=$OUT/logs
rm -f "$LOG"/*.err "$OUT/pids" "$OUT/alerts.txt"

# --- model, stats and threshold --------------------------------------------
if [ -z "$MODEL" ]; then
    MODEL=$OUT/model
    if [ ! -s "$MODEL/thresh.vt" ]; then
        echo "building a small model in $MODEL"
        mkdir -p "$MODEL"
        (   set -e
            cd "$MODEL"
            "$BIN/vigil-sim" --patients 6 --duration 1h --seed 11 --no-anomalies > train.mp
            "$BIN/vigil-norm" fit --stats stats.vs -i train.mp
            "$BIN/vigil-norm" apply --stats stats.vs -i train.mp | "$BIN/vigil-window" --size "$W" > train.win
            "$BIN/vigil-train" --stats stats.vs -m model.vm --epochs 20 --patience 4 -q -i train.win
            "$BIN/vigil-sim" --patients 6 --duration 1h --seed 12 --no-anomalies \
                | "$BIN/vigil-norm" apply --stats stats.vs | "$BIN/vigil-window" --size "$W" \
                | "$BIN/vigil-score" --model model.vm | "$BIN/vigil-thresh" fit -t thresh.vt --method pot
            rm -f train.mp train.win
        ) || { echo "distributed.sh: building the model failed" >&2; rm -f "$MODEL/thresh.vt"; exit 1; }
    fi
fi
MODEL=$(cd "$MODEL" && pwd) || exit 1
for f in stats.vs model.vm thresh.vt; do
    [ -s "$MODEL/$f" ] || { echo "distributed.sh: $MODEL/$f missing" >&2; exit 1; }
done

# --- CURVE keys: one certificate per role, every role's public one allowed --
if [ "$CURVE" = 1 ]; then
    KEYS=${KEYS:-$OUT/keys}
    mkdir -p "$KEYS/allow"
    for r in front window score sink; do
        if [ ! -s "$KEYS/${r}_secret" ]; then
            "$BIN/vigil-keygen" -n "$r" "$KEYS/$r" || exit 1
        fi
        cp "$KEYS/$r" "$KEYS/allow/$r"
    done
    KEYS=$(cd "$KEYS" && pwd)
fi
# curve ROLE [TARGET_ROLE]: options for a stage of ROLE that binds its input
# (server side) and, with TARGET_ROLE, connects to that role's stages.
curve() {
    [ "$CURVE" = 1 ] || return 0
    [ "$1" != front-src ] && printf '%s\n' --curve-server "$KEYS/${1%-src}" --curve-allow "$KEYS/allow"
    [ -n "${2-}" ] && printf '%s\n' --curve-client "$KEYS/${1%-src}" --curve-peer "$KEYS/$2"
    return 0
}

# --- endpoints --------------------------------------------------------------
P_NORM=$PORT P_ROUTE=$((PORT + 1)) P_THRESH=$((PORT + 2)) P_ALERT=$((PORT + 3))
win_port() { echo $((PORT + 4 + $1)); }
score_port() { echo $((PORT + 4 + K + $1)); }
SCORERS=""
for j in $(seq 0 $((M - 1))); do
    SCORERS="$SCORERS${SCORERS:+;}>tcp://${HOST[score]}:$(score_port "$j")"
done

# --- launching --------------------------------------------------------------
declare -A PID
NAMES=()
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
# launch ROLE NAME PROGRAM ARGS...: start one stage in the background
launch() {
    local r=$1 name=$2 out=/dev/null
    shift 2
    [ "$name" = vigil-alert ] && out=$OUT/alerts.txt
    if [ -z "${RUN[$r]}" ]; then
        local prog=$1
        shift
        "$BIN/$prog" "$@" > "$out" 2> "$LOG/$name.err" &
    else
        local cmd="exec" a
        cmd="$cmd $(q "$BIN/$1")"
        shift
        for a in "$@"; do cmd="$cmd $(q "$a")"; done
        # shellcheck disable=SC2086
        ${RUN[$r]} "$cmd" > "$out" 2> "$LOG/$name.err" &
    fi
    PID[$name]=$!
    NAMES+=("$name")
    echo "$name $!" >> "$OUT/pids"
}
alive() { kill -0 "$1" 2>/dev/null; }
STOPPED=0
# shellcheck disable=SC2317
on_signal() { STOPPED=1; alive "${PID[vigil-sim]:-0}" && kill -TERM "${PID[vigil-sim]}"; }
trap on_signal TERM INT

common=(-v --linger "$LINGER")
mapfile -t c_sink < <(curve sink)
launch sink vigil-alert vigil-alert "${common[@]}" --seq-check -i "@tcp://${HOST[sink]}:$P_ALERT" "${c_sink[@]}"
mapfile -t c_thr < <(curve sink sink)
launch sink vigil-thresh vigil-thresh apply -t "$MODEL/thresh.vt" "${common[@]}" --producers "$M" \
    -i "@tcp://${HOST[sink]}:$P_THRESH" -o ">tcp://${HOST[sink]}:$P_ALERT" "${c_thr[@]}"
mapfile -t c_score < <(curve score sink)
for j in $(seq 1 "$M"); do
    launch score "vigil-score.$j" vigil-score --model "$MODEL/model.vm" "${common[@]}" --producers "$K" \
        -i "@tcp://${HOST[score]}:$(score_port $((j - 1)))" -o ">tcp://${HOST[sink]}:$P_THRESH" "${c_score[@]}"
done
mapfile -t c_win < <(curve window score)
route_out=()
for i in $(seq 1 "$K"); do
    launch window "vigil-window.$i" vigil-window --size "$W" "${common[@]}" \
        -i "@tcp://${HOST[window]}:$(win_port $((i - 1)))" -o "$SCORERS" "${c_win[@]}"
    route_out+=(-o ">tcp://${HOST[window]}:$(win_port $((i - 1)))")
done
mapfile -t c_route < <(curve front window)
launch front vigil-route vigil-route --key id "${common[@]}" --counts \
    -i "@tcp://${HOST[front]}:$P_ROUTE" "${route_out[@]}" "${c_route[@]}"
mapfile -t c_norm < <(curve front front)
launch front vigil-norm vigil-norm apply --stats "$MODEL/stats.vs" "${common[@]}" \
    -i "@tcp://${HOST[front]}:$P_NORM" -o ">tcp://${HOST[front]}:$P_ROUTE" "${c_norm[@]}"
mapfile -t c_src < <(curve front-src front)
# shellcheck disable=SC2086
launch front vigil-sim vigil-sim --patients "$PATIENTS" --duration "$DURATION" $SIM_ARGS "${common[@]}" \
    -o ">tcp://${HOST[front]}:$P_NORM" "${c_src[@]}"

# a stage that could not start (bad address, port in use, bad key) ends the run
sleep 0.3
for n in "${NAMES[@]}"; do
    if ! alive "${PID[$n]}" && [ "$n" != vigil-sim ]; then
        wait "${PID[$n]}"
        rc=$?
        if [ "$rc" != 0 ]; then
            echo "distributed.sh: $n did not start (exit $rc):" >&2
            sed 's/^/  /' "$LOG/$n.err" >&2
            for m in "${NAMES[@]}"; do alive "${PID[$m]}" && kill -KILL "${PID[$m]}" 2>/dev/null; done
            wait
            exit 1
        fi
    fi
done

# a watchdog for runs that cannot end (a stage that never got its producers)
( trap 'kill $sp 2>/dev/null; exit 0' TERM
  sleep "$TIMEOUT" & sp=$!; wait $sp
  echo "distributed.sh: timed out after ${TIMEOUT}s, stopping every stage" >&2
  for p in "${PID[@]}"; do kill -TERM "$p" 2>/dev/null; done ) > /dev/null 2>> "$LOG/watchdog.err" &
WATCHDOG=$!

# --- waiting, stage group by stage group ------------------------------------
declare -A RC
STOPPED_BY_US=()
# finish NAME: wait for it; if its producers are gone and it does not end
# within GRACE seconds, stop it (it drains and reports what it got).
finish() {
    local n=$1 t=0
    while alive "${PID[$n]}" && [ "$t" -lt $((GRACE * 10)) ]; do
        sleep 0.1; t=$((t + 1))
    done
    if alive "${PID[$n]}"; then
        echo "distributed.sh: $n: producers gone without end of stream, stopping it" >&2
        STOPPED_BY_US+=("$n")
        kill -TERM "${PID[$n]}" 2>/dev/null
    fi
    wait "${PID[$n]}"
    RC[$n]=$?
}
waitall() {     # waitall NAME...: plain waits (the source and its chain)
    local n
    for n in "$@"; do
        while true; do
            wait "${PID[$n]}"; RC[$n]=$?
            # a trapped signal interrupts wait (status > 128): wait again
            if [ "${RC[$n]}" -gt 128 ] && alive "${PID[$n]}"; then continue; fi
            break
        done
    done
}
waitall vigil-sim
finish vigil-norm; finish vigil-route
for i in $(seq 1 "$K"); do finish "vigil-window.$i"; done
for j in $(seq 1 "$M"); do finish "vigil-score.$j"; done
finish vigil-thresh; finish vigil-alert
kill -TERM "$WATCHDOG" 2>/dev/null; wait "$WATCHDOG" 2>/dev/null

# --- summary and end-to-end accounting --------------------------------------
# counts NAME -> "read written skipped" from the stage's -v line
counts() {
    sed -n "s/^vigil-[a-z]*: \([0-9]*\) read, \([0-9]*\) written, \([0-9]*\) skipped.*/\1 \2 \3/p" \
        "$LOG/$1.err" | tail -1
}
declare -A R WR S
fail=0
printf '%-16s %10s %10s %8s %5s\n' stage "in" out skipped exit
order=(vigil-sim vigil-norm vigil-route)
for i in $(seq 1 "$K"); do order+=("vigil-window.$i"); done
for j in $(seq 1 "$M"); do order+=("vigil-score.$j"); done
order+=(vigil-thresh vigil-alert)
for n in "${order[@]}"; do
    c=$(counts "$n")
    if [ -z "$c" ]; then
        R[$n]=0 WR[$n]=0 S[$n]=0
        echo "distributed.sh: $n: no summary (it crashed or was killed)" >&2
        fail=1
    else
        read -r "R[$n]" "WR[$n]" "S[$n]" <<< "$c"
    fi
    printf '%-16s %10s %10s %8s %5s\n' "$n" "${R[$n]}" "${WR[$n]}" "${S[$n]}" "${RC[$n]}"
    [ "${RC[$n]}" = 0 ] || fail=1
    [ "${S[$n]}" = 0 ] || fail=1
done

sumr() { local t=0 n; for n in "$@"; do t=$((t + R[$n])); done; echo $t; }
sumw() { local t=0 n; for n in "$@"; do t=$((t + WR[$n])); done; echo $t; }
wins=(); for i in $(seq 1 "$K"); do wins+=("vigil-window.$i"); done
scos=(); for j in $(seq 1 "$M"); do scos+=("vigil-score.$j"); done
check() {   # check WHAT A B
    if [ "$2" = "$3" ]; then printf '  ok   %-44s %s\n' "$1" "$2"
    else printf '  FAIL %-44s %s != %s\n' "$1" "$2" "$3"; fail=1; fi
}
echo "accounting:"
check "sim out = norm in" "${WR[vigil-sim]}" "${R[vigil-norm]}"
check "norm in = norm out" "${R[vigil-norm]}" "${WR[vigil-norm]}"
check "norm out = route in" "${WR[vigil-norm]}" "${R[vigil-route]}"
check "route in = route out" "${R[vigil-route]}" "${WR[vigil-route]}"
check "route out = windows in (K=$K)" "${WR[vigil-route]}" "$(sumr "${wins[@]}")"
keys=0
for n in "${wins[@]}"; do
    k=$(sed -n 's/^vigil-window: .* \([0-9]*\) keys (peak.*/\1/p' "$LOG/$n.err" | tail -1)
    keys=$((keys + ${k:-0}))
done
if [ "$STOPPED" = 0 ] && ! grep -q 'stopped by signal' "$LOG/vigil-sim.err" 2>/dev/null; then
    check "windows = records - keys x (W-1)" "$(( $(sumr "${wins[@]}") - keys * (W - 1) ))" "$(sumw "${wins[@]}")"
fi
check "windows out = scorers in (M=$M)" "$(sumw "${wins[@]}")" "$(sumr "${scos[@]}")"
check "scorers in = scorers out" "$(sumr "${scos[@]}")" "$(sumw "${scos[@]}")"
check "scorers out = thresh in" "$(sumw "${scos[@]}")" "${R[vigil-thresh]}"
check "thresh in = thresh out" "${R[vigil-thresh]}" "${WR[vigil-thresh]}"
check "thresh out = alert in" "${WR[vigil-thresh]}" "${R[vigil-alert]}"
if grep -q 'missing' "$LOG/vigil-alert.err"; then
    echo "sink: records missing by sequence number:"
    grep 'missing' "$LOG/vigil-alert.err" | sed 's/^/  /'
    fail=1
fi
[ ${#STOPPED_BY_US[@]} -gt 0 ] && echo "stopped after --grace: ${STOPPED_BY_US[*]}" && fail=1
echo "alerts: $(wc -l < "$OUT/alerts.txt") lines in $OUT/alerts.txt"
if [ "$fail" = 0 ]; then
    echo "records in = records out: ${WR[vigil-sim]} records, $(sumw "${wins[@]}") windows, ${R[vigil-alert]} at the sink"
else
    echo "distributed.sh: FAILED (see $LOG)" >&2
fi
exit "$fail"
