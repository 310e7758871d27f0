// One device step of CudaModel: the kernels and GEMMs of every layer for the staged rows, run
// eagerly or captured into a CUDA graph keyed by StepShape and replayed.
#include <cmath>

#include "engine/cuda/argmax.cuh"
#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/cuda_model_impl.cuh"
#include "engine/cuda/decode_attention.cuh"
#include "engine/cuda/elementwise.cuh"
#include "engine/cuda/embedding.cuh"
#include "engine/cuda/rms_norm.cuh"
#include "engine/cuda/rope_append.cuh"

namespace sigma::cuda {

CudaModel::Impl::~Impl() {
  DropGraphs();
  if (host_row_info != nullptr) SIGMA_CUDA_WARN(cudaFreeHost(host_row_info));
  if (cublas != nullptr) cublasDestroy(cublas);
  if (stream != nullptr) SIGMA_CUDA_WARN(cudaStreamDestroy(stream));
}

void CudaModel::Impl::DropGraphs() {
  for (auto& [shape, exec] : graphs) SIGMA_CUDA_WARN(cudaGraphExecDestroy(exec));
  graphs.clear();
}

Status CudaModel::Impl::EnsureSelectiveBuffers(int top_k) {
  if (top_k <= 0) return Status::Ok();
  const int64_t rows = options.max_rows;
  SIGMA_RETURN_IF_ERROR(scores.Reserve(rows * config.n_q_heads * options.max_context));
  SIGMA_RETURN_IF_ERROR(sel_idx.Reserve(rows * config.n_q_heads * top_k));
  return Status::Ok();
}

Status CudaModel::Impl::EnqueueLayer(int64_t layer, const StepShape& s) {
  const ModelConfig& c = config;
  const DeviceLayer& w = layers[static_cast<size_t>(layer)];
  const int rows = s.rows;
  const int hidden = static_cast<int>(c.hidden_size);
  const int q_dim = static_cast<int>(c.q_dim());
  const int64_t width = qkv_width();
  const float eps = static_cast<float>(c.rms_norm_eps);

  SIGMA_RETURN_IF_ERROR(LaunchRmsNorm({x.data(), hidden, w.attn_norm, h.data(), act, rows, hidden, eps},
                                      stream));
  SIGMA_RETURN_IF_ERROR(Gemm(cublas, w.qkv, {h.data(), hidden, qkv.data(), width, rows, 0.0f}));
  if (w.qkv_bias != nullptr) {
    SIGMA_RETURN_IF_ERROR(LaunchBiasAdd({qkv.data(), width, w.qkv_bias, rows,
                                         static_cast<int>(width)}, stream));
  }
  float* q_ptr = qkv.data();
  int64_t q_stride = width;
  if (c.aug_q_intermediate_size > 0) {
    // Augmented Q (paper App. E): q = q_down(silu(q_gate(q0)) * q_up(q0)).
    const int aug = static_cast<int>(c.aug_q_intermediate_size);
    SIGMA_RETURN_IF_ERROR(LaunchConvert({qkv.data(), width, q0.data(), act, rows, q_dim}, stream));
    SIGMA_RETURN_IF_ERROR(
        Gemm(cublas, w.aug_gate_up, {q0.data(), q_dim, aug_gu.data(), 2 * aug, rows, 0.0f}));
    SIGMA_RETURN_IF_ERROR(LaunchSiluMul({aug_gu.data(), aug_h.data(), act, rows, aug}, stream));
    SIGMA_RETURN_IF_ERROR(Gemm(cublas, w.aug_down, {aug_h.data(), aug, q.data(), q_dim, rows, 0.0f}));
    q_ptr = q.data();
    q_stride = q_dim;
  }
  RopeAppendParams rp;
  rp.q = q_ptr;
  rp.q_stride = q_stride;
  rp.k = qkv.data() + c.q_dim();
  rp.v = qkv.data() + c.q_dim() + c.k_dim();
  rp.kv_stride = width;
  rp.row_seq = dev_seq();
  rp.row_pos = dev_pos();
  rp.inv_freq = inv_freq.data();
  rp.k_cache = k_cache.data() + LayerKOffset(layer);
  rp.v_cache = v_cache.data() + LayerVOffset(layer);
  rp.capacity = options.max_context;
  rp.rows = rows;
  rp.n_q = static_cast<int>(c.n_q_heads);
  rp.n_k = static_cast<int>(c.n_k_heads);
  rp.n_v = static_cast<int>(c.n_v_heads);
  rp.head_dim = static_cast<int>(c.head_dim);
  SIGMA_RETURN_IF_ERROR(LaunchRopeAppend(rp, stream));

  AttentionParams ap;
  ap.q = q_ptr;
  ap.q_stride = q_stride;
  ap.row_seq = dev_seq();
  ap.row_ctx = dev_ctx();
  ap.k_cache = rp.k_cache;
  ap.v_cache = rp.v_cache;
  ap.capacity = options.max_context;
  ap.rows = rows;
  ap.n_q = rp.n_q;
  ap.n_k = rp.n_k;
  ap.n_v = rp.n_v;
  ap.head_dim = rp.head_dim;
  ap.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  ap.num_splits = s.splits;
  ap.max_group = options.attention_max_group;
  ap.top_k = s.top_k;
  ap.out = attn.data();
  ap.out_type = act;
  const int64_t acc_floats = static_cast<int64_t>(rows) * ap.n_q * s.splits * ap.head_dim;
  ap.part_acc = partials.data();
  ap.part_ml = partials.data() + acc_floats;
  ap.scores = scores.data();
  ap.scores_stride = options.max_context;
  ap.sel_idx = sel_idx.data();
  SIGMA_RETURN_IF_ERROR(LaunchDecodeAttention(ap, stream));

  // x += o_proj(attn); then the SwiGLU FFN with its residual.
  SIGMA_RETURN_IF_ERROR(Gemm(cublas, w.o_proj, {attn.data(), q_dim, x.data(), hidden, rows, 1.0f}));
  SIGMA_RETURN_IF_ERROR(LaunchRmsNorm({x.data(), hidden, w.ffn_norm, h.data(), act, rows, hidden, eps},
                                      stream));
  const int ffn = static_cast<int>(c.intermediate_size);
  SIGMA_RETURN_IF_ERROR(Gemm(cublas, w.gate_up, {h.data(), hidden, ffn_gu.data(), 2 * ffn, rows, 0.0f}));
  SIGMA_RETURN_IF_ERROR(LaunchSiluMul({ffn_gu.data(), ffn_h.data(), act, rows, ffn}, stream));
  SIGMA_RETURN_IF_ERROR(Gemm(cublas, w.down, {ffn_h.data(), ffn, x.data(), hidden, rows, 1.0f}));
  return Status::Ok();
}

Status CudaModel::Impl::EnqueueStep(const StepShape& s) {
  const int hidden = static_cast<int>(config.hidden_size);
  SIGMA_RETURN_IF_ERROR(
      LaunchEmbedding({dev_tokens(), embed.data, embed.type, x.data(), s.rows, hidden}, stream));
  for (int64_t layer = 0; layer < config.num_layers; ++layer) {
    SIGMA_RETURN_IF_ERROR(EnqueueLayer(layer, s));
  }
  if (s.logits_count == 0) return Status::Ok();
  SIGMA_RETURN_IF_ERROR(LaunchRmsNorm({x.data() + static_cast<int64_t>(s.logits_first) * hidden,
                                       hidden, final_norm, h.data(), act, s.logits_count, hidden,
                                       static_cast<float>(config.rms_norm_eps)},
                                      stream));
  const int64_t vocab = config.vocab_size;
  SIGMA_RETURN_IF_ERROR(Gemm(cublas, lm_head, {h.data(), hidden, logits.data(), vocab,
                                               s.logits_count, 0.0f}));
  if (s.argmax) {
    SIGMA_RETURN_IF_ERROR(LaunchArgMax({logits.data(), ids.data(), s.logits_count,
                                        static_cast<int>(vocab)}, stream));
  }
  return Status::Ok();
}

// Decode-shaped steps (at most one row per slot) replay a graph captured on first use; other
// steps run eagerly. The graph reads row info from device buffers that are refreshed before
// each replay, so one graph serves every position and context length of its shape.
Status CudaModel::Impl::RunStep(const StepShape& s) {
  const bool use_graph = options.cuda_graphs && s.rows <= options.max_sequences;
  if (!use_graph) return EnqueueStep(s);
  auto it = graphs.find(s);
  if (it == graphs.end()) {
    SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
    const Status enqueued = EnqueueStep(s);
    cudaGraph_t graph = nullptr;
    const cudaError_t end = cudaStreamEndCapture(stream, &graph);
    if (!enqueued.ok()) {
      if (graph != nullptr) cudaGraphDestroy(graph);
      return enqueued;
    }
    SIGMA_CUDA_RETURN_IF_ERROR(end);
    cudaGraphExec_t exec = nullptr;
    const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
    SIGMA_CUDA_WARN(cudaGraphDestroy(graph));
    SIGMA_CUDA_RETURN_IF_ERROR(inst);
    it = graphs.emplace(s, exec).first;
  }
  SIGMA_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(it->second, stream));
  return Status::Ok();
}

}  // namespace sigma::cuda
