#!/usr/bin/env bats
# pipelines/wustl-ehms.sh on a small generated CSV with the exact
# WUSTL-EHMS-2020 header: normal and attack rows, space-padded strings,
# heavy-tailed network fields, some vitals 0.
load helper

# N rows: spoofing (attacker's address and MAC, traffic up) in rows
# 200-239 and 600-639; data alteration (vitals changed) in 330-379 and
# 700-749.  DstGap, dMaxPktSz, dMinPktSz, Trans and pDstLoss are constant.
wustl_csv() {
    echo 'Dir,Flgs,SrcAddr,DstAddr,Sport,Dport,SrcBytes,DstBytes,SrcLoad,DstLoad,SrcGap,DstGap,SIntPkt,DIntPkt,SIntPktAct,DIntPktAct,SrcJitter,DstJitter,sMaxPktSz,dMaxPktSz,sMinPktSz,dMinPktSz,Dur,Trans,TotPkts,TotBytes,Load,Loss,pLoss,pSrcLoss,pDstLoss,Rate,SrcMac,DstMac,Packet_num,Temp,SpO2,Pulse_Rate,SYS,DIA,Heart_rate,Resp_Rate,ST,Attack Category,Label'
    awk -v n="$1" 'BEGIN {
        srand(42)
        for (r = 0; r < n; r++) {
            spoof = (r >= 200 && r < 240) || (r >= 600 && r < 640)
            alter = (r >= 330 && r < 380) || (r >= 700 && r < 750)
            ln = exp(1.5 * (rand() + rand() + rand() - 1.5))       # heavy-tailed factor
            sb = int(496 * ln * (spoof ? 12 : 1)); db = int(186 * ln)
            load = sb * 8 / (0.01 + rand() * 0.05); rate = (spoof ? 80 : 3) * ln
            temp = 36.6 + rand() * 0.8; spo2 = 95 + int(rand() * 4); pr = 70 + int(rand() * 15)
            sys = 115 + int(rand() * 15); dia = 70 + int(rand() * 10); hr = pr; rr = 14 + int(rand() * 6)
            if (alter) { temp += 3; spo2 -= 12; hr += 45; pr += 45; sys += 40 }
            if (r % 37 == 5) spo2 = 0                                   # sensor drop-outs
            if (r % 53 == 7) { hr = 0; pr = 0 }
            src = spoof ? "10.0.1.150" : "10.0.1.172"; mac = spoof ? "00:0c:29:9a:b1:e2" : "5c:26:0a:02:d9:5b"
            cat = spoof ? "Spoofing" : alter ? "Data Alteration" : "normal"
            printf "  ->  , e        ,%-15s,10.0.1.181     ,%d,1111,%d,%d,%.3f,%.3f,%d,0,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%d,%d,66,%.6f,1,%d,%d,%.3f,%d,%.4f,%.4f,0,%.4f,%s,   00:0c:29:1f:6e:d6,%d,%.1f,%d,%d,%d,%d,%d,%d,%.2f,%s,%d\n",
                src, 50000 + r, sb, db, load, db * 8 / 0.03, int(rand() * 3), ln * 10, ln * 9, ln * 3, ln * 2.5,
                ln * 40, ln * 30, 496 * (1 + int(rand() * 2)), 186, 60 + int(rand() * 7), ln * 0.02,
                4 + int(ln * 2), sb + db, load * 1.2, int(rand() < 0.1), rand() * 0.5, rand() * 0.3, rate,
                mac, 1000 + r, temp, spo2, pr, sys, dia, hr, rr, 0.2 + rand() * 0.2, cat, spoof || alter
        }
    }'
}

@test "wustl-ehms.sh: ingests, drops identifiers, trains on early normal rows, prints the table" {
    wustl_csv 1000 > "$T/w.csv"
    [ "$(head -1 "$T/w.csv" | awk -F, '{ print NF }')" -eq 45 ]
    run env KEEP=1 EPOCHS=20 RF_TREES=20 OPENBLAS_NUM_THREADS=1 \
        sh "$VIGIL_ROOT/pipelines/wustl-ehms.sh" "$T/w.csv" "$T/out"
    assert_success
    assert_output --partial "dropped: SrcAddr,DstAddr,Sport,Dport,SrcMac,DstMac,Packet_num,Dir,Flgs,DstGap,dMaxPktSz,dMinPktSz,Trans,pDstLoss"
    # 60 % of 1000 rows = 600 learning rows, 510 of them normal: 382 train,
    # 128 validation; 400 test rows
    assert_output --partial "382 training, 128 validation, 400 test windows"
    assert_line --regexp '^model +accuracy +precision +recall +specificity +F1 +ROC AUC +PR AUC$'
    for m in VAE 'Random Forest' HMM IForest; do
        assert_line --regexp "^$m +[0-9.]+ +([0-9.]+|-) +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$"
    done
    [ -s "$T/out/compare.png" ]
    # no identifier reaches a model; zero vitals are missing readings, not 0;
    # the training stream has no attack rows and only rows of the first 60 %
    vigil-cat --to json < "$T/out/data/train.mp" > "$T/train.json"
    run jq -s '[.[] | .v | keys[]] | unique | map(select(test("Sport|Dport|Packet_num|Mac|Addr|DstGap"))) | length' "$T/train.json"
    assert_output 0
    run jq -s '[.[] | select(.v.SpO2 == 0 or .v.Heart_rate == 0)] | length' "$T/train.json"
    assert_output 0
    run jq -s '[.[] | select(.v.SpO2 == null)] | length > 5' "$T/train.json"
    assert_output true
    run jq -s '[.[] | select(.label != 0 or .t > 600)] | length' "$T/train.json"
    assert_output 0
    run jq -s '[.[] | select(.t <= 600)] | length' <(vigil-cat --to json < "$T/out/data/test.mp")
    assert_output 0
    # the test rows carry the attack kinds through to the report
    run jq -r '.per_kind[].kind' "$T/out/vae.json"
    assert_output --partial "Spoofing"
    assert_output --partial "Data Alteration"
    # the attacks here are gross: every unsupervised model ranks them well
    for m in vae hmm iforest; do
        run jq '.pointwise.roc_auc > 0.8' "$T/out/$m.json"
        assert_output true
    done
}

@test "wustl-ehms.sh: usage and bad input" {
    run sh "$VIGIL_ROOT/pipelines/wustl-ehms.sh"
    assert_failure 2
    assert_output --partial "usage: wustl-ehms.sh FILE.csv"
    run sh "$VIGIL_ROOT/pipelines/wustl-ehms.sh" "$T/none.csv"
    assert_failure 1
    assert_output --partial "cannot read"
    printf 'a,b\n1,2\n' > "$T/bad.csv"
    run sh "$VIGIL_ROOT/pipelines/wustl-ehms.sh" "$T/bad.csv" "$T/o"
    assert_failure 1
    assert_output --partial "no Label or Attack Category column"
}
