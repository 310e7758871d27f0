#!/usr/bin/env bash
# Packs the binaries tests/gpu/run_device_checks.sh needs, built here with the CUDA backend, for a
# GPU machine that has the CUDA driver and cuBLAS but not the project's Debian dependencies:
#   tests/gpu/pack_prebuilt.sh BUILD_DIR DEST_DIR
# DEST_DIR/bin: engine_cuda_test, cuda_bench, sigma-eval (stripped); DEST_DIR/lib: the shared
# libraries they load except glibc's and cuBLAS's (hundreds of MB; the GPU machine's own is
# used), libstdc++ included (the GPU machine's may be older), loaded by these binaries alone. Then, there:
#   SIGMA_DEVICE_PREBUILT=DEST_DIR tests/gpu/run_device_checks.sh OUT_DIR
set -euo pipefail
BUILD=${1:?usage: pack_prebuilt.sh BUILD_DIR DEST_DIR}
DEST=${2:?usage: pack_prebuilt.sh BUILD_DIR DEST_DIR}
bins=("$BUILD/tests/gpu/engine_cuda_test" "$BUILD/tests/bench/cuda_bench" "$BUILD/harness/sigma-eval")
for b in "${bins[@]}"; do
  [[ -x "$b" ]] || { echo "pack_prebuilt: $b missing: build engine_cuda_test cuda_bench sigma-eval first" >&2; exit 1; }
done
rm -rf "$DEST"
mkdir -p "$DEST/bin" "$DEST/lib"
for b in "${bins[@]}"; do
  strip -o "$DEST/bin/$(basename "$b")" "$b"
done
ldd "${bins[@]}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u | while read -r lib; do
  case $(basename "$lib") in
    libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|libcublas*) ;;
    *) cp -L "$lib" "$DEST/lib/" ;;
  esac
done
du -sh "$DEST"; ls "$DEST/lib"
