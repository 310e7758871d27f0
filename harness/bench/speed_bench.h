// SpeedBench: the engine's speed sweep behind `sigma-eval bench` (like llama-bench: warm-up,
// repetitions, mean and standard deviation), over model configs x batch sizes x context lengths.
//
// Decode at context length L is measured on a KV cache filled with L synthetic positions
// (Model::FillSyntheticContext), so a 32K-context figure does not need a 32K-token prefill; every
// repetition starts from the same length. Each row also carries the attention-layer share of the
// step (KV write and read, attention kernels, augmented-Q MLP), the quantity the paper's DiffQKV
// claim is about, the bytes a step must read (weights + KV cache) and, for decode, the machine's
// read bandwidth measured by a ReadBandwidthProbe (best of three passes) right before each
// repetition: each repetition's bytes/s is graded against the probe before it and the row reports
// the medians, so the share is graded against what the host gave at that moment.
// Thread safety: not thread-safe.
#ifndef SIGMA_HARNESS_BENCH_SPEED_BENCH_H_
#define SIGMA_HARNESS_BENCH_SPEED_BENCH_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/model.h"

namespace sigma::bench {

struct SpeedConfig {
  std::vector<int64_t> contexts = {1024, 4096, 16384, 32768};
  std::vector<int64_t> batches = {1};
  int64_t warmup = 1;          // untimed repetitions
  int64_t repetitions = 5;
  int64_t decode_steps = 4;    // decode steps per repetition
  int64_t prompt_tokens = 64;  // prefill measurement (0 = skip)
  int threads = 0;
  std::string kv_dtype = "bf16";
  int selective_v = 0;
  int64_t read_bandwidth_mib = 256;  // probe buffer for read_gbps; 0 = do not measure

  Status Validate() const;
};

struct SpeedRow {
  std::string model;        // label (preset or path)
  std::string phase;        // "decode" or "prefill"
  int64_t context = 0;      // positions already in the cache
  int64_t batch = 1;
  int64_t repetitions = 0;
  double tokens_per_s_mean = 0;
  double tokens_per_s_std = 0;
  double ms_per_token = 0;       // per step for decode (all sequences advance one token)
  double attention_ms = 0;       // per step: attention + augmented Q (paper's attention layer)
  double bytes_per_step = 0;     // weights + KV read by one step
  std::string kv_dtype;
  int selective_v = 0;
  double read_gbps = 0;   // decode: median of the probe passes before the repetitions (0: none)
  double read_share = 0;  // decode: median over repetitions of bytes/s over the pass before (0: none)
  // decode: the same shares' mean and sample std (compare's Welch test between sessions)
  double read_share_mean = 0;
  double read_share_std = 0;

  // 100 * read_share.
  double PercentOfReadBandwidth() const;
};

// Progress lines go to `log` (may be empty).
using ProgressLog = std::function<void(const std::string&)>;

// Runs the sweep for one loaded model. The model must have been created with
// max_sequences >= max(batches) and max_context >= max(contexts) + decode_steps.
StatusOr<std::vector<SpeedRow>> RunSpeedSweep(Model& model, const std::string& label,
                                              const SpeedConfig& config, const ProgressLog& log);

// Bytes of weights one decode step of one row reads (every matrix once, of a mixture's experts
// as many as a token runs; one embedding row).
double WeightBytesPerStep(const ModelWeights& weights);

// Bytes of K and V one sequence's decode step at `context` positions reads: every position in a
// layer that attends to all of them, the window's in a sliding-window layer.
double KvBytesPerStep(const Model& model, int64_t context);

}  // namespace sigma::bench

#endif  // SIGMA_HARNESS_BENCH_SPEED_BENCH_H_
