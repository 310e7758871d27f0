// Internal to engine/cpu: the per-ISA row kernels behind MatMul (matmul.h).
//
// A row kernel computes y[b][r] = dot(x[b], w[r]) (+ bias[r]) for rows r in [row_begin, row_end)
// and every batch row b; MatMul splits the rows across the pool. Kernels keep no state and may run
// concurrently on disjoint row ranges.
#ifndef SIGMA_ENGINE_CPU_MATMUL_INTERNAL_H_
#define SIGMA_ENGINE_CPU_MATMUL_INTERNAL_H_

#include <cstdint>

#include "engine/tensor.h"

namespace sigma::internal {

struct MatMulArgs {
  const uint8_t* w = nullptr;  // [out][row_bytes] (see `tiles` on parts)
  DType dtype = DType::kF32;
  int64_t in = 0;              // elements per weight row
  int64_t row_bytes = 0;
  const float* x = nullptr;    // [batch][in] (for AVX-512 / AVX2 bf16: see x_prepared)
  const float* x_prepared = nullptr;  // [batch][in] as PrepareX wrote it (AVX-512 / AVX2 only)
  int64_t batch = 0;
  const float* bias = nullptr;  // [out] or null
  float* y = nullptr;           // [batch][out]
  int64_t out = 0;
  // Integer paths only: the activations quantized per block of 32 (MatMulQuantizeXInt16Avx2).
  const int16_t* xq = nullptr;      // [batch][in], |xq| <= kXqMax
  const int8_t* xq8 = nullptr;      // [batch][in / 32][64]: per block h[32], l[32], xq = 256 h + l
  const float* xq_scale = nullptr;  // [batch][in / 32] amax / kXqMax
  const float* xq_sum = nullptr;    // [batch][in / 32] exact f32 sum of the block's x
  const int32_t* xq_sum16 = nullptr;  // [batch][in / 16] sum of xq over each 16 (Q6_K)
  // The first out / 16 * 16 rows of w in the tile layout (matmul_tiles.h), or null; read by the
  // integer kernels instead of w. Tile t at tiles + t * 16 * row_bytes, as row r at w + r *
  // row_bytes: where a matrix is placed in parts (TensorView::parts), each task's arguments point
  // both at its part's copy less the part's first row's offset, and only its part's rows are read.
  const uint8_t* tiles = nullptr;
  // Bytes ahead of its reads that a tile kernel prefetches the tiles into L2 (TilePrefetchBytes;
  // 0: none).
  int64_t tile_prefetch = 0;
};

// MatMulArgs::tile_prefetch on this CPU (by vendor; measurements at its definition, matmul.cc).
int64_t TilePrefetchBytes();

// The `bytes` of tile data at p, `ahead` bytes on, prefetched into L2 (nothing where ahead is 0).
inline void PrefetchTileBytes(const uint8_t* p, int64_t bytes, int64_t ahead) {
  if (ahead == 0) return;
  for (int64_t off = 0; off < bytes; off += 64) __builtin_prefetch(p + ahead + off, 0, 2);
}

// Whether the SIMD kernels run a batch-1 product one weight row at a time (StreamRow,
// matmul_stream_row.h): consecutive rows are then one sequential stream per thread,
// which DRAM serves at a plain read's speed where tiles of several rows (several streams a row
// apart) were 18-25% slower on a fast host. Only where a row and the activations fit in L1 beside
// each other: a 6144-element bf16 row at a time evicted the activations (24 KB) on every pass
// (2048 x 6144: 955-1090 us against 624-900 us with 8-row tiles).
inline bool StreamsRows(const MatMulArgs& a) {
  constexpr int64_t kL1Budget = 24 << 10;
  return a.batch == 1 && a.in * static_cast<int64_t>(sizeof(float)) + a.row_bytes <= kL1Budget;
}

void MatMulRowsGeneric(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

// The dtypes and widths the AVX-512 and AVX2 float kernels have loaders for (the same set):
// f32 / f16 / bf16, and the block types at whole blocks.
inline bool MatMulLoadersSupport(DType dtype, int64_t in) {
  switch (dtype) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16: return true;
    case DType::kQ8_0:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kMXFP4:
    case DType::kIQ4_NL:
    case DType::kIQ4_XS: return in % DTypeBlockSize(dtype) == 0;
    default: return false;
  }
}

// AVX-512 (+BF16) kernels, defined in matmul_avx512.cc. MatMulAvx512Supports says whether a dtype
// and width have a kernel. PrepareX writes the activation layout the kernel expects into
// x_prepared[batch][in] (bf16 weights pair with even/odd-split activations).
bool MatMulAvx512Supports(DType dtype, int64_t in);
void MatMulPrepareXAvx512(DType dtype, const float* x, int64_t batch, int64_t in, float* prepared);
void MatMulRowsAvx512(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

// Largest batch of the int16-activation kernels, except on AVX-512 with a tile copy, where they
// take any batch (prefill), reading each tile once per 4 batch rows (matmul.cc, UsesInt16Kernels).
inline constexpr int64_t kMatMulInt16MaxBatch = 8;

// Largest |xq| of the int16 activations: 127 * 256 + 127, so that xq = 256 h + l with h and l
// both signed bytes (h = (xq + 128) >> 8), which the Q4 tile kernels dot separately
// (matmul_tile_kernel.h). 0.4% short of 32767, the precision is the same to 2^-15.
inline constexpr int kXqMax = 32639;

// AVX2 + FMA + F16C kernels, the same interface as the AVX-512 ones: float-activation kernels for
// f32 / f16 / bf16 and the block types (matmul_avx2.cc; bf16 pairs with activations split
// even/odd per 16 elements), and int16-activation kernels for Q4_0 / Q4_1 / Q8_0 at batch <=
// kMatMulInt16MaxBatch, or any batch where any_batch (matmul_int16_avx2.cc;
// MatMulQuantizeXInt16Avx2 fills xq / xq8 / xq_scale / xq_sum / xq_sum16 once per call, for the
// AVX-512 integer kernels too). MatMulRowsInt16Avx2 reads the tile copy where there is one
// (matmul_tile_kernel.h; Q4_K and Q6_K only there) and the GGUF rows elsewhere
// (MatMulRowsInt16Avx2RowLayout, which ignores the tiles).
bool MatMulAvx2Supports(DType dtype, int64_t in);
void MatMulPrepareXAvx2(DType dtype, const float* x, int64_t batch, int64_t in, float* prepared);
void MatMulRowsAvx2(const MatMulArgs& args, int64_t row_begin, int64_t row_end);
bool MatMulInt16Avx2Supports(DType dtype, int64_t in, int64_t batch, bool any_batch);
void MatMulQuantizeXInt16Avx2(const float* x, int64_t batch, int64_t in, int16_t* xq, int8_t* xq8,
                              float* scale, float* sum, int32_t* sum16);
void MatMulRowsInt16Avx2(const MatMulArgs& args, int64_t row_begin, int64_t row_end);
void MatMulRowsInt16Avx2RowLayout(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

// The integer kernels with AVX-512 VNNI dot products on the tile copy (matmul_int_avx512.cc);
// rows without one as MatMulRowsInt16Avx2RowLayout. Same activations as MatMulRowsInt16Avx2.
void MatMulRowsInt16Avx512(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

// MatMulRowsInt16Avx512 with Q4_0 / Q4_1 / Q8_0 tiles' batch rows in groups of 16 on AMX-INT8, the
// same bits (matmul_amx.cc); only where CpuSupportsAmx().
void MatMulRowsInt16Amx(const MatMulArgs& args, int64_t row_begin, int64_t row_end);

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_MATMUL_INTERNAL_H_
