// How fast the host serves the read patterns the CPU decode kernels choose between, as a share of
// a plain sequential read measured right before each iteration (the host's bandwidth drifts by
// tens of percent within a minute, so each iteration is graded against its own probe pass and the
// median share is reported as pct_seq_paired). The patterns only read (sums of floats, no other
// arithmetic), 2 threads, huge pages, data from DRAM:
//   BM_GemvRows/rows:R   a 128256 x 2048 bf16 matrix (525 MB) in 1 MB tasks, R rows at a time,
//                        each tile read 64 bytes of each row in turn (R = 1: one row after the
//                        other, which is how StreamsRows reads a batch-1 GEMV; R = 8: the 8-row
//                        tiles it replaced);
//   BM_AttentionTasks/rows:N  a Sigma-1.5B layer's bf16 K and V at 16K positions (4 K heads, 16 V
//                        heads, head_dim 64), in decode-attention tasks of N positions: a task
//                        reads its K head's N rows, then the N rows of each of its 4 V heads
//                        (ChunkRows: 4096). Fast minutes (~55-60 GB/s probe; means of 50-80 runs,
//                        14 at 512): 512 rows 71%, 2048 90%, 4096 95.5%, 8192 98.6% of it. Measured
//                        and left: a task's V heads read together, a 128-byte row of each in
//                        turn (4 streams at once): 89.1% at 2048 rows and 91.2% at 4096, 2 at a
//                        time 86.1% and 91.5%, against 90.0% and 95.5% one head after another.
// An iteration's time includes its probe pass; GB/s counts the pattern's own time.
// Run: build/tests/bench/read_pattern_bench
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "engine/base/large_buffer.h"
#include "engine/cpu/read_bandwidth.h"
#include "engine/cpu/thread_pool.h"

namespace sigma {
namespace {

ThreadPool& Pool() {
  static ThreadPool pool(2);
  return pool;
}

ReadBandwidthProbe& Probe() {
  static ReadBandwidthProbe probe;
  return probe;
}

LargeBuffer& Data(size_t bytes) {
  static LargeBuffer buffer;
  if (buffer.size() < bytes) {
    buffer = LargeBuffer::Allocate(bytes, /*huge_pages=*/true).value();
    std::fill(buffer.data(), buffer.data() + bytes, uint8_t{1});
  }
  return buffer;
}

// Sum of `rows` rows `row_bytes` apart, 64 bytes of each in turn (row_bytes % 64 == 0).
__attribute__((target("avx2"))) float SumTile(const uint8_t* p, int rows, int64_t row_bytes) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0;
  for (int64_t c = 0; c < row_bytes; c += 64) {
    for (int r = 0; r < rows; ++r) {
      const float* q = reinterpret_cast<const float*>(p + r * row_bytes + c);
      a0 = _mm256_add_ps(a0, _mm256_load_ps(q));
      a1 = _mm256_add_ps(a1, _mm256_load_ps(q + 8));
    }
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(a0, a1));
  float sum = 0.0f;
  for (float v : lanes) sum += v;
  return sum;
}

// Runs `pass` once an iteration after a probe pass; reports GB/s and the median paired share.
template <class Pass>
void Measure(benchmark::State& state, double bytes, Pass pass) {
  std::vector<double> shares;
  double seconds = 0;
  for (auto _ : state) {
    const double probe = Probe().Measure(Pool(), 1);
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    seconds += s;
    shares.push_back(bytes / s / 1e9 / probe);
  }
  std::nth_element(shares.begin(), shares.begin() + static_cast<long>(shares.size() / 2),
                   shares.end());
  state.counters["GB/s"] = bytes * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["pct_seq_paired"] = 100.0 * shares[shares.size() / 2];
}

void BM_GemvRows(benchmark::State& state) {
  const int rows = static_cast<int>(state.range(0));
  constexpr int64_t kRowBytes = 2048 * 2, kRows = 128256, kTaskRows = (1 << 20) / kRowBytes;
  const uint8_t* w = Data(kRows * kRowBytes).data();
  std::vector<float> sums(2);
  Measure(state, kRows * kRowBytes, [&] {
    Pool().ParallelFor((kRows + kTaskRows - 1) / kTaskRows, [&](int64_t t, int worker) {
      const int64_t end = std::min(kRows, (t + 1) * kTaskRows);
      for (int64_t r = t * kTaskRows; r + rows <= end; r += rows) {
        sums[static_cast<size_t>(worker)] += SumTile(w + r * kRowBytes, rows, kRowBytes);
      }
    });
  });
  benchmark::DoNotOptimize(sums);
}
BENCHMARK(BM_GemvRows)->ArgName("rows")->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AttentionTasks(benchmark::State& state) {
  const int64_t chunk = state.range(0);
  constexpr int64_t kCtx = 16384, kRowBytes = 64 * 2, kNk = 4, kNv = 16, kVPerK = kNv / kNk;
  constexpr int64_t kHeadBytes = kCtx * kRowBytes;
  constexpr int64_t kLayerBytes = (kNk + kNv) * kHeadBytes;
  constexpr int kLayers = 8;  // 335 MB: past the L3 from one iteration to the next
  const uint8_t* data = Data(kLayers * kLayerBytes).data();
  const int64_t chunks = kCtx / chunk;
  std::vector<float> sums(2);
  int layer = 0;
  Measure(state, kLayerBytes, [&] {
    const uint8_t* k = data + layer * kLayerBytes;
    const uint8_t* v = k + kNk * kHeadBytes;
    Pool().ParallelFor(kNk * chunks, [&](int64_t t, int worker) {
      const int64_t kh = t / chunks, off = (t % chunks) * chunk * kRowBytes;
      float s = SumAsFloats(k + kh * kHeadBytes + off, static_cast<size_t>(chunk * kRowBytes));
      for (int64_t i = 0; i < kVPerK; ++i) {
        s += SumAsFloats(v + (kh * kVPerK + i) * kHeadBytes + off,
                         static_cast<size_t>(chunk * kRowBytes));
      }
      sums[static_cast<size_t>(worker)] += s;
    });
    layer = (layer + 1) % kLayers;
  });
  benchmark::DoNotOptimize(sums);
}
BENCHMARK(BM_AttentionTasks)
    ->ArgName("rows")
    ->Arg(512)
    ->Arg(2048)
    ->Arg(4096)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace sigma

BENCHMARK_MAIN();
