#!/usr/bin/env bash
# The tree is formatted by .clang-format (clang-format 14, 120 columns): scripts/format-check.sh finds nothing to
# change in any tracked .c/.h. Skips (77) without clang-format 14 (another version formats differently) or
# outside a git checkout.
set -euo pipefail
: "${A2M_SOURCE:?}"
command -v clang-format >/dev/null || { echo "SKIP: clang-format is not installed"; exit 77; }
clang-format --version | grep -q 'version 14\.' || { echo "SKIP: clang-format is not version 14 ($(clang-format --version))"; exit 77; }
git -C "$A2M_SOURCE" rev-parse --git-dir >/dev/null 2>&1 || { echo "SKIP: $A2M_SOURCE is not a git checkout"; exit 77; }
bash "$A2M_SOURCE/scripts/format-check.sh"
