// CudaModel: the forward pass of a Llama-family or Sigma (DiffQKV) model on one CUDA device, the
// GPU twin of engine/model.h's Model: both implement ForwardModel (engine/forward_model.h), so
// generation, log-likelihood and the harness run on either (LoadForwardModel picks by device).
//
// Weights are uploaded once (bf16 by default, or f32) with q/k/v, gate/up and the augmented-Q
// gate/up fused into single GEMMs; the KV cache lives on the device as separate K and V buffers
// with their own head counts, [layer][seq][head][pos][head_dim] in bf16. Per layer: RMSNorm ->
// QKV GEMM (cuBLAS, f32 accumulate) -> augmented-Q MLP -> RoPE + KV append (one kernel) ->
// split-KV decode attention (+ combine; optional selective V) -> o_proj GEMM accumulating into
// the f32 residual -> RMSNorm -> gate/up GEMM -> SiluMul -> down GEMM into the residual.
// Decode steps (at most max_sequences rows) are captured once per shape into CUDA graphs and
// replayed. This header is free of CUDA headers (pimpl); a build without CUDA returns
// UNAVAILABLE from Create (cuda_backend_none.cc).
//
//   SIGMA_ASSIGN_OR_RETURN(ModelWeights w, LoadCheckpoint("ckpt/"));
//   SIGMA_ASSIGN_OR_RETURN(auto gpu, cuda::CudaModel::Create(w, cuda::CudaOptions{}));
//   SIGMA_RETURN_IF_ERROR(gpu->Prefill(0, prompt, LogitsMode::kLast, &logits));
//
// Ownership: owns all device memory, its stream, cuBLAS handle and graphs; keeps no reference to
// the ModelWeights after Create. Thread safety: not thread-safe; one caller at a time.
#ifndef SIGMA_ENGINE_CUDA_CUDA_MODEL_H_
#define SIGMA_ENGINE_CUDA_CUDA_MODEL_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/forward_model.h"
#include "engine/loader/model_config.h"
#include "engine/loader/model_weights.h"

namespace sigma::cuda {

struct CudaOptions {
  std::string weight_dtype = "bf16";  // GEMM operands: "bf16" or "f32"
  int selective_v_top_k = 0;          // 0: dense attention
  int64_t max_context = 4096;         // positions per sequence slot
  int max_sequences = 1;              // KV cache slots
  int max_rows = 256;                 // token rows per device step (longer calls run in chunks)
  bool cuda_graphs = true;            // capture and replay decode steps
  int attention_max_group = 0;        // query heads per attention CTA (2, 4, 8); 0 = automatic
  int device = 0;
};

class CudaModel final : public ForwardModel {
 public:
  // Uploads `weights` (any dtype the CPU path reads, quantized ones dequantised) to the device.
  static StatusOr<std::unique_ptr<CudaModel>> Create(const ModelWeights& weights,
                                                     const CudaOptions& options);
  // Random weights drawn on the device (benchmarks at real shapes without a checkpoint).
  static StatusOr<std::unique_ptr<CudaModel>> CreateRandom(const ModelConfig& config,
                                                           const CudaOptions& options,
                                                           uint64_t seed);
  ~CudaModel() override;
  CudaModel(const CudaModel&) = delete;
  CudaModel& operator=(const CudaModel&) = delete;

  const ModelConfig& config() const override;
  const CudaOptions& options() const;
  std::string device_name() const;
  int num_sequences() const override;
  int64_t capacity() const override;
  DType kv_dtype() const override { return DType::kBF16; }  // the device cache is always bf16
  size_t kv_bytes_per_token() const override;               // K + V over all layers
  int64_t SequenceLength(int seq) const override;
  Status TruncateSequence(int seq, int64_t length) override;
  // Device-to-device copy of the first `length` K and V positions of slot `from` into slot `to`,
  // every layer and head, queued on the model's stream.
  Status CopySequence(int from, int to, int64_t length) override;

  // As Model::Forward: runs `rows`, logits per `mode` into *logits (resized).
  Status Forward(std::span<const TokenRow> rows, LogitsMode mode,
                 std::vector<float>* logits) override;
  Status Prefill(int seq, std::span<const int32_t> tokens, LogitsMode mode,
                 std::vector<float>* logits) override;
  // Runs `rows` and returns the greedy next token (argmax on the device, lowest id on ties) of
  // the last row (kLast) or of every row (kAll); only the ids cross to the host.
  Status ForwardArgMax(std::span<const TokenRow> rows, LogitsMode mode, std::vector<int32_t>* ids);

  // Benchmark support: sequence `seq` holds `length` positions of pseudo-random K/V rows.
  Status FillSyntheticContext(int seq, int64_t length, uint64_t seed) override;
  // Selective V top-k for later calls (0 = dense).
  Status set_selective_v_top_k(int top_k);

  struct Impl;

 private:
  explicit CudaModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_CUDA_MODEL_H_
