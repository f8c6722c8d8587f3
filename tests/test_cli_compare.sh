#!/usr/bin/env bash
# CLI tests of `a2m compare`: two folders paired by base name (hand-computed
# per-file and mean scores, a missing estimate, an unpaired estimate, .mid
# preferred over .csv), --csv rows, --json, --skip-missing, usage errors, bad
# files, write errors on standard output (/dev/full), 50,000 vs 50,000 notes
# (bounded matching), and singreal against itself.
. "${BASH_SOURCE%/*}/cli_common.sh"

# json_check FILE PYTHON_EXPRESSION_OF_d: the document parses and the expression is true
json_check() {
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); n=lambda a,b: abs(a-b)<1e-6; sys.exit(0 if ($2) else 1)" "$1" \
    && ok || bad "json check failed: $2 on $(head -c 2000 "$1")"
}

# --- made-up folders; scores by hand (mir_eval: onset 50 ms, pitch 50 cents, offset max(0.2 x length, 50 ms)) ---
# a: 3 reference notes found exactly plus one extra estimate at 5 s: P 3/4, R 1, F 6/7 = 0.857143 in all three.
# b: reference 60:0-1, 62:1-2, 64:2-3, 65:3-4; estimate (b.mid) 60:0-1 (all), 62:1-1.5 (offset 0.5 > 0.2 off:
#    COnP, COn), 66:2-3 (pitch wrong: COn), 65:3.5-4 (onset 0.5 off: none): COnPOff 1/4, COnP 2/4, COn 3/4
#    (P = R = F). est/b.csv is the reference itself: .mid is preferred, so b scoring 1.0 would be a defect.
# c: no estimate: 0 in the mean. est/d.csv: no reference: ignored with a warning.
# Means over a, b, c: COnPOff P (.75+.25)/3 = .333333, R (1+.25)/3 = .416667, F (.857143+.25)/3 = .369048;
# COnP P (.75+.5)/3 = .416667, R (1+.5)/3 = .5, F (.857143+.5)/3 = .452381;
# COn P (.75+.75)/3 = .5, R (1+.75)/3 = .583333, F (.857143+.75)/3 = .535714.
mkdir -p "$tmp/ref" "$tmp/est"
printf 'onset,offset,pitch\n0,0.5,60\n1,1.5,62\n2,2.5,64\n' >"$tmp/ref/a.csv"
printf '0,0.5,60\n1,1.5,62\n2,2.5,64\n5,5.5,67\n' >"$tmp/est/a.csv"
printf '0,1,60\n1,2,62\n2,3,64\n3,4,65\n' >"$tmp/ref/b.csv"
cp "$tmp/ref/b.csv" "$tmp/est/b.csv"
"$bin" synth --notes "60:0-1,62:1-1.5,66:2-3,65:3.5-4" -o "$tmp/b.wav" --write-midi "$tmp/est/b.mid" >/dev/null || bad "synth b.mid"
printf '0,1,60\n2,3,62\n' >"$tmp/ref/c.csv"
printf '0,1,60\n' >"$tmp/est/d.csv"
printf 'not notes\n' >"$tmp/ref/README.md"   # other files are not inputs
mkdir "$tmp/ref/sub.mid"                      # nor are folders

"$bin" compare "$tmp/ref" "$tmp/est" >"$tmp/table.txt" 2>"$tmp/err.txt"; rc=$?
[ $rc -eq 0 ] && ok || bad "folder compare exit $rc: $(cat "$tmp/err.txt")"
grep -Eq '^a +3 +4 +0\.8571 +0\.8571 +0\.8571$' "$tmp/table.txt" && ok || bad "row a: $(cat "$tmp/table.txt")"
grep -Eq '^b +4 +4 +0\.2500 +0\.5000 +0\.7500$' "$tmp/table.txt" && ok || bad "row b (.mid preferred): $(cat "$tmp/table.txt")"
grep -Eq '^c +2 +- +0\.0000 +0\.0000 +0\.0000  missing \(counts as 0\)$' "$tmp/table.txt" && ok || bad "row c: $(cat "$tmp/table.txt")"
grep -Eq '^d ' "$tmp/table.txt" && bad "d has no reference: $(cat "$tmp/table.txt")" || ok
grep -q '^mean over 3 files' "$tmp/table.txt" && ok || bad "mean header: $(cat "$tmp/table.txt")"
grep -Eq '^COnPOff +0\.3333 +0\.4167 +0\.3690$' "$tmp/table.txt" && ok || bad "mean COnPOff: $(cat "$tmp/table.txt")"
grep -Eq '^COnP +0\.4167 +0\.5000 +0\.4524$' "$tmp/table.txt" && ok || bad "mean COnP: $(cat "$tmp/table.txt")"
grep -Eq '^COn +0\.5000 +0\.5833 +0\.5357$' "$tmp/table.txt" && ok || bad "mean COn: $(cat "$tmp/table.txt")"
grep -q "est/d.csv: no reference d" "$tmp/err.txt" && ok || bad "no warning for d: $(cat "$tmp/err.txt")"
grep -q "ref/c.csv: no estimate c" "$tmp/err.txt" && ok || bad "no warning for c: $(cat "$tmp/err.txt")"

# --json: the means, the files (missing c included with a null estimate), n_files, missing
"$bin" compare "$tmp/ref" "$tmp/est" --json >"$tmp/f.json" 2>/dev/null || bad "folder --json"
json_check "$tmp/f.json" "d['n_files'] == 3 and d['missing'] == ['c'] and [f['name'] for f in d['files']] == ['a', 'b', 'c']"
json_check "$tmp/f.json" "n(d['mean']['COnPOff']['precision'], 1/3) and n(d['mean']['COnPOff']['recall'], 1.25/3) and n(d['mean']['COnPOff']['f1'], (6/7+.25)/3)"
json_check "$tmp/f.json" "n(d['mean']['COnP']['precision'], 1.25/3) and n(d['mean']['COnP']['recall'], .5) and n(d['mean']['COnP']['f1'], (6/7+.5)/3)"
json_check "$tmp/f.json" "n(d['mean']['COn']['precision'], .5) and n(d['mean']['COn']['recall'], 1.75/3) and n(d['mean']['COn']['f1'], (6/7+.75)/3)"
json_check "$tmp/f.json" "d['files'][1]['estimate'].endswith('est/b.mid') and d['files'][2]['estimate'] is None and d['files'][0]['est_notes'] == 4"
json_check "$tmp/f.json" "n(d['files'][0]['COnP']['precision'], .75) and n(d['files'][0]['COnP']['recall'], 1) and n(d['files'][1]['COn']['f1'], .75)"
# --skip-missing: over a and b only; c still listed as missing
"$bin" compare "$tmp/ref" "$tmp/est" --json --skip-missing >"$tmp/s.json" 2>/dev/null || bad "--skip-missing"
json_check "$tmp/s.json" "d['n_files'] == 2 and d['missing'] == ['c'] and len(d['files']) == 2"
json_check "$tmp/s.json" "n(d['mean']['COnPOff']['f1'], (6/7+.25)/2) and n(d['mean']['COnP']['recall'], .75) and n(d['mean']['COn']['precision'], .75)"
# --transpose-ref: a MIDI written an octave above the singing (as Prueba.mid) scores 0 on pitch as it is, 1 moved
printf 'onset_s,offset_s,midi_pitch\n0.5,1.0,60\n1.5,2.0,64\n' >"$tmp/oct_ref.csv"
printf 'onset_s,offset_s,midi_pitch\n0.5,1.0,48\n1.5,2.0,52\n' >"$tmp/oct_est.csv"
"$bin" compare "$tmp/oct_ref.csv" "$tmp/oct_est.csv" --json >"$tmp/o1.json" 2>/dev/null || bad "compare octave pair"
json_check "$tmp/o1.json" "d['COnP']['f1'] == 0 and d['COn']['f1'] == 1"
"$bin" compare "$tmp/oct_ref.csv" "$tmp/oct_est.csv" --json --transpose-ref -12 >"$tmp/o2.json" 2>/dev/null || bad "--transpose-ref -12"
json_check "$tmp/o2.json" "d['COnP']['f1'] == 1 and d['COnPOff']['f1'] == 1"
expect_fail 2 "" "" -- "$bin" compare "$tmp/oct_ref.csv" "$tmp/oct_est.csv" --transpose-ref 60
# the tolerances apply to every pair: at 0.6 s b's estimate 65:3.5-4 finds its reference (COn 4/4)
"$bin" compare "$tmp/ref" "$tmp/est" --json --onset-tolerance 0.6 >"$tmp/t.json" 2>/dev/null || bad "--onset-tolerance"
json_check "$tmp/t.json" "n(d['files'][1]['COn']['f1'], 1) and n(d['files'][0]['COn']['f1'], 6/7)"
# the one-pair JSON keeps its shape
"$bin" compare "$tmp/ref/b.csv" "$tmp/est/b.mid" --json >"$tmp/p.json" || bad "pair --json"
json_check "$tmp/p.json" "sorted(d) == ['COn', 'COnP', 'COnPOff'] and sorted(d['COn']) == ['average_overlap', 'f1', 'precision', 'recall'] and n(d['COnP']['f1'], .5)"

# --csv: one row per counted file, written atomically; kept unless --force; never onto an input
"$bin" compare "$tmp/ref" "$tmp/est" --csv "$tmp/per_file.csv" >/dev/null 2>&1 || bad "--csv"
cat >"$tmp/want.csv" <<'EOF'
name,ref_notes,est_notes,COnPOff_precision,COnPOff_recall,COnPOff_f1,COnP_precision,COnP_recall,COnP_f1,COn_precision,COn_recall,COn_f1,missing
a,3,4,0.750000,1.000000,0.857143,0.750000,1.000000,0.857143,0.750000,1.000000,0.857143,0
b,4,4,0.250000,0.250000,0.250000,0.500000,0.500000,0.500000,0.750000,0.750000,0.750000,0
c,2,0,0.000000,0.000000,0.000000,0.000000,0.000000,0.000000,0.000000,0.000000,0.000000,1
EOF
cmp -s "$tmp/per_file.csv" "$tmp/want.csv" && ok || bad "--csv content: $(diff "$tmp/want.csv" "$tmp/per_file.csv")"
expect_fail 1 "$tmp/per_file.csv" "" -- "$bin" compare "$tmp/ref" "$tmp/est" --csv "$tmp/per_file.csv"
"$bin" compare "$tmp/ref" "$tmp/est" --skip-missing --csv "$tmp/per_file.csv" --force >/dev/null 2>&1 || bad "--csv --force"
[ "$(wc -l <"$tmp/per_file.csv")" -eq 3 ] && ! grep -q '^c,' "$tmp/per_file.csv" && ok || bad "--skip-missing --csv: $(cat "$tmp/per_file.csv")"
expect_fail 1 "$tmp/ref/a.csv" "" -- "$bin" compare "$tmp/ref" "$tmp/est" --csv "$tmp/ref/a.csv" --force
cmp -s "$tmp/ref/a.csv" <(printf 'onset,offset,pitch\n0,0.5,60\n1,1.5,62\n2,2.5,64\n') && ok || bad "an input was overwritten"
# a name with a comma and a quote is one quoted CSV field
mkdir "$tmp/qr" "$tmp/qe"
printf '0,1,60\n' >"$tmp/qr/x, \"y\".csv"; cp "$tmp/qr/x, \"y\".csv" "$tmp/qe/"
"$bin" compare "$tmp/qr" "$tmp/qe" --csv "$tmp/q.csv" >/dev/null || bad "quoted name"
python3 -c "import csv,sys; r=list(csv.reader(open(sys.argv[1]))); sys.exit(0 if r[1][0]=='x, \"y\"' and r[1][-4]=='1.000000' else 1)" "$tmp/q.csv" \
  && ok || bad "quoted CSV name: $(cat "$tmp/q.csv")"

# --- usage errors and bad inputs ---
"$bin" compare --help | grep -q "REF_DIR EST_DIR" && ok || bad "compare --help"
"$bin" compare --help | grep -q ".mid is taken" && ok || bad "--help says .mid is preferred"
expect_fail 2 "" "" -- "$bin" compare "$tmp/ref" "$tmp/est/a.csv"
expect_fail 2 "" "" -- "$bin" compare "$tmp/ref/a.csv" "$tmp/est"
expect_fail 2 "" "" -- "$bin" compare "$tmp/ref/a.csv" "$tmp/est/a.csv" --csv "$tmp/x.csv"
expect_fail 2 "" "" -- "$bin" compare "$tmp/ref/a.csv" "$tmp/est/a.csv" --skip-missing
expect_fail 2 "" "" -- "$bin" compare --frames "$tmp/ref" "$tmp/est"
expect_fail 2 "" "" -- "$bin" compare "$tmp/ref" "$tmp/est" --list
expect_fail 2 "" "" -- "$bin" compare "$tmp/ref" "$tmp/est" --csv -
expect_fail 2 "" "" -- "$bin" compare "$tmp/ref" "$tmp/est" --csv
expect_fail 2 "" "" -- "$bin" compare "$tmp/ref" "$tmp/est" --onset-tolerance -1
[ -e "$tmp/x.csv" ] && bad "usage error left $tmp/x.csv" || ok
mkdir "$tmp/empty"
expect_fail 1 "$tmp/empty" "" -- "$bin" compare "$tmp/empty" "$tmp/est"
expect_fail 1 "$tmp/nothere" "" -- "$bin" compare "$tmp/ref" "$tmp/nothere/"
expect_fail 1 "$tmp/nothere" "" -- "$bin" compare "$tmp/nothere" "$tmp/est"
mkdir "$tmp/none"
expect_fail 1 "no reference has an estimate" "" -- "$bin" compare "$tmp/ref" "$tmp/none" --skip-missing
# a broken file fails the whole comparison (a silently dropped file would bias the mean), naming it; no --csv left
mkdir "$tmp/bad"; cp "$tmp/ref/"*.csv "$tmp/bad/"; printf '0,1,sixty\n' >"$tmp/bad/b.csv"
expect_fail 1 "$tmp/bad/b.csv" "$tmp/bad.csv" -- "$bin" compare "$tmp/bad" "$tmp/est" --csv "$tmp/bad.csv"
[ -e "$tmp/bad.csv" ] && bad "failed compare left $tmp/bad.csv" || ok
expect_fail 1 "$tmp/bad/b.csv" "" -- "$bin" compare "$tmp/est" "$tmp/bad"
# --frames: a label no class can be (negative, 2^63 - 1: the class count overflowed) is refused naming its file
python3 - "$tmp" <<'PY'
import struct, sys
def npy(path, values):
    h = b"{'descr': '<i8', 'fortran_order': False, 'shape': (%d,), }" % len(values)
    h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
    data = struct.pack("<%dq" % len(values), *values)
    open(path, "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + data)
npy(sys.argv[1] + "/lab_ok.npy", [0, 1, 2, 1])
npy(sys.argv[1] + "/lab_max.npy", [0, 1, 2**63 - 1, 1])
npy(sys.argv[1] + "/lab_neg.npy", [0, -1, 2, 1])
PY
expect_fail 1 "$tmp/lab_max.npy: label 9223372036854775807 at frame 2" "" -- \
  "$bin" compare --frames "$tmp/lab_ok.npy" "$tmp/lab_max.npy"
expect_fail 1 "$tmp/lab_neg.npy: label -1 at frame 1" "" -- "$bin" compare --frames "$tmp/lab_neg.npy" "$tmp/lab_ok.npy"
expect_fail 1 "$tmp/lab_ok.npy: label 2 at frame 2 is outside 0..1 (--classes)" "" -- \
  "$bin" compare --frames "$tmp/lab_ok.npy" "$tmp/lab_ok.npy" --classes 2
expect_ok "$bin" compare --frames "$tmp/lab_ok.npy" "$tmp/lab_ok.npy" --json
grep -q '"accuracy": 1' "$tmp/out.txt" && ok || bad "--frames of a label file with itself: $(head -c 300 "$tmp/out.txt")"

# --- standard output write errors: exit 1, one line naming standard output and the reason ---
full_check() {
  "$@" >/dev/full 2>"$tmp/err.txt"; local rc=$?
  [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/err.txt")" -eq 1 ] &&
    grep -q "^a2m: standard output: write error: No space left on device$" "$tmp/err.txt" && ok ||
    bad "$* > /dev/full: exit $rc, $(cat "$tmp/err.txt")"
}
if [ -w /dev/full ]; then
  full_check "$bin" compare "$tmp/qr" "$tmp/qe"
  full_check "$bin" compare "$tmp/qr" "$tmp/qe" --json
  full_check "$bin" compare "$tmp/ref/b.csv" "$tmp/est/b.mid"
  full_check "$bin" compare "$tmp/ref/b.csv" "$tmp/est/b.mid" --json
  full_check "$bin" compare --help
else
  echo "SKIP /dev/full checks: no writable /dev/full"
fi

# --- 50,000 vs 50,000 notes: the matching is bounded (the old n x n matrix took 35 s for 5,000) ---
# reference i: onset 0.03 i, 20 ms, pitch 60 + i % 5; estimate i, for i % 10 != 0: 10 ms later, 20 ms, the
# same pitch, except i % 10 == 5: pitch + 3 (no reference of that pitch within 50 ms) and i % 10 == 7: offset
# 0.2 s later. Each estimate's onset is within 50 ms of references i-1, i, i+1, so COn needs real matching.
# 45,000 estimates; COn 45,000 matched: P 1, R .9; COnP 40,000: P 8/9, R .8; COnPOff 35,000: P 7/9, R .7.
awk 'BEGIN { for (i = 0; i < 50000; i++) printf "%.3f,%.3f,%d\n", 0.03 * i, 0.03 * i + 0.02, 60 + i % 5 }' >"$tmp/big_ref.csv"
awk 'BEGIN { for (i = 0; i < 50000; i++) if (i % 10) printf "%.3f,%.3f,%d\n", 0.03 * i + 0.01, 0.03 * i + 0.03 + (i % 10 == 7 ? 0.2 : 0), 60 + i % 5 + (i % 10 == 5 ? 3 : 0) }' >"$tmp/big_est.csv"
"$bin" compare "$tmp/big_ref.csv" "$tmp/big_est.csv" --json >"$tmp/big.json" || bad "50,000 notes"
json_check "$tmp/big.json" "n(d['COn']['precision'], 1) and n(d['COn']['recall'], .9) and n(d['COn']['f1'], 1.8/1.9)"
json_check "$tmp/big.json" "n(d['COnP']['precision'], 8/9) and n(d['COnP']['recall'], .8) and n(d['COnPOff']['precision'], 7/9) and n(d['COnPOff']['recall'], .7)"

# a maximum matching, not a greedy one: reference 1 (0.10-0.50) matches both estimates, reference 2 (0.12-0.42)
# only the first (0.11-0.45; the second, 0.13-0.52, ends 0.10 after it, past its 0.06 offset tolerance). Taking
# the first estimate for reference 1 leaves reference 2 without one: COnPOff 1/2; the augmenting path gives 2/2.
printf '0.10,0.50,60\n0.12,0.42,60\n' >"$tmp/aug_ref.csv"
printf '0.11,0.45,60\n0.13,0.52,60\n' >"$tmp/aug_est.csv"
"$bin" compare "$tmp/aug_ref.csv" "$tmp/aug_est.csv" --json >"$tmp/aug.json" || bad "augmenting case"
json_check "$tmp/aug.json" "n(d['COnPOff']['f1'], 1) and n(d['COnP']['f1'], 1)"

# --- real data: singreal against itself is perfect ---
if have_shared "singreal check" data/singreal; then
  "$bin" compare "$shared/data/singreal" "$shared/data/singreal" --json >"$tmp/sr.json" 2>"$tmp/err.txt" || bad "singreal: $(cat "$tmp/err.txt")"
  json_check "$tmp/sr.json" "d['n_files'] == 18 and d['missing'] == [] and all(n(d['mean'][m][k], 1) for m in ('COnPOff', 'COnP', 'COn') for k in ('precision', 'recall', 'f1'))"
fi

ls "$tmp"/*.tmp.* "$tmp"/*/*.tmp.* >/dev/null 2>&1 && bad "temporary files left" || ok
finish
