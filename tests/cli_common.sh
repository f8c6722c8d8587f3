# The shared part of every CLI shell test (tests/test_cli_*.sh, test_hostile.sh, ...), sourced first thing:
#   . "${BASH_SOURCE%/*}/cli_common.sh"
# It sets bin (the a2m under test: $A2M_BIN, as CTest sets it, else build/a2m), src (the source tree), shared
# (../shared: $A2M_SHARED) and tmp (a fresh folder, removed on exit unless KEEP is set; at_exit adds a command
# to run before), and gives the checks: expect_ok, expect_fail, ok/bad counting, finish. Not run on its own.
set -u
cli_test=$(basename "$0" .sh) # test_cli_compare
src=${A2M_SOURCE:-$(cd "${BASH_SOURCE[0]%/*}/.." && pwd)}
bin=${A2M_BIN:-$src/build/a2m}
if [ ! -x "$bin" ]; then echo "FAIL: no a2m at $bin (CTest sets A2M_BIN)"; exit 1; fi
shared=${A2M_SHARED:-../shared}
tmp=$(mktemp -d "/tmp/a2m_$cli_test.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
cli_exit_cmds=()
at_exit() { cli_exit_cmds+=("$1"); } # at_exit 'COMMAND': run on exit, before tmp is removed
cli_on_exit() {
  local c
  for c in ${cli_exit_cmds[@]+"${cli_exit_cmds[@]}"}; do eval "$c"; done
  if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cli_on_exit EXIT

# require_shared PATH...: the whole test needs these under ../shared: exit 77 (skipped) naming the first missing
require_shared() {
  local p
  for p in "$@"; do
    [ -e "$shared/$p" ] || { echo "SKIP: $shared/$p not found (shared data; set A2M_SHARED)"; exit 77; }
  done
}
# have_shared WHAT PATH...: true when all are there, else says that the part WHAT is skipped
have_shared() {
  local what=$1 p; shift
  for p in "$@"; do
    [ -e "$shared/$p" ] || { echo "SKIP $what: $shared/$p not found"; return 1; }
  done
}

fails=0 passes=0
ok() { passes=$((passes + 1)); }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
# finish: the counts, and the exit status (0 only when something passed and nothing failed)
finish() {
  echo "$cli_test: $passes passed, $fails failed"
  [ "$fails" -eq 0 ] && [ "$passes" -gt 0 ] && exit 0
  exit 1
}

# sanitizer_report FILE: true when FILE holds an AddressSanitizer/UBSan/LeakSanitizer report
sanitizer_report() { grep -qE '^(==[0-9]+==ERROR: |SUMMARY: [A-Za-z]+Sanitizer|.*: runtime error: )' "$1"; }

# expect_ok COMMAND...: exit 0 and no sanitizer report; its standard output in $tmp/out.txt, errors in $tmp/err.txt
expect_ok() {
  "$@" >"$tmp/out.txt" 2>"$tmp/err.txt"
  local rc=$?
  if [ "$rc" -ne 0 ]; then bad "$* -> exit $rc: $(tail -n 3 "$tmp/err.txt")"; return 1; fi
  if sanitizer_report "$tmp/err.txt"; then bad "$*: sanitizer report: $(head -c 600 "$tmp/err.txt")"; return 1; fi
  ok
}

# one_error_line FILE: FILE (a failed run's standard error) is one line, the error "a2m: ..." (not a warning),
# which is left in $tmp/err_line.txt. Set in the environment, for the commands that print these before failing:
# LOG_OK=1 lets lines before it be progress ("features: 3/9 ...") or information ("a2m train: 2 train takes"),
# LOG_OK=batch also progress after it (a batch goes on after one bad file); WARN_OK=1 lets lines before it be
# warnings ("a2m: warning: ...").
one_error_line() {
  local lines=$tmp/err_lines.txt
  tr '\r' '\n' <"$1" | sed '/^$/d' >"$lines"
  grep '^a2m: ' "$lines" | grep -v '^a2m: warning: ' >"$tmp/err_line.txt"
  [ "$(wc -l <"$tmp/err_line.txt")" -eq 1 ] || return 1
  if [ -z "${LOG_OK:-}" ] && [ -z "${WARN_OK:-}" ]; then
    [ "$(wc -l <"$1")" -eq 1 ]
    return
  fi
  local before='^(a2m [a-z]+: |[a-z]+: [0-9]+/[0-9]+ )' after='^[a-z]+: [0-9]+/[0-9]+ '
  [ -n "${LOG_OK:-}" ] || before='^$'
  [ "${LOG_OK:-}" = batch ] || after='^$'
  [ -z "${WARN_OK:-}" ] || before="$before|^a2m: warning: "
  awk -v before="$before" -v after="$after" '/^a2m: / && !/^a2m: warning: / { seen = 1; next }
    { if (!seen && $0 !~ before || seen && $0 !~ after) bad = 1 } END { exit bad }' "$lines"
}

# expect_fail CODE NAME OUTPUT -- COMMAND...: the command exits CODE (1: bad input, 2: usage; never a crash:
# >= 128), prints no sanitizer report, and for 1 exactly one error line (one_error_line); NAME (the file the
# message must name, or "" for none) is in that line (for 2, in the usage message); nothing whose path starts
# with OUTPUT ("" for none) is left behind. Standard output in $tmp/out.txt, errors in $tmp/err.txt.
expect_fail() {
  local code=$1 name=$2 output=$3
  [ "$4" = -- ] || { bad "expect_fail $*: usage: CODE NAME OUTPUT -- COMMAND..."; return 1; }
  shift 4
  "$@" >"$tmp/out.txt" 2>"$tmp/err.txt"
  local rc=$?
  if [ "$rc" -ge 128 ]; then bad "$* -> CRASH (exit $rc): $(head -c 600 "$tmp/err.txt")"; return 1; fi
  if [ "$rc" -ne "$code" ]; then bad "$* -> exit $rc, expected $code ($(head -c 600 "$tmp/err.txt"))"; return 1; fi
  if sanitizer_report "$tmp/err.txt"; then bad "$*: sanitizer report: $(head -c 600 "$tmp/err.txt")"; return 1; fi
  local said=$tmp/err.txt
  if [ "$code" -eq 1 ]; then
    if ! one_error_line "$tmp/err.txt"; then bad "$*: not one error line: $(head -c 600 "$tmp/err.txt")"; return 1; fi
    said=$tmp/err_line.txt # the error line itself must name it
  fi
  if ! grep -qF -- "$name" "$said"; then bad "$*: message does not name '$name': $(cat "$tmp/err.txt")"; return 1; fi
  if [ -n "$output" ] && ls -d "$output"* >/dev/null 2>&1; then bad "$*: left $(ls -d "$output"*)"; return 1; fi
  ok
}

# synth_takes DIR COUNT SECOND [ARG...]: COUNT synthetic takes DIR/voice_00I.wav + midi_00I.mid (4 s, --seed I),
# each two notes: 60 + 4 (I mod 3) from 0.3 to 1.6 s, then SECOND from 2.0 to 3.5 s: a MIDI number, or
# "moving" for 64 + 3 (I mod 2); ARGs go to the synth of the voice (--transpose -12: sung an octave down)
synth_takes() {
  local dir=$1 count=$2 second=$3 i n2
  shift 3
  mkdir -p "$dir"
  for ((i = 1; i <= count; i++)); do
    n2=$second
    [ "$second" != moving ] || n2=$((64 + 3 * (i % 2)))
    expect_ok "$bin" synth --notes "$((60 + 4 * (i % 3))):0.3-1.6,$n2:2.0-3.5" --write-midi "$dir/midi_00$i.mid" \
      -o "$tmp/synth_takes.wav" --force
    expect_ok "$bin" synth "$dir/midi_00$i.mid" "$@" --duration 4 --seed "$i" -o "$dir/voice_00$i.wav"
  done
  rm -f "$tmp/synth_takes.wav"
}
# split_six FILE: the split of six such takes: 001-004 train, 005 val, 006 test
split_six() {
  echo '{"train": ["voice_001", "voice_002", "voice_003", "voice_004"], "val": ["voice_005"], "test": ["voice_006"]}' >"$1"
}
