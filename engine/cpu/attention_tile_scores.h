// The decode/prefill score pass over K tiles (attention.h, KElementIndex), written once for the
// ISAs' vectors. Included by attention_avx2.cc (256-bit vectors: a tile in two parts of 8
// positions) and attention_avx512.cc (512-bit: a tile at once); each instantiates TileScoresT
// with its vector type V:
//   static constexpr int kLanes;     positions per vector (8 or 16): a tile is 16 / kLanes parts
//   static constexpr int kChains;    independent FMA chains that keep its FMA pipes busy
//   static constexpr int kMaxAcc;    accumulators that fit in its registers beside the operands
//   static constexpr int kMaxHeads;  query heads a pass over the tiles takes (at most 8)
//   using F;                         its float vector
//   F Zero(); F Set1(float); F Add(F, F); F Mul(F, F); F Fmadd(F a, F b, F c) (a b + c);
//   template <int kHd, DType kType> void Columns(const uint8_t* tile, int c, int part, F& even,
//     F& odd): dimensions 2c and 2c + 1 of the tile's positions [kLanes part, kLanes (part + 1));
//   void StoreFirst(float* dst, F v, int64_t count): the first count (<= kLanes) lanes.
//
// Per tile, one accumulator per query head and part holds the dots of kLanes positions, one FMA
// per dimension, head and part with the query element broadcast once for the parts: no
// horizontal sums. Few heads split the dimensions over two accumulator sets (TileScoreSets) for
// more independent FMA chains. The tile prefetch_rows positions ahead is prefetched a line per
// column pair, spread over the tile's arithmetic: in bursts of a tile, the prefetches stalled the
// pass (Sigma's 8-head score pass from DRAM 0.8x as fast).
// Measured (2-core Zen 4, one thread, 2048 bf16 positions in cache, head_dim 64), cycles a
// position for 8 / 3 / 2 query heads per K head: 512-bit 33.5 / 12.4 / 9.0 against 43-44 / 20.4 /
// 14.2 for the row kernels with shuffle-tree sums this replaced (FMA bound for 8: 32); 256-bit
// 48 / 21 / 13 (both parts of a tile per query broadcast; a part at a time, 51 / 21 / 17). From
// DRAM, two threads, the 8-head score pass ran 1.2-1.4x as fast; 2 and 3 heads, memory-bound,
// 1.02-1.05x.
#ifndef SIGMA_ENGINE_CPU_ATTENTION_TILE_SCORES_H_
#define SIGMA_ENGINE_CPU_ATTENTION_TILE_SCORES_H_

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "engine/cpu/attention.h"
#include "engine/cpu/attention_internal.h"

namespace sigma::internal {

// Accumulator sets for kG heads: 2 (even and odd dimensions) where one set is fewer chains than
// V::kChains and two fit in V::kMaxAcc, else 1. (4 sets, dimension d in set d % 4, ran 23 instead
// of 11 cycles a position for 2 heads: the accumulators were spilled.)
template <class V, int kG>
constexpr int TileScoreSets() {
  constexpr int kParts = kKTileRows / V::kLanes;
  return kParts * kG < V::kChains && 2 * kParts * kG <= V::kMaxAcc ? 2 : 1;
}

template <class V, int kHd, DType kType, int kG>
void TileScores(const float* q, float scale, const void* k, int64_t n, float* scores,
                int64_t stride, NextReads next, int64_t prefetch_rows) {
  constexpr int64_t kRowBytes = kHd * (kType == DType::kF32 ? 4 : 2);
  constexpr int64_t kTileBytes = kKTileRows * kRowBytes;
  constexpr int64_t kLinesPerPair = kTileBytes / 64 / (kHd / 2);  // 1 (f16, bf16) or 2 (f32)
  constexpr int kParts = kKTileRows / V::kLanes;
  constexpr int kSets = TileScoreSets<V, kG>();
  const auto* base = static_cast<const uint8_t*>(k);
  const int64_t tiles = (n + kKTileRows - 1) / kKTileRows;
  const typename V::F vscale = V::Set1(scale);
  SpreadPrefetch spread(next, tiles);
  for (int64_t t = 0; t < tiles; ++t) {
    const uint8_t* tile = base + t * kTileBytes;
    const char* ahead = reinterpret_cast<const char*>(tile) + prefetch_rows * kRowBytes;
    spread.Step();
    typename V::F acc[kParts][kSets][kG];
    for (int part = 0; part < kParts; ++part) {
      for (int set = 0; set < kSets; ++set) {
        for (int h = 0; h < kG; ++h) acc[part][set][h] = V::Zero();
      }
    }
#pragma GCC unroll 4
    for (int c = 0; c < kHd / 2; ++c) {
      for (int64_t l = 0; l < kLinesPerPair; ++l) {
        _mm_prefetch(ahead + 64 * (kLinesPerPair * c + l), _MM_HINT_T0);
      }
      typename V::F even[kParts], odd[kParts];
      for (int part = 0; part < kParts; ++part) {
        V::template Columns<kHd, kType>(tile, c, part, even[part], odd[part]);
      }
#pragma GCC unroll 8
      for (int h = 0; h < kG; ++h) {
        const float* qh = q + h * kHd + 2 * c;
        const typename V::F qe = V::Set1(qh[0]), qo = V::Set1(qh[1]);
        for (int part = 0; part < kParts; ++part) {
          acc[part][0][h] = V::Fmadd(even[part], qe, acc[part][0][h]);
          acc[part][kSets - 1][h] = V::Fmadd(odd[part], qo, acc[part][kSets - 1][h]);
        }
      }
    }
    for (int part = 0; part < kParts; ++part) {
      const int64_t j0 = t * kKTileRows + part * V::kLanes;
      if (j0 >= n) break;
      const int64_t valid = std::min<int64_t>(V::kLanes, n - j0);
      for (int h = 0; h < kG; ++h) {
        typename V::F sum = acc[part][0][h];
        if constexpr (kSets == 2) sum = V::Add(sum, acc[part][1][h]);
        V::StoreFirst(scores + h * stride + j0, V::Mul(sum, vscale), valid);
      }
    }
  }
}

// f(std::integral_constant<int, m>{}) for m in [1, 8]: a pass's head count as a template argument.
template <class F>
void WithHeadCount(int m, F&& f) {
  switch (m) {
    case 8: return f(std::integral_constant<int, 8>{});
    case 7: return f(std::integral_constant<int, 7>{});
    case 6: return f(std::integral_constant<int, 6>{});
    case 5: return f(std::integral_constant<int, 5>{});
    case 4: return f(std::integral_constant<int, 4>{});
    case 3: return f(std::integral_constant<int, 3>{});
    case 2: return f(std::integral_constant<int, 2>{});
    default: return f(std::integral_constant<int, 1>{});
  }
}

// AttentionKernels::scores: the heads in groups of up to V::kMaxHeads, each group a pass over the
// tiles (the NextReads spread over the first).
template <class V, int kHd, DType kType>
void TileScoresT(const float* q, int g, float scale, const void* k, int64_t n, float* scores,
                 int64_t stride, NextReads next, int64_t prefetch_rows) {
  static_assert(V::kMaxHeads >= 1 && V::kMaxHeads <= 8);
  for (int h0 = 0; h0 < g; h0 += V::kMaxHeads) {
    const float* qg = q + static_cast<int64_t>(h0) * kHd;
    float* out = scores + h0 * stride;
    const NextReads spread = h0 == 0 ? next : NextReads{};
    WithHeadCount(std::min(V::kMaxHeads, g - h0), [&](auto heads) {
      constexpr int kG = std::min<int>(decltype(heads)::value, V::kMaxHeads);
      TileScores<V, kHd, kType, kG>(qg, scale, k, n, out, stride, spread, prefetch_rows);
    });
  }
}

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_ATTENTION_TILE_SCORES_H_
