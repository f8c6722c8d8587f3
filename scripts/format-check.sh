#!/usr/bin/env bash
# Checks C files against .clang-format (120 columns, 4 spaces, braces as the code writes them) without changing
# them; tests/test_format.sh runs it in `make test` (the whole tree is formatted: run clang-format -i on what you touch).
#   scripts/format-check.sh                  every tracked .c/.h
#   scripts/format-check.sh --since main     the .c/.h files changed since main (committed or not)
#   scripts/format-check.sh FILE...          these files
# Prints per file the lines clang-format would change and the lines over 120 columns, then the totals; exit 1
# when anything would change (clang-format -i FILE applies it) or a line is over 120 columns (clang-format
# leaves some comments long: wrap them by hand). Needs clang-format (Debian: apt-get install clang-format;
# version 14 reads this .clang-format).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
command -v clang-format >/dev/null || { echo "format-check: clang-format is not installed (apt-get install clang-format)" >&2; exit 2; }
if [ "${1:-}" = --since ]; then
  [ $# -eq 2 ] || { echo "usage: $0 [--since REF | FILE...]" >&2; exit 2; }
  mapfile -t files < <({ git diff --name-only "$(git merge-base "$2" HEAD)" -- '*.c' '*.h'; git ls-files --others --exclude-standard -- '*.c' '*.h'; } | sort -u)
elif [ $# -gt 0 ]; then
  files=("$@")
else
  mapfile -t files < <(git ls-files -- '*.c' '*.h')
fi
changed=0 long=0 bad=0
for f in "${files[@]}"; do
  [ -f "$f" ] || continue
  n=$(clang-format --style=file "$f" | diff -- "$f" - | grep -c '^<' || true)
  # columns, not bytes: the comments carry UTF-8 (×, ≥, ─►)
  l=$(LC_ALL=C.UTF-8 awk '{ gsub(/\t/, "    "); if (length($0) > 120) c++ } END { print c + 0 }' "$f")
  if [ "$n" -gt 0 ] || [ "$l" -gt 0 ]; then
    printf '%6d lines to reformat %5d over 120 columns  %s\n' "$n" "$l" "$f"
  fi
  changed=$((changed + n)); long=$((long + l)); [ "$n" -gt 0 ] && bad=$((bad + 1))
done
echo "format-check: ${#files[@]} files, $bad to reformat ($changed lines), $long lines over 120 columns"
[ "$bad" -eq 0 ] && [ "$long" -eq 0 ] # a line over 120 columns fails too (clang-format leaves some comments long)
