// Google Benchmark over the CUDA backend (engine/cuda/cuda_backend.h). Each case runs one
// backend benchmark, which times on the device itself (CUDA events around graph replays, median),
// and reports it as manual time plus counters: GB/s, % of the measured read bandwidth, splits.
//
//   cuda_bench --benchmark_out=cuda.json --benchmark_out_format=json
//
// Shapes: Sigma-1.5B attention 32 Q / 4 K / 16 V heads vs its GQA16 twin 32/16/16, head_dim 64,
// bf16 KV; batch 1 and 16; contexts 4K-128K. Without a device every case reports an error.
#include <benchmark/benchmark.h>

#include <string>

#include "engine/cuda/cuda_backend.h"
#include "engine/loader/model_config.h"

namespace sigma {
namespace {

double g_read_gbps = 0;  // measured by BM_ReadBandwidth (first), denominator of pct_of_bw

bool NeedDevice(benchmark::State& state) {
  if (cuda::DeviceCount() > 0) return true;
  state.SkipWithError("no CUDA device visible");
  return false;
}

void BM_ReadBandwidth(benchmark::State& state) {
  if (!NeedDevice(state)) return;
  const int64_t bytes = state.range(0) << 20;
  for (auto _ : state) {
    auto gbps = cuda::ReadBandwidthGBps(bytes, 20);
    if (!gbps.ok()) {
      state.SkipWithError(gbps.status().ToString().c_str());
      return;
    }
    g_read_gbps = *gbps;
    state.SetIterationTime(static_cast<double>(bytes) / (*gbps * 1e9));
  }
  state.counters["GB/s"] = g_read_gbps;
}
BENCHMARK(BM_ReadBandwidth)->Arg(4096)->Iterations(1)->UseManualTime()->Unit(benchmark::kMicrosecond);

// Reports a device timing (median_us, gb_per_s) as the iteration's manual time, GB/s and the
// share of the measured read bandwidth; false, with the error on the state, if it failed.
template <typename Result>
bool ReportTiming(benchmark::State& state, const StatusOr<Result>& r) {
  if (!r.ok()) {
    state.SkipWithError(r.status().ToString().c_str());
    return false;
  }
  state.SetIterationTime(r->median_us * 1e-6);
  state.counters["GB/s"] = r->gb_per_s;
  state.counters["pct_of_bw"] = g_read_gbps > 0 ? 100.0 * r->gb_per_s / g_read_gbps : 0.0;
  return true;
}

// range: out, in, batch. Sigma-1.5B's projections (qkv 2560x2048 ... lm_head 128256x2048).
void BM_Projection(benchmark::State& state) {
  if (!NeedDevice(state)) return;
  for (auto _ : state) {
    if (!ReportTiming(state, cuda::ProjectionBenchmark(state.range(0), state.range(1),
                                                       static_cast<int>(state.range(2)), 20))) {
      return;
    }
  }
}
BENCHMARK(BM_Projection)
    ->ArgNames({"out", "in", "batch"})
    ->ArgsProduct({{2048}, {2048}, {1, 4, 16}})
    ->Args({6144, 2048, 1})
    ->Args({12288, 2048, 1})
    ->Args({2048, 6144, 1})
    ->Args({2048, 3072, 1})
    ->Args({128256, 2048, 1})
    ->Args({128256, 2048, 4})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// range: (layout 0 = Sigma 32/4/16, 1 = GQA16 32/16/16), batch, context, top_k, max_group.
void BM_DecodeAttention(benchmark::State& state) {
  if (!NeedDevice(state)) return;
  cuda::DecodeAttentionBenchConfig c;
  c.n_k = state.range(0) == 0 ? 4 : 16;
  c.n_v = 16;
  c.batch = static_cast<int>(state.range(1));
  c.context = state.range(2);
  c.top_k = static_cast<int>(state.range(3));
  c.max_group = static_cast<int>(state.range(4));
  for (auto _ : state) {
    auto r = cuda::DecodeAttentionBenchmark(c);
    if (!ReportTiming(state, r)) return;
    state.counters["splits"] = r->num_splits;
    state.counters["group"] = r->max_group;
    state.counters["min_us"] = r->min_us;
  }
  state.SetLabel(state.range(0) == 0 ? "sigma-1.5b 32/4/16" : "gqa16 32/16/16");
}
void AttentionArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"layout", "batch", "ctx", "top_k", "group"});
  for (int64_t layout : {0, 1}) {
    for (int64_t batch : {1, 16}) {
      for (int64_t ctx : {4096, 16384, 32768, 65536, 131072}) b->Args({layout, batch, ctx, 0, 0});
    }
  }
  // The CUDA-core kernel (an explicit max_group) beside the default tensor-core one: Sigma in
  // groups of 4 query heads per CTA, GQA16 in groups of 2.
  for (int64_t batch : {1, 16}) {
    for (int64_t ctx : {16384, 32768, 131072}) {
      b->Args({0, batch, ctx, 0, 4});
      b->Args({1, batch, ctx, 0, 2});
    }
  }
  // Selective V top-100.
  for (int64_t batch : {1, 16}) {
    for (int64_t ctx : {16384, 65536}) b->Args({0, batch, ctx, 100, 0});
  }
}
BENCHMARK(BM_DecodeAttention)->Apply(AttentionArgs)->Iterations(1)->UseManualTime()
    ->Unit(benchmark::kMicrosecond);

// range: (preset 0 = sigma-1.5b, 1 = gqa16), batch, context, top_k.
void BM_AttentionLayer(benchmark::State& state) {
  if (!NeedDevice(state)) return;
  const char* preset = state.range(0) == 0 ? "sigma-1.5b" : "gqa16";
  auto config = ModelConfigPreset(preset);
  if (!config.ok()) {
    state.SkipWithError(config.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto r = cuda::AttentionLayerBenchmark(*config, static_cast<int>(state.range(1)),
                                           state.range(2), static_cast<int>(state.range(3)), 10);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(r->step_ms * 1e-3);
    state.counters["kv_write_us"] = r->kv_write_us;
    state.counters["attention_us"] = r->attention_us;
    state.counters["aug_q_us"] = r->aug_q_us;
    state.counters["step_ms"] = r->step_ms;
  }
  state.SetLabel(preset);
}
BENCHMARK(BM_AttentionLayer)
    ->ArgNames({"preset", "batch", "ctx", "top_k"})
    ->Args({0, 1, 65536, 0})->Args({1, 1, 65536, 0})
    ->Args({0, 16, 65536, 0})->Args({1, 16, 65536, 0})
    ->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

// range: (preset), batch, context. Whole decode step, host-observed.
void BM_DecodeStep(benchmark::State& state) {
  if (!NeedDevice(state)) return;
  const char* preset = state.range(0) == 0 ? "sigma-1.5b" : "gqa16";
  auto config = ModelConfigPreset(preset);
  if (!config.ok()) {
    state.SkipWithError(config.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    auto ms = cuda::DecodeStepBenchmarkMs(*config, static_cast<int>(state.range(1)),
                                          state.range(2), 30);
    if (!ms.ok()) {
      state.SkipWithError(ms.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(*ms * 1e-3);
    state.counters["step_ms"] = *ms;
  }
  state.SetLabel(preset);
}
BENCHMARK(BM_DecodeStep)
    ->ArgNames({"preset", "batch", "ctx"})
    ->Args({0, 1, 16384})->Args({1, 1, 16384})
    ->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sigma

BENCHMARK_MAIN();
