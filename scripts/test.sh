#!/usr/bin/env bash
# Builds sigma-eval and runs the test suite (CPU tests: labels unit and e2e).
# Usage: bash scripts/test.sh [extra ctest args]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
ctest --test-dir build -L 'unit|e2e' --output-on-failure -j"$(nproc)" "$@"
