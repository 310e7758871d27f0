#!/usr/bin/env bash
# Device checks for the CUDA backend, in one call on a GPU machine (under a minute on an H200 with
# prebuilt binaries; each stage's timeout bounds a hang):
#   tests/gpu/run_device_checks.sh OUT_DIR
# 1. configures and builds (Release, -DSIGMA_CUDA=ON, arch 90) the gpu tests, cuda_bench and
#    sigma-eval -- or, with SIGMA_DEVICE_PREBUILT=DIR, takes them from DIR/bin (libraries the GPU
#    machine may lack in DIR/lib), as tests/gpu/pack_prebuilt.sh packs them on a build machine:
#    GPU machines may have nvcc but not the project's Debian dependencies;
# 2. runs the gpu-labelled tests (gtest XML);
# 3. the CLI on the device: `sigma-eval generate --device cuda` on each oracle checkpoint must give
#    the CPU's greedy tokens (cli.txt), and a short `sigma-eval bench --device cuda` sweep
#    (bench-cuda.txt, bench.db);
# 4. runs cuda_bench (Google Benchmark JSON) and, where `import torch` works, the optional PyTorch
#    SDPA baseline (tests/gpu/sdpa_baseline.py);
# 5. writes nvidia-smi -q and a summary table of the targets (summary.txt), printed last.
# Every stage has a timeout; a failed stage is reported and the later ones still run.
set -u
OUT_DIR=${1:?usage: run_device_checks.sh OUT_DIR}
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${SIGMA_DEVICE_BUILD_DIR:-$ROOT/build-device}
PREBUILT=${SIGMA_DEVICE_PREBUILT:-}
BIN_LIBS=${LD_LIBRARY_PATH:-}
JOBS=$(nproc 2>/dev/null || echo 4)
LOG="$OUT_DIR/run.log"
: > "$LOG"
status_line() { echo "$1" | tee -a "$OUT_DIR/stages.txt"; }
: > "$OUT_DIR/stages.txt"
export SIGMA_TEST_DATA="$ROOT/tests/data"

echo "== device" | tee -a "$LOG"
nvidia-smi -q > "$OUT_DIR/nvidia-smi-q.txt" 2>&1 || echo "nvidia-smi -q failed" | tee -a "$LOG"
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem,driver_version --format=csv \
  2>&1 | tee -a "$LOG" "$OUT_DIR/gpu.csv"
nvcc --version > "$OUT_DIR/nvcc.txt" 2>&1 || true

echo "== build" | tee -a "$LOG"
build_ok=0
if [ -n "$PREBUILT" ]; then
  PREBUILT=$(cd "$PREBUILT" && pwd)
  TEST_BIN="$PREBUILT/bin/engine_cuda_test"
  BENCH_BIN="$PREBUILT/bin/cuda_bench"
  SIGMA_EVAL="$PREBUILT/bin/sigma-eval"
  # cuBLAS is the GPU machine's own (too large to carry): the first folder that holds it.
  cublas=$(find /usr/local /usr/lib /opt -name 'libcublas.so.1[0-9]*' 2>/dev/null | head -1)
  # Only the project's binaries see the carried libraries (python3 and torch keep their own).
  BIN_LIBS="$PREBUILT/lib${cublas:+:$(dirname "$cublas")}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "prebuilt binaries from $PREBUILT; cuBLAS: ${cublas:-not found}" | tee -a "$LOG"
  if LD_LIBRARY_PATH="$BIN_LIBS" ldd "$TEST_BIN" "$BENCH_BIN" "$SIGMA_EVAL" 2>&1 | tee -a "$LOG" |
       grep -q "not found"; then
    status_line "build: prebuilt binaries miss libraries (see run.log)"
    grep "not found" "$LOG" | sort -u
  else
    build_ok=1
    status_line "build: prebuilt (${PREBUILT})"
  fi
elif timeout 420 cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DSIGMA_CUDA=ON \
     -DSIGMA_CUDA_ARCHITECTURES=90 >> "$LOG" 2>&1 &&
   timeout 420 cmake --build "$BUILD" -j "$JOBS" --target engine_cuda_test cuda_bench sigma-eval >> "$LOG" 2>&1; then
  TEST_BIN="$BUILD/tests/gpu/engine_cuda_test"
  BENCH_BIN="$BUILD/tests/bench/cuda_bench"
  SIGMA_EVAL="$BUILD/harness/sigma-eval"
  build_ok=1
  status_line "build: ok"
else
  status_line "build: FAILED (see run.log)"
  tail -40 "$LOG"
fi

if [ "$build_ok" = 1 ]; then
  echo "== gpu tests" | tee -a "$LOG"
  # The suite takes seconds on an H200: a hang must not eat the lease (one did, 240 s).
  timeout 90 env LD_LIBRARY_PATH="$BIN_LIBS" "$TEST_BIN" --gtest_output="xml:$OUT_DIR/gtest-gpu.xml" > "$OUT_DIR/gtest-gpu.txt" 2>&1
  rc=$?
  grep -E "^\[  (FAILED|PASSED|SKIPPED) |tests ran" "$OUT_DIR/gtest-gpu.txt" | tail -25 | tee -a "$LOG"
  status_line "gpu tests: $([ $rc = 0 ] && echo ok || echo "FAILED rc=$rc (gtest-gpu.txt)")"

  echo "== sigma-eval --device cuda" | tee -a "$LOG"
  cli_ok=1
  : > "$OUT_DIR/cli.txt"
  for oracle in llama-gqa-tiny qwen2-tied-tiny sigma-diffqkv-tiny; do
    dir="$ROOT/tests/data/oracle/$oracle"
    ids=$(python3 -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['input_ids'])))" "$dir/oracle.json")
    for device in cpu cuda; do
      timeout 60 env LD_LIBRARY_PATH="$BIN_LIBS" "$SIGMA_EVAL" generate --model "$dir" --prompt-ids "$ids" --max-tokens 16 --json \
        --device "$device" > "$OUT_DIR/gen-$oracle-$device.json" 2>> "$OUT_DIR/cli.txt" || cli_ok=0
    done
    cpu=$(sed 's/.*"tokens":\(\[[^]]*\]\).*/\1/' "$OUT_DIR/gen-$oracle-cpu.json")
    gpu=$(sed 's/.*"tokens":\(\[[^]]*\]\).*/\1/' "$OUT_DIR/gen-$oracle-cuda.json")
    echo "$oracle cpu $cpu cuda $gpu" | tee -a "$OUT_DIR/cli.txt"
    if [ -z "$cpu" ] || [ "$cpu" != "$gpu" ]; then cli_ok=0; fi
  done
  status_line "generate --device cuda == cpu greedy: $([ $cli_ok = 1 ] && echo ok || echo "FAILED (cli.txt)")"
  timeout 120 env LD_LIBRARY_PATH="$BIN_LIBS" "$SIGMA_EVAL" bench --device cuda --models sigma-1.5b,gqa16 --contexts 4096,32768 \
    --batch 1,16 --reps 3 --db "$OUT_DIR/bench.db" > "$OUT_DIR/bench-cuda.txt" 2>&1
  rc=$?
  tail -12 "$OUT_DIR/bench-cuda.txt" | tee -a "$LOG"
  status_line "bench --device cuda: $([ $rc = 0 ] && echo ok || echo "rc=$rc (bench-cuda.txt)")"

  echo "== benchmarks" | tee -a "$LOG"
  timeout 180 env LD_LIBRARY_PATH="$BIN_LIBS" "$BENCH_BIN" --benchmark_out="$OUT_DIR/cuda_bench.json" \
    --benchmark_out_format=json > "$OUT_DIR/cuda_bench.txt" 2>&1
  rc=$?
  status_line "cuda_bench: $([ $rc = 0 ] && echo ok || echo "rc=$rc (timeout 124; cuda_bench.txt)")"
fi

echo "== PyTorch SDPA baseline (optional)" | tee -a "$LOG"
if python3 -c "import torch" > /dev/null 2>&1; then
  timeout 90 python3 "$ROOT/tests/gpu/sdpa_baseline.py" "$OUT_DIR/sdpa.jsonl" \
    > "$OUT_DIR/sdpa.txt" 2>&1
  rc=$?
  status_line "sdpa baseline: $([ $rc = 0 ] && echo ok || echo "rc=$rc (sdpa.txt)")"
else
  status_line "sdpa baseline: skipped (python3 -c 'import torch' fails on this machine)"
fi

python3 - "$OUT_DIR" <<'PY' > "$OUT_DIR/summary.txt" 2>&1 || echo "summary: python3 failed" > "$OUT_DIR/summary.txt"
import json, os, re, sys
out = sys.argv[1]
def load_bench():
    try:
        with open(os.path.join(out, "cuda_bench.json")) as f:
            return json.load(f).get("benchmarks", [])
    except Exception as e:
        print(f"no benchmark JSON ({e})"); return []
def args(name):
    return {k: int(v) for k, v in re.findall(r"(\w+):(\d+)", name)}
bench = load_bench()
bw = next((b.get("GB/s") for b in bench if b["name"].startswith("BM_ReadBandwidth")), None)
print(f"read bandwidth: {bw:.0f} GB/s" if bw else "read bandwidth: n/a")
att = {}
for b in bench:
    if b["name"].startswith("BM_DecodeAttention") and "error_occurred" not in b:
        a = args(b["name"]); att[(a["layout"], a["batch"], a["ctx"], a["top_k"], a["group"])] = b
print("\ndecode attention (per layer call)")
print(f"{'layout':8} {'B':>3} {'ctx':>7} {'top_k':>5} {'grp':>3} {'us':>9} {'GB/s':>7} {'%bw':>5} {'splits':>6}")
for k in sorted(att):
    b = att[k]; us = b["real_time"] if b.get("time_unit") == "us" else b["real_time"] / 1e3
    print(f"{'sigma' if k[0]==0 else 'gqa16':8} {k[1]:>3} {k[2]:>7} {k[3]:>5} {int(b.get('group',0)):>3} "
          f"{us:>9.1f} {b.get('GB/s',0):>7.0f} {b.get('pct_of_bw',0):>5.1f} {int(b.get('splits',0)):>6}")
proj = [b for b in bench if b["name"].startswith("BM_Projection") and "error_occurred" not in b]
if proj:
    print("\nprojections (bf16 weights)")
    print(f"{'out':>7} {'in':>6} {'B':>3} {'us':>9} {'GB/s':>7} {'%bw':>5}")
    for b in proj:
        a = args(b["name"])
        print(f"{a['out']:>7} {a['in']:>6} {a['batch']:>3} {b['real_time']:>9.1f} {b.get('GB/s',0):>7.0f} "
              f"{b.get('pct_of_bw',0):>5.1f}")
sdpa = {}
try:
    with open(os.path.join(out, "sdpa.jsonl")) as f:
        for line in f:
            r = json.loads(line); sdpa[(r["batch"], r["ctx"])] = r["us"]
except Exception:
    pass
layer = {}
step = {}
for b in bench:
    a = args(b["name"])
    if b["name"].startswith("BM_AttentionLayer") and "error_occurred" not in b:
        layer[(a["preset"], a["batch"])] = b.get("step_ms")
    if b["name"].startswith("BM_DecodeStep") and "error_occurred" not in b:
        step[(a["preset"], a["batch"], a["ctx"])] = b.get("step_ms")
print("\nTARGETS")
rows = []
big = [b for k, b in att.items() if k[2] >= 32768 and k[3] == 0 and k[4] == 0]
if big and bw:
    worst = min(b.get("pct_of_bw", 0) for b in big)
    rows.append(("attention >= 85% of read BW at >= 32K (worst case)", f"{worst:.1f}%", worst >= 85))
else:
    rows.append(("attention >= 85% of read BW at >= 32K", "n/a", None))
if sdpa:
    ratios = []
    for (batch, ctx), us in sorted(sdpa.items()):
        s = att.get((0, batch, ctx, 0, 0)); g = att.get((1, batch, ctx, 0, 0))
        if s: ratios.append(us / s["real_time"])
        if s and g:
            print(f"  B={batch:<2} ctx={ctx:<6} SDPA-GQA16 {us:8.1f} us | ours GQA16 {g['real_time']:8.1f} us "
                  f"({us/g['real_time']:.2f}x) | ours Sigma {s['real_time']:8.1f} us ({us/s['real_time']:.2f}x)")
    if ratios:
        rows.append(("Sigma attention >= 1.5x faster than PyTorch SDPA GQA16 (worst)", f"{min(ratios):.2f}x", min(ratios) >= 1.5))
else:
    rows.append(("Sigma attention >= 1.5x vs PyTorch SDPA GQA16", "n/a (no torch)", None))
s16 = step.get((0, 1, 16384))
rows.append(("whole decode step sigma-1.5b B=1 16K < 1.5 ms", f"{s16:.3f} ms" if s16 else "n/a", (s16 < 1.5) if s16 else None))
for batch in (1, 16):
    s, g = layer.get((0, batch)), layer.get((1, batch))
    if s and g:
        red = 100.0 * (1 - s / g)
        rows.append((f"attention layer sigma vs gqa16 64K B={batch}: >= 33.36% lower",
                     f"{s:.3f} vs {g:.3f} ms = -{red:.1f}%", red >= 33.36))
    else:
        rows.append((f"attention layer sigma vs gqa16 64K B={batch}", "n/a", None))
for name, value, ok in rows:
    print(f"{'PASS' if ok else ('FAIL' if ok is False else 'N/A '):4}  {name:62} {value}")
PY
echo
cat "$OUT_DIR/stages.txt"
echo
cat "$OUT_DIR/summary.txt"
