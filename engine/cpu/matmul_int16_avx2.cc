// Integer-activation GEMV kernels on AVX2 (Q4_0 / Q4_1 / Q8_0 in rows or tiles, Q4_K / Q6_K in
// tiles); see matmul_internal.h.
// Compiled with -mavx2 -mfma -mf16c; the activation quantization here serves the AVX-512 integer
// kernels too (matmul_int_avx512.cc).
//
// Why integer activations: at batch 1 the f32 path spends ~12 vector ops per 32-weight block to
// widen nibbles to f32 and FMA them, which makes the 4-bit GEMV compute-bound. int16, not int8
// (ggml's choice): SmolLM2's activations have outlier channels, and int8 blocks (amax / 127) moved
// its next-token log-probs by up to 1.5 against the float64 reference (int16: see
// tests/engine/smollm2_reference_test.cc).
//
// The activation row is quantized once per call to int16 blocks of 32 (scale amax / kXqMax, round
// to nearest even) with the exact f32 block sums, and split into the two signed bytes the Q4 tile
// kernels dot (matmul_tile_kernel.h). Matrices with a tile copy take TileRows with AVX2 dot
// products (vpmaddubsw / vpmaddwd); the rows without one (a matrix's last rows % 8, or matrices
// Model did not copy) take the row-layout kernel below, which widens each weight block to int16
// and reduces it with two vpmaddwd:
//   Q4_1: sum_i (d q_i + m) x_i = d dx sum_i q_i xq_i + m sum_i x_i
//   Q4_0: the same with m = -8 d;  Q8_0: d dx sum_i q_i xq_i.
// No overflow: |q| <= 127, |xq| <= 32767, each int32 lane sums 4 products.
// Per group of 8 blocks the scales (and Q4 mins) of a row are assembled in one vector and
// multiplied by the activation scales in one op (stored to a small array); each block's int32 dot
// is converted and FMA'd with its factor broadcast from there; the min terms enter the same
// accumulator in one FMA per group. (One accumulator array, not two: with a second one GCC kept
// both in memory and cleared them with two `rep stosq` per tile, ~20% of a 576-wide row.)
// Rows are prefetched two 4-row tiles ahead, once per group.
// Batch rows > 1 repeat the rows (their weights then come from L1).
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "engine/base/check.h"
#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/simd_float.h"
#include "engine/cpu/matmul_tile_kernel.h"

namespace sigma::internal {
namespace {

// Elements 0..15 (low nibbles) and 16..31 (high nibbles) of 16 quant bytes as int16.
inline void Nibbles(const uint8_t* qs, __m256i& lo, __m256i& hi) {
  const __m256i v = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(qs)));
  lo = _mm256_and_si256(v, _mm256_set1_epi16(0x0f));
  hi = _mm256_srli_epi16(v, 4);
}

// Block formats: bytes per block, the f16 scale (and Q4_1 min) in front of the quants, how the
// quants are widened, and the min (0: none, 1: -8 d, 2: the f16 after the scale).
struct Q4_0Format {
  static constexpr int64_t kBytes = 18;
  static constexpr int64_t kScaleBytes = 2;
  static constexpr int kMin = 1;
  static void Quants(const uint8_t* q, __m256i& lo, __m256i& hi) { Nibbles(q, lo, hi); }
};

struct Q4_1Format {
  static constexpr int64_t kBytes = 20;
  static constexpr int64_t kScaleBytes = 4;
  static constexpr int kMin = 2;
  static void Quants(const uint8_t* q, __m256i& lo, __m256i& hi) { Nibbles(q, lo, hi); }
};

struct Q8_0Format {
  static constexpr int64_t kBytes = 34;
  static constexpr int64_t kScaleBytes = 2;
  static constexpr int kMin = 0;
  static void Quants(const uint8_t* q, __m256i& lo, __m256i& hi) {
    lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
    hi = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16)));
  }
};

// The integer dot of one block's quants with the block's int16 activations, as 8 f32 lanes whose
// sum it is.
template <class F>
inline __m256 BlockDot(const uint8_t* quants, __m256i xlo, __m256i xhi) {
  __m256i wlo, whi;
  F::Quants(quants, wlo, whi);
  return _mm256_cvtepi32_ps(
      _mm256_add_epi32(_mm256_madd_epi16(wlo, xlo), _mm256_madd_epi16(whi, xhi)));
}

inline float HorizontalSum(__m256 v) {
  const __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

inline int32_t HorizontalSum(__m256i v) {
  __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
  return _mm_cvtsi128_si32(_mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1)));
}

// Scales d (and mins m) of blocks g .. g+n-1 (n <= 8, the rest 0) of a row as f32 vectors. Each
// block's first 32 bits (Q4_1: the f16 scale and the f16 min after it) go into a vector with a
// plain vmovd load; three rounds of unpacks gather [d0..d7 | m0..m7] and one vcvtph2ps each
// converts them. (Assembled with vpinsrd the scales took ~0.44 ns per block and row in cache,
// 29% of the kernel; this halves it. A vpgatherdd was slower still.)
template <class F>
inline void GroupScales(const uint8_t* row, int64_t g, int n, __m256& d, __m256& m) {
  const uint8_t* p = row + g * F::kBytes;
  __m128i w[8];
  for (int j = 0; j < 8; ++j) {
    int word = 0;
    if (j < n) std::memcpy(&word, p + j * F::kBytes, F::kMin == 2 ? 4 : 2);
    w[j] = _mm_cvtsi32_si128(word);
  }
  // [d0 d1 m0 m1 ..] per pair, then [d0 d1 d2 d3 m0 m1 m2 m3] per four, then the halves.
  const __m128i lo =
      _mm_unpacklo_epi32(_mm_unpacklo_epi16(w[0], w[1]), _mm_unpacklo_epi16(w[2], w[3]));
  const __m128i hi =
      _mm_unpacklo_epi32(_mm_unpacklo_epi16(w[4], w[5]), _mm_unpacklo_epi16(w[6], w[7]));
  d = _mm256_cvtph_ps(_mm_unpacklo_epi64(lo, hi));
  if constexpr (F::kMin == 2) {
    m = _mm256_cvtph_ps(_mm_unpackhi_epi64(lo, hi));
  } else if constexpr (F::kMin == 1) {
    m = _mm256_mul_ps(d, _mm256_set1_ps(-8.0f));
  }
}

// Software prefetch distance in row tiles. Re-measured with the tiles
// on huge pages (SmolLM2 decode at 512 positions, in-process A/B, 20 paired rounds): 1 tile 1.02x
// the step time, 4 tiles 1.01x; prefetching into L2 only (T1) or non-temporally (NTA) instead of
// T0: 0.97-0.99x, within the noise. Kept at 2, T0.
constexpr int64_t kPrefetchTiles = 2;

// Where R rows' blocks are, in the GGUF row layout: per group of 8 blocks each row's scales are
// gathered by GroupScales, and each row is its own stream.
template <class F, int R>
struct RowBlocks {
  const uint8_t* rows[R];
  int64_t ahead;  // prefetch distance in bytes

  RowBlocks(const MatMulArgs& a, int64_t r0) : ahead(kPrefetchTiles * R * a.row_bytes) {
    for (int r = 0; r < R; ++r) rows[r] = a.w + (r0 + r) * a.row_bytes;
  }
  void Prefetch(int64_t g, int) const {
    for (int r = 0; r < R; ++r) {
      const char* p = reinterpret_cast<const char*>(rows[r] + g * F::kBytes + ahead);
      for (int64_t off = 0; off < 8 * F::kBytes; off += 64) _mm_prefetch(p + off, _MM_HINT_T0);
    }
  }
  void Scales(int r, int64_t g, int n, __m256i, __m256& d, __m256& m) const {
    GroupScales<F>(rows[r], g, n, d, m);
  }
  const uint8_t* Quants(int r, int64_t g, int, int j) const {
    return rows[r] + (g + j) * F::kBytes + F::kScaleBytes;
  }
};

// R weight rows from r0, their blocks where `at` (RowBlocks) says, times batch row b.
template <class F, int R, class Blocks>
void Int16Tile(const MatMulArgs& a, const Blocks& at, int64_t r0, int64_t b) {
  const int64_t blocks = a.in / 32;
  const float* xs = a.xq_scale + b * blocks;
  const float* xsum = a.xq_sum + b * blocks;
  const int16_t* xq = a.xq + b * a.in;
  __m256 acc[R];
  for (int r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
  alignas(32) float factor[R][8];
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t g = 0; g < blocks; g += 8) {
    const int n = static_cast<int>(std::min<int64_t>(8, blocks - g));
    at.Prefetch(g, n);  // the group's bytes, kPrefetchTiles tiles ahead
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lanes);
    const __m256 dx = _mm256_maskload_ps(xs + g, mask);
    const __m256 sx = F::kMin != 0 ? _mm256_maskload_ps(xsum + g, mask) : _mm256_setzero_ps();
    for (int r = 0; r < R; ++r) {
      __m256 d, m;
      at.Scales(r, g, n, mask, d, m);
      _mm256_store_ps(factor[r], _mm256_mul_ps(d, dx));
      if constexpr (F::kMin != 0) acc[r] = _mm256_fmadd_ps(m, sx, acc[r]);
    }
    for (int j = 0; j < n; ++j) {
      const int16_t* xb = xq + (g + j) * 32;
      const __m256i xlo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb));
      const __m256i xhi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb + 16));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        acc[r] = _mm256_fmadd_ps(BlockDot<F>(at.Quants(r, g, n, j), xlo, xhi),
                                 _mm256_broadcast_ss(&factor[r][j]), acc[r]);
      }
    }
  }
  for (int r = 0; r < R; ++r) {
    float sum = HorizontalSum(acc[r]);
    if (a.bias != nullptr) sum += a.bias[r0 + r];
    a.y[b * a.out + r0 + r] = sum;
  }
}

template <class F>
void Int16Rows(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  int64_t r = row_begin;
  for (; r + 4 <= row_end; r += 4) {
    const RowBlocks<F, 4> at(a, r);
    for (int64_t b = 0; b < a.batch; ++b) Int16Tile<F, 4>(a, at, r, b);
  }
  for (; r < row_end; ++r) {
    const RowBlocks<F, 1> at(a, r);
    for (int64_t b = 0; b < a.batch; ++b) Int16Tile<F, 1>(a, at, r, b);
  }
}

// The tile kernel's vectors on AVX2: a 16-row tile in two halves of 8 rows. Q4: vpmaddubsw gives
// int16 sums of two nibble x byte products (|.| <= 2 * 15 * 128); eight of them, all of a block's
// pieces against h (or l), add up exactly in int16 (<= 30720), and one vpmaddwd by 1 widens each
// row's pairs to int32.
struct Ymm8 : YmmFloat {
  static constexpr int64_t kLanes = 8;
  static constexpr int kBatchRows = 1;
  using YmmFloat::Add;  // beside Add(I, I) below
  using I = __m256i;
  static F ToFloat(I v) { return _mm256_cvtepi32_ps(v); }
  static F Halves(const uint8_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static F Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static I Bytes(const uint8_t* p) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static I And(I v, int m) { return _mm256_and_si256(v, _mm256_set1_epi32(m)); }
  static I Add(I a, I b) { return _mm256_add_epi32(a, b); }
  static I Or(I a, I b) { return _mm256_or_si256(a, b); }
  static I ShiftRight(I v, int n) { return _mm256_srli_epi32(v, n); }
  static I ShiftLeft(I v, int n) { return _mm256_slli_epi32(v, n); }
  static I SignedBytes(const uint8_t* p) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  }
  static I Load(const uint8_t* p) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  }
  static I Sub(I v, int32_t s) { return _mm256_sub_epi32(v, _mm256_set1_epi32(s)); }
  // Each byte (0..15) replaced by table[byte] (16 bytes).
  static I Lookup(I bytes, const uint8_t* table) {
    return _mm256_shuffle_epi8(
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table))),
        bytes);
  }
  // kLanes E8M0 exponents e as 2^(e - 128) (Mxfp4HalfScale), exactly.
  static F E8m0Halves(const uint8_t* p) {
    const I e = Bytes(p);
    const I normal = _mm256_slli_epi32(_mm256_sub_epi32(e, _mm256_set1_epi32(1)), 23);
    const I tiny = _mm256_sllv_epi32(_mm256_set1_epi32(0x00200000), e);
    const I below2 = _mm256_cmpgt_epi32(_mm256_set1_epi32(2), e);
    return _mm256_castsi256_ps(_mm256_blendv_epi8(normal, tiny, below2));
  }
  // Bytes of up to 6 bits: |vpmaddubsw| <= 2 * 63 * 128 = 16128, so two add up in int16 (four
  // would not); each pair widens to int32 with a vpmaddwd by 1.
  [[gnu::always_inline]] static I Dot16(const I q[4], const int8_t* h, const int8_t* l) {
    const I ones = _mm256_set1_epi16(1);
    const auto dot = [&](const int8_t* x) {
      const I s01 = _mm256_add_epi16(_mm256_maddubs_epi16(q[0], Broadcast(x)),
                                     _mm256_maddubs_epi16(q[1], Broadcast(x + 4)));
      const I s23 = _mm256_add_epi16(_mm256_maddubs_epi16(q[2], Broadcast(x + 8)),
                                     _mm256_maddubs_epi16(q[3], Broadcast(x + 12)));
      return _mm256_add_epi32(_mm256_madd_epi16(s01, ones), _mm256_madd_epi16(s23, ones));
    };
    return _mm256_add_epi32(_mm256_slli_epi32(dot(h), 8), dot(l));
  }
  // Bytes of any value, as 16 times their high nibbles' dots plus their low nibbles'.
  [[gnu::always_inline]] static I Dot16U8(const I q[4], const int8_t* h, const int8_t* l) {
    I high[4], low[4];
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) Nibbles(q[k], low[k], high[k]);
    return _mm256_add_epi32(_mm256_slli_epi32(Dot16(high, h, l), 4), Dot16(low, h, l));
  }
  static void FloatRows(const MatMulArgs& a, int64_t begin, int64_t end) {
    MatMulRowsAvx2(a, begin, end);
  }
  [[gnu::always_inline]] static void Nibbles(I w, I& lo, I& hi) {
    const I low = _mm256_set1_epi8(0x0f);
    lo = _mm256_and_si256(w, low);
    hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), low);
  }
  [[gnu::always_inline]] static void Nibbles(const uint8_t* piece, I& lo, I& hi) {
    Nibbles(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(piece)), lo, hi);
  }
  static I Broadcast(const void* p) {
    int32_t x;
    std::memcpy(&x, p, 4);
    return _mm256_set1_epi32(x);
  }
  [[gnu::always_inline]] static I Q4(const I lo[4], const I hi[4], const int8_t* xq8) {
    const int8_t* h = xq8;
    const int8_t* l = xq8 + 32;
    I hs = _mm256_setzero_si256(), ls = _mm256_setzero_si256();
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
      hs = _mm256_add_epi16(hs, _mm256_add_epi16(_mm256_maddubs_epi16(lo[k], Broadcast(h + 4 * k)),
                                                 _mm256_maddubs_epi16(hi[k], Broadcast(h + 16 + 4 * k))));
      ls = _mm256_add_epi16(ls, _mm256_add_epi16(_mm256_maddubs_epi16(lo[k], Broadcast(l + 4 * k)),
                                                 _mm256_maddubs_epi16(hi[k], Broadcast(l + 16 + 4 * k))));
    }
    const I ones = _mm256_set1_epi16(1);
    return _mm256_add_epi32(_mm256_slli_epi32(_mm256_madd_epi16(hs, ones), 8),
                            _mm256_madd_epi16(ls, ones));
  }
  // Piece c holds elements 2c and 2c + 1 of each row, widened to int16; 4 chains.
  [[gnu::always_inline]] static I Q8(const uint8_t* quants, int64_t piece_stride,
                                     const int16_t* xq) {
    I acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(),
                _mm256_setzero_si256()};
#pragma GCC unroll 16
    for (int c = 0; c < 16; ++c) {
      const I w = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(quants + c * piece_stride)));
      acc[c % 4] = _mm256_add_epi32(acc[c % 4], _mm256_madd_epi16(w, Broadcast(xq + 2 * c)));
    }
    return _mm256_add_epi32(_mm256_add_epi32(acc[0], acc[1]), _mm256_add_epi32(acc[2], acc[3]));
  }
};

}  // namespace

bool MatMulInt16Avx2Supports(DType dtype, int64_t in, int64_t batch, bool any_batch) {
  if (in % 32 != 0 || (batch > kMatMulInt16MaxBatch && !any_batch)) return false;
  return dtype == DType::kQ4_0 || dtype == DType::kQ4_1 || dtype == DType::kQ8_0;
}

void MatMulQuantizeXInt16Avx2(const float* x, int64_t batch, int64_t in, int16_t* xq, int8_t* xq8,
                              float* scale, float* sum, int32_t* sum16) {
  const int64_t blocks = in / 32;
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t i = 0; i < batch * blocks; ++i) {
    __m256 v[4];
    for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(x + 32 * i + 8 * k);
    const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                                   _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    const float amax = _mm_cvtss_f32(_mm_max_ss(m4, _mm_movehdup_ps(m4)));
    const float d = amax / static_cast<float>(kXqMax);
    const __m256 inv = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) {
      // |x / d| can round to kXqMax + 1 where 1 / d is rounded up; clamp it back.
      q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], inv));
      q[k] = _mm256_max_epi32(_mm256_min_epi32(q[k], _mm256_set1_epi32(kXqMax)),
                              _mm256_set1_epi32(-kXqMax));
    }
    // packs works per 128-bit lane: [a0-3 b0-3 | a4-7 b4-7] -> reorder the 64-bit quarters.
    const __m256i p0 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[0], q[1]), 0xd8);
    const __m256i p1 = _mm256_permute4x64_epi64(_mm256_packs_epi32(q[2], q[3]), 0xd8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + 32 * i), p0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + 32 * i + 16), p1);
    // h = (xq + 128) >> 8 and l = xq - 256 h, both in [-128, 127] for |xq| <= kXqMax; packs
    // interleaves the 128-bit lanes of its two inputs, the permute puts them back in order.
    const __m256i h0 = _mm256_srai_epi16(_mm256_add_epi16(p0, _mm256_set1_epi16(128)), 8);
    const __m256i h1 = _mm256_srai_epi16(_mm256_add_epi16(p1, _mm256_set1_epi16(128)), 8);
    const __m256i l0 = _mm256_sub_epi16(p0, _mm256_slli_epi16(h0, 8));
    const __m256i l1 = _mm256_sub_epi16(p1, _mm256_slli_epi16(h1, 8));
    int8_t* split = xq8 + 64 * i;
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(split),
                        _mm256_permute4x64_epi64(_mm256_packs_epi16(h0, h1), 0xd8));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(split + 32),
                        _mm256_permute4x64_epi64(_mm256_packs_epi16(l0, l1), 0xd8));
    scale[i] = d;
    sum[i] = HorizontalSum(_mm256_add_ps(_mm256_add_ps(v[0], v[1]), _mm256_add_ps(v[2], v[3])));
    sum16[2 * i] = HorizontalSum(_mm256_add_epi32(q[0], q[1]));
    sum16[2 * i + 1] = HorizontalSum(_mm256_add_epi32(q[2], q[3]));
  }
}

void MatMulRowsInt16Avx2(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  TiledRows<Ymm8>(a, row_begin, row_end);
}

void MatMulRowsInt16Avx2RowLayout(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  switch (a.dtype) {
    case DType::kQ4_0: return Int16Rows<Q4_0Format>(a, row_begin, row_end);
    case DType::kQ4_1: return Int16Rows<Q4_1Format>(a, row_begin, row_end);
    case DType::kQ8_0: return Int16Rows<Q8_0Format>(a, row_begin, row_end);
    default: SIGMA_CHECK(false, "MatMulRowsInt16Avx2: unsupported ", DTypeName(a.dtype));
  }
}

}  // namespace sigma::internal
