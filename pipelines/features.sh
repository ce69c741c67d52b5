# The feature set every pipeline shares (sourced by demo.sh and compare.sh),
# chosen on development streams of other seeds (docs/model.md):
# every reading scaled by the population; the heavy-tailed network readings
# on a log scale; each vital sign also against the patient's own adapting
# baseline (half-life ~12 min, winsorised at 2 sd so an event hardly moves
# it, started from the patient's own first readings), so a shift from a
# patient's normal shows even when the level is normal for somebody else; for hr, sys, dia and rr
# the run of unchanged readings (a frozen sensor; not spo2 and temp, which
# sit unchanged for minutes in normal data); and for each vital the run of
# missing readings (the imputation flag as an input, so a dropout shows
# although its readings are imputed); and how far the battery fell over
# the last 30 s beyond a rounding step (a battery failing in minutes, which
# no window of normal data shows; a rise, a charger or a swap, is no fault
# and counts 0).  Readings are clamped at 40 sd rather
# than 10: a clock skew drives latency negative, ~28 sd below anything
# normal, and the clamp must not hide how far.
# The model: tanh, hidden 128,64, latent 32 and a Gaussian decoder, whose
# negative log-likelihood is the score (docs/model.md).
# The normal training stream: many patients, so the model learns patients
# rather than these few; two hours of each, so it sees the personal
# baselines settled as well as starting (a model that saw only each
# patient's first minutes, where a baseline follows the readings closely,
# takes the settled spread for anomalies); every TRAIN_STRIDE-th window of
# each patient (400 x 360 windows).
#   FIT        options of vigil-norm fit
#   PERSONAL   options of vigil-norm apply
#   TRAINOPTS  options of vigil-train
#   TRAIN_PATIENTS, TRAIN_DUR, TRAIN_STRIDE  the training stream (vigil-sim
#              --patients, --duration; vigil-window --stride), unless set
VITALS=hr,sys,dia,spo2,temp,rr
FIT="--fields $VITALS,pkt_rate,byte_rate,ipt,jitter,latency,loss,battery,rssi
     --log1p pkt_rate,byte_rate,ipt,jitter,latency --personal $VITALS --runs hr,sys,dia,rr
     --missing $VITALS --fall battery"
PERSONAL="--alpha 0.001 --gate 2 --start own --floor 0.5 --clamp 40"
TRAINOPTS="--act tanh --hidden 128,64 --latent 32 --decoder gauss"
TRAIN_PATIENTS=${TRAIN_PATIENTS:-400} TRAIN_DUR=${TRAIN_DUR:-2h} TRAIN_STRIDE=${TRAIN_STRIDE:-20}
