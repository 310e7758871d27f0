// CudaModel: creation (device setup, weight upload, buffers) and the sequence-slot operations
// (truncate, copy, synthetic fill, selective-V switch); Forward is in cuda_model_forward.cu.
#include <algorithm>
#include <cstring>

#include "engine/cpu/quant_blocks.h"
#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/cuda_model_impl.cuh"
#include "engine/cuda/decode_attention.cuh"
#include "engine/cuda/fill.cuh"
#include "engine/cuda/vec.cuh"
#include "engine/dtype.h"

namespace sigma::cuda {
namespace {

constexpr size_t kCublasWorkspaceBytes = 32u << 20;
constexpr int kMaxSplits = 128;
constexpr int64_t kUploadChunkRows = 1024;

// Appends rows of `t` (any supported dtype) converted to `act` at `dst` (device).
Status UploadRows(const TensorView& t, ActType act, uint8_t* dst) {
  const int64_t rows = t.rows();
  const int64_t cols = t.cols();
  const int64_t blocks_per_row = cols / DTypeBlockSize(t.dtype);
  std::vector<float> f32(static_cast<size_t>(kUploadChunkRows * cols));
  std::vector<uint16_t> b16(act == ActType::kBF16 ? f32.size() : 0);
  const size_t elem = ActBytes(act);
  for (int64_t r0 = 0; r0 < rows; r0 += kUploadChunkRows) {
    const int64_t n = std::min(kUploadChunkRows, rows - r0);
    const auto* src = static_cast<const uint8_t*>(t.data) + r0 * static_cast<int64_t>(t.row_bytes());
    for (int64_t r = 0; r < n; ++r) {
      DecodeBlocks(t.dtype, src + r * static_cast<int64_t>(t.row_bytes()), blocks_per_row,
                   f32.data() + r * cols);
    }
    const void* host = f32.data();
    if (act == ActType::kBF16) {
      for (int64_t i = 0; i < n * cols; ++i) b16[static_cast<size_t>(i)] = F32ToBf16(f32[static_cast<size_t>(i)]);
      host = b16.data();
    }
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dst + r0 * cols * elem, host, n * cols * elem,
                                          cudaMemcpyHostToDevice));
  }
  return Status::Ok();
}

// One device matrix made of the rows of `parts`, in order (all with the same column count).
StatusOr<DeviceMatrix> UploadMatrix(std::initializer_list<const TensorView*> parts, ActType act,
                                    std::vector<DeviceBuffer<uint8_t>>* storage) {
  DeviceMatrix m;
  m.type = act;
  m.in = (*parts.begin())->cols();
  for (const TensorView* t : parts) {
    if (t->cols() != m.in) return InvalidArgumentError(t->name, ": column count differs");
    m.out += t->rows();
  }
  DeviceBuffer<uint8_t> buf;
  SIGMA_RETURN_IF_ERROR(buf.Allocate(static_cast<size_t>(m.out * m.in) * ActBytes(act)));
  int64_t row = 0;
  for (const TensorView* t : parts) {
    SIGMA_RETURN_IF_ERROR(UploadRows(*t, act, buf.data() + row * m.in * ActBytes(act)));
    row += t->rows();
  }
  m.data = buf.data();
  storage->push_back(std::move(buf));
  return m;
}

// An f32 vector made of `parts` (norm weights, biases) on the device.
StatusOr<const float*> UploadVector(std::initializer_list<const TensorView*> parts,
                                    std::vector<DeviceBuffer<uint8_t>>* storage) {
  std::vector<float> host;
  for (const TensorView* t : parts) {
    const size_t at = host.size();
    host.resize(at + static_cast<size_t>(t->numel()));
    DecodeBlocks(t->dtype, t->data, t->numel() / DTypeBlockSize(t->dtype), host.data() + at);
  }
  DeviceBuffer<uint8_t> buf;
  SIGMA_RETURN_IF_ERROR(buf.Allocate(host.size() * sizeof(float)));
  SIGMA_RETURN_IF_ERROR(buf.CopyFromHost(reinterpret_cast<const uint8_t*>(host.data()), buf.size()));
  const auto* p = reinterpret_cast<const float*>(buf.data());
  storage->push_back(std::move(buf));
  return p;
}

// Random matrix [out, in] (uniform with std 0.02) or constant vector on the device.
StatusOr<DeviceMatrix> RandomMatrix(int64_t out, int64_t in, ActType act, uint64_t seed,
                                    std::vector<DeviceBuffer<uint8_t>>* storage) {
  DeviceMatrix m{nullptr, act, out, in};
  if (out == 0 || in == 0) return m;
  DeviceBuffer<uint8_t> buf;
  SIGMA_RETURN_IF_ERROR(buf.Allocate(static_cast<size_t>(out * in) * ActBytes(act)));
  constexpr float kScale = 0.0346f;  // uniform [-a, a) with std 0.02
  if (act == ActType::kBF16) {
    SIGMA_RETURN_IF_ERROR(FillUniformBf16(reinterpret_cast<bf16*>(buf.data()), out * in, seed, kScale, nullptr));
  } else {
    SIGMA_RETURN_IF_ERROR(FillUniformF32(reinterpret_cast<float*>(buf.data()), out * in, seed, kScale, nullptr));
  }
  m.data = buf.data();
  storage->push_back(std::move(buf));
  return m;
}

StatusOr<const float*> OnesVector(int64_t n, std::vector<DeviceBuffer<uint8_t>>* storage) {
  DeviceBuffer<uint8_t> buf;
  SIGMA_RETURN_IF_ERROR(buf.Allocate(static_cast<size_t>(n) * sizeof(float)));
  const auto* p = reinterpret_cast<float*>(buf.data());
  SIGMA_RETURN_IF_ERROR(FillConstantF32(const_cast<float*>(p), n, 1.0f, nullptr));
  storage->push_back(std::move(buf));
  return p;
}

Status ValidateOptions(const ModelConfig& c, const CudaOptions& o) {
  SIGMA_RETURN_IF_ERROR(c.Validate());
  if (o.weight_dtype != "bf16" && o.weight_dtype != "f32") {
    return InvalidArgumentError("CUDA weight dtype: expected bf16 or f32, got '", o.weight_dtype, "'");
  }
  if (o.max_sequences <= 0) return InvalidArgumentError("max_sequences must be positive");
  if (o.max_context <= 0) return InvalidArgumentError("--max-context must be positive");
  SIGMA_RETURN_IF_ERROR(c.CheckContextLength(o.max_context));
  if (c.qk_norm() || c.fused_projections() || c.rotary_dim() != c.head_dim ||
      c.rope_scaling.type == "longrope" || c.rope_scaling.type == "yarn" || c.gemma() ||
      c.activation != Activation::kSilu || c.granite() || !c.nope_layers.empty() || c.olmo() ||
      c.moe.num_experts > 0 || c.o_bias() || c.attention_sinks()) {
    return UnimplementedError(
        "CUDA backend: model_type ", ArchitectureName(c.arch),
        " (q/k norms, fused projections, partial RoPE, longrope, yarn, Gemma's "
        "layers, a GELU FFN, Granite's scalars, NoPE layers, OLMo 2's norms, a mixture of "
        "experts, o_proj biases or attention sinks) is not in its kernels; use --device cpu");
  }
  if (o.max_rows <= 0) return InvalidArgumentError("max_rows must be positive");
  if (o.selective_v_top_k < 0) return InvalidArgumentError("--selective-v must be >= 0");
  if (!DecodeAttentionSupports(static_cast<int>(c.head_dim))) {
    return UnimplementedError("CUDA backend: head_dim ", c.head_dim, " has no attention kernel "
                              "(supported: 16, 64, 128)");
  }
  return Status::Ok();
}

}  // namespace

// Device, stream, cuBLAS, KV cache and activation buffers (weights are added by the callers).
static StatusOr<std::unique_ptr<CudaModel::Impl>> NewImpl(const ModelConfig& c,
                                                          const CudaOptions& o) {
  SIGMA_RETURN_IF_ERROR(ValidateOptions(c, o));
  auto im = std::make_unique<CudaModel::Impl>();
  im->config = c;
  im->options = o;
  im->act = o.weight_dtype == "f32" ? ActType::kF32 : ActType::kBF16;
  SIGMA_CUDA_RETURN_IF_ERROR(cudaSetDevice(o.device));
  cudaDeviceProp prop;
  SIGMA_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, o.device));
  im->device_name = prop.name;
  im->sm_count = prop.multiProcessorCount;
  {
    const int n_q = static_cast<int>(c.n_q_heads);
    const int n_k = static_cast<int>(c.n_k_heads);
    const int n_v = static_cast<int>(c.n_v_heads);
    const int hd = static_cast<int>(c.head_dim);
    const int heads = AttentionHeadsPerCta(n_q, n_k, n_v, hd, o.attention_max_group);
    im->attention_ctas_per_row = int64_t{n_k} * ((n_q / n_k + heads - 1) / heads);
    im->attention_resident_ctas = AttentionResidentCtas(n_q, n_k, n_v, hd, o.attention_max_group, im->sm_count);
  }
  SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&im->stream, cudaStreamNonBlocking));
  SIGMA_CUBLAS_RETURN_IF_ERROR(cublasCreate(&im->cublas));
  SIGMA_CUBLAS_RETURN_IF_ERROR(cublasSetStream(im->cublas, im->stream));
  SIGMA_RETURN_IF_ERROR(im->cublas_workspace.Allocate(kCublasWorkspaceBytes));
  SIGMA_CUBLAS_RETURN_IF_ERROR(
      cublasSetWorkspace(im->cublas, im->cublas_workspace.data(), kCublasWorkspaceBytes));
  SIGMA_CUBLAS_RETURN_IF_ERROR(cublasSetMathMode(im->cublas, CUBLAS_DEFAULT_MATH));

  const int64_t per_slot = o.max_context * c.head_dim;
  SIGMA_RETURN_IF_ERROR(im->k_cache.Allocate(c.num_layers * o.max_sequences * c.n_k_heads * per_slot));
  SIGMA_RETURN_IF_ERROR(im->v_cache.Allocate(c.num_layers * o.max_sequences * c.n_v_heads * per_slot));
  im->lengths.assign(static_cast<size_t>(o.max_sequences), 0);
  const std::vector<float> inv = c.RopeInvFreq();
  SIGMA_RETURN_IF_ERROR(im->inv_freq.Allocate(inv.size()));
  SIGMA_RETURN_IF_ERROR(im->inv_freq.CopyFromHost(inv.data(), inv.size()));

  const size_t rows = static_cast<size_t>(o.max_rows);
  const size_t ab = ActBytes(im->act);
  SIGMA_RETURN_IF_ERROR(im->x.Allocate(rows * c.hidden_size));
  SIGMA_RETURN_IF_ERROR(im->h.Allocate(rows * c.hidden_size * ab));
  SIGMA_RETURN_IF_ERROR(im->qkv.Allocate(rows * im->qkv_width()));
  SIGMA_RETURN_IF_ERROR(im->attn.Allocate(rows * c.q_dim() * ab));
  SIGMA_RETURN_IF_ERROR(im->ffn_gu.Allocate(rows * 2 * c.intermediate_size));
  SIGMA_RETURN_IF_ERROR(im->ffn_h.Allocate(rows * c.intermediate_size * ab));
  SIGMA_RETURN_IF_ERROR(im->logits.Allocate(rows * c.vocab_size));
  if (c.aug_q_intermediate_size > 0) {
    SIGMA_RETURN_IF_ERROR(im->q0.Allocate(rows * c.q_dim() * ab));
    SIGMA_RETURN_IF_ERROR(im->aug_gu.Allocate(rows * 2 * c.aug_q_intermediate_size));
    SIGMA_RETURN_IF_ERROR(im->aug_h.Allocate(rows * c.aug_q_intermediate_size * ab));
    SIGMA_RETURN_IF_ERROR(im->q.Allocate(rows * c.q_dim()));
  }
  // Split workspace: kMaxSplits for a full decode batch, at least one split for max_rows.
  const int64_t split_rows = std::max<int64_t>(o.max_rows, int64_t{o.max_sequences} * kMaxSplits);
  im->partial_floats = AttentionPartialFloats(1, static_cast<int>(c.n_q_heads), 1,
                                              static_cast<int>(c.head_dim)) * split_rows;
  SIGMA_RETURN_IF_ERROR(im->partials.Allocate(static_cast<size_t>(im->partial_floats)));
  SIGMA_RETURN_IF_ERROR(im->row_info.Allocate(4 * rows));
  SIGMA_RETURN_IF_ERROR(im->ids.Allocate(rows));
  void* pinned = nullptr;
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMallocHost(&pinned, 4 * rows * sizeof(int32_t)));
  im->host_row_info = static_cast<int32_t*>(pinned);
  std::memset(im->host_row_info, 0, 4 * rows * sizeof(int32_t));
  SIGMA_RETURN_IF_ERROR(im->EnsureSelectiveBuffers(o.selective_v_top_k));
  return im;
}

CudaModel::CudaModel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CudaModel::~CudaModel() = default;

StatusOr<std::unique_ptr<CudaModel>> CudaModel::Create(const ModelWeights& w,
                                                       const CudaOptions& options) {
  SIGMA_ASSIGN_OR_RETURN(auto im, NewImpl(w.config, options));
  const ActType act = im->act;
  auto* st = &im->storage;
  for (const LayerWeights& lw : w.layers) {
    DeviceLayer d;
    SIGMA_ASSIGN_OR_RETURN(d.qkv, UploadMatrix({&lw.q_proj, &lw.k_proj, &lw.v_proj}, act, st));
    if (w.config.aug_q_intermediate_size > 0) {
      SIGMA_ASSIGN_OR_RETURN(d.aug_gate_up, UploadMatrix({&lw.q_gate, &lw.q_up}, act, st));
      SIGMA_ASSIGN_OR_RETURN(d.aug_down, UploadMatrix({&lw.q_down}, act, st));
    }
    SIGMA_ASSIGN_OR_RETURN(d.o_proj, UploadMatrix({&lw.o_proj}, act, st));
    SIGMA_ASSIGN_OR_RETURN(d.gate_up, UploadMatrix({&lw.gate_proj, &lw.up_proj}, act, st));
    SIGMA_ASSIGN_OR_RETURN(d.down, UploadMatrix({&lw.down_proj}, act, st));
    SIGMA_ASSIGN_OR_RETURN(d.attn_norm, UploadVector({&lw.attn_norm}, st));
    SIGMA_ASSIGN_OR_RETURN(d.ffn_norm, UploadVector({&lw.ffn_norm}, st));
    if (lw.q_bias.valid()) {
      SIGMA_ASSIGN_OR_RETURN(d.qkv_bias, UploadVector({&lw.q_bias, &lw.k_bias, &lw.v_bias}, st));
    }
    im->layers.push_back(d);
  }
  SIGMA_ASSIGN_OR_RETURN(im->embed, UploadMatrix({&w.embed_tokens}, act, st));
  if (w.lm_head.data == w.embed_tokens.data) {
    im->lm_head = im->embed;
  } else {
    SIGMA_ASSIGN_OR_RETURN(im->lm_head, UploadMatrix({&w.lm_head}, act, st));
  }
  SIGMA_ASSIGN_OR_RETURN(im->final_norm, UploadVector({&w.final_norm}, st));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
  return std::unique_ptr<CudaModel>(new CudaModel(std::move(im)));
}

StatusOr<std::unique_ptr<CudaModel>> CudaModel::CreateRandom(const ModelConfig& c,
                                                             const CudaOptions& options,
                                                             uint64_t seed) {
  SIGMA_ASSIGN_OR_RETURN(auto im, NewImpl(c, options));
  const ActType act = im->act;
  auto* st = &im->storage;
  uint64_t s = seed * 1000003;
  for (int64_t l = 0; l < c.num_layers; ++l) {
    DeviceLayer d;
    SIGMA_ASSIGN_OR_RETURN(d.qkv, RandomMatrix(im->qkv_width(), c.hidden_size, act, ++s, st));
    const int64_t aug = c.aug_q_intermediate_size;
    SIGMA_ASSIGN_OR_RETURN(d.aug_gate_up, RandomMatrix(2 * aug, aug > 0 ? c.q_dim() : 0, act, ++s, st));
    SIGMA_ASSIGN_OR_RETURN(d.aug_down, RandomMatrix(aug > 0 ? c.q_dim() : 0, aug, act, ++s, st));
    SIGMA_ASSIGN_OR_RETURN(d.o_proj, RandomMatrix(c.hidden_size, c.q_dim(), act, ++s, st));
    SIGMA_ASSIGN_OR_RETURN(d.gate_up, RandomMatrix(2 * c.intermediate_size, c.hidden_size, act, ++s, st));
    SIGMA_ASSIGN_OR_RETURN(d.down, RandomMatrix(c.hidden_size, c.intermediate_size, act, ++s, st));
    SIGMA_ASSIGN_OR_RETURN(d.attn_norm, OnesVector(c.hidden_size, st));
    SIGMA_ASSIGN_OR_RETURN(d.ffn_norm, OnesVector(c.hidden_size, st));
    im->layers.push_back(d);
  }
  SIGMA_ASSIGN_OR_RETURN(im->embed, RandomMatrix(c.vocab_size, c.hidden_size, act, ++s, st));
  if (c.tie_word_embeddings) {
    im->lm_head = im->embed;
  } else {
    SIGMA_ASSIGN_OR_RETURN(im->lm_head, RandomMatrix(c.vocab_size, c.hidden_size, act, ++s, st));
  }
  SIGMA_ASSIGN_OR_RETURN(im->final_norm, OnesVector(c.hidden_size, st));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
  return std::unique_ptr<CudaModel>(new CudaModel(std::move(im)));
}

const ModelConfig& CudaModel::config() const { return impl_->config; }
const CudaOptions& CudaModel::options() const { return impl_->options; }
std::string CudaModel::device_name() const { return impl_->device_name; }
int CudaModel::num_sequences() const { return impl_->options.max_sequences; }
int64_t CudaModel::capacity() const { return impl_->options.max_context; }
size_t CudaModel::kv_bytes_per_token() const {
  const ModelConfig& c = impl_->config;
  return static_cast<size_t>(c.num_layers * (c.n_k_heads + c.n_v_heads) * c.head_dim * 2);
}
int64_t CudaModel::SequenceLength(int seq) const { return impl_->lengths.at(static_cast<size_t>(seq)); }

Status CudaModel::TruncateSequence(int seq, int64_t length) {
  if (seq < 0 || seq >= num_sequences()) return OutOfRangeError("sequence slot ", seq, " out of range");
  int64_t& current = impl_->lengths[static_cast<size_t>(seq)];
  if (length < 0 || length > current) {
    return OutOfRangeError("cannot truncate sequence ", seq, " of length ", current, " to ", length);
  }
  current = length;
  return Status::Ok();
}

Status CudaModel::CopySequence(int from, int to, int64_t length) {
  if (from < 0 || from >= num_sequences() || to < 0 || to >= num_sequences()) {
    return OutOfRangeError("sequence slot out of range");
  }
  if (length < 0 || length > SequenceLength(from)) {
    return OutOfRangeError("cannot copy ", length, " positions of sequence ", from, " of length ",
                           SequenceLength(from));
  }
  Impl& im = *impl_;
  if (from != to && length > 0) {
    const ModelConfig& c = im.config;
    // Per layer, the heads of one slot are rows of a pitched 2-D block: pitch = one head's slot
    // (capacity positions), width = the copied prefix.
    const size_t pitch = static_cast<size_t>(im.options.max_context * c.head_dim) * sizeof(bf16);
    const size_t width = static_cast<size_t>(length * c.head_dim) * sizeof(bf16);
    const int64_t slot = im.options.max_context * c.head_dim;
    for (int64_t layer = 0; layer < c.num_layers; ++layer) {
      const bf16* ks = im.k_cache.data() + im.LayerKOffset(layer) + from * c.n_k_heads * slot;
      bf16* kd = im.k_cache.data() + im.LayerKOffset(layer) + to * c.n_k_heads * slot;
      SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy2DAsync(kd, pitch, ks, pitch, width,
                                                   static_cast<size_t>(c.n_k_heads),
                                                   cudaMemcpyDeviceToDevice, im.stream));
      const bf16* vs = im.v_cache.data() + im.LayerVOffset(layer) + from * c.n_v_heads * slot;
      bf16* vd = im.v_cache.data() + im.LayerVOffset(layer) + to * c.n_v_heads * slot;
      SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy2DAsync(vd, pitch, vs, pitch, width,
                                                   static_cast<size_t>(c.n_v_heads),
                                                   cudaMemcpyDeviceToDevice, im.stream));
    }
  }
  im.lengths[static_cast<size_t>(to)] = length;
  return Status::Ok();
}

Status CudaModel::set_selective_v_top_k(int top_k) {
  if (top_k < 0) return InvalidArgumentError("--selective-v must be >= 0");
  const void* scores_before = impl_->scores.data();
  const void* sel_before = impl_->sel_idx.data();
  SIGMA_RETURN_IF_ERROR(impl_->EnsureSelectiveBuffers(top_k));
  // Captured graphs hold the workspace pointers: drop them when a buffer moved.
  if (impl_->scores.data() != scores_before || impl_->sel_idx.data() != sel_before) {
    impl_->DropGraphs();
  }
  impl_->options.selective_v_top_k = top_k;
  return Status::Ok();
}

Status CudaModel::FillSyntheticContext(int seq, int64_t length, uint64_t seed) {
  if (seq < 0 || seq >= num_sequences()) return OutOfRangeError("sequence slot ", seq, " out of range");
  if (length < 0 || length > capacity()) {
    return OutOfRangeError("synthetic context of ", length, " positions exceeds the capacity of ",
                           capacity());
  }
  Impl& im = *impl_;
  const ModelConfig& c = im.config;
  const int64_t span = length * c.head_dim;
  const int64_t slot = im.options.max_context * c.head_dim;
  for (int64_t layer = 0; layer < c.num_layers; ++layer) {
    for (int64_t h = 0; h < c.n_k_heads; ++h) {
      bf16* p = im.k_cache.data() + im.LayerKOffset(layer) + (seq * c.n_k_heads + h) * slot;
      SIGMA_RETURN_IF_ERROR(FillUniformBf16(p, span, seed * 7919 + layer * 131 + h, 1.0f, im.stream));
    }
    for (int64_t h = 0; h < c.n_v_heads; ++h) {
      bf16* p = im.v_cache.data() + im.LayerVOffset(layer) + (seq * c.n_v_heads + h) * slot;
      SIGMA_RETURN_IF_ERROR(FillUniformBf16(p, span, seed * 7919 + layer * 131 + 64 + h, 1.0f, im.stream));
    }
  }
  SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(im.stream));
  im.lengths[static_cast<size_t>(seq)] = length;
  return Status::Ok();
}

}  // namespace sigma::cuda
