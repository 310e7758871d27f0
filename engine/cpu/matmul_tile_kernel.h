// The integer GEMV over the 16-row tile layout (matmul_tiles.h), written once for the ISAs'
// vectors and integer dot products. Included by matmul_int16_avx2.cc (256-bit vectors, a tile in
// two halves of 8 rows; vpmaddubsw / vpmaddwd) and matmul_int_avx512.cc (512-bit vectors, a tile
// at once; VNNI vpdpbusd / vpdpwssd with the activations broadcast from memory); each
// instantiates TiledRows with its vector type V:
//   static constexpr int64_t kLanes;  rows per vector (8 or 16), one per 32-bit lane
//   static constexpr int kBatchRows;  batch rows a tile pass serves (1-4: its accumulators and a
//                                     block's unpacked weights stay in registers)
//   using F, I;                       its float and integer vectors
//   F Zero(); F Set1(float); F Add(F, F); F Mul(F, F); F Fmadd(F a, F b, F c) (a b + c);
//   F ToFloat(I) (int32 lanes); F Halves(const uint8_t*) (kLanes f16); F Load(const float*);
//   void Store(float*, F);
//   void Nibbles(const uint8_t* piece, I& lo, I& hi): kLanes * 4 quant bytes as bytes 0..15;
//   I Q4(const I lo[4], const I hi[4], const int8_t* xq8): a Q4 block's int32 dots with its split
//     activations (h[32], then l[32]);
//   I Q8(const uint8_t* quants, int64_t piece_stride, const int16_t* xq): a Q8_0 block's int32
//     dots, piece c (kLanes * 2 bytes) at quants + c * piece_stride, with its 32 xq;
//   I Bytes(const uint8_t*) (kLanes bytes as int32 lanes); I And(I, int); I Or(I, I);
//   I ShiftRight(I, int); I ShiftLeft(I, int) (32-bit lanes; the K-quants' scales and top bits);
//   I Add(I, I);
//   I SignedBytes(const uint8_t*) (kLanes int8 as int32 lanes); I Load(const uint8_t*) (kLanes * 4
//     bytes); I Sub(I, int32_t) (from every lane); I Lookup(I, const uint8_t* table) (each byte
//     0..15 replaced by table[byte]); F E8m0Halves(const uint8_t*) (kLanes E8M0 exponents e as
//     2^(e - 128));
//   I Dot16(const I q[4], const int8_t* h, const int8_t* l): the int32 dots of 16 elements, piece
//     k's 4 bytes (of at most 6 bits) with h[4k..4k+3] and l[4k..4k+3], as 256 h-dot + l-dot
//     (Q6_K's halves, Q5_K's blocks);
//   I Dot16U8(const I q[4], const int8_t* h, const int8_t* l): the same for bytes of any value
//     (IQ4's; vpdpbusd takes them as they are, vpmaddubsw's int16 sums of two would saturate);
//   void FloatRows(const MatMulArgs&, int64_t, int64_t): the ISA's float kernel (the K-quants'
//     last rows).
//
// One 32-bit lane is one of the tile's rows throughout, so a block's row dots come out as one
// vector: no horizontal sums, and one conversion, one scale product and one FMA per block for all
// rows of the vector. The activations are int16 per block of 32 (MatMulArgs::xq,
// |xq| <= kXqMax):
//   Q8_0: weights widened to int16, dotted with pairs of xq (vpdpwssd / vpmaddwd);
//   Q4_0 / Q4_1: the nibbles stay bytes, and xq = 256 h + l is split into two signed bytes
//     (MatMulArgs::xq8) so that each half is one u8 x s8 dot over 4 elements (vpdpbusd /
//     vpmaddubsw): sum q xq = 256 sum q h + sum q l, exact in int32.
//   MXFP4: the nibbles looked up as their doubled E2M1 values plus 12 (0..24, unsigned bytes:
//     Lookup), dotted as Q4's in Dot16's halves (each sum of products stays in int16 there), less
//     12 times the block's sum of xq (MatMulArgs::xq_sum16), exact in int32: the signed values'
//     dots, so each activation's rounding counts by its weight, not by the weight plus 12 (which
//     an f32 correction by the sum of x would leave).
//   IQ4_NL / IQ4_XS: the same with the table values plus 128 (1..241: Dot16U8), less 128 times
//     the sum of xq.
//   Q5_0 / Q5_1: the nibbles with their fifth bits moved in (0..31), dotted as MXFP4's; Q5_0 less
//     16 times the sum of xq.
// Then per row: Q4_1  sum_i (d q_i + m) x_i = d dx sum_i q_i xq_i + m sum_i x_i,
//              Q4_0  the same with m = -8 d,  Q8_0  d dx sum_i q_i xq_i,
//              Q5_1  as Q4_1,  Q5_0  d dx sum_i (q_i - 16) xq_i,
//              MXFP4 d dx sum_i q_i xq_i with d 2^(e - 128) and q_i the doubled E2M1 values,
//              IQ4_NL d dx sum_i q_i xq_i with q_i the table values (IQ4_XS: d sc_j per block j),
// in one f32 accumulator for the d terms and one for the m terms, summed at the end.
// Measured, one thread, weights in L2 (2-core Zen 4), Q4_1 ns per block and row: 512-bit VNNI on
// 16-row tiles 0.41-0.55, 256-bit VNNI on 8-row tiles 0.55-0.72, AVX2 0.83-0.99, and the 4-row
// tiles of the int16 AVX2 kernel this replaced 0.90-1.03. A tile is one sequential stream, and on
// Zen 4 the hardware prefetcher serves it: software prefetches 4 or 16 blocks ahead made SmolLM2's
// decode step 1.03-1.04x as long (median of 24 rounds alternating in one process, 512 positions).
// On Intel the kernels prefetch into L2 (MatMulArgs::tile_prefetch, TilePrefetchBytes).
// Measured and left: streaming the tiles with prefetchnta 4 KB or one tile ahead, so that the
// weights pass Zen 4's L3 (filled by what L2 evicts) by and a short context's KV cache stays in
// it between steps. It does stay (12 MB re-read at 87 against 36 GB/s after 96 MB streamed so, two
// threads), and SmolLM2's attention at 512 positions took 0.37-0.41 against 0.48 ms a step, but
// the projections as much longer: 3.12-3.18 against 3.19 ms a step (slow minutes, 10-11 runs each
// alternating; fast ones too few to tell, 66-70% of the probe against 75%); 8 or 16 KB ahead the
// same. The L3 saves as many bytes either way: what the KV cache gains the weights lose (a step's
// weights stream partly from L3 when plainly read; see BM_DecodeWeightStream).
// Nor does keeping a fixed share of the weights in L3 pay: two threads each streaming a 54 MB
// region as a step does (450 KB phases, a barrier between), its first 12-28 MB read plainly and
// the rest through prefetchnta, took 1.71-1.88 ms a pass against 1.61 all plain (fast minutes,
// medians of 6 rounds; plain reads got 70-79 GB/s, past the 60 GB/s probe, from L3 already).
#ifndef SIGMA_ENGINE_CPU_MATMUL_TILE_KERNEL_H_
#define SIGMA_ENGINE_CPU_MATMUL_TILE_KERNEL_H_

#include <array>
#include <cstdint>

#include "engine/base/check.h"
#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/matmul_tiles.h"
#include "engine/cpu/quant_blocks.h"

namespace sigma::internal {

// y[b0 + i][tile t's rows] = acc + acc_m (+ bias) for each part and batch row i < kNb.
template <class V, int kNb>
inline void StoreTile(const MatMulArgs& a, int64_t t, int64_t b0,
                      const typename V::F (*acc)[kNb], const typename V::F (*acc_m)[kNb]) {
  constexpr int64_t kR = kMatMulTileRows, kL = V::kLanes;
  for (int64_t part = 0; part < kR / kL; ++part) {
    const int64_t row0 = t * kR + part * kL;
    for (int i = 0; i < kNb; ++i) {
      typename V::F y = V::Add(acc[part][i], acc_m[part][i]);
      if (a.bias != nullptr) y = V::Add(y, V::Load(a.bias + row0));
      V::Store(a.y + (b0 + i) * a.out + row0, y);
    }
  }
}

// The nibble tables of MXFP4 and IQ4 plus an offset that makes every value an unsigned byte, the
// u8 operand of the integer dots: sum_i q_i xq_i = sum_i (q_i + kOffset) xq_i - kOffset sum_i xq_i.
template <DType kType>
struct OffsetTable {
  static constexpr int kOffset = kType == DType::kMXFP4 ? 12 : 128;
  alignas(16) static constexpr std::array<uint8_t, 16> kBytes = [] {
    std::array<uint8_t, 16> bytes{};
    for (int i = 0; i < 16; ++i) {
      bytes[i] = static_cast<uint8_t>(TableNibbleValues<kType>()[i] + kOffset);
    }
    return bytes;
  }();
};

// A table type's block: its nibbles (elements 4k + i in lo[k], 16 + 4k + i in hi[k]) looked up in
// OffsetTable in place.
template <class V, DType kType>
[[gnu::always_inline]] inline void LookUpNibbles(typename V::I lo[4], typename V::I hi[4]) {
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    lo[k] = V::Lookup(lo[k], OffsetTable<kType>::kBytes.data());
    hi[k] = V::Lookup(hi[k], OffsetTable<kType>::kBytes.data());
  }
}

// The int32 dots of a block's unsigned bytes q (elements 4k + i in lo[k], 16 + 4k + i in hi[k])
// with batch row block xb's activations, less kOffset times their sum: sum_i (q_i - kOffset) xq_i,
// exact. Bytes of up to 6 bits take Dot16, larger ones Dot16U8.
template <class V, int kOffset, bool kWideBytes>
[[gnu::always_inline]] inline typename V::I OffsetDot(const typename V::I lo[4],
                                                      const typename V::I hi[4],
                                                      const MatMulArgs& a, int64_t xb) {
  const int8_t* h = a.xq8 + xb * 64;  // h[32], then l[32]
  typename V::I dot;
  if constexpr (kWideBytes) {
    dot = V::Add(V::Dot16U8(lo, h, h + 32), V::Dot16U8(hi, h + 16, h + 48));
  } else {
    dot = V::Add(V::Dot16(lo, h, h + 32), V::Dot16(hi, h + 16, h + 48));
  }
  if constexpr (kOffset == 0) return dot;
  return V::Sub(dot, kOffset * (a.xq_sum16[2 * xb] + a.xq_sum16[2 * xb + 1]));
}

// The same for a table type's looked-up block: sum_i q_i xq_i with q_i its table values.
template <class V, DType kType>
[[gnu::always_inline]] inline typename V::I TableDot(const typename V::I lo[4],
                                                     const typename V::I hi[4], const MatMulArgs& a,
                                                     int64_t xb) {
  constexpr int kOffset = OffsetTable<kType>::kOffset;
  return OffsetDot<V, kOffset, (kOffset >= 64)>(lo, hi, a, xb);
}

// Q5_0 / Q5_1 / Q5_K: the fifth bits of a block's unpacked nibbles, from their piece of the tile
// (V::kLanes * 4 bytes: piece k's are bits k (lo) and 4 + k (hi) of each byte), moved to bit 4.
template <class V>
[[gnu::always_inline]] inline void AddFifthBits(const uint8_t* piece, typename V::I lo[4],
                                                typename V::I hi[4]) {
  const typename V::I fifth = V::Load(piece);
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    lo[k] = V::Or(lo[k], V::And(V::ShiftLeft(fifth, 4 - k), 0x10101010));
    hi[k] = V::Or(hi[k], V::And(V::ShiftRight(fifth, k), 0x10101010));
  }
}

// y for tile t's 16 rows (kR / V::kLanes vectors of rows, "parts") and kNb batch rows from b0.
// Per block, every part in turn, so the tile is read once, in order; each part's weights are
// unpacked once (Q4) or read once from memory (Q8_0, then from L1) for all kNb batch rows. Each
// batch row's arithmetic is the same whatever kNb, so a row's result does not depend on the batch.
template <class V, DType kType, int kNb>
void TileBatchRows(const MatMulArgs& a, int64_t t, int64_t b0) {
  constexpr int64_t kR = kMatMulTileRows, kL = V::kLanes, kParts = kR / kL;
  constexpr bool kMin = kType == DType::kQ4_1 || kType == DType::kQ5_1;
  constexpr bool kFive = kType == DType::kQ5_0 || kType == DType::kQ5_1;
  constexpr int64_t kScaleBytes = kMin ? 4 : kType == DType::kMXFP4 ? 1 : 2;
  constexpr bool kTable = IsTableNibbleType(kType);
  const int64_t blocks = a.in / 32;
  const int64_t block_bytes = kR * (a.row_bytes / blocks);
  typename V::F acc[kParts][kNb], acc_m[kParts][kNb];
  for (int64_t part = 0; part < kParts; ++part) {
    for (int i = 0; i < kNb; ++i) acc[part][i] = acc_m[part][i] = V::Zero();
  }
  const uint8_t* p = a.tiles + t * kR * a.row_bytes;
  for (int64_t j = 0; j < blocks; ++j, p += block_bytes) {
    PrefetchTileBytes(p, block_bytes, a.tile_prefetch);
    const uint8_t* quants = p + kR * kScaleBytes;
#pragma GCC unroll 2
    for (int64_t part = 0; part < kParts; ++part) {
      [[maybe_unused]] typename V::I lo[4], hi[4];
      if constexpr (kType != DType::kQ8_0) {
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) V::Nibbles(quants + 4 * kR * k + 4 * kL * part, lo[k], hi[k]);
      }
      if constexpr (kTable) LookUpNibbles<V, kType>(lo, hi);
      if constexpr (kFive) AddFifthBits<V>(quants + 16 * kR + 4 * kL * part, lo, hi);
      const typename V::F d =
          kType == DType::kMXFP4 ? V::E8m0Halves(p + kL * part) : V::Halves(p + 2 * kL * part);
      [[maybe_unused]] typename V::F m;
      if constexpr (kMin) m = V::Halves(p + 2 * kR + 2 * kL * part);
#pragma GCC unroll 4
      for (int i = 0; i < kNb; ++i) {
        const int64_t xb = (b0 + i) * blocks + j;  // batch row b0 + i's block j
        typename V::I dot;
        if constexpr (kType == DType::kQ8_0) {
          dot = V::Q8(quants + 2 * kL * part, 2 * kR, a.xq + xb * 32);
        } else if constexpr (kTable) {
          dot = TableDot<V, kType>(lo, hi, a, xb);
        } else if constexpr (kFive) {  // Q5_0's q - 16 exactly, as the table types' offsets
          dot = OffsetDot < V, kMin ? 0 : 16, false > (lo, hi, a, xb);
        } else {
          dot = V::Q4(lo, hi, a.xq8 + xb * 64);
        }
        typename V::F& sum = acc[part][i];
        sum = V::Fmadd(V::ToFloat(dot), V::Mul(d, V::Set1(a.xq_scale[xb])), sum);
        if constexpr (kMin) {
          acc_m[part][i] = V::Fmadd(m, V::Set1(a.xq_sum[xb]), acc_m[part][i]);
        } else if constexpr (kType == DType::kQ4_0) {
          acc_m[part][i] = V::Fmadd(d, V::Set1(-8.0f * a.xq_sum[xb]), acc_m[part][i]);
        }
      }
    }
  }
  StoreTile<V, kNb>(a, t, b0, acc, acc_m);
}

// Q4_K's 6-bit scale (or min, kMin) of sub-block j for the vector's rows, from the tile's
// transposed scale bytes (scales + kR * k: byte k of every row; see UnpackKScaleMin).
template <class V, bool kMin>
[[gnu::always_inline]] inline typename V::I KScale(const uint8_t* scales, int j) {
  constexpr int64_t kR = kMatMulTileRows;
  const auto byte = [&](int k) { return V::Bytes(scales + kR * k); };
  if (j < 4) return V::And(byte(kMin ? j + 4 : j), 63);
  const typename V::I low = kMin ? V::ShiftRight(byte(j + 4), 4) : V::And(byte(j + 4), 15);
  return V::Or(low, V::ShiftLeft(V::ShiftRight(byte(kMin ? j : j - 4), 6), 4));
}

// TileBatchRows for Q4_K and Q5_K (kFive): per super-block the rows' d and dmin, then per sub-block
// of 32 the scales d sc_j and mins dmin m_j as vectors, and the quants as for Q4_1 (Q5_K: the
// nibbles with their fifth bits moved in beside them):
//   sum_i (d sc_j q_i - dmin m_j) x_i = d sc_j dx sum_i q_i xq_i - dmin m_j sum_i x_i.
template <class V, int kNb, bool kFive>
void TileBatchRowsK45(const MatMulArgs& a, int64_t t, int64_t b0) {
  constexpr int64_t kR = kMatMulTileRows, kL = V::kLanes, kParts = kR / kL;
  constexpr int64_t kSubBytes = (kFive ? 20 : 16) * kR;
  const int64_t blocks = a.in / 32;  // of the activations
  const int64_t supers = a.in / 256;
  typename V::F acc[kParts][kNb], acc_m[kParts][kNb];
  for (int64_t part = 0; part < kParts; ++part) {
    for (int i = 0; i < kNb; ++i) acc[part][i] = acc_m[part][i] = V::Zero();
  }
  const uint8_t* p = a.tiles + t * kR * a.row_bytes;
  for (int64_t sb = 0; sb < supers; ++sb, p += 16 * kR + 8 * kSubBytes) {
    PrefetchTileBytes(p, 16 * kR + 8 * kSubBytes, a.tile_prefetch);
#pragma GCC unroll 2
    for (int64_t part = 0; part < kParts; ++part) {
      const typename V::F d = V::Halves(p + 2 * kL * part);
      const typename V::F dmin = V::Halves(p + 2 * kR + 2 * kL * part);
      const uint8_t* scales = p + 4 * kR + kL * part;
      for (int j = 0; j < 8; ++j) {
        const typename V::F dsc = V::Mul(d, V::ToFloat(KScale<V, false>(scales, j)));
        const typename V::F dm = V::Mul(dmin, V::ToFloat(KScale<V, true>(scales, j)));
        const uint8_t* quants = p + 16 * kR + kSubBytes * j;
        typename V::I lo[4], hi[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) V::Nibbles(quants + 4 * kR * k + 4 * kL * part, lo[k], hi[k]);
        if constexpr (kFive) AddFifthBits<V>(quants + 16 * kR + 4 * kL * part, lo, hi);
#pragma GCC unroll 4
        for (int i = 0; i < kNb; ++i) {
          const int64_t xb = (b0 + i) * blocks + 8 * sb + j;  // batch row b0 + i's block
          typename V::I dot;
          if constexpr (kFive) {  // 5-bit quants: Dot16's int16 headroom (see Ymm8::Q4)
            dot = OffsetDot<V, 0, false>(lo, hi, a, xb);
          } else {
            dot = V::Q4(lo, hi, a.xq8 + xb * 64);
          }
          acc[part][i] =
              V::Fmadd(V::ToFloat(dot), V::Mul(dsc, V::Set1(a.xq_scale[xb])), acc[part][i]);
          acc_m[part][i] = V::Fmadd(dm, V::Set1(-a.xq_sum[xb]), acc_m[part][i]);
        }
      }
    }
  }
  StoreTile<V, kNb>(a, t, b0, acc, acc_m);
}

// TileBatchRows for Q6_K: per super-block the rows' d, then per sub-block of 32 the scales d sc_g
// of its two halves g (elements 0-15, 16-31) as vectors, and its 6-bit quants as bytes: the low 4
// bits unpacked as Q4 nibbles (the lo pieces hold half 0, the hi ones half 1), the top 2 moved in
// beside them. Per half, with S_g the sum of its 16 xq:
//   sum_i d sc_g (q_i - 32) x_i = d sc_g dx (sum_i q_i xq_i - 32 S_g).
template <class V, int kNb>
void TileBatchRowsQ6K(const MatMulArgs& a, int64_t t, int64_t b0) {
  constexpr int64_t kR = kMatMulTileRows, kL = V::kLanes, kParts = kR / kL;
  const int64_t blocks = a.in / 32;  // of the activations
  const int64_t supers = a.in / 256;
  typename V::F acc[kParts][kNb], acc_1[kParts][kNb];  // halves 0 and 1
  for (int64_t part = 0; part < kParts; ++part) {
    for (int i = 0; i < kNb; ++i) acc[part][i] = acc_1[part][i] = V::Zero();
  }
  const uint8_t* p = a.tiles + t * kR * a.row_bytes;
  for (int64_t sb = 0; sb < supers; ++sb, p += kR * 210) {
    PrefetchTileBytes(p, kR * 210, a.tile_prefetch);
#pragma GCC unroll 2
    for (int64_t part = 0; part < kParts; ++part) {
      const typename V::F d = V::Halves(p + 2 * kL * part);
      const uint8_t* scales = p + 2 * kR + kL * part;
      for (int j = 0; j < 8; ++j) {
        const typename V::F d0 = V::Mul(d, V::ToFloat(V::SignedBytes(scales + kR * 2 * j)));
        const typename V::F d1 = V::Mul(d, V::ToFloat(V::SignedBytes(scales + kR * (2 * j + 1))));
        const uint8_t* quants = p + 18 * kR + 24 * kR * j;
        typename V::I lo[4], hi[4];
        const typename V::I top_lo = V::Load(quants + 16 * kR + 4 * kL * part);
        const typename V::I top_hi = V::Load(quants + 20 * kR + 4 * kL * part);
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
          V::Nibbles(quants + 4 * kR * k + 4 * kL * part, lo[k], hi[k]);
          // Piece k's top bits are at bits 2k of each byte; to bits 4 and 5 (whole-lane shifts:
          // what crosses into a neighbouring byte is masked off).
          const auto top = [k](typename V::I v) {
            return k < 2 ? V::ShiftLeft(v, 4 - 2 * k) : V::ShiftRight(v, 2 * k - 4);
          };
          lo[k] = V::Or(lo[k], V::And(top(top_lo), 0x30303030));
          hi[k] = V::Or(hi[k], V::And(top(top_hi), 0x30303030));
        }
#pragma GCC unroll 4
        for (int i = 0; i < kNb; ++i) {
          const int64_t xb = (b0 + i) * blocks + 8 * sb + j;  // batch row b0 + i's block
          const int8_t* h = a.xq8 + xb * 64;  // h[32], then l[32]
          const typename V::I dot0 = V::Sub(V::Dot16(lo, h, h + 32), 32 * a.xq_sum16[2 * xb]);
          const typename V::I dot1 =
              V::Sub(V::Dot16(hi, h + 16, h + 48), 32 * a.xq_sum16[2 * xb + 1]);
          const typename V::F dx = V::Set1(a.xq_scale[xb]);
          acc[part][i] = V::Fmadd(V::ToFloat(dot0), V::Mul(d0, dx), acc[part][i]);
          acc_1[part][i] = V::Fmadd(V::ToFloat(dot1), V::Mul(d1, dx), acc_1[part][i]);
        }
      }
    }
  }
  StoreTile<V, kNb>(a, t, b0, acc, acc_1);
}

// TileBatchRows for IQ4_XS: per super-block the rows' d, then per block j of 32 the scales
// d sc_j (sc_j from its 6 bits in scales_l and scales_h, less 32) as vectors, and the quants as
// IQ4_NL's.
template <class V, int kNb>
void TileBatchRowsIq4Xs(const MatMulArgs& a, int64_t t, int64_t b0) {
  constexpr int64_t kR = kMatMulTileRows, kL = V::kLanes, kParts = kR / kL;
  const int64_t blocks = a.in / 32;  // of the activations
  const int64_t supers = a.in / 256;
  typename V::F acc[kParts][kNb], zero[kParts][kNb];
  for (int64_t part = 0; part < kParts; ++part) {
    for (int i = 0; i < kNb; ++i) acc[part][i] = zero[part][i] = V::Zero();
  }
  const uint8_t* p = a.tiles + t * kR * a.row_bytes;
  for (int64_t sb = 0; sb < supers; ++sb, p += 136 * kR) {
    PrefetchTileBytes(p, 136 * kR, a.tile_prefetch);
#pragma GCC unroll 2
    for (int64_t part = 0; part < kParts; ++part) {
      const typename V::F d = V::Halves(p + 2 * kL * part);
      const uint8_t* scales_h = p + 2 * kR + kL * part;
      const uint8_t* scales_l = p + 4 * kR + kL * part;
      for (int j = 0; j < 8; ++j) {
        const typename V::I low =
            V::And(V::ShiftRight(V::Bytes(scales_l + kR * (j / 2)), 4 * (j % 2)), 15);
        const typename V::I high =
            V::And(V::ShiftRight(V::Bytes(scales_h + kR * (j / 4)), 2 * (j % 4)), 3);
        const typename V::F dsc =
            V::Mul(d, V::ToFloat(V::Sub(V::Or(low, V::ShiftLeft(high, 4)), 32)));
        const uint8_t* quants = p + 8 * kR + 16 * kR * j;
        typename V::I lo[4], hi[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) V::Nibbles(quants + 4 * kR * k + 4 * kL * part, lo[k], hi[k]);
        LookUpNibbles<V, DType::kIQ4_XS>(lo, hi);
#pragma GCC unroll 4
        for (int i = 0; i < kNb; ++i) {
          const int64_t xb = (b0 + i) * blocks + 8 * sb + j;  // batch row b0 + i's block
          const typename V::I dot = TableDot<V, DType::kIQ4_XS>(lo, hi, a, xb);
          acc[part][i] =
              V::Fmadd(V::ToFloat(dot), V::Mul(dsc, V::Set1(a.xq_scale[xb])), acc[part][i]);
        }
      }
    }
  }
  StoreTile<V, kNb>(a, t, b0, acc, zero);
}

// y for the rows of tiles [tile_begin, tile_end) and every batch row, V::kBatchRows batch rows at
// a time (a tile, 16 rows x in, stays in L1 across them).
template <class V, DType kType, int kNb>
void TileBatch(const MatMulArgs& a, int64_t t, int64_t b0) {
  if constexpr (kType == DType::kQ4_K || kType == DType::kQ5_K) {
    TileBatchRowsK45<V, kNb, kType == DType::kQ5_K>(a, t, b0);
  } else if constexpr (kType == DType::kQ6_K) {
    TileBatchRowsQ6K<V, kNb>(a, t, b0);
  } else if constexpr (kType == DType::kIQ4_XS) {
    TileBatchRowsIq4Xs<V, kNb>(a, t, b0);
  } else {
    TileBatchRows<V, kType, kNb>(a, t, b0);
  }
}

template <class V, DType kType>
void TileRows(const MatMulArgs& a, int64_t tile_begin, int64_t tile_end) {
  static_assert(kType == DType::kQ4_0 || kType == DType::kQ4_1 || kType == DType::kQ8_0 ||
                MatMulTilesOnly(kType));
  static_assert(kMatMulTileRows % V::kLanes == 0, "a tile is whole vectors of rows");
  constexpr int kGroup = V::kBatchRows;
  static_assert(kGroup >= 1 && kGroup <= 4);
  for (int64_t t = tile_begin; t < tile_end; ++t) {
    int64_t b = 0;
    for (; b + kGroup <= a.batch; b += kGroup) TileBatch<V, kType, kGroup>(a, t, b);
    switch (a.batch - b) {
      case 3: TileBatch<V, kType, 3>(a, t, b); break;
      case 2: TileBatch<V, kType, 2>(a, t, b); break;
      case 1: TileBatch<V, kType, 1>(a, t, b); break;
      default: break;
    }
  }
}

// Rows [row_begin, row_end): the whole tiles from the tile copy with V, the rest (rows past
// out / 16 * 16, or all where there is no tile copy) with MatMulRowsInt16Avx2's row-layout kernel
// (the K-quants: the ISA's float kernel, V::FloatRows).
template <class V>
void TiledRows(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  constexpr int64_t kR = kMatMulTileRows;
  int64_t r = row_begin;
  if (a.tiles != nullptr && r % kR == 0) {
    const int64_t tiles_end = r + (row_end - r) / kR * kR;
    switch (a.dtype) {
      case DType::kQ4_0: TileRows<V, DType::kQ4_0>(a, r / kR, tiles_end / kR); break;
      case DType::kQ4_1: TileRows<V, DType::kQ4_1>(a, r / kR, tiles_end / kR); break;
      case DType::kQ8_0: TileRows<V, DType::kQ8_0>(a, r / kR, tiles_end / kR); break;
      case DType::kQ5_0: TileRows<V, DType::kQ5_0>(a, r / kR, tiles_end / kR); break;
      case DType::kQ5_1: TileRows<V, DType::kQ5_1>(a, r / kR, tiles_end / kR); break;
      case DType::kQ4_K: TileRows<V, DType::kQ4_K>(a, r / kR, tiles_end / kR); break;
      case DType::kQ5_K: TileRows<V, DType::kQ5_K>(a, r / kR, tiles_end / kR); break;
      case DType::kQ6_K: TileRows<V, DType::kQ6_K>(a, r / kR, tiles_end / kR); break;
      case DType::kMXFP4: TileRows<V, DType::kMXFP4>(a, r / kR, tiles_end / kR); break;
      case DType::kIQ4_NL: TileRows<V, DType::kIQ4_NL>(a, r / kR, tiles_end / kR); break;
      case DType::kIQ4_XS: TileRows<V, DType::kIQ4_XS>(a, r / kR, tiles_end / kR); break;
      default: SIGMA_CHECK(false, "MatMul: no tile layout for ", DTypeName(a.dtype));
    }
    r = tiles_end;
  }
  if (r == row_end) return;
  if (MatMulTilesOnly(a.dtype)) {
    // The integer row-layout kernel has none of these types; their last rows take the float
    // kernel (which reads plain f32 activations for them), one batch row at a time so that a
    // row's result does not depend on the batch.
    for (int64_t b = 0; b < a.batch; ++b) {
      MatMulArgs one = a;
      one.batch = 1;
      one.x = one.x_prepared = a.x + b * a.in;
      one.y = a.y + b * a.out;
      one.tiles = nullptr;
      V::FloatRows(one, r, row_end);
    }
    return;
  }
  MatMulRowsInt16Avx2RowLayout(a, r, row_end);
}

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_MATMUL_TILE_KERNEL_H_
