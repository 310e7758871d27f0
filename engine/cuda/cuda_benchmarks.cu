// Device benchmarks declared in cuda_backend.h: read bandwidth, decode attention, the paper's
// attention-layer time and the whole decode step. Timings are CUDA events around graph replays
// (each graph holds several launches over rotated buffers, so caches cannot serve repeats), and
// the median of `iterations` replays is reported.
#include <algorithm>
#include <chrono>
#include <functional>
#include <vector>

#include "engine/cuda/cuda_backend.h"
#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/decode_attention.cuh"
#include "engine/cuda/device_buffer.cuh"
#include "engine/cuda/elementwise.cuh"
#include "engine/cuda/fill.cuh"
#include "engine/cuda/gemm.cuh"
#include "engine/cuda/rope_append.cuh"
#include "engine/cuda/stream_read.cuh"
#include "engine/cuda/vec.cuh"

namespace sigma::cuda {
namespace {

struct Timing {
  double median_us = 0;
  double min_us = 0;
};

// A stream, events and a cuBLAS handle for one benchmark.
class BenchContext {
 public:
  ~BenchContext() {
    if (cublas_ != nullptr) cublasDestroy(cublas_);
    if (start_ != nullptr) SIGMA_CUDA_WARN(cudaEventDestroy(start_));
    if (stop_ != nullptr) SIGMA_CUDA_WARN(cudaEventDestroy(stop_));
    if (stream_ != nullptr) SIGMA_CUDA_WARN(cudaStreamDestroy(stream_));
  }
  Status Init() {
    SIGMA_CUDA_RETURN_IF_ERROR(cudaSetDevice(0));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop_, 0));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaEventCreate(&start_));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaEventCreate(&stop_));
    SIGMA_CUBLAS_RETURN_IF_ERROR(cublasCreate(&cublas_));
    SIGMA_CUBLAS_RETURN_IF_ERROR(cublasSetStream(cublas_, stream_));
    SIGMA_RETURN_IF_ERROR(workspace_.Allocate(32u << 20));
    SIGMA_CUBLAS_RETURN_IF_ERROR(cublasSetWorkspace(cublas_, workspace_.data(), workspace_.size()));
    return Status::Ok();
  }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  const cudaDeviceProp& prop() const { return prop_; }

  // Captures `enqueue` (which issues `per_graph` operations) into a graph, replays it twice to
  // warm up, then `iterations` times under events; time per operation.
  StatusOr<Timing> TimeGraph(const std::function<Status()>& enqueue, int per_graph, int iterations) {
    SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    const Status st = enqueue();
    cudaGraph_t graph = nullptr;
    const cudaError_t end = cudaStreamEndCapture(stream_, &graph);
    if (!st.ok()) {
      if (graph != nullptr) cudaGraphDestroy(graph);
      return st;
    }
    SIGMA_CUDA_RETURN_IF_ERROR(end);
    cudaGraphExec_t exec = nullptr;
    const cudaError_t inst = cudaGraphInstantiate(&exec, graph, 0);
    SIGMA_CUDA_WARN(cudaGraphDestroy(graph));
    SIGMA_CUDA_RETURN_IF_ERROR(inst);
    std::vector<double> us;
    for (int i = -2; i < iterations; ++i) {
      const Status replayed = Replay(exec, i >= 0 ? &us : nullptr, per_graph);
      if (!replayed.ok()) {
        SIGMA_CUDA_WARN(cudaGraphExecDestroy(exec));
        return replayed;
      }
    }
    SIGMA_CUDA_WARN(cudaGraphExecDestroy(exec));
    if (us.empty()) return InvalidArgumentError("benchmark: iterations must be positive");
    std::sort(us.begin(), us.end());
    return Timing{us[us.size() / 2], us.front()};
  }

 private:
  Status Replay(cudaGraphExec_t exec, std::vector<double>* us, int per_graph) {
    SIGMA_CUDA_RETURN_IF_ERROR(cudaEventRecord(start_, stream_));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaGraphLaunch(exec, stream_));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaEventRecord(stop_, stream_));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop_));
    float ms = 0;
    SIGMA_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&ms, start_, stop_));
    if (us != nullptr) us->push_back(1000.0 * ms / per_graph);
    return Status::Ok();
  }

  cudaDeviceProp prop_{};
  cudaStream_t stream_ = nullptr;
  cudaEvent_t start_ = nullptr;
  cudaEvent_t stop_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  DeviceBuffer<uint8_t> workspace_;
};

// Copies of a working set of `bytes` needed to exceed four L2s, within [1, max_copies].
int RotationCopies(const cudaDeviceProp& prop, double bytes, int max_copies) {
  const double want = 4.0 * prop.l2CacheSize / std::max(bytes, 1.0);
  return std::clamp(static_cast<int>(want) + 1, 1, std::max(max_copies, 1));
}

// One layer's caches, queries and row info for `batch` sequences with room for `capacity`.
struct AttentionSetup {
  std::vector<DeviceBuffer<bf16>> k, v;  // per copy: [batch][n_k or n_v][capacity][hd]
  DeviceBuffer<float> q;                 // [batch][n_q * hd] (or the fused qkv rows)
  DeviceBuffer<float> out;               // [batch][n_q * hd]
  DeviceBuffer<float> partials, scores;
  DeviceBuffer<int32_t> seq, pos, ctx, sel;
  AttentionParams params;
};

Status BuildAttention(const DecodeAttentionBenchConfig& c, int64_t capacity, int copies,
                      int sm_count, cudaStream_t stream, AttentionSetup* s) {
  const int64_t k_elems = int64_t{c.batch} * c.n_k * capacity * c.head_dim;
  const int64_t v_elems = int64_t{c.batch} * c.n_v * capacity * c.head_dim;
  s->k.resize(static_cast<size_t>(copies));
  s->v.resize(static_cast<size_t>(copies));
  for (int i = 0; i < copies; ++i) {
    SIGMA_RETURN_IF_ERROR(s->k[i].Allocate(k_elems));
    SIGMA_RETURN_IF_ERROR(s->v[i].Allocate(v_elems));
    SIGMA_RETURN_IF_ERROR(FillUniformBf16(s->k[i].data(), k_elems, 11 + i, 1.0f, stream));
    SIGMA_RETURN_IF_ERROR(FillUniformBf16(s->v[i].data(), v_elems, 5011 + i, 1.0f, stream));
  }
  const int64_t q_elems = int64_t{c.batch} * c.n_q * c.head_dim;
  SIGMA_RETURN_IF_ERROR(s->q.Allocate(q_elems));
  SIGMA_RETURN_IF_ERROR(FillUniformF32(s->q.data(), q_elems, 7, 1.0f, stream));
  SIGMA_RETURN_IF_ERROR(s->out.Allocate(q_elems));
  std::vector<int32_t> seq(c.batch), pos(c.batch, static_cast<int32_t>(c.context - 1)),
      ctx(c.batch, static_cast<int32_t>(c.context));
  for (int b = 0; b < c.batch; ++b) seq[b] = b;
  SIGMA_RETURN_IF_ERROR(s->seq.Allocate(c.batch));
  SIGMA_RETURN_IF_ERROR(s->pos.Allocate(c.batch));
  SIGMA_RETURN_IF_ERROR(s->ctx.Allocate(c.batch));
  SIGMA_RETURN_IF_ERROR(s->seq.CopyFromHost(seq.data(), seq.size()));
  SIGMA_RETURN_IF_ERROR(s->pos.CopyFromHost(pos.data(), pos.size()));
  SIGMA_RETURN_IF_ERROR(s->ctx.CopyFromHost(ctx.data(), ctx.size()));
  AttentionParams& p = s->params;
  p.q = s->q.data();
  p.q_stride = int64_t{c.n_q} * c.head_dim;
  p.row_seq = s->seq.data();
  p.row_ctx = s->ctx.data();
  p.capacity = capacity;
  p.rows = c.batch;
  p.n_q = c.n_q;
  p.n_k = c.n_k;
  p.n_v = c.n_v;
  p.head_dim = c.head_dim;
  p.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  p.max_group = c.max_group;
  p.num_splits = c.num_splits > 0 ? c.num_splits
                                   : AttentionSplits(c.batch, c.n_q, c.n_k, c.n_v, c.head_dim,
                                                     c.max_group, c.context, sm_count, 128);
  p.top_k = c.top_k;
  p.out = s->out.data();
  p.out_type = ActType::kF32;
  const int64_t acc = int64_t{c.batch} * c.n_q * p.num_splits * c.head_dim;
  SIGMA_RETURN_IF_ERROR(s->partials.Allocate(AttentionPartialFloats(c.batch, c.n_q, p.num_splits, c.head_dim)));
  p.part_acc = s->partials.data();
  p.part_ml = s->partials.data() + acc;
  if (c.top_k > 0) {
    SIGMA_RETURN_IF_ERROR(s->scores.Allocate(int64_t{c.batch} * c.n_q * capacity));
    SIGMA_RETURN_IF_ERROR(s->sel.Allocate(int64_t{c.batch} * c.n_q * c.top_k));
    p.scores = s->scores.data();
    p.scores_stride = capacity;
    p.sel_idx = s->sel.data();
  }
  SIGMA_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
  return Status::Ok();
}

Status EnqueueAttention(AttentionSetup& s, cudaStream_t stream) {
  for (size_t i = 0; i < s.k.size(); ++i) {
    AttentionParams p = s.params;
    p.k_cache = s.k[i].data();
    p.v_cache = s.v[i].data();
    SIGMA_RETURN_IF_ERROR(LaunchDecodeAttention(p, stream));
  }
  return Status::Ok();
}

double AttentionBytes(const DecodeAttentionBenchConfig& c) {
  const double row = 2.0 * c.head_dim;
  const double k = double{1.0} * c.batch * c.n_k * c.context * row;
  if (c.top_k > 0 && c.top_k < c.context) return k + 1.0 * c.batch * c.n_q * c.top_k * row;
  return k + 1.0 * c.batch * c.n_v * c.context * row;
}

}  // namespace

StatusOr<double> ReadBandwidthGBps(int64_t bytes, int iterations) {
  BenchContext ctx;
  SIGMA_RETURN_IF_ERROR(ctx.Init());
  const int64_t n16 = bytes / 16;
  DeviceBuffer<float> src;
  SIGMA_RETURN_IF_ERROR(src.Allocate(static_cast<size_t>(n16 * 4)));
  SIGMA_RETURN_IF_ERROR(FillUniformF32(src.data(), n16 * 4, 3, 1.0f, ctx.stream()));
  const int blocks = ctx.prop().multiProcessorCount * 4;
  DeviceBuffer<uint32_t> sink;
  SIGMA_RETURN_IF_ERROR(sink.Allocate(blocks));
  SIGMA_ASSIGN_OR_RETURN(Timing t, ctx.TimeGraph([&] {
    return LaunchStreamRead(src.data(), n16, sink.data(), blocks, ctx.stream());
  }, 1, iterations));
  return static_cast<double>(n16 * 16) / (t.median_us * 1e3);
}

StatusOr<DecodeAttentionBenchResult> DecodeAttentionBenchmark(const DecodeAttentionBenchConfig& c) {
  BenchContext ctx;
  SIGMA_RETURN_IF_ERROR(ctx.Init());
  const double bytes = AttentionBytes(c);
  const double set_bytes = 2.0 * c.head_dim * c.batch * (c.n_k + c.n_v) * c.context;
  size_t free_bytes = 0, total_bytes = 0;
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemGetInfo(&free_bytes, &total_bytes));
  const int max_copies = std::max(1, static_cast<int>(0.6 * free_bytes / std::max(set_bytes, 1.0)));
  const int copies = RotationCopies(ctx.prop(), set_bytes, std::min(max_copies, 64));
  AttentionSetup s;
  SIGMA_RETURN_IF_ERROR(BuildAttention(c, c.context, copies, ctx.prop().multiProcessorCount,
                                       ctx.stream(), &s));
  SIGMA_ASSIGN_OR_RETURN(Timing t, ctx.TimeGraph([&] { return EnqueueAttention(s, ctx.stream()); },
                                                 copies, c.iterations));
  DecodeAttentionBenchResult r;
  r.median_us = t.median_us;
  r.min_us = t.min_us;
  r.bytes = bytes;
  r.gb_per_s = bytes / (t.median_us * 1e3);
  r.num_splits = s.params.num_splits;
  r.max_group = AttentionHeadsPerCta(c.n_q, c.n_k, c.n_v, c.head_dim, c.max_group);
  return r;
}

StatusOr<ProjectionBenchResult> ProjectionBenchmark(int64_t out, int64_t in, int batch, int iterations) {
  if (out <= 0 || in <= 0 || batch <= 0) return InvalidArgumentError("projection benchmark: bad shape");
  BenchContext ctx;
  SIGMA_RETURN_IF_ERROR(ctx.Init());
  const double bytes = 2.0 * out * in;
  const int copies = RotationCopies(ctx.prop(), bytes, 64);
  std::vector<DeviceBuffer<bf16>> w(static_cast<size_t>(copies));
  for (int i = 0; i < copies; ++i) {
    SIGMA_RETURN_IF_ERROR(w[i].Allocate(out * in));
    SIGMA_RETURN_IF_ERROR(FillUniformBf16(w[i].data(), out * in, 31 + i, 0.05f, ctx.stream()));
  }
  DeviceBuffer<bf16> x;
  DeviceBuffer<float> y;
  SIGMA_RETURN_IF_ERROR(x.Allocate(batch * in));
  SIGMA_RETURN_IF_ERROR(y.Allocate(batch * out));
  SIGMA_RETURN_IF_ERROR(FillUniformBf16(x.data(), batch * in, 37, 1.0f, ctx.stream()));
  SIGMA_ASSIGN_OR_RETURN(Timing t, ctx.TimeGraph([&]() -> Status {
    for (auto& wi : w) {
      SIGMA_RETURN_IF_ERROR(Gemm(ctx.cublas(), {wi.data(), ActType::kBF16, out, in},
                                 {x.data(), in, y.data(), out, batch, 0.0f}));
    }
    return Status::Ok();
  }, copies, iterations));
  return ProjectionBenchResult{t.median_us, t.min_us, bytes / (t.median_us * 1e3)};
}

StatusOr<AttentionLayerBenchResult> AttentionLayerBenchmark(const ModelConfig& m, int batch,
                                                            int64_t context, int top_k,
                                                            int iterations) {
  SIGMA_RETURN_IF_ERROR(m.Validate());
  BenchContext ctx;
  SIGMA_RETURN_IF_ERROR(ctx.Init());
  cudaStream_t stream = ctx.stream();
  DecodeAttentionBenchConfig c;
  c.n_q = static_cast<int>(m.n_q_heads);
  c.n_k = static_cast<int>(m.n_k_heads);
  c.n_v = static_cast<int>(m.n_v_heads);
  c.head_dim = static_cast<int>(m.head_dim);
  c.batch = batch;
  c.context = context + 1;  // the new token's row is appended, then attended
  c.top_k = top_k;
  const double set_bytes = 2.0 * c.head_dim * batch * (c.n_k + c.n_v) * c.context;
  const int copies = RotationCopies(ctx.prop(), set_bytes, static_cast<int>(m.num_layers));
  AttentionSetup s;
  SIGMA_RETURN_IF_ERROR(BuildAttention(c, c.context, copies, ctx.prop().multiProcessorCount, stream, &s));
  // KV write: RoPE on q and k, append k and v at position `context` (k and v read from q's rows).
  RopeAppendParams rp;
  rp.q = s.q.data();
  rp.q_stride = int64_t{c.n_q} * c.head_dim;
  DeviceBuffer<float> kv_rows;  // [batch][(n_k + n_v) * hd]: the new token's k and v
  const int64_t kv_width = int64_t{c.n_k + c.n_v} * c.head_dim;
  SIGMA_RETURN_IF_ERROR(kv_rows.Allocate(batch * kv_width));
  SIGMA_RETURN_IF_ERROR(FillUniformF32(kv_rows.data(), batch * kv_width, 9, 1.0f, stream));
  rp.k = kv_rows.data();
  rp.v = kv_rows.data() + int64_t{c.n_k} * c.head_dim;
  rp.kv_stride = kv_width;
  rp.row_seq = s.seq.data();
  rp.row_pos = s.pos.data();
  DeviceBuffer<float> inv_freq;
  const std::vector<float> inv = m.RopeInvFreq();
  SIGMA_RETURN_IF_ERROR(inv_freq.Allocate(inv.size()));
  SIGMA_RETURN_IF_ERROR(inv_freq.CopyFromHost(inv.data(), inv.size()));
  rp.inv_freq = inv_freq.data();
  rp.capacity = c.context;
  rp.rows = batch;
  rp.n_q = c.n_q;
  rp.n_k = c.n_k;
  rp.n_v = c.n_v;
  rp.head_dim = c.head_dim;
  AttentionLayerBenchResult r;
  SIGMA_ASSIGN_OR_RETURN(Timing kv, ctx.TimeGraph([&]() -> Status {
    for (int i = 0; i < copies; ++i) {
      rp.k_cache = s.k[i].data();
      rp.v_cache = s.v[i].data();
      SIGMA_RETURN_IF_ERROR(LaunchRopeAppend(rp, stream));
    }
    return Status::Ok();
  }, copies, iterations));
  SIGMA_ASSIGN_OR_RETURN(Timing at, ctx.TimeGraph([&] { return EnqueueAttention(s, stream); },
                                                  copies, iterations));
  r.kv_write_us = kv.median_us;
  r.attention_us = at.median_us;
  const int64_t aug = m.aug_q_intermediate_size;
  if (aug > 0) {
    const int q_dim = static_cast<int>(m.q_dim());
    const int layers = static_cast<int>(m.num_layers);
    std::vector<DeviceBuffer<bf16>> gate_up(layers), down(layers);
    for (int l = 0; l < layers; ++l) {
      SIGMA_RETURN_IF_ERROR(gate_up[l].Allocate(2 * aug * q_dim));
      SIGMA_RETURN_IF_ERROR(down[l].Allocate(aug * q_dim));
      SIGMA_RETURN_IF_ERROR(FillUniformBf16(gate_up[l].data(), 2 * aug * q_dim, 100 + l, 0.0346f, stream));
      SIGMA_RETURN_IF_ERROR(FillUniformBf16(down[l].data(), aug * q_dim, 200 + l, 0.0346f, stream));
    }
    DeviceBuffer<bf16> q0, h;
    DeviceBuffer<float> gu, q;
    SIGMA_RETURN_IF_ERROR(q0.Allocate(int64_t{batch} * q_dim));
    SIGMA_RETURN_IF_ERROR(h.Allocate(int64_t{batch} * aug));
    SIGMA_RETURN_IF_ERROR(gu.Allocate(int64_t{batch} * 2 * aug));
    SIGMA_RETURN_IF_ERROR(q.Allocate(int64_t{batch} * q_dim));
    SIGMA_ASSIGN_OR_RETURN(Timing aq, ctx.TimeGraph([&]() -> Status {
      for (int l = 0; l < layers; ++l) {
        SIGMA_RETURN_IF_ERROR(LaunchConvert({s.q.data(), q_dim, q0.data(), ActType::kBF16, batch, q_dim}, stream));
        SIGMA_RETURN_IF_ERROR(Gemm(ctx.cublas(), {gate_up[l].data(), ActType::kBF16, 2 * aug, q_dim},
                                   {q0.data(), q_dim, gu.data(), 2 * aug, batch, 0.0f}));
        SIGMA_RETURN_IF_ERROR(LaunchSiluMul({gu.data(), h.data(), ActType::kBF16, batch, static_cast<int>(aug)}, stream));
        SIGMA_RETURN_IF_ERROR(Gemm(ctx.cublas(), {down[l].data(), ActType::kBF16, q_dim, aug},
                                   {h.data(), aug, q.data(), q_dim, batch, 0.0f}));
      }
      return Status::Ok();
    }, layers, iterations));
    r.aug_q_us = aq.median_us;
  }
  r.step_ms = (r.kv_write_us + r.attention_us + r.aug_q_us) * m.num_layers / 1000.0;
  return r;
}

StatusOr<DecodeStepBenchResult> DecodeStepBenchmark(const ModelConfig& config, int batch,
                                                    int64_t context, int top_k, int iterations) {
  if (batch <= 0 || context < 0 || iterations <= 0) {
    return InvalidArgumentError("decode step benchmark: batch and iterations must be positive");
  }
  CudaOptions o;
  o.max_context = context + 8;
  o.max_sequences = batch;
  o.max_rows = std::max(batch, 16);
  o.selective_v_top_k = top_k;
  SIGMA_ASSIGN_OR_RETURN(auto model, CudaModel::CreateRandom(config, o, 1));
  std::vector<TokenRow> rows(static_cast<size_t>(batch));
  for (int b = 0; b < batch; ++b) {
    SIGMA_RETURN_IF_ERROR(model->FillSyntheticContext(b, context, 17 + b));
    rows[static_cast<size_t>(b)] = TokenRow{b, 1};
  }
  std::vector<int32_t> ids;
  std::vector<double> ms;
  for (int i = -3; i < iterations; ++i) {
    const auto start = std::chrono::steady_clock::now();
    SIGMA_RETURN_IF_ERROR(model->ForwardArgMax(rows, LogitsMode::kAll, &ids));
    const auto end = std::chrono::steady_clock::now();
    if (i >= 0) ms.push_back(std::chrono::duration<double, std::milli>(end - start).count());
    for (int b = 0; b < batch; ++b) SIGMA_RETURN_IF_ERROR(model->TruncateSequence(b, context));
  }
  DecodeStepBenchResult r;
  r.step_ms = ms;
  std::sort(ms.begin(), ms.end());
  r.median_ms = ms[ms.size() / 2];
  return r;
}

StatusOr<double> DecodeStepBenchmarkMs(const ModelConfig& config, int batch, int64_t context,
                                       int iterations) {
  SIGMA_ASSIGN_OR_RETURN(DecodeStepBenchResult r,
                         DecodeStepBenchmark(config, batch, context, /*top_k=*/0, iterations));
  return r.median_ms;
}

}  // namespace sigma::cuda
