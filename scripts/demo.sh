#!/usr/bin/env bash
set -euo pipefail
build=${1:-build}
echo "demo: not ready yet; built $build/a2m"
"$build/a2m" help
