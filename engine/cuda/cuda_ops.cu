// Host-level op entry points (cuda_ops.h): upload, run one op, download.
#include "engine/cuda/cuda_ops.h"

#include <cmath>
#include <cstring>

#include "engine/cuda/argmax.cuh"
#include "engine/cuda/cuda_check.cuh"
#include "engine/cuda/decode_attention.cuh"
#include "engine/cuda/device_buffer.cuh"
#include "engine/cuda/elementwise.cuh"
#include "engine/cuda/embedding.cuh"
#include "engine/cuda/gemm.cuh"
#include "engine/cuda/rms_norm.cuh"
#include "engine/cuda/rope_append.cuh"
#include "engine/cuda/vec.cuh"
#include "engine/dtype.h"

namespace sigma::cuda {
namespace {

template <typename T>
StatusOr<DeviceBuffer<T>> Upload(const std::vector<T>& host) {
  DeviceBuffer<T> d;
  SIGMA_RETURN_IF_ERROR(d.Allocate(host.size()));
  SIGMA_RETURN_IF_ERROR(d.CopyFromHost(host.data(), host.size()));
  return d;
}

std::vector<uint16_t> ToBf16(const std::vector<float>& x) {
  std::vector<uint16_t> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = F32ToBf16(x[i]);
  return out;
}

// Downloads n elements of an act-typed buffer as f32.
StatusOr<std::vector<float>> DownloadAct(const DeviceBuffer<uint8_t>& d, size_t n, bool bf16) {
  SIGMA_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
  std::vector<float> out(n);
  if (bf16) {
    std::vector<uint16_t> raw(n);
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(raw.data(), d.data(), n * 2, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; ++i) out[i] = Bf16ToF32(raw[i]);
  } else {
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(out.data(), d.data(), n * 4, cudaMemcpyDeviceToHost));
  }
  return out;
}

// An act-typed device buffer of n elements poisoned with NaN bytes (0xff).
StatusOr<DeviceBuffer<uint8_t>> PoisonedAct(size_t n, bool bf16) {
  DeviceBuffer<uint8_t> d;
  SIGMA_RETURN_IF_ERROR(d.Allocate(n * (bf16 ? 2 : 4)));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemset(d.data(), 0xff, d.bytes()));
  return d;
}

ActType Act(bool bf16) { return bf16 ? ActType::kBF16 : ActType::kF32; }

}  // namespace

StatusOr<std::vector<float>> RmsNormOnDevice(const std::vector<float>& x,
                                             const std::vector<float>& weight, float eps,
                                             int rows, int n, bool bf16) {
  SIGMA_ASSIGN_OR_RETURN(auto dx, Upload(x));
  SIGMA_ASSIGN_OR_RETURN(auto dw, Upload(weight));
  SIGMA_ASSIGN_OR_RETURN(auto out, PoisonedAct(static_cast<size_t>(rows) * n, bf16));
  SIGMA_RETURN_IF_ERROR(LaunchRmsNorm({dx.data(), n, dw.data(), out.data(), Act(bf16), rows, n, eps}, nullptr));
  return DownloadAct(out, static_cast<size_t>(rows) * n, bf16);
}

StatusOr<std::vector<float>> SiluMulOnDevice(const std::vector<float>& gate,
                                             const std::vector<float>& up, int rows, int n,
                                             bool bf16) {
  std::vector<float> fused(static_cast<size_t>(rows) * 2 * n);
  for (int r = 0; r < rows; ++r) {
    std::memcpy(&fused[size_t(r) * 2 * n], &gate[size_t(r) * n], n * sizeof(float));
    std::memcpy(&fused[size_t(r) * 2 * n + n], &up[size_t(r) * n], n * sizeof(float));
  }
  SIGMA_ASSIGN_OR_RETURN(auto din, Upload(fused));
  SIGMA_ASSIGN_OR_RETURN(auto out, PoisonedAct(static_cast<size_t>(rows) * n, bf16));
  SIGMA_RETURN_IF_ERROR(LaunchSiluMul({din.data(), out.data(), Act(bf16), rows, n}, nullptr));
  return DownloadAct(out, static_cast<size_t>(rows) * n, bf16);
}

StatusOr<std::vector<float>> MatMulOnDevice(const std::vector<float>& w, int64_t out, int64_t in,
                                            const std::vector<float>& x, int batch, bool bf16) {
  DeviceBuffer<uint8_t> dw, dx;
  SIGMA_RETURN_IF_ERROR(dw.Allocate(w.size() * (bf16 ? 2 : 4)));
  SIGMA_RETURN_IF_ERROR(dx.Allocate(x.size() * (bf16 ? 2 : 4)));
  if (bf16) {
    const auto w16 = ToBf16(w);
    const auto x16 = ToBf16(x);
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dw.data(), w16.data(), dw.bytes(), cudaMemcpyHostToDevice));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dx.data(), x16.data(), dx.bytes(), cudaMemcpyHostToDevice));
  } else {
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dw.data(), w.data(), dw.bytes(), cudaMemcpyHostToDevice));
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dx.data(), x.data(), dx.bytes(), cudaMemcpyHostToDevice));
  }
  SIGMA_ASSIGN_OR_RETURN(auto y, PoisonedAct(static_cast<size_t>(batch * out), false));
  cublasHandle_t handle = nullptr;
  SIGMA_CUBLAS_RETURN_IF_ERROR(cublasCreate(&handle));
  const Status st = Gemm(handle, {dw.data(), Act(bf16), out, in},
                         {dx.data(), in, reinterpret_cast<float*>(y.data()), out, batch, 0.0f});
  cublasDestroy(handle);
  SIGMA_RETURN_IF_ERROR(st);
  return DownloadAct(y, static_cast<size_t>(batch * out), false);
}

StatusOr<std::vector<float>> EmbeddingOnDevice(const std::vector<float>& table, int64_t vocab,
                                               int64_t hidden, const std::vector<int32_t>& tokens,
                                               bool bf16) {
  DeviceBuffer<uint8_t> dt;
  SIGMA_RETURN_IF_ERROR(dt.Allocate(table.size() * (bf16 ? 2 : 4)));
  if (bf16) {
    const auto t16 = ToBf16(table);
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dt.data(), t16.data(), dt.bytes(), cudaMemcpyHostToDevice));
  } else {
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dt.data(), table.data(), dt.bytes(), cudaMemcpyHostToDevice));
  }
  SIGMA_ASSIGN_OR_RETURN(auto dtok, Upload(tokens));
  const int rows = static_cast<int>(tokens.size());
  SIGMA_ASSIGN_OR_RETURN(auto out, PoisonedAct(static_cast<size_t>(rows * hidden), false));
  SIGMA_RETURN_IF_ERROR(LaunchEmbedding({dtok.data(), dt.data(), Act(bf16),
                                         reinterpret_cast<float*>(out.data()), rows,
                                         static_cast<int>(hidden)}, nullptr));
  (void)vocab;
  return DownloadAct(out, static_cast<size_t>(rows * hidden), false);
}

StatusOr<std::vector<int32_t>> ArgMaxOnDevice(const std::vector<float>& logits, int rows,
                                              int vocab) {
  SIGMA_ASSIGN_OR_RETURN(auto dl, Upload(logits));
  DeviceBuffer<int32_t> ids;
  SIGMA_RETURN_IF_ERROR(ids.Allocate(rows));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemset(ids.data(), 0xff, ids.bytes()));
  SIGMA_RETURN_IF_ERROR(LaunchArgMax({dl.data(), ids.data(), rows, vocab}, nullptr));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
  std::vector<int32_t> out(static_cast<size_t>(rows));
  SIGMA_RETURN_IF_ERROR(ids.CopyToHost(out.data(), out.size()));
  return out;
}

StatusOr<RopeAppendResult> RopeAppendOnDevice(const std::vector<float>& q,
                                              const std::vector<float>& k,
                                              const std::vector<float>& v,
                                              const std::vector<int32_t>& positions,
                                              const std::vector<float>& inv_freq, int n_q, int n_k,
                                              int n_v, int head_dim, int64_t capacity) {
  const int rows = static_cast<int>(positions.size());
  // k and v rows fused as the model's QKV buffer holds them: [rows][(n_k + n_v) * hd].
  const int64_t kd = int64_t{n_k} * head_dim;
  const int64_t vd = int64_t{n_v} * head_dim;
  std::vector<float> kv(static_cast<size_t>(rows * (kd + vd)));
  for (int r = 0; r < rows; ++r) {
    std::memcpy(&kv[size_t(r * (kd + vd))], &k[size_t(r * kd)], kd * sizeof(float));
    std::memcpy(&kv[size_t(r * (kd + vd) + kd)], &v[size_t(r * vd)], vd * sizeof(float));
  }
  SIGMA_ASSIGN_OR_RETURN(auto dq, Upload(q));
  SIGMA_ASSIGN_OR_RETURN(auto dkv, Upload(kv));
  SIGMA_ASSIGN_OR_RETURN(auto dpos, Upload(positions));
  SIGMA_ASSIGN_OR_RETURN(auto dfreq, Upload(inv_freq));
  DeviceBuffer<int32_t> dseq;
  SIGMA_RETURN_IF_ERROR(dseq.Allocate(rows));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemset(dseq.data(), 0, dseq.bytes()));
  DeviceBuffer<bf16> kc, vc;
  SIGMA_RETURN_IF_ERROR(kc.Allocate(static_cast<size_t>(n_k * capacity * head_dim)));
  SIGMA_RETURN_IF_ERROR(vc.Allocate(static_cast<size_t>(n_v * capacity * head_dim)));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemset(kc.data(), 0xff, kc.bytes()));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemset(vc.data(), 0xff, vc.bytes()));
  RopeAppendParams p;
  p.q = dq.data();
  p.q_stride = int64_t{n_q} * head_dim;
  p.k = dkv.data();
  p.v = dkv.data() + kd;
  p.kv_stride = kd + vd;
  p.row_seq = dseq.data();
  p.row_pos = dpos.data();
  p.inv_freq = dfreq.data();
  p.k_cache = kc.data();
  p.v_cache = vc.data();
  p.capacity = capacity;
  p.rows = rows;
  p.n_q = n_q;
  p.n_k = n_k;
  p.n_v = n_v;
  p.head_dim = head_dim;
  SIGMA_RETURN_IF_ERROR(LaunchRopeAppend(p, nullptr));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaDeviceSynchronize());
  RopeAppendResult r;
  r.q.resize(q.size());
  r.k.resize(kc.size());
  r.v.resize(vc.size());
  SIGMA_RETURN_IF_ERROR(dq.CopyToHost(r.q.data(), r.q.size()));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(r.k.data(), kc.data(), kc.bytes(), cudaMemcpyDeviceToHost));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(r.v.data(), vc.data(), vc.bytes(), cudaMemcpyDeviceToHost));
  return r;
}

StatusOr<std::vector<float>> AttentionOnDevice(const AttentionCase& c) {
  const int rows = static_cast<int>(c.row_seq.size());
  int max_ctx = 1;
  for (int x : c.row_ctx) max_ctx = std::max(max_ctx, x);
  DeviceBuffer<bf16> dk, dv;
  SIGMA_RETURN_IF_ERROR(dk.Allocate(c.k.size()));
  SIGMA_RETURN_IF_ERROR(dv.Allocate(c.v.size()));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dk.data(), c.k.data(), dk.bytes(), cudaMemcpyHostToDevice));
  SIGMA_CUDA_RETURN_IF_ERROR(cudaMemcpy(dv.data(), c.v.data(), dv.bytes(), cudaMemcpyHostToDevice));
  SIGMA_ASSIGN_OR_RETURN(auto dq, Upload(c.q));
  SIGMA_ASSIGN_OR_RETURN(auto dseq, Upload(c.row_seq));
  SIGMA_ASSIGN_OR_RETURN(auto dctx, Upload(c.row_ctx));
  const size_t out_n = static_cast<size_t>(rows) * c.n_q * c.head_dim;
  SIGMA_ASSIGN_OR_RETURN(auto out, PoisonedAct(out_n, c.bf16_out));
  cudaDeviceProp prop;
  SIGMA_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, 0));
  AttentionParams p;
  p.q = dq.data();
  p.q_stride = int64_t{c.n_q} * c.head_dim;
  p.row_seq = dseq.data();
  p.row_ctx = dctx.data();
  p.k_cache = dk.data();
  p.v_cache = dv.data();
  p.capacity = c.capacity;
  p.rows = rows;
  p.n_q = c.n_q;
  p.n_k = c.n_k;
  p.n_v = c.n_v;
  p.head_dim = c.head_dim;
  p.scale = c.scale;
  p.max_group = c.max_group;
  p.num_splits = c.num_splits > 0 ? c.num_splits
                                  : AttentionSplits(rows, c.n_q, c.n_k, c.n_v, c.head_dim, c.max_group,
                                                    max_ctx, prop.multiProcessorCount, 128);
  p.top_k = c.top_k;
  p.out = out.data();
  p.out_type = Act(c.bf16_out);
  DeviceBuffer<float> partials, scores;
  DeviceBuffer<int32_t> sel;
  SIGMA_RETURN_IF_ERROR(partials.Allocate(AttentionPartialFloats(rows, c.n_q, p.num_splits, c.head_dim)));
  p.part_acc = partials.data();
  p.part_ml = partials.data() + int64_t{rows} * c.n_q * p.num_splits * c.head_dim;
  if (c.top_k > 0) {
    SIGMA_RETURN_IF_ERROR(scores.Allocate(int64_t{rows} * c.n_q * max_ctx));
    SIGMA_RETURN_IF_ERROR(sel.Allocate(int64_t{rows} * c.n_q * c.top_k));
    p.scores = scores.data();
    p.scores_stride = max_ctx;
    p.sel_idx = sel.data();
  }
  SIGMA_RETURN_IF_ERROR(LaunchDecodeAttention(p, nullptr));
  return DownloadAct(out, out_n, c.bf16_out);
}

}  // namespace sigma::cuda
