// MatMul (matmul.h): run-time dispatch to the AVX-512, AVX2 or portable row kernels, and the
// portable row kernel itself.
#include "engine/cpu/matmul.h"

#include <algorithm>
#include <vector>

#include "engine/base/check.h"
#include "engine/cpu/cpu_features.h"
#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/quant_blocks.h"

namespace sigma {
namespace internal {
namespace {

// Dot product with 8 independent partial sums (vectorisable without -ffast-math).
float Dot(const float* a, const float* b, int64_t n) {
  float partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) partial[j] += a[i + j] * b[i + j];
  }
  float sum = 0.0f;
  for (; i < n; ++i) sum += a[i] * b[i];
  for (int j = 0; j < 8; ++j) sum += partial[j];
  return sum;
}

}  // namespace

// Decodes each weight row in pieces of at most kPiece elements (whole blocks) into a stack buffer
// and dots it with every batch row; f32 rows are read in place.
void MatMulRowsGeneric(const MatMulArgs& a, int64_t row_begin, int64_t row_end) {
  constexpr int64_t kPiece = 512;
  const int64_t block = DTypeBlockSize(a.dtype);
  const int64_t block_bytes = DTypeBlockBytes(a.dtype);
  const int64_t piece = std::max<int64_t>(block, kPiece / block * block);
  alignas(64) float decoded[kPiece > 256 ? kPiece : 256];
  std::vector<float> sums(static_cast<size_t>(a.batch));
  for (int64_t r = row_begin; r < row_end; ++r) {
    const uint8_t* row = a.w + r * a.row_bytes;
    std::fill(sums.begin(), sums.end(), 0.0f);
    for (int64_t k = 0; k < a.in; k += piece) {
      const int64_t n = std::min(piece, a.in - k);
      const float* w = decoded;
      if (a.dtype == DType::kF32) {
        w = reinterpret_cast<const float*>(row) + k;
      } else {
        DecodeBlocks(a.dtype, row + k / block * block_bytes, n / block, decoded);
      }
      for (int64_t b = 0; b < a.batch; ++b) sums[b] += Dot(w, a.x + b * a.in + k, n);
    }
    const float bias = a.bias != nullptr ? a.bias[r] : 0.0f;
    for (int64_t b = 0; b < a.batch; ++b) a.y[b * a.out + r] = sums[b] + bias;
  }
}

}  // namespace internal

void MatMul(const TensorView& w, const float* x, int64_t batch, const float* bias, float* y,
            ThreadPool& pool) {
  SIGMA_CHECK(w.valid() && w.shape.size() == 2, "MatMul: weight ", w.name, " must be 2-D");
  SIGMA_CHECK(batch >= 1, "MatMul: batch ", batch);
  internal::MatMulArgs args;
  args.w = static_cast<const uint8_t*>(w.data);
  args.dtype = w.dtype;
  args.in = w.cols();
  args.out = w.rows();
  SIGMA_CHECK(args.in % DTypeBlockSize(w.dtype) == 0, "MatMul: ", w.name, " width ", args.in,
              " is not a multiple of the ", DTypeName(w.dtype), " block");
  args.row_bytes = static_cast<int64_t>(w.row_bytes());
  SIGMA_CHECK(w.nbytes == 0 || static_cast<int64_t>(w.nbytes) >= args.row_bytes * args.out,
              "MatMul: ", w.name, " has ", w.nbytes, " bytes, shape needs ",
              args.row_bytes * args.out);
  args.x = x;
  args.batch = batch;
  args.bias = bias;
  args.y = y;

  // Kernel family: AVX-512, else AVX2, else portable; within a SIMD family the int16-activation
  // kernels take Q4_0 / Q4_1 / Q8_0 at batch <= 8.
  using RowsFn = void (*)(const internal::MatMulArgs&, int64_t, int64_t);
  RowsFn rows = internal::MatMulRowsGeneric;
  void (*prepare)(DType, const float*, int64_t, int64_t, float*) = nullptr;
  void (*quantize)(const float*, int64_t, int64_t, int16_t*, float*, float*) = nullptr;
  const CpuIsa isa = ActiveCpuIsa();
  if (isa == CpuIsa::kAvx512Bf16 && internal::MatMulAvx512Supports(w.dtype, args.in)) {
    if (internal::MatMulInt16Supports(w.dtype, args.in, batch)) {
      rows = internal::MatMulRowsInt16;
      quantize = internal::MatMulQuantizeXInt16;
    } else {
      rows = internal::MatMulRowsAvx512;
      prepare = internal::MatMulPrepareXAvx512;
    }
  } else if (isa == CpuIsa::kAvx2 && internal::MatMulAvx2Supports(w.dtype, args.in)) {
    if (internal::MatMulInt16Avx2Supports(w.dtype, args.in, batch)) {
      rows = internal::MatMulRowsInt16Avx2;
      quantize = internal::MatMulQuantizeXInt16Avx2;
    } else {
      rows = internal::MatMulRowsAvx2;
      prepare = internal::MatMulPrepareXAvx2;
    }
  }
  // Per-thread scratch, reused across calls (a decode step makes ~200 of them).
  thread_local std::vector<float> prepared;
  thread_local std::vector<int16_t> xq;
  thread_local std::vector<float> xq_scale_sum;
  if (quantize != nullptr) {
    const int64_t blocks = batch * args.in / 32;
    xq.resize(static_cast<size_t>(batch * args.in));
    xq_scale_sum.resize(static_cast<size_t>(2 * blocks));
    quantize(x, batch, args.in, xq.data(), xq_scale_sum.data(), xq_scale_sum.data() + blocks);
    args.xq = xq.data();
    args.xq_scale = xq_scale_sum.data();
    args.xq_sum = xq_scale_sum.data() + blocks;
  } else if (prepare != nullptr) {
    prepared.resize(static_cast<size_t>(batch * args.in));
    prepare(w.dtype, x, batch, args.in, prepared.data());
    args.x_prepared = prepared.data();
  }
  // Row chunks: multiples of 16 rows, about 8 chunks per worker so uneven progress balances.
  const int64_t target = std::max<int64_t>(1, args.out / (8 * pool.size()));
  const int64_t rows_per_task = std::max<int64_t>(16, (target + 15) / 16 * 16);
  const int64_t tasks = (args.out + rows_per_task - 1) / rows_per_task;
  pool.ParallelFor(tasks, [&](int64_t task, int) {
    const int64_t begin = task * rows_per_task;
    const int64_t end = std::min(args.out, begin + rows_per_task);
    rows(args, begin, end);
  });
}

void DequantizeRow(const TensorView& w, int64_t row, float* out) {
  SIGMA_CHECK(w.valid(), "DequantizeRow: empty tensor ", w.name);
  SIGMA_CHECK(row >= 0 && row < w.rows(), "DequantizeRow: row ", row, " of ", w.rows());
  const int64_t cols = w.cols();
  SIGMA_CHECK(cols % DTypeBlockSize(w.dtype) == 0, "DequantizeRow: width ", cols);
  const auto* base = static_cast<const uint8_t*>(w.data) + row * static_cast<int64_t>(w.row_bytes());
  DecodeBlocks(w.dtype, base, cols / DTypeBlockSize(w.dtype), out);
}

const char* MatMulIsa() {
  switch (ActiveCpuIsa()) {
    case CpuIsa::kAvx512Bf16: return "avx512_bf16";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kGeneric: break;
  }
  return "generic";
}

}  // namespace sigma
