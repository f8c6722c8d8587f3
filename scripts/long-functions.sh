#!/usr/bin/env bash
# Lists the C functions in src/ longer than 80 lines (signature to closing brace), the rule of issue 13: a function
# over 80 lines must carry, in the comment just above it, the words "over 80" or "over the 80" and the reason.
# tests/test_long_functions.sh runs it in `make test`.
#   scripts/long-functions.sh            every .c under src/ (tracked or not); exit 1 when one is long without a reason
#   scripts/long-functions.sh --all      also lists the long functions whose comment says why (exit as above)
#   scripts/long-functions.sh FILE...    these files
# Reads the tree as clang-format writes it (.clang-format): a function's signature starts in column 0 and its body
# ends with a `}` in column 0; a brace-counting awk, no ctags needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
all=0
if [ "${1:-}" = --all ]; then all=1; shift; fi
if [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(cd "$root" && find src -name '*.c' | sort)
  cd "$root"
fi
[ ${#files[@]} -gt 0 ] || { echo "long-functions: no files" >&2; exit 2; }
awk -v all="$all" -v max=80 '
  FNR == 1 { sig = 0; inbody = 0; cmt = ""; incmt = 0 }
  # the comment block just above a signature (reset by any other line)
  !inbody && !sig && /^\/\*/ { cmt = $0; incmt = !/\*\//; next }
  !inbody && !sig && incmt { cmt = cmt " " $0; if (/\*\//) incmt = 0; next }
  !inbody && !sig && /^[A-Za-z_]/ && /\(/ && !/;[ \t]*$/ && !/=/ && !/^(typedef|struct|enum|union)[ \t][^(]*$/ {
    sig = 1; start = FNR; name = $0; sub(/\(.*/, "", name); n = split(name, w, /[ \t*]+/); name = w[n]
    why = cmt; cmt = ""
  }
  sig && !inbody {
    if (/;[ \t]*$/ && !/\{/) { sig = 0; next }          # a prototype
    if (/\{[ \t]*(\/\*.*\*\/)?[ \t]*$/) {
      inbody = 1
      if (/\}[ \t]*$/ && /^[A-Za-z_]/) { inbody = 0; sig = 0 }  # one-line function
      next
    }
    next
  }
  inbody && /^\}/ {
    len = FNR - start + 1; inbody = 0; sig = 0
    if (len > max) {
      ok = (why ~ /[Oo]ver (the )?80/)
      if (!ok) { printf "%s:%d: %s is %d lines (over %d, no comment above it says why)\n", FILENAME, start, name, len, max; bad++ }
      else if (all) printf "%s:%d: %s is %d lines (the comment above it says why)\n", FILENAME, start, name, len
      if (ok) good++
    }
    next
  }
  !inbody && !sig { cmt = "" }
  END {
    printf "long-functions: %d files, %d functions over %d lines without a reason, %d with one\n", ARGC - 1, bad, max, good
    exit bad > 0
  }
' "${files[@]}"
