#!/usr/bin/env bash
# Builds sigma-eval and runs the test suite (CPU tests: labels unit and e2e).
# Usage: bash scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build -L 'unit|e2e' --output-on-failure -j"$jobs" "$@"
