#!/usr/bin/env bash
# Optuna 3.1 (Debian's python3-optuna) on bench_search's objectives, beside a2m's figures (docs/search.md).
if ! /usr/bin/python3 -c "import optuna" 2>/dev/null; then echo "search_optuna: python3-optuna not installed: skipped"; exit 0; fi
nice /usr/bin/python3 "$(dirname "$0")/search_optuna.py" "${SEARCH_TRIALS:-50}" "${SEARCH_SEEDS:-40}"
