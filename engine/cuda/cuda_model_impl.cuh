// Internal to engine/cuda: CudaModel's state (device weights, KV cache, activations, graphs),
// shared by cuda_model.cu (creation, upload, Forward) and cuda_model_step.cu (one device step).
// Thread safety: as CudaModel (one caller at a time).
#ifndef SIGMA_ENGINE_CUDA_CUDA_MODEL_IMPL_CUH_
#define SIGMA_ENGINE_CUDA_CUDA_MODEL_IMPL_CUH_

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <tuple>
#include <vector>

#include "engine/cuda/act_type.cuh"
#include "engine/cuda/cuda_model.h"
#include "engine/cuda/device_buffer.cuh"
#include "engine/cuda/gemm.cuh"

namespace sigma::cuda {

struct DeviceLayer {
  DeviceMatrix qkv;          // [q_dim + k_dim + v_dim, hidden]: q_proj, k_proj, v_proj rows
  DeviceMatrix aug_gate_up;  // [2 * aug_q, q_dim] (augmented Q) or empty
  DeviceMatrix aug_down;     // [q_dim, aug_q]
  DeviceMatrix o_proj;       // [hidden, q_dim]
  DeviceMatrix gate_up;      // [2 * ffn, hidden]
  DeviceMatrix down;         // [hidden, ffn]
  const float* attn_norm = nullptr;  // [hidden]
  const float* ffn_norm = nullptr;   // [hidden]
  const float* qkv_bias = nullptr;   // [q_dim + k_dim + v_dim] or null
};

// What one device step runs; also the key of its captured graph.
struct StepShape {
  int rows = 0;
  int splits = 1;
  int logits_first = 0;  // rows [logits_first, logits_first + logits_count) get logits
  int logits_count = 0;
  bool argmax = false;
  int top_k = 0;
  bool operator<(const StepShape& o) const {
    return std::tie(rows, splits, logits_first, logits_count, argmax, top_k) <
           std::tie(o.rows, o.splits, o.logits_first, o.logits_count, o.argmax, o.top_k);
  }
};

struct CudaModel::Impl {
  ~Impl();

  ModelConfig config;
  CudaOptions options;
  ActType act = ActType::kBF16;
  std::string device_name;
  int sm_count = 1;
  // The attention plan's per-layout parts, fixed for the model (decode_attention.cuh): CTAs per
  // row and split, and CTAs resident on the device at once.
  int64_t attention_ctas_per_row = 1;
  int attention_resident_ctas = 1;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  DeviceBuffer<uint8_t> cublas_workspace;

  // Weights.
  std::vector<DeviceBuffer<uint8_t>> storage;  // owns every weight allocation
  std::vector<DeviceLayer> layers;
  DeviceMatrix embed;    // [vocab, hidden]
  DeviceMatrix lm_head;  // [vocab, hidden] (shares embed's memory when tied)
  const float* final_norm = nullptr;  // [hidden]
  DeviceBuffer<float> inv_freq;       // [head_dim / 2]

  // KV cache: [layer][seq][n_k][capacity][head_dim] and [layer][seq][n_v][capacity][head_dim].
  DeviceBuffer<__nv_bfloat16> k_cache;
  DeviceBuffer<__nv_bfloat16> v_cache;
  std::vector<int64_t> lengths;  // per slot

  // Activations for max_rows rows (shapes per row).
  DeviceBuffer<float> x;       // [hidden] residual stream
  DeviceBuffer<uint8_t> h;     // [hidden] act: normed input of a GEMM
  DeviceBuffer<float> qkv;     // [q_dim + k_dim + v_dim]
  DeviceBuffer<uint8_t> q0;    // [q_dim] act: input of the augmented-Q GEMM
  DeviceBuffer<float> aug_gu;  // [2 * aug_q]
  DeviceBuffer<uint8_t> aug_h; // [aug_q] act
  DeviceBuffer<float> q;       // [q_dim] augmented q
  DeviceBuffer<uint8_t> attn;  // [q_dim] act: attention output
  DeviceBuffer<float> ffn_gu;  // [2 * ffn]
  DeviceBuffer<uint8_t> ffn_h; // [ffn] act
  DeviceBuffer<float> logits;  // [vocab]
  DeviceBuffer<float> partials;   // split-KV workspace
  int64_t partial_floats = 0;
  DeviceBuffer<float> scores;     // selective V: [max_rows][n_q][capacity]
  DeviceBuffer<int32_t> sel_idx;  // [max_rows][n_q][top_k]
  // Row info on the device and its pinned host staging: [4][max_rows] = tokens, seq, pos, ctx.
  DeviceBuffer<int32_t> row_info;
  int32_t* host_row_info = nullptr;
  DeviceBuffer<int32_t> ids;      // [max_rows] argmax

  std::map<StepShape, cudaGraphExec_t> graphs;

  int64_t qkv_width() const { return config.q_dim() + config.k_dim() + config.v_dim(); }
  int32_t* dev_tokens() const { return row_info.data(); }
  int32_t* dev_seq() const { return row_info.data() + options.max_rows; }
  int32_t* dev_pos() const { return row_info.data() + 2 * options.max_rows; }
  int32_t* dev_ctx() const { return row_info.data() + 3 * options.max_rows; }
  int64_t LayerKOffset(int64_t layer) const {
    return layer * options.max_sequences * config.n_k_heads * options.max_context * config.head_dim;
  }
  int64_t LayerVOffset(int64_t layer) const {
    return layer * options.max_sequences * config.n_v_heads * options.max_context * config.head_dim;
  }

  // cuda_model_step.cu
  Status EnqueueStep(const StepShape& s);
  Status EnqueueLayer(int64_t layer, const StepShape& s);
  Status RunStep(const StepShape& s);  // graph replay or eager
  Status EnsureSelectiveBuffers(int top_k);
  void DropGraphs();
};

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_CUDA_MODEL_IMPL_CUH_
