// The bf16 score pass on Intel AMX (AMX-TILE + AMX-BF16), for head_dim 64: the AVX-512 family's
// kernels otherwise (AmxAttentionKernels, attention_internal.h). Compiled with the AVX-512 flags
// and -mamx-tile -mamx-bf16; only called where CpuSupportsAmx() (which also obtained the
// kernel's permission for the tile state).
//
// A K tile (attention.h) holds, for each dimension pair c, the 16 positions' pairs in 64 bytes:
// 16 consecutive pairs are a tdpbf16ps B operand as they lie (16 rows of 16 bf16 pairs, row k =
// pair c0 + k, column = position). The query heads' bf16 pairs (dimension 2c in the low half, as
// in a tile) are the A operand: a row a head, 16 pairs a row. So each 16-position tile of 64
// dimensions is two tdpbf16ps into a heads x positions f32 tile, the products exact and summed
// in f32 as vdpbf16ps sums them (bf16 subnormals read as zero, an f32 subnormal result flushed):
// the same scores to f32 rounding, in another order.
// Measured (2-core Xeon VM with AMX, one thread, 2048 bf16 positions in L2, ns a position for
// 16 / 8 / 4 / 3 / 2 / 1 query heads): 5.9 / 3.2 / 2.1 / 2.1 / 2.1 / 2.1 here against 17.4 / 8.7 /
// 4.5 / 3.6 / 2.6 / 1.5 with vdpbf16ps (DotScores; 8 heads on the f32 FMA pass: 6.7), so one head
// stays on vdpbf16ps.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "engine/cpu/amx_tile_config.h"
#include "engine/cpu/attention.h"
#include "engine/cpu/attention_internal.h"

namespace sigma::internal {
namespace {

// Tile registers: the heads' dimensions 0-31 and 32-63 (A), and for two K tiles in flight their
// pairs 0-15 and 16-31 (B) and their scores (C). Macros, as GCC's tile intrinsics paste their
// register operands into the instruction text.
#define QUERY_LO 0
#define QUERY_HI 1
#define KEYS0_LO 2
#define KEYS0_HI 3
#define SCORES0 4
#define KEYS1_LO 5
#define KEYS1_HI 6
#define SCORES1 7

constexpr int kHd = 64;
constexpr int64_t kTileBytes = kKTileRows * kHd * 2;  // 2 KB: 32 pairs of 64 bytes
constexpr int64_t kHalfTileBytes = kTileBytes / 2;    // 16 pairs: one B operand
constexpr int kMaxHeads = 16;                         // rows of an A or C tile

AmxTileConfig ConfigFor(int heads) {
  AmxTileConfig config;
  for (int t : {QUERY_LO, QUERY_HI, SCORES0, SCORES1}) config.Shape(t, heads, 64);
  for (int t : {KEYS0_LO, KEYS0_HI, KEYS1_LO, KEYS1_HI}) config.Shape(t, kKTileRows, 64);
  return config;
}

// scores[h * stride + j0 + i] = scale * tile[h][i] for h < heads, i < valid.
void StoreScaled(const float (*tile)[kKTileRows], int heads, __m512 scale, float* scores,
                 int64_t stride, int64_t j0, int64_t valid) {
  const auto mask = static_cast<__mmask16>((1u << valid) - 1);
  for (int h = 0; h < heads; ++h) {
    _mm512_mask_storeu_ps(scores + h * stride + j0, mask,
                          _mm512_mul_ps(_mm512_load_ps(tile[h]), scale));
  }
}

// Up to 16 heads (qp: their bf16 pairs, [heads][32]) over n positions.
void HeadsScores(const uint32_t* qp, int heads, float scale, const uint8_t* k, int64_t n,
                 float* scores, int64_t stride, NextReads next) {
  const AmxTileConfig config = ConfigFor(heads);
  _tile_loadconfig(&config);
  _tile_loadd(QUERY_LO, qp, kHd * 2);
  _tile_loadd(QUERY_HI, qp + 16, kHd * 2);
  alignas(64) float out[2][kMaxHeads][kKTileRows];
  const __m512 vscale = _mm512_set1_ps(scale);
  const int64_t tiles = (n + kKTileRows - 1) / kKTileRows;
  const int64_t ahead_bytes = Avx512Prefetch().rows * kHd * 2;
  SpreadPrefetch spread(next, (tiles + 1) / 2);
  int64_t t = 0;
  for (; t + 2 <= tiles; t += 2) {
    const uint8_t* keys = k + t * kTileBytes;
    const char* ahead = reinterpret_cast<const char*>(keys) + ahead_bytes;
    for (int64_t line = 0; line < 2 * kTileBytes; line += 64) {
      _mm_prefetch(ahead + line, _MM_HINT_T0);
    }
    spread.Step();
    _tile_zero(SCORES0);
    _tile_zero(SCORES1);
    _tile_loadd(KEYS0_LO, keys, 64);
    _tile_loadd(KEYS0_HI, keys + kHalfTileBytes, 64);
    _tile_loadd(KEYS1_LO, keys + kTileBytes, 64);
    _tile_loadd(KEYS1_HI, keys + kTileBytes + kHalfTileBytes, 64);
    _tile_dpbf16ps(SCORES0, QUERY_LO, KEYS0_LO);
    _tile_dpbf16ps(SCORES1, QUERY_LO, KEYS1_LO);
    _tile_dpbf16ps(SCORES0, QUERY_HI, KEYS0_HI);
    _tile_dpbf16ps(SCORES1, QUERY_HI, KEYS1_HI);
    _tile_stored(SCORES0, out[0], 64);
    _tile_stored(SCORES1, out[1], 64);
    const int64_t j0 = t * kKTileRows;
    StoreScaled(out[0], heads, vscale, scores, stride, j0, kKTileRows);
    StoreScaled(out[1], heads, vscale, scores, stride, j0 + kKTileRows,
                std::min<int64_t>(kKTileRows, n - j0 - kKTileRows));
  }
  if (t < tiles) {
    spread.Step();
    const uint8_t* keys = k + t * kTileBytes;
    _tile_zero(SCORES0);
    _tile_loadd(KEYS0_LO, keys, 64);
    _tile_loadd(KEYS0_HI, keys + kHalfTileBytes, 64);
    _tile_dpbf16ps(SCORES0, QUERY_LO, KEYS0_LO);
    _tile_dpbf16ps(SCORES0, QUERY_HI, KEYS0_HI);
    _tile_stored(SCORES0, out[0], 64);
    const int64_t j0 = t * kKTileRows;
    StoreScaled(out[0], heads, vscale, scores, stride, j0, n - j0);
  }
  // Marks the tile state unused, so that a context switch need not save it.
  _tile_release();
}

// AttentionKernels::scores_bf16_query: the heads in groups of up to 16, a pass over the tiles each
// (the NextReads spread over the first); a lone head by vdpbf16ps, which is faster for one.
void AmxScores64(const float* q, int g, int hd, float scale, const void* k, int64_t n,
                 float* scores, int64_t stride, NextReads next) {
  if (g == 1) {
    return Avx512AttentionKernels(kHd)->scores_bf16_query(q, g, hd, scale, k, n, scores, stride,
                                                          next);
  }
  uint32_t qp[kMaxHeads * (kHd / 2)];
  for (int h0 = 0; h0 < g; h0 += kMaxHeads) {
    const int heads = std::min(kMaxHeads, g - h0);
    QueryBf16PairsAvx512(q + static_cast<int64_t>(h0) * kHd, heads * kHd, qp);
    HeadsScores(qp, heads, scale, static_cast<const uint8_t*>(k), n, scores + h0 * stride, stride,
                h0 == 0 ? next : NextReads{});
  }
}

#undef QUERY_LO
#undef QUERY_HI
#undef KEYS0_LO
#undef KEYS0_HI
#undef SCORES0
#undef KEYS1_LO
#undef KEYS1_HI
#undef SCORES1

}  // namespace

const AttentionKernels* AmxAttentionKernels(int hd) {
  if (hd != kHd) return Avx512AttentionKernels(hd);
  static const AttentionKernels kernels = [] {
    AttentionKernels k = *Avx512AttentionKernels(kHd);
    k.scores_bf16_query = &AmxScores64;
    return k;
  }();
  return &kernels;
}

}  // namespace sigma::internal
