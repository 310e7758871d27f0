// MatMul (matmul.h): run-time dispatch to the AVX-512, AVX2 or portable row kernels, and the
// portable row kernel itself.
#include "engine/cpu/matmul.h"

#include <algorithm>
#include <span>
#include <vector>

#include "engine/base/check.h"
#include "engine/cpu/cpu_features.h"
#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/matmul_tiles.h"
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

namespace {

using RowsFn = void (*)(const internal::MatMulArgs&, int64_t, int64_t);
using PrepareFn = void (*)(DType, const float*, int64_t, int64_t, float*);
using QuantizeFn = void (*)(const float*, int64_t, int64_t, int16_t*, int8_t*, float*, float*,
                            int32_t*);

// The row kernel for a weight dtype, width and batch, and how it wants the activations: Q4_0 /
// Q4_1 / Q8_0 on the integer-activation kernels where UsesInt16Kernels says (AVX-512 VNNI or AVX2
// dots), else AVX-512, else AVX2, else portable.
struct Kernel {
  RowsFn rows = internal::MatMulRowsGeneric;
  PrepareFn prepare = nullptr;    // f32 activations in the kernel's layout
  QuantizeFn quantize = nullptr;  // int16 blocks (the same for every dtype)
};

// Whether Q4_0 / Q4_1 / Q8_0 / Q4_K / Q5_K / Q6_K products take the integer-activation kernels,
// which read the 16-row tile layout (matmul_tiles.h): at decode batches (<= 8) on AVX2 and AVX-512
// machines, and at any batch on AVX-512 where the matrix has a tile copy (MatMulTilesOnly's types:
// only with a tile copy). SmolLM2's FFN up projection for 64 prompt tokens (2-core Zen 4): AVX-512
// integer tiles 139-164 GMAC/s against 36-60 for the f32 kernel (prefill of 256 tokens 515-545 ->
// 1057-1110 tok/s); on AVX2, with 16 vector registers, the integer tiles did 56-62 against 75-85
// for the f32 kernel, so prefill stays on that there.
bool UsesInt16Kernels(CpuIsa isa, DType dtype, int64_t in, int64_t batch, bool tiled) {
  if (isa == CpuIsa::kGeneric) return false;
  const bool tiled_gemm = tiled && isa >= CpuIsa::kAvx512Bf16;
  if (MatMulTilesOnly(dtype)) {
    return tiled && in % DTypeBlockSize(dtype) == 0 &&
           (tiled_gemm || batch <= internal::kMatMulInt16MaxBatch);
  }
  return internal::MatMulAvx2Supports(dtype, in) &&
         internal::MatMulInt16Avx2Supports(dtype, in, batch, tiled_gemm);
}

Kernel ChooseKernel(DType dtype, int64_t in, int64_t batch, bool tiled) {
  Kernel k;
  const CpuIsa isa = ActiveCpuIsa();
  if (UsesInt16Kernels(isa, dtype, in, batch, tiled)) {
    k.rows = isa == CpuIsa::kAvx512Amx    ? internal::MatMulRowsInt16Amx
             : isa == CpuIsa::kAvx512Bf16 ? internal::MatMulRowsInt16Avx512
                                          : internal::MatMulRowsInt16Avx2;
    k.quantize = internal::MatMulQuantizeXInt16Avx2;
  } else if (isa >= CpuIsa::kAvx512Bf16 && internal::MatMulAvx512Supports(dtype, in)) {
    k.rows = internal::MatMulRowsAvx512;
    k.prepare = internal::MatMulPrepareXAvx512;
  } else if (isa == CpuIsa::kAvx2 && internal::MatMulAvx2Supports(dtype, in)) {
    k.rows = internal::MatMulRowsAvx2;
    k.prepare = internal::MatMulPrepareXAvx2;
  }
  return k;
}

// fn(b0, b1) over batch rows [0, batch): split over the pool's workers for prefill batches (16
// rows or more), else on this thread. For the activations' quantization and layouts, which are
// per row: on one thread the quantization was 7.6% of an eval run's samples while the other thread
// waited (split: SmolLM2's prefill of 256 tokens 1078-1121 -> 1149-1216 tok/s, 4 alternating
// pairs; an eval run 0.89-0.95x as long in 4 of 7).
template <class Fn>
void ForBatchRows(int64_t batch, ThreadPool& pool, const Fn& fn) {
  const int64_t workers = pool.size();
  if (batch < 16 || workers == 1) return fn(0, batch);
  pool.ParallelFor(workers, [&](int64_t w, int) {
    fn(batch * w / workers, batch * (w + 1) / workers);
  });
}

}  // namespace

// Intel (2-core Xeon VM with AMX, 2 threads): where the hardware prefetchers alone fed the tile
// kernels, SmolLM2's decode step (Q4_1 tiles, Q8_0 lm_head) read its weights at 66% of the probe;
// prefetching the tiles into L2 2 / 4 / 6-24 KB ahead took its decode at 512 positions from
// 197-206 tok/s (70-74% of the probe) to 233 / 261-264 / 279-340 (83-122%: the step's 108 MB come
// partly from the L3 of that host, 480 MB), at 4K from 124-125 (79%) to 136-150 (86-91%); into L1
// (T0) 4 KB ahead 216-274. Single matrices from DRAM (engine_bench, 8 KB ahead, two rounds):
// SmolLM2's 576 x 576 Q4_1 56-57 -> 75-76% of the probe, 576 x 1536 71-73 -> 84-85%, Q8_0 2048 x
// 2048 86-89 -> 96-99%. On Zen 4 the tiles' sequential stream is the hardware prefetcher's own:
// software prefetches 4 or 16 blocks ahead (into L1) made SmolLM2's step 1.03-1.04x as long
// (matmul_tile_kernel.h), so none there.
int64_t internal::TilePrefetchBytes() {
  static const int64_t bytes = CpuIsIntel() ? 8192 : 0;
  return bytes;
}

namespace {

internal::MatMulArgs ProjectionArgs(const Projection& p, const float* x, int64_t batch) {
  const TensorView& w = *p.w;
  SIGMA_CHECK(w.valid() && w.shape.size() == 2, "MatMul: weight ", w.name, " must be 2-D");
  internal::MatMulArgs args;
  args.w = static_cast<const uint8_t*>(w.data);
  args.dtype = w.dtype;
  args.in = w.cols();
  args.out = w.rows();
  SIGMA_CHECK(args.in % DTypeBlockSize(w.dtype) == 0, "MatMul: ", w.name, " width ", args.in,
              " is not a multiple of the ", DTypeName(w.dtype), " block");
  args.row_bytes = static_cast<int64_t>(w.row_bytes());
  args.tile_prefetch = internal::TilePrefetchBytes();
  SIGMA_CHECK(w.nbytes == 0 || static_cast<int64_t>(w.nbytes) >= args.row_bytes * args.out,
              "MatMul: ", w.name, " has ", w.nbytes, " bytes, shape needs ",
              args.row_bytes * args.out);
  args.x = x;
  args.batch = batch;
  args.bias = p.bias;
  args.y = p.y;
  SIGMA_CHECK(!w.parts_are_tiles || (!w.parts.empty() && MatMulTilesSupported(w)), "MatMul: ",
              w.name, " has tiles but no tile layout");
  return args;
}

// `a` (ProjectionArgs of w) reading part p of `parts` from w's copy of it (TensorView::parts), if
// w has copies: the copy's address less its first row's offset, so that the kernels index rows
// (or tiles) as in the whole matrix.
internal::MatMulArgs PartArgs(internal::MatMulArgs a, const TensorView& w, int64_t parts,
                              int64_t p) {
  const auto copies = static_cast<int64_t>(w.parts.size());
  if (copies == 0) return a;
  SIGMA_CHECK(copies == 1 || copies == parts, "MatMul: ", w.name, " is placed in ", copies,
              " parts for a pool of ", parts, " workers");
  const int64_t q = copies == 1 ? 0 : p;
  const auto first = static_cast<uintptr_t>(MatMulPartRow(a.out, copies, q) * a.row_bytes);
  const uintptr_t base = reinterpret_cast<uintptr_t>(w.parts[q]) - first;
  (w.parts_are_tiles ? a.tiles : a.w) = reinterpret_cast<const uint8_t*>(base);
  return a;
}

// A pass of MatMulShared or MatMulPart: its projections' arguments and kernels, with the
// activations prepared in the calling thread's scratch.
struct PreparedPass {
  size_t n = 0;
  internal::MatMulArgs args[kMaxSharedProjections];
  Kernel kernels[kMaxSharedProjections];
};

// Fills `pass` for `projections` of x and prepares the activations once per layout: the int16
// blocks are the same for every dtype; a PrepareX layout is shared by projections of the same
// dtype. Per-thread scratch, reused across calls (a decode step makes ~100 of them); `pool`
// splits the preparation of prefill batches (ForBatchRows), null keeps it on this thread.
void PreparePass(std::span<const Projection> projections, const float* x, int64_t batch,
                 ThreadPool* pool, PreparedPass& pass) {
  const size_t n = projections.size();
  SIGMA_CHECK(n >= 1 && n <= kMaxSharedProjections, "MatMulShared: ", n, " projections");
  SIGMA_CHECK(batch >= 1, "MatMul: batch ", batch);
  pass.n = n;
  internal::MatMulArgs* args = pass.args;
  Kernel* kernels = pass.kernels;
  for (size_t i = 0; i < n; ++i) {
    args[i] = ProjectionArgs(projections[i], x, batch);
    SIGMA_CHECK(args[i].in == args[0].in, "MatMulShared: ", projections[i].w->name, " is ",
                args[i].in, " wide, ", projections[0].w->name, " ", args[0].in);
    kernels[i] = ChooseKernel(args[i].dtype, args[i].in, batch, projections[i].w->parts_are_tiles);
  }
  const int64_t in = args[0].in;
  const auto for_batch_rows = [&](const auto& fn) {
    if (pool != nullptr) return ForBatchRows(batch, *pool, fn);
    fn(0, batch);
  };

  thread_local std::vector<int16_t> xq;
  thread_local std::vector<int8_t> xq8;
  thread_local std::vector<float> xq_scale_sum;
  thread_local std::vector<int32_t> xq_sum16;
  thread_local std::vector<float> prepared[kMaxSharedProjections];
  bool quantized = false;
  for (size_t i = 0; i < n; ++i) {
    if (kernels[i].quantize != nullptr) {
      const int64_t blocks = batch * in / 32;
      if (!quantized) {
        xq.resize(static_cast<size_t>(batch * in));
        xq8.resize(static_cast<size_t>(2 * batch * in));
        xq_scale_sum.resize(static_cast<size_t>(2 * blocks));
        xq_sum16.resize(static_cast<size_t>(2 * blocks));
        // Batch rows [b0, b1) of every output (rows are independent). The buffers are this
        // thread's (thread_local): their addresses are taken here, not in the workers.
        const auto quantize = [&, q = kernels[i].quantize, xq16 = xq.data(), x8 = xq8.data(),
                               scale = xq_scale_sum.data(), sum16 = xq_sum16.data()](int64_t b0,
                                                                                      int64_t b1) {
          const int64_t row_blocks = in / 32;
          q(x + b0 * in, b1 - b0, in, xq16 + b0 * in, x8 + 2 * b0 * in, scale + b0 * row_blocks,
            scale + blocks + b0 * row_blocks, sum16 + 2 * b0 * row_blocks);
        };
        for_batch_rows(quantize);
        quantized = true;
      }
      args[i].xq = xq.data();
      args[i].xq8 = xq8.data();
      args[i].xq_scale = xq_scale_sum.data();
      args[i].xq_sum = xq_scale_sum.data() + blocks;
      args[i].xq_sum16 = xq_sum16.data();
    } else if (kernels[i].prepare != nullptr) {
      for (size_t j = 0; j < i && args[i].x_prepared == nullptr; ++j) {
        if (kernels[j].prepare == kernels[i].prepare && args[j].dtype == args[i].dtype) {
          args[i].x_prepared = args[j].x_prepared;
        }
      }
      if (args[i].x_prepared == nullptr) {
        prepared[i].resize(static_cast<size_t>(batch * in));
        for_batch_rows([&, dtype = args[i].dtype, prepare = kernels[i].prepare,
                        out = prepared[i].data()](int64_t b0, int64_t b1) {
          prepare(dtype, x + b0 * in, b1 - b0, in, out + b0 * in);
        });
        args[i].x_prepared = prepared[i].data();
      }
    }
  }
}

// Piece c of `chunks` of part p of `parts` of every projection of the pass: whole tiles of the
// part's rows, so that the pieces together are the part.
void RunPiece(const PreparedPass& pass, std::span<const Projection> projections, int64_t parts,
              int64_t p, int64_t c, int64_t chunks) {
  for (size_t i = 0; i < pass.n; ++i) {
    const internal::MatMulArgs& a = pass.args[i];
    const int64_t first = MatMulPartRow(a.out, parts, p);
    const int64_t rows = MatMulPartRow(a.out, parts, p + 1) - first;
    const int64_t begin = first + rows * c / chunks / kMatMulTileRows * kMatMulTileRows;
    const int64_t end =
        c + 1 == chunks ? first + rows
                        : first + rows * (c + 1) / chunks / kMatMulTileRows * kMatMulTileRows;
    if (begin < end) pass.kernels[i].rows(PartArgs(a, *projections[i].w, parts, p), begin, end);
  }
}

}  // namespace

void MatMul(const TensorView& w, const float* x, int64_t batch, const float* bias, float* y,
            ThreadPool& pool) {
  const Projection p{&w, bias, y};
  MatMulShared({&p, 1}, x, batch, pool);
}

void MatMulShared(std::span<const Projection> projections, const float* x, int64_t batch,
                  ThreadPool& pool) {
  PreparedPass pass;
  PreparePass(projections, x, batch, &pool, pass);
  // Tasks: each projection's rows cut into one part per worker (MatMulPartRow), each part into
  // `chunks` pieces of whole tiles; task (c, p) computes piece c of part p of every projection,
  // chunk-major, so that while the workers keep pace each takes every piece of its own part. A
  // decode step then reads each worker's parts of all its matrices in turn, and Model places
  // those one after another (TensorView::parts): one stream a worker across the ~120 passes of a
  // SmolLM2 step, where matrices placed whole had each worker jump to its half of the next one.
  // A model of that step (2 threads reading its 120 passes' bytes with light arithmetic between
  // the loads, paired rounds) read them at 73-80% of the bandwidth probe placed whole and 87-100%
  // in worker parts while the host was fast (~58-62 GB/s), 92-96% and 93-98% while it was slow.
  // About 1 MiB of weights (times the batch rows) a task, 1 to 8 pieces a part. Each piece starts
  // its weight stream cold, so small matrices want few, long pieces: SmolLM2's decode projections
  // (0.2-1.1 MB) took 2.41 ms a step in 8 chunks per worker, 2.24-2.27 in 1 (and with the 16-row
  // tiles, 2 or 4 chunks 1.07x and 1.17x as long as 1). Large ones want several, so uneven
  // progress balances: its 30 MB Q8_0 lm_head ran at 91-93% of bandwidth in 8 per worker, 82-84%
  // in 1.
  // Measured and left (SmolLM2 decode, 2 threads, A/B in one process, 40 rounds): work stealing
  // (a worker done early takes pieces from the back of the other's part) cut the workers' idle
  // spinning from 13% to 5% of thread time, but not the step time (median ratio 0.99 at 512
  // positions, 1.02 at 4K), nor did 64-row pieces (0.97-1.05x over 30 paired rounds): while one
  // worker waits the other streams faster. Likewise prefetching the next projection's first
  // 4-64 KiB while waiting: 0.98-0.99, within the noise.
  int64_t total_bytes = 0;  // of weights times batch rows
  for (size_t i = 0; i < pass.n; ++i) {
    total_bytes += pass.args[i].out * pass.args[i].row_bytes * batch;
  }
  constexpr int64_t kTaskBytes = int64_t{1} << 20;
  const int64_t parts = pool.size();
  const int64_t chunks =
      std::clamp<int64_t>((total_bytes + kTaskBytes * parts - 1) / (kTaskBytes * parts), 1, 8);
  pool.ParallelFor(parts * chunks, [&](int64_t task, int) {
    RunPiece(pass, projections, parts, task % parts, task / parts, chunks);
  });
}

void MatMulPart(std::span<const Projection> projections, const float* x, int64_t batch,
                int64_t parts, int64_t p) {
  SIGMA_CHECK(parts >= 1 && p >= 0 && p < parts, "MatMulPart: part ", p, " of ", parts);
  PreparedPass pass;
  PreparePass(projections, x, batch, nullptr, pass);
  RunPiece(pass, projections, parts, p, 0, 1);
}

int64_t MatMulPartRow(int64_t rows, int64_t parts, int64_t p) {
  SIGMA_CHECK(parts >= 1 && p >= 0 && p <= parts, "MatMulPartRow: part ", p, " of ", parts);
  if (p == parts) return rows;
  return rows * p / parts / kMatMulTileRows * kMatMulTileRows;
}

bool MatMulUsesTiles(const TensorView& w) {
  return MatMulTilesSupported(w) && UsesInt16Kernels(ActiveCpuIsa(), w.dtype, w.cols(), 1, true);
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
    case CpuIsa::kAvx512Amx: return "avx512_amx";
    case CpuIsa::kAvx512Bf16: return "avx512_bf16";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kGeneric: break;
  }
  return "generic";
}

}  // namespace sigma
