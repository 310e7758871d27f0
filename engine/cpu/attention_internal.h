// Internal to engine/cpu: the per-ISA inner loops of attention.cc and the shared top-k selection.
//
// V rows are head_dim elements of `dtype` (f32, f16, bf16), consecutive rows head_dim apart, which
// is one head of the cache ([head][pos][head_dim]); K is in tiles of 16 positions (attention.h).
// Kernels are stateless and reentrant.
#ifndef SIGMA_ENGINE_CPU_ATTENTION_INTERNAL_H_
#define SIGMA_ENGINE_CPU_ATTENTION_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "engine/base/check.h"
#include "engine/dtype.h"

namespace sigma::internal {

// Bytes a caller reads after a pass (a chunk's first V rows), for the pass to prefetch. A score
// pass of many query heads, and the softmax, are compute-bound and leave the memory stream idle;
// spreading prefetches of the next reads over their steps overlaps them with the arithmetic
// (attention.cc, SpreadV and SoftmaxReads, says where). A hint: it changes no result.
struct NextReads {
  const void* data = nullptr;
  int64_t bytes = 0;
};

// Walks NextReads in even steps over a pass of `steps` iterations: Step() prefetches the next
// share of cache lines, into L1 (kLocality 3) or L2 (2); the pass's own rows are prefetched
// separately.
template <int kLocality = 3>
class SpreadPrefetch {
 public:
  SpreadPrefetch(NextReads next, int64_t steps)
      : p_(static_cast<const char*>(next.data)),
        end_(p_ + (next.data == nullptr ? 0 : next.bytes)),
        lines_per_step_(steps > 0 ? (next.bytes / 64 + steps - 1) / steps : 0) {}
  void Step() {
    for (int64_t i = 0; i < lines_per_step_ && p_ < end_; ++i, p_ += 64) {
      __builtin_prefetch(p_, /*rw=*/0, kLocality);
    }
  }

 private:
  const char* p_;
  const char* end_;
  int64_t lines_per_step_;
};

// out[i] = q[i] rounded to bf16 (nearest even), for the kernels that multiply in f32.
inline void RoundToBf16(const float* q, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = Bf16ToF32(F32ToBf16(q[i]));
}

// How far ahead of its reads an AVX-512 (or AMX) pass prefetches in software (by CPU vendor;
// measurements at Avx512Prefetch, attention_avx512.cc). `rows`: cache rows a score or V pass
// prefetches ahead of the row it reads; `one_pass_tiles`: K tiles (and their 16 V rows) ahead
// that the one-pass kernel prefetches, a line of each per column pair (0: none).
struct PrefetchDistance {
  int64_t rows;
  int64_t one_pass_tiles;
};
const PrefetchDistance& Avx512Prefetch();

// q[0 .. count) (a multiple of 32) as bf16 pairs, dimension 2c in the low half as in a K tile
// (AVX-512 BF16; attention_avx512.cc). vcvtne2ps2bf16 rounds to nearest even as RoundToBf16 does,
// but takes subnormals (|q| < 2^-126) as signed zeros, and vdpbf16ps and tdpbf16ps take subnormal
// K elements so: products below 2^-126, invisible next to any other term.
void QueryBf16PairsAvx512(const float* q, int count, uint32_t* qp);

using OnePassPartialFn = void (*)(const float* q, int g, float scale, const void* k, const void* v,
                                  int64_t n, float* partial);

struct AttentionKernels {
  // scores[h * stride + j] = scale * dot(q[h], K position j) for h < g, j < n. q: [g][hd]. k: K
  // tiles (attention.h, KElementIndex) from position 0 of the pass; the last tile's positions
  // past n are read but not used, and nothing is stored past n. `next`: see NextReads (may be
  // empty).
  void (*scores)(const float* q, int g, int hd, float scale, const void* k, DType dtype, int64_t n,
                 float* scores, int64_t stride, NextReads next);
  // `scores` of a bf16 cache with q rounded to bf16 (AttentionShape::bf16_query): the products
  // exact in f32, summed in f32.
  void (*scores_bf16_query)(const float* q, int g, int hd, float scale, const void* k, int64_t n,
                            float* scores, int64_t stride, NextReads next);
  // Whether scores_bf16_query multiplies bf16 pairs in one instruction (AVX-512 BF16's
  // vdpbf16ps), half the arithmetic of an f32 pass; else it rounds q and runs the f32 pass.
  bool bf16_query_dot;
  // Where the family has one for this head_dim (else null): the unnormalised partial of positions
  // 0 .. n of a bf16 cache (layout as ChunkPartial's: max[g], sum[g], acc[g][hd]) in one pass, for
  // g = 3 or 4 query heads q ([g][hd], rounded to bf16) that share the V head whose rows start at v.
  OnePassPartialFn one_pass_partial;
  // out[h][:] += sum_j p[h * p_stride + j] * v row j, for h < m, j < n. out: [m][hd].
  void (*accumulate_v)(const float* p, int64_t p_stride, int m, int hd, const void* v, DType dtype,
                       int64_t n, float* out);
  // out[:] += sum_t w[t] * v row idx[t], t < n. out: [hd].
  void (*gather_v)(const float* w, const int32_t* idx, int64_t n, int hd, const void* v,
                   DType dtype, float* out);
  // s[j] = exp(s[j] - max) in place; returns the sum. `next`: see NextReads (may be empty),
  // prefetched into L2.
  float (*exp_sum)(float* s, int64_t n, float max, NextReads next);
  // max_j s[j] (n >= 1).
  float (*max)(const float* s, int64_t n);
  // The first j in [begin, n) with s[j] not below `threshold` (s[j] >= threshold, or either is
  // NaN); n if there is none. Top-k selection skips with it the scores below its k-th best.
  int64_t (*first_not_below)(const float* s, int64_t begin, int64_t n, float threshold);
};

const AttentionKernels& GenericAttentionKernels();

// AVX-512 kernels for this head_dim, or null where they have no instance (attention_avx512.cc).
const AttentionKernels* Avx512AttentionKernels(int hd);

// The AVX-512 kernels with the bf16 score pass on AMX tiles where it has one (head_dim 64), else
// the AVX-512 kernels themselves (attention_amx.cc); only where CpuSupportsAmx().
const AttentionKernels* AmxAttentionKernels(int hd);

// AVX2 + FMA + F16C kernels for this head_dim, or null where they have no instance
// (attention_avx2.cc).
const AttentionKernels* Avx2AttentionKernels(int hd);

// The AttentionKernels of one SIMD family for head_dim kHd, the cache dtype dispatched per call.
// `Typed` names the family's kernels (see attention_avx2.cc):
//   template <int kHd, DType kType> static constexpr auto scores, accumulate_v, gather_v: pointers
//     to the typed kernels, taking the AttentionKernels arguments without `hd` and `dtype`
//     (scores keeps `hd`);
//   template <int kHd> static constexpr auto scores_bf16_query: AttentionKernels' own;
//   static constexpr bool bf16_query_dot: AttentionKernels' own;
//   template <int kHd> static constexpr OnePassPartialFn one_pass_partial: AttentionKernels' own;
//   static constexpr auto exp_sum, max, first_not_below.
template <class Typed, int kHd>
struct KernelFamily {
  static void Scores(const float* q, int g, int hd, float scale, const void* k, DType dtype,
                     int64_t n, float* scores, int64_t stride, NextReads next) {
    switch (dtype) {
      case DType::kF32: return Typed::template scores<kHd, DType::kF32>(q, g, hd, scale, k, n, scores, stride, next);
      case DType::kF16: return Typed::template scores<kHd, DType::kF16>(q, g, hd, scale, k, n, scores, stride, next);
      case DType::kBF16: return Typed::template scores<kHd, DType::kBF16>(q, g, hd, scale, k, n, scores, stride, next);
      default: SIGMA_CHECK(false, "attention: cache dtype ", DTypeName(dtype));
    }
  }
  static void AccumulateV(const float* p, int64_t p_stride, int m, int hd, const void* v,
                          DType dtype, int64_t n, float* out) {
    switch (dtype) {
      case DType::kF32: return Typed::template accumulate_v<kHd, DType::kF32>(p, p_stride, m, v, n, out);
      case DType::kF16: return Typed::template accumulate_v<kHd, DType::kF16>(p, p_stride, m, v, n, out);
      case DType::kBF16: return Typed::template accumulate_v<kHd, DType::kBF16>(p, p_stride, m, v, n, out);
      default: SIGMA_CHECK(false, "attention: cache dtype ", DTypeName(dtype));
    }
  }
  static void GatherV(const float* w, const int32_t* idx, int64_t n, int hd, const void* v,
                      DType dtype, float* out) {
    switch (dtype) {
      case DType::kF32: return Typed::template gather_v<kHd, DType::kF32>(w, idx, n, v, out);
      case DType::kF16: return Typed::template gather_v<kHd, DType::kF16>(w, idx, n, v, out);
      case DType::kBF16: return Typed::template gather_v<kHd, DType::kBF16>(w, idx, n, v, out);
      default: SIGMA_CHECK(false, "attention: cache dtype ", DTypeName(dtype));
    }
  }
  static constexpr AttentionKernels kKernels{Scores,
                                             Typed::template scores_bf16_query<kHd>,
                                             Typed::bf16_query_dot,
                                             Typed::template one_pass_partial<kHd>,
                                             AccumulateV,
                                             GatherV,
                                             Typed::exp_sum,
                                             Typed::max,
                                             Typed::first_not_below};
};

// A family's kernels for head_dim 32, 64, 128 or 256; null for other head dims.
template <class Typed>
const AttentionKernels* FamilyKernels(int hd) {
  switch (hd) {
    case 32: return &KernelFamily<Typed, 32>::kKernels;
    case 64: return &KernelFamily<Typed, 64>::kKernels;
    case 128: return &KernelFamily<Typed, 128>::kKernels;
    case 256: return &KernelFamily<Typed, 256>::kKernels;
    default: return nullptr;
  }
}

// Top-k of scores s[0 .. n) by (score, position), larger first, so ties keep the later (more
// recent) position; NaN scores rank above all others (ScoreOrderKey, engine/score_order.h). Writes
// the chosen positions in ascending order into idx (resized to k) and their softmax weights
// renormalised to sum 1 into w. Requires 0 < k < n.
void SelectTopK(const float* s, int64_t n, int k, const AttentionKernels& kernels,
                std::vector<int32_t>* idx, std::vector<float>* w);

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_ATTENTION_INTERNAL_H_
