// Projections: y = x W^T (+ b) with W stored [out, in] in f32, f16, bf16 or a GGUF quantized type.
//
// Memory-bound at batch 1 (GEMV): each weight row is streamed once for all batch rows, dequantised
// on the fly in registers (never a full f32 copy of the weights), accumulated in f32. Rows are split
// across the pool's workers. The AVX-512 path (bf16 dot products where the CPU has AVX512_BF16) is
// chosen at run time; a portable path serves other CPUs and is the fallback.
#ifndef SIGMA_ENGINE_CPU_MATMUL_H_
#define SIGMA_ENGINE_CPU_MATMUL_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/cpu/thread_pool.h"
#include "engine/tensor.h"

namespace sigma {

// w: [out, in]; x: [batch, in] f32 row-major; y: [batch, out] f32 row-major (overwritten).
// bias: [out] f32 or null. Requires in % block size of w.dtype == 0.
void MatMul(const TensorView& w, const float* x, int64_t batch, const float* bias, float* y,
            ThreadPool& pool);

// One of several projections of the same activations: y = x w^T (+ bias), shapes as MatMul.
struct Projection {
  const TensorView* w = nullptr;
  const float* bias = nullptr;
  float* y = nullptr;
};
inline constexpr size_t kMaxSharedProjections = 4;

// Projections of one x (q/k/v, gate/up; every w as wide) in one parallel pass: the activations are
// prepared once, and the rows of all of them are split across the workers together, so a decode
// step has fewer synchronisation points and one load-balancing tail instead of one per matrix.
// Each y equals what MatMul computes for its w alone.
// The rows of every projection are cut into one part per worker of the pool (MatMulPartRow), and
// the tasks of a pass are pieces of part 0, 1, ... in turn: part p of every projection of a pass
// is one task (or, for large ones, several, taken in step with the other parts'). A w with
// TensorView::parts has one part (the whole matrix) or one per worker.
void MatMulShared(std::span<const Projection> projections, const float* x, int64_t batch,
                  ThreadPool& pool);

// Part p of `parts` of every projection of x, on the calling thread alone (the activations
// prepared in its own scratch): MatMulShared's work for worker p of a pool of `parts`, for a team
// of threads that run a decode step together (Model's decode team). The parts of p = 0 .. parts-1
// together equal MatMulShared.
void MatMulPart(std::span<const Projection> projections, const float* x, int64_t batch,
                int64_t parts, int64_t p);

// The row where part p of a matrix of `rows` rows cut into `parts` for the GEMV's workers begins,
// p in [0, parts]: p * rows / parts rounded down to whole 16-row tiles; part `parts` begins at
// `rows`.
int64_t MatMulPartRow(int64_t rows, int64_t parts, int64_t p);

// Whether MatMul on this CPU reads a tile copy of w (TensorView::parts_are_tiles,
// PackMatMulTiles in matmul_tiles.h) where w has one: the integer kernels (Q4_0 / Q4_1 / Q8_0 /
// Q4_K / Q5_K / Q6_K) do.
bool MatMulUsesTiles(const TensorView& w);

// Dequantises row `row` of w (any supported dtype) into out[0 .. w.cols()).
void DequantizeRow(const TensorView& w, int64_t row, float* out);

// Name of the kernel family the CPU kernels dispatch to ("avx512_amx", "avx512_bf16", "avx2",
// "generic"; the AMX family's matmuls are the AVX-512 ones, its bf16 attention scores its own).
const char* MatMulIsa();

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_MATMUL_H_
