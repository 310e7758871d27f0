// CPU kernel benchmarks: machine read bandwidth, decode attention at Sigma-1.5B shapes (DiffQKV
// 32Q/4K/16V vs GQA16 32Q/16K/16V, head_dim 64, bf16 cache, batch 1) and at the default model's
// (SmolLM2, 9Q/3K/3V), selective V, and projection GEMVs. Attention and GEMV rotate over enough
// layers/copies that the data comes from DRAM, as in a real decode step (the L3 is 32 MiB). Each
// case reports GB/s, the read bandwidth measured right before and after it (ReadBandwidthProbe,
// "bw_GB/s", the mean) and its share of that ("pct_bw"); BM_MatMulInCache
// gives the GEMV kernels' one-thread compute rate with the weights in L2 (ns_per_block);
// BM_DiffQkvOverGqa16 times DiffQKV and GQA16 steps interleaved and reports their ratio.
// Run: build/tests/bench/engine_bench [--benchmark_filter=...]
// GCC 12 reports its own _mm512_undefined_* placeholders inside intrinsics as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "engine/base/large_buffer.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/matmul_tiles.h"
#include "engine/cpu/read_bandwidth.h"
#include "engine/cpu/spin_barrier.h"
#include "engine/cpu/thread_pool.h"
#include "engine/dtype.h"
#include "tests/bench/loop_clock.h"

namespace sigma {
namespace {

constexpr int kThreads = 2;

ThreadPool& Pool() {
  static ThreadPool pool(kThreads);
  return pool;
}

// Memory on huge pages, as the engine has it: KvCache and Model::PlaceDecodeWeights (weights in
// their file layout, or as tiles) allocate LargeBuffers (--mmap-weights, reading the file mapping
// on 4 KiB pages, is not what these grade).
struct Buffer {
  explicit Buffer(size_t bytes)
      : storage(LargeBuffer::Allocate(bytes, /*huge_pages=*/true).value()),
        size(bytes),
        data(storage.data()) {}
  LargeBuffer storage;
  size_t size;
  uint8_t* data;
};

// Random bf16 values in (-1, 1) (xorshift; fast enough for GiBs).
void FillBf16(uint8_t* p, size_t bytes, uint64_t seed) {
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  auto* out = reinterpret_cast<uint16_t*>(p);
  for (size_t i = 0; i < bytes / 2; ++i) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    const float f = static_cast<float>(static_cast<int64_t>(s >> 40) - (1 << 23)) / (1 << 23);
    out[i] = F32ToBf16(f);
  }
}

ReadBandwidthProbe& Probe() {
  static ReadBandwidthProbe probe;
  return probe;
}

// The read bandwidth around a benchmark's timed loop: begun right before it, ended in ReportBytes.
ReadBandwidthBracket BandwidthBracket() { return ReadBandwidthBracket(Probe(), Pool()); }

// GB/s of a loop that read `bytes_per_iter` per iteration in `seconds` (LoopClock), the read
// bandwidth around it (bw_GB/s; the host's bandwidth drifts by tens of percent within minutes)
// and the loop's share of it (pct_bw).
void ReportBytes(benchmark::State& state, double bytes_per_iter, double seconds,
                 ReadBandwidthBracket& bracket) {
  const double bw = bracket.End();
  state.SetBytesProcessed(static_cast<int64_t>(bytes_per_iter * state.iterations()));
  const double gbps = bytes_per_iter * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["GB/s"] = gbps;
  state.counters["bw_GB/s"] = bw;
  state.counters["pct_bw"] = 100.0 * gbps / bw;
}

// The probe itself: 2 threads over 256 MiB, one pass an iteration.
void BM_ReadBandwidth(benchmark::State& state) {
  double best = 0;
  for (auto _ : state) best = std::max(best, Probe().Measure(Pool(), 1));
  state.SetBytesProcessed(static_cast<int64_t>(Probe().bytes() * state.iterations()));
  state.counters["best_GB/s"] = best;
}
BENCHMARK(BM_ReadBandwidth)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

// ---- Decode attention ----

constexpr int kLayers = 26;  // Sigma-1.5B: one decode step walks 26 layers of cache.

// A query row of n_q heads of 64 (any fixed values: the attention reads the whole cache anyway).
std::vector<float> BenchQuery(int n_q) {
  std::vector<float> q(static_cast<size_t>(n_q) * 64);
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.37f * i);
  return q;
}

// Caches for kLayers layers of one sequence with `ctx` positions, bf16, head_dim 64.
struct LayerCaches {
  LayerCaches(int n_k, int n_v, int64_t ctx)
      : k_bytes(static_cast<size_t>(n_k) * ctx * 64 * 2),
        v_bytes(static_cast<size_t>(n_v) * ctx * 64 * 2),
        buf((k_bytes + v_bytes) * kLayers) {
    FillBf16(buf.data, buf.size, 42);
  }
  KvLayerView Layer(int l, int64_t ctx) const {
    const uint8_t* base = buf.data + (k_bytes + v_bytes) * l;
    return {DType::kBF16, base, base + k_bytes, ctx};
  }
  size_t k_bytes, v_bytes;
  Buffer buf;
};

// Args: n_q, n_k, n_v, context, top_k (0 = dense); head_dim 64.
void BM_DecodeAttention(benchmark::State& state) {
  const int n_q = static_cast<int>(state.range(0));
  const int n_k = static_cast<int>(state.range(1));
  const int n_v = static_cast<int>(state.range(2));
  const int64_t ctx = state.range(3);
  const int top_k = static_cast<int>(state.range(4));
  const AttentionShape shape{n_q, n_k, n_v, 64, 0.125f};
  LayerCaches caches(n_k, n_v, ctx);
  const std::vector<float> q = BenchQuery(n_q);
  std::vector<float> out(n_q * 64);
  ReadBandwidthBracket bandwidth = BandwidthBracket();
  int layer = 0;
  const bench::LoopClock clock;
  for (auto _ : state) {
    const DecodeItem item{q.data(), caches.Layer(layer, ctx), ctx, out.data()};
    DecodeAttention(shape, std::span<const DecodeItem>(&item, 1), top_k, Pool());
    layer = (layer + 1) % kLayers;
  }
  // Bytes the dense kernel must read: all of K and V. Selective V reads K plus top_k V rows per
  // query head; report it against the dense byte count so the time is comparable.
  ReportBytes(state, static_cast<double>(caches.k_bytes + caches.v_bytes), clock.Seconds(),
              bandwidth);
  state.counters["bytes_read_MB"] =
      (top_k > 0 ? caches.k_bytes + n_q * top_k * 128.0 : caches.k_bytes + caches.v_bytes) / 1e6;
}
BENCHMARK(BM_DecodeAttention)
    ->ArgNames({"n_q", "n_k", "n_v", "ctx", "top_k"})
    ->Args({32, 4, 16, 1024, 0})
    ->Args({32, 16, 16, 1024, 0})
    ->Args({32, 4, 16, 4096, 0})
    ->Args({32, 16, 16, 4096, 0})
    ->Args({32, 4, 16, 16384, 0})
    ->Args({32, 16, 16, 16384, 0})
    ->Args({32, 4, 16, 16384, 100})
    // The default model, SmolLM2-135M (9 query heads over 3 K/V heads), at 512 and 4K.
    ->Args({9, 3, 3, 512, 0})
    ->Args({9, 3, 3, 4096, 0})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The decode attention as Model's decode team runs it (model_decode_team.cc): the pool's threads
// enter once per step and walk the kLayers layers together, a spin barrier between layers, each
// member running its planned share (DecodeAttentionTeam). An iteration is one step of kLayers
// layers (layer_us: a layer's time). BM_DecodeAttention above measures DecodeAttention instead:
// one ParallelFor per layer, whose tasks the threads claim as they come.
// Args: n_q, n_k, n_v, context; head_dim 64.
void BM_DecodeAttentionTeam(benchmark::State& state) {
  const int n_q = static_cast<int>(state.range(0));
  const int n_k = static_cast<int>(state.range(1));
  const int n_v = static_cast<int>(state.range(2));
  const int64_t ctx = state.range(3);
  const AttentionShape shape{n_q, n_k, n_v, 64, 0.125f};
  LayerCaches caches(n_k, n_v, ctx);
  const std::vector<float> q = BenchQuery(n_q);
  std::vector<float> out(n_q * 64);
  std::vector<DecodeItem> layers;
  for (int l = 0; l < kLayers; ++l) {
    layers.push_back({q.data(), caches.Layer(l, ctx), ctx, out.data()});
  }
  const int members = Pool().size();
  DecodeAttentionTeam team;
  team.Plan(shape, std::span<const DecodeItem>(&layers[0], 1), members);
  SpinBarrier barrier(members);
  ReadBandwidthBracket bandwidth = BandwidthBracket();
  const bench::LoopClock clock;
  for (auto _ : state) {
    Pool().ParallelFor(members, [&](int64_t task, int) {
      const int m = static_cast<int>(task);
      for (const DecodeItem& layer : layers) {
        barrier.Wait(m, /*watch=*/false);
        team.Run(m, std::span<const DecodeItem>(&layer, 1));
      }
      barrier.Wait(m, /*watch=*/false);
    });
  }
  const double seconds = clock.Seconds();
  ReportBytes(state, static_cast<double>(caches.k_bytes + caches.v_bytes) * kLayers, seconds,
              bandwidth);
  state.counters["layer_us"] = seconds / kLayers / static_cast<double>(state.iterations()) * 1e6;
}
BENCHMARK(BM_DecodeAttentionTeam)
    ->ArgNames({"n_q", "n_k", "n_v", "ctx"})
    ->Args({32, 4, 16, 16384})
    ->Args({32, 16, 16, 16384})
    ->Args({9, 3, 3, 512})
    ->Args({9, 3, 3, 4096})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// DiffQKV against GQA16 at one context, interleaved: each iteration times one layer step of each
// (alternating which goes first), so both see the same host. On a host whose bandwidth drifts by
// tens of percent within minutes, the two separate BM_DecodeAttention cases above can be graded
// minutes apart; here the ratio ("gqa16_over_diffqkv", the median of the per-iteration ratios) is
// measured pair by pair. Also: each one's median ms, its share of the bandwidth bracketing the
// run, and its share paired per iteration with a probe pass run just before the two steps
// (*_pct_bw_paired, medians): the steadier figure where the host's bandwidth moves.
void BM_DiffQkvOverGqa16(benchmark::State& state) {
  const int64_t ctx = state.range(0);
  const AttentionShape diffqkv{32, 4, 16, 64, 0.125f}, gqa16{32, 16, 16, 64, 0.125f};
  LayerCaches diffqkv_caches(4, 16, ctx), gqa16_caches(16, 16, ctx);
  const std::vector<float> q = BenchQuery(32);
  std::vector<float> out(32 * 64);
  const auto step = [&](const AttentionShape& shape, const LayerCaches& caches, int layer) {
    const DecodeItem item{q.data(), caches.Layer(layer, ctx), ctx, out.data()};
    const auto t0 = std::chrono::steady_clock::now();
    DecodeAttention(shape, std::span<const DecodeItem>(&item, 1), 0, Pool());
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<double> diffqkv_ms, gqa16_ms, ratios, diffqkv_share, gqa16_share;
  const double diffqkv_bytes = static_cast<double>(diffqkv_caches.k_bytes + diffqkv_caches.v_bytes);
  const double gqa16_bytes = static_cast<double>(gqa16_caches.k_bytes + gqa16_caches.v_bytes);
  ReadBandwidthBracket bandwidth = BandwidthBracket();
  int layer = 0;
  for (auto _ : state) {
    const double probe_gbps = Probe().Measure(Pool(), 1);  // this iteration's bandwidth
    const bool diffqkv_first = state.iterations() % 2 == 0;
    const double first = step(diffqkv_first ? diffqkv : gqa16,
                              diffqkv_first ? diffqkv_caches : gqa16_caches, layer);
    const double second = step(diffqkv_first ? gqa16 : diffqkv,
                               diffqkv_first ? gqa16_caches : diffqkv_caches, layer);
    diffqkv_ms.push_back(diffqkv_first ? first : second);
    gqa16_ms.push_back(diffqkv_first ? second : first);
    ratios.push_back(gqa16_ms.back() / diffqkv_ms.back());
    diffqkv_share.push_back(diffqkv_bytes / (diffqkv_ms.back() * 1e6) / probe_gbps);
    gqa16_share.push_back(gqa16_bytes / (gqa16_ms.back() * 1e6) / probe_gbps);
    layer = (layer + 1) % kLayers;
  }
  const double bw = bandwidth.End();
  const auto median = [](std::vector<double> v) {
    std::nth_element(v.begin(), v.begin() + static_cast<long>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  const double d = median(diffqkv_ms), g = median(gqa16_ms);
  state.counters["diffqkv_ms"] = d;
  state.counters["gqa16_ms"] = g;
  state.counters["gqa16_over_diffqkv"] = median(ratios);
  state.counters["bw_GB/s"] = bw;
  state.counters["diffqkv_pct_bw"] = 100.0 * diffqkv_bytes / (d * 1e6) / bw;
  state.counters["gqa16_pct_bw"] = 100.0 * gqa16_bytes / (g * 1e6) / bw;
  // Paired shares: each step against the probe pass just before it, median over iterations.
  state.counters["diffqkv_pct_bw_paired"] = 100.0 * median(diffqkv_share);
  state.counters["gqa16_pct_bw_paired"] = 100.0 * median(gqa16_share);
}
BENCHMARK(BM_DiffQkvOverGqa16)
    ->ArgNames({"ctx"})
    ->Arg(16384)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(4.0);

// ---- Projection GEMV / small-batch GEMM ----

// Weight dtype argument: 0 f32, 1 f16, 2 bf16, 3 q8_0, 4 q4_1, 5 q4_k, 6 q6_k, 7 q5_k, 8 mxfp4,
// 9 iq4_nl, 10 iq4_xs, 11 q5_0, 12 q5_1.
DType WeightDType(int64_t arg) {
  const DType dtypes[] = {DType::kF32,    DType::kF16,  DType::kBF16, DType::kQ8_0,  DType::kQ4_1,
                          DType::kQ4_K,   DType::kQ6_K, DType::kQ5_K, DType::kMXFP4, DType::kIQ4_NL,
                          DType::kIQ4_XS, DType::kQ5_0, DType::kQ5_1};
  return dtypes[arg];
}

size_t WeightBytes(DType dtype, int64_t out, int64_t in) {
  return static_cast<size_t>(in / DTypeBlockSize(dtype) * DTypeBlockBytes(dtype) * out);
}

// Random weights of `dtype` with finite, small values (quantized blocks: scale 0.01; Q4_K's and
// Q5_K's dmin too; Q6_K's d is its last 2 bytes; MXFP4's exponent byte 2^-7; IQ4's d 1e-4).
void FillWeights(Buffer& buf, DType dtype, uint64_t seed) {
  FillBf16(buf.data, buf.size, seed);
  if (dtype == DType::kMXFP4) {
    for (size_t b = 0; b < buf.size; b += DTypeBlockBytes(dtype)) buf.data[b] = 120;
  } else if (DTypeIsQuantized(dtype)) {
    const uint16_t h = F32ToF16(dtype == DType::kIQ4_NL || dtype == DType::kIQ4_XS ? 1e-4f : 0.01f);
    for (size_t b = 0; b < buf.size; b += DTypeBlockBytes(dtype)) {
      std::memcpy(buf.data + b + (dtype == DType::kQ6_K ? 208 : 0), &h, 2);
      if (dtype == DType::kQ4_K || dtype == DType::kQ5_K || dtype == DType::kQ5_1) {
        std::memcpy(buf.data + b + 2, &h, 2);  // dmin, m
      }
    }
  } else if (dtype == DType::kF16) {
    for (size_t i = 0; i < buf.size; i += 2) buf.data[i + 1] &= 0x3b;
  } else if (dtype == DType::kF32) {
    for (size_t i = 0; i < buf.size; i += 4) buf.data[i + 3] &= 0x3f;
  }
}

// A weight view of `bytes` at `data`.
TensorView WeightView(DType dtype, int64_t out, int64_t in, const uint8_t* data, size_t bytes) {
  TensorView w;
  w.dtype = dtype;
  w.shape = {out, in};
  w.data = data;
  w.nbytes = bytes;
  return w;
}

// Where this CPU's GEMV reads them, the tile copies of `views` packed one after another into one
// huge-page buffer, as Model does at load; the views point to them. Returns the buffer.
LargeBuffer PackTiles(std::vector<TensorView>& views) {
  if (views.empty() || !MatMulUsesTiles(views[0])) return {};
  const size_t each = (MatMulTilesBytes(views[0]) + 63) / 64 * 64;
  LargeBuffer tiles = LargeBuffer::Allocate(each * views.size(), /*huge_pages=*/true).value();
  for (size_t i = 0; i < views.size(); ++i) {
    PackMatMulTiles(views[i], {tiles.data() + each * i, MatMulTilesBytes(views[i])});
    views[i].parts = {tiles.data() + each * i};
    views[i].parts_are_tiles = true;
  }
  return tiles;
}

// Args: out, in, dtype (WeightDType), batch, tiles (1: with the tile copy Model makes for Q4_0 /
// Q4_1 / Q8_0 / Q4_K / Q6_K where the integer kernels run; 0: the GGUF row layout).
void BM_MatMul(benchmark::State& state) {
  const int64_t out = state.range(0), in = state.range(1), batch = state.range(3);
  const DType dtype = WeightDType(state.range(2));
  const size_t bytes = WeightBytes(dtype, out, in);
  // Enough copies that one pass over them exceeds the L3 several times.
  const size_t copies = std::max<size_t>(1, (size_t{256} << 20) / bytes);
  Buffer buf(bytes * copies);
  FillWeights(buf, dtype, 7);
  std::vector<TensorView> views;
  for (size_t c = 0; c < copies; ++c) {
    views.push_back(WeightView(dtype, out, in, buf.data + bytes * c, bytes));
  }
  const LargeBuffer tiles = state.range(4) != 0 ? PackTiles(views) : LargeBuffer();
  std::vector<float> x(batch * in), y(batch * out);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * i);
  ReadBandwidthBracket bandwidth = BandwidthBracket();
  size_t c = 0;
  const bench::LoopClock clock;
  for (auto _ : state) {
    MatMul(views[c], x.data(), batch, nullptr, y.data(), Pool());
    c = (c + 1) % copies;
  }
  const double seconds = clock.Seconds();
  ReportBytes(state, static_cast<double>(bytes), seconds, bandwidth);
  state.counters["GMAC/s"] =
      static_cast<double>(out * in * batch) * static_cast<double>(state.iterations()) / seconds / 1e9;
}
BENCHMARK(BM_MatMul)
    ->ArgNames({"out", "in", "dtype", "batch", "tiles"})
    ->Args({2048, 2048, 2, 1, 0})
    ->Args({6144, 2048, 2, 1, 0})
    ->Args({2048, 6144, 2, 1, 0})
    ->Args({128256, 2048, 2, 1, 0})
    ->Args({2048, 2048, 0, 1, 0})
    ->Args({2048, 2048, 1, 1, 0})
    ->Args({2048, 2048, 3, 1, 1})
    ->Args({2048, 2048, 4, 1, 1})
    // SmolLM2-135M (the default model, Q4_1): attention (576 x 576), FFN up and down, and its
    // tied Q8_0 embedding as lm_head; with the tile copy and without.
    ->Args({576, 576, 4, 1, 1})
    ->Args({1536, 576, 4, 1, 1})
    ->Args({576, 1536, 4, 1, 1})
    ->Args({49152, 576, 3, 1, 1})
    ->Args({576, 576, 4, 1, 0})
    ->Args({1536, 576, 4, 1, 0})
    ->Args({576, 1536, 4, 1, 0})
    ->Args({49152, 576, 3, 1, 0})
    // K-quants (Q4_K_M models: Q4_K with Q6_K for some FFN down and the output matrices).
    ->Args({6144, 2048, 5, 1, 1})
    ->Args({6144, 2048, 6, 1, 1})
    ->Args({6144, 2048, 6, 1, 0})
    ->Args({6144, 2048, 2, 4, 0})
    ->Args({6144, 2048, 2, 16, 0})
    // Prefill: SmolLM2's FFN up projection for 64 prompt tokens, integer tiles and f32 kernels.
    ->Args({1536, 576, 4, 64, 1})
    ->Args({1536, 576, 4, 64, 0})
    // gpt-oss-20b's experts: an expert's gate (or up) and down, MXFP4, on the integer tile
    // kernel (as placed for decode) and on the float kernel.
    ->Args({2880, 2880, 8, 1, 1})
    ->Args({2880, 2880, 8, 1, 0})
    ->Args({2880, 2880, 8, 4, 1})
    // IQ4_NL and IQ4_XS (llama.cpp's IQ4 files), tiles and float kernels.
    ->Args({6144, 2048, 9, 1, 1})
    ->Args({6144, 2048, 9, 1, 0})
    ->Args({6144, 2048, 10, 1, 1})
    ->Args({6144, 2048, 10, 1, 0})
    // Q5_0 and Q5_1 (llama.cpp's fallbacks for Q4_K and Q5_K where rows are not whole
    // super-blocks: most of a 576-wide SmolLM2's Q4_K_M file), tiles and float kernels.
    ->Args({1536, 576, 11, 1, 1})
    ->Args({1536, 576, 11, 1, 0})
    ->Args({1536, 576, 12, 1, 1})
    ->Args({1536, 576, 12, 1, 0})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

// The GEMV kernel's compute rate without DRAM: one thread, the same weights (a few hundred KB, in
// L2) every iteration. ns_per_block is per weight block of 32 (Q8_0 / Q4_1) or per 32 elements;
// with DRAM streaming a kernel cannot beat threads x this rate, so it bounds the out-of-cache
// cases above. Args: out, in, dtype, tiles as BM_MatMul (batch 1).
void BM_MatMulInCache(benchmark::State& state) {
  const int64_t out = state.range(0), in = state.range(1);
  const DType dtype = WeightDType(state.range(2));
  const size_t bytes = WeightBytes(dtype, out, in);
  Buffer buf(bytes);
  FillWeights(buf, dtype, 11);
  std::vector<float> x(in), y(out);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.11f * i);
  std::vector<TensorView> views = {WeightView(dtype, out, in, buf.data, bytes)};
  const LargeBuffer tiles = state.range(3) != 0 ? PackTiles(views) : LargeBuffer();
  const TensorView& w = views[0];
  static ThreadPool one(1);
  const bench::LoopClock clock;
  for (auto _ : state) {
    MatMul(w, x.data(), 1, nullptr, y.data(), one);
    benchmark::DoNotOptimize(y.data());
  }
  const double seconds = clock.Seconds(), iters = static_cast<double>(state.iterations());
  state.counters["ns_per_block"] = seconds * 1e9 / iters / (static_cast<double>(out) * in / 32);
  state.counters["GB/s"] = static_cast<double>(bytes) * iters / seconds / 1e9;
}
BENCHMARK(BM_MatMulInCache)
    ->ArgNames({"out", "in", "dtype", "tiles"})
    ->Args({256, 576, 4, 1})
    ->Args({256, 1536, 4, 1})
    ->Args({256, 2048, 4, 1})
    ->Args({256, 576, 3, 1})
    ->Args({256, 576, 4, 0})
    ->Args({256, 1536, 4, 0})
    ->Args({256, 576, 3, 0})
    ->Args({256, 2048, 2, 0})
    ->Args({256, 2048, 5, 1})
    ->Args({256, 2048, 6, 1})
    ->Args({256, 2048, 6, 0})
    ->Args({256, 2048, 7, 1})
    ->Args({256, 2048, 7, 0})
    ->Args({256, 2880, 8, 1})
    ->Args({256, 2880, 8, 0})
    ->Args({256, 2048, 9, 1})
    ->Args({256, 2048, 9, 0})
    ->Args({256, 2048, 10, 1})
    ->Args({256, 2048, 10, 0})
    ->Args({256, 2048, 11, 1})
    ->Args({256, 2048, 11, 0})
    ->Args({256, 2048, 12, 1})
    ->Args({256, 2048, 12, 0})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace sigma

BENCHMARK_MAIN();
