// Portable attention inner loops (see attention_internal.h), and the shared top-k selection.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "engine/base/check.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/attention_internal.h"
#include "engine/score_order.h"

namespace sigma::internal {
namespace {

template <DType kType>
inline float At(const void* base, int64_t i) {
  if constexpr (kType == DType::kF32) {
    return static_cast<const float*>(base)[i];
  } else if constexpr (kType == DType::kBF16) {
    return Bf16ToF32(static_cast<const uint16_t*>(base)[i]);
  } else {
    return F16ToF32(static_cast<const uint16_t*>(base)[i]);
  }
}

// Decodes one cache row into f32.
template <DType kType>
void RowToF32(const void* rows, int64_t row, int hd, float* out) {
  for (int d = 0; d < hd; ++d) out[d] = At<kType>(rows, row * hd + d);
}

// K position j of the tiles at k (attention.h, KElementIndex) into f32.
template <DType kType>
void KRowToF32(const void* k, int64_t j, int hd, float* out) {
  for (int d = 0; d < hd; ++d) out[d] = At<kType>(k, KElementIndex(kType, hd, j, d));
}

template <DType kType>
void ScoresT(const float* q, int g, int hd, float scale, const void* k, int64_t n, float* scores,
             int64_t stride) {
  std::vector<float> row(static_cast<size_t>(hd));
  for (int64_t j = 0; j < n; ++j) {
    KRowToF32<kType>(k, j, hd, row.data());
    for (int h = 0; h < g; ++h) {
      const float* qh = q + static_cast<int64_t>(h) * hd;
      float partial[4] = {0, 0, 0, 0};
      int d = 0;
      for (; d + 4 <= hd; d += 4) {
        for (int u = 0; u < 4; ++u) partial[u] += qh[d + u] * row[d + u];
      }
      float sum = (partial[0] + partial[1]) + (partial[2] + partial[3]);
      for (; d < hd; ++d) sum += qh[d] * row[d];
      scores[h * stride + j] = sum * scale;
    }
  }
}

template <DType kType>
void AccumulateVT(const float* p, int64_t p_stride, int m, int hd, const void* v, int64_t n,
                  float* out) {
  std::vector<float> row(static_cast<size_t>(hd));
  for (int64_t j = 0; j < n; ++j) {
    RowToF32<kType>(v, j, hd, row.data());
    for (int h = 0; h < m; ++h) {
      const float weight = p[h * p_stride + j];
      float* o = out + static_cast<int64_t>(h) * hd;
      for (int d = 0; d < hd; ++d) o[d] += weight * row[d];
    }
  }
}

template <DType kType>
void GatherVT(const float* w, const int32_t* idx, int64_t n, int hd, const void* v, float* out) {
  for (int64_t t = 0; t < n; ++t) {
    const int64_t base = static_cast<int64_t>(idx[t]) * hd;
    for (int d = 0; d < hd; ++d) out[d] += w[t] * At<kType>(v, base + d);
  }
}

// `next` is not prefetched: the scalar loops are not the memory-bound path.
void Scores(const float* q, int g, int hd, float scale, const void* k, DType dtype, int64_t n,
            float* scores, int64_t stride, NextReads /*next*/) {
  switch (dtype) {
    case DType::kF32: return ScoresT<DType::kF32>(q, g, hd, scale, k, n, scores, stride);
    case DType::kF16: return ScoresT<DType::kF16>(q, g, hd, scale, k, n, scores, stride);
    case DType::kBF16: return ScoresT<DType::kBF16>(q, g, hd, scale, k, n, scores, stride);
    default: SIGMA_CHECK(false, "attention: cache dtype ", DTypeName(dtype));
  }
}

void ScoresBf16Query(const float* q, int g, int hd, float scale, const void* k, int64_t n,
                     float* scores, int64_t stride, NextReads /*next*/) {
  std::vector<float> rounded(static_cast<size_t>(g) * hd);
  RoundToBf16(q, static_cast<int64_t>(g) * hd, rounded.data());
  ScoresT<DType::kBF16>(rounded.data(), g, hd, scale, k, n, scores, stride);
}

void AccumulateV(const float* p, int64_t p_stride, int m, int hd, const void* v, DType dtype,
                 int64_t n, float* out) {
  switch (dtype) {
    case DType::kF32: return AccumulateVT<DType::kF32>(p, p_stride, m, hd, v, n, out);
    case DType::kF16: return AccumulateVT<DType::kF16>(p, p_stride, m, hd, v, n, out);
    case DType::kBF16: return AccumulateVT<DType::kBF16>(p, p_stride, m, hd, v, n, out);
    default: SIGMA_CHECK(false, "attention: cache dtype ", DTypeName(dtype));
  }
}

void GatherV(const float* w, const int32_t* idx, int64_t n, int hd, const void* v, DType dtype,
             float* out) {
  switch (dtype) {
    case DType::kF32: return GatherVT<DType::kF32>(w, idx, n, hd, v, out);
    case DType::kF16: return GatherVT<DType::kF16>(w, idx, n, hd, v, out);
    case DType::kBF16: return GatherVT<DType::kBF16>(w, idx, n, hd, v, out);
    default: SIGMA_CHECK(false, "attention: cache dtype ", DTypeName(dtype));
  }
}

float ExpSum(float* s, int64_t n, float max, NextReads next) {
  SpreadPrefetch<2> spread(next, n / 16);
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    if (j % 16 == 0) spread.Step();
    s[j] = std::exp(s[j] - max);
    sum += s[j];
  }
  return sum;
}

float Max(const float* s, int64_t n) {
  float m = s[0];
  for (int64_t j = 1; j < n; ++j) m = std::max(m, s[j]);
  return m;
}

int64_t FirstNotBelow(const float* s, int64_t begin, int64_t n, float threshold) {
  for (int64_t j = begin; j < n; ++j) {
    if (!(s[j] < threshold)) return j;
  }
  return n;
}

// A candidate as one integer whose order is the rank order: the score's ScoreOrderKey, then the
// position, so that a later position wins a tie. Integer compares keep nth_element cheap.
uint64_t RankKey(float score, int64_t pos) {
  return static_cast<uint64_t>(ScoreOrderKey(score)) << 32 | static_cast<uint32_t>(pos);
}

int32_t KeyPosition(uint64_t key) { return static_cast<int32_t>(key & 0xffffffffu); }

}  // namespace

const AttentionKernels& GenericAttentionKernels() {
  static const AttentionKernels kernels{
      Scores, ScoresBf16Query, /*bf16_query_dot=*/false, /*one_pass_partial=*/nullptr,
      AccumulateV, GatherV, ExpSum, Max, FirstNotBelow};
  return kernels;
}

void SelectTopK(const float* s, int64_t n, int k, const AttentionKernels& kernels,
                std::vector<int32_t>* idx, std::vector<float>* w) {
  SIGMA_CHECK(k > 0 && k < n, "SelectTopK: k ", k, " with n ", n);
  // Candidates go into a buffer of 2k + 16; when it is full the best k are kept and the k-th's
  // score becomes the threshold. A later score below it cannot enter (a later position wins a
  // tie, so an equal score can), and the scan jumps from one score not below it to the next
  // (first_not_below, vectorised). Each candidate costs O(1) amortised, where a heap of the best
  // k paid O(log k) a candidate in branchy pair compares. Sigma's top 100 of 16K positions
  // (random-weight scores: ~850 candidates, 6 compactions a head): its decode attention 1.61-1.63
  // -> 1.07-1.10 ms a layer (A/B, 2-core Zen 3).
  thread_local std::vector<uint64_t> kept;
  const size_t capacity = 2 * static_cast<size_t>(k) + 16;
  kept.clear();
  kept.reserve(capacity);
  const auto keep_best_k = [&] {
    std::nth_element(kept.begin(), kept.begin() + (k - 1), kept.end(), std::greater<>());
    kept.resize(static_cast<size_t>(k));
  };
  float threshold = -std::numeric_limits<float>::infinity();
  for (int64_t j = kernels.first_not_below(s, 0, n, threshold); j < n;
       j = kernels.first_not_below(s, j + 1, n, threshold)) {
    kept.push_back(RankKey(s[j], j));
    if (kept.size() == capacity) {
      keep_best_k();
      threshold = s[KeyPosition(kept.back())];
    }
  }
  if (kept.size() > static_cast<size_t>(k)) keep_best_k();
  idx->resize(static_cast<size_t>(k));
  w->resize(static_cast<size_t>(k));
  for (int i = 0; i < k; ++i) (*idx)[i] = KeyPosition(kept[i]);
  std::sort(idx->begin(), idx->end());
  float max = -std::numeric_limits<float>::infinity();
  for (int i = 0; i < k; ++i) {
    (*w)[i] = s[(*idx)[i]];
    max = std::max(max, (*w)[i]);
  }
  const float sum = kernels.exp_sum(w->data(), k, max, {});
  const float inv = 1.0f / sum;
  for (int i = 0; i < k; ++i) (*w)[i] *= inv;
}

}  // namespace sigma::internal
