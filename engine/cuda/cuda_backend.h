// The CUDA backend's entry points as seen by the rest of the engine: device discovery, the
// CudaModel (cuda_model.h) and the attention/bandwidth benchmarks behind `sigma-eval bench
// --device cuda` and tests/bench/cuda_bench. In a build without CUDA (cuda_backend_none.cc) every
// function reports UNAVAILABLE, so callers need no #ifdefs. No CUDA header is included here.
// Thread safety: each function is self-contained (own stream and buffers); call from one thread at
// a time per device.
#ifndef SIGMA_ENGINE_CUDA_CUDA_BACKEND_H_
#define SIGMA_ENGINE_CUDA_CUDA_BACKEND_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/cuda/cuda_model.h"
#include "engine/loader/model_config.h"

namespace sigma::cuda {

// True when this binary was built with the CUDA backend.
bool Compiled();

// Describes the first visible device ("NVIDIA H200, 139 GiB, sm_90"), or UNAVAILABLE naming why
// (not compiled, no device, driver error).
StatusOr<std::string> DescribeDevice();

// Number of visible devices; 0 when none or when the driver cannot be queried.
int DeviceCount();

// --- Benchmarks (device time from CUDA events around graph replays; medians) ---

// Streaming read of `bytes` (>= 4 GiB recommended): GB/s of bytes read (1 GB = 1e9 bytes).
StatusOr<double> ReadBandwidthGBps(int64_t bytes, int iterations);

struct DecodeAttentionBenchConfig {
  int n_q = 32;
  int n_k = 4;
  int n_v = 16;
  int head_dim = 64;
  int batch = 1;
  int64_t context = 4096;  // positions attended per sequence
  int top_k = 0;           // selective V
  int max_group = 0;       // 0 = automatic
  int num_splits = 0;      // 0 = automatic
  int iterations = 20;
};

struct DecodeAttentionBenchResult {
  double median_us = 0;    // one attention call (all kernels), per layer
  double min_us = 0;
  double bytes = 0;        // K and V bytes a dense call must read (selective: K + top_k V rows)
  double gb_per_s = 0;     // bytes / median
  int num_splits = 0;
  int max_group = 0;
};

// Attention only (split + combine, or scores + top-k gather), bf16 cache, caches rotated over
// enough copies to exceed four times the L2.
StatusOr<DecodeAttentionBenchResult> DecodeAttentionBenchmark(const DecodeAttentionBenchConfig& c);

// One projection y = W x for `batch` rows, W bf16 [out][in] (Gemm: the GEMV kernel up to 4 rows,
// cuBLAS above), weights rotated over enough copies to exceed four times the L2.
struct ProjectionBenchResult {
  double median_us = 0;
  double min_us = 0;
  double gb_per_s = 0;  // weight bytes / median
};
StatusOr<ProjectionBenchResult> ProjectionBenchmark(int64_t out, int64_t in, int batch, int iterations);

// The paper's "attention layer" (§3.3): KV write (RoPE + append), attention kernels and the
// augmented-Q MLP, per decode step of one model (all layers), batch rows at `context`.
struct AttentionLayerBenchResult {
  double kv_write_us = 0;   // per layer
  double attention_us = 0;  // per layer
  double aug_q_us = 0;      // per layer (0 without augmented Q)
  double step_ms = 0;       // (kv_write + attention + aug_q) * num_layers
};
StatusOr<AttentionLayerBenchResult> AttentionLayerBenchmark(const ModelConfig& config, int batch,
                                                            int64_t context, int top_k,
                                                            int iterations);

// Whole decode step (embedding to argmax, CUDA graph) of a random-weight model with `context`
// cached positions per sequence (selective V with `top_k` > 0), host-observed: every timed step
// (after 3 untimed ones) and their median.
struct DecodeStepBenchResult {
  double median_ms = 0;
  std::vector<double> step_ms;  // [iterations] in run order
};
StatusOr<DecodeStepBenchResult> DecodeStepBenchmark(const ModelConfig& config, int batch,
                                                    int64_t context, int top_k, int iterations);
// The median of DecodeStepBenchmark with dense attention.
StatusOr<double> DecodeStepBenchmarkMs(const ModelConfig& config, int batch, int64_t context,
                                       int iterations);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_CUDA_BACKEND_H_
