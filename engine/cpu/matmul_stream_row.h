// StreamRow: one weight row of a batch-1 product, read front to back (see StreamsRows in
// matmul_internal.h), for the SIMD kernel files. Each includes this header and instantiates it
// with its own types, defined in its anonymous namespace and compiled for its ISA (so each
// instantiation has internal linkage and its own instruction set):
//   V: using Vec; static Vec Zero(); static Vec Load(const float*) (unaligned, kLanes floats);
//      static Vec Fma(Vec a, Vec b, Vec c) (a * b + c); static Vec Add(Vec, Vec);
//      static float Sum(Vec); static constexpr int kLanes;
//   L: a loader, L::Load(row, c, lo, hi): chunk c (2 * kLanes elements) of a row as two Vecs in
//      the order MatMulPrepareX* wrote x_prepared.
#ifndef SIGMA_ENGINE_CPU_MATMUL_STREAM_ROW_H_
#define SIGMA_ENGINE_CPU_MATMUL_STREAM_ROW_H_

#include <cstdint>

#include "engine/cpu/matmul_internal.h"
#include "engine/cpu/quant_blocks.h"

namespace sigma::internal {

// y[r] = row r . x (+ bias). Four accumulators (two chunks in flight) hide the FMA latency.
template <class V, class L>
void StreamRow(const MatMulArgs& a, int64_t r) {
  constexpr int kChunk = 2 * V::kLanes;
  typename V::Vec acc[4] = {V::Zero(), V::Zero(), V::Zero(), V::Zero()};
  const uint8_t* row = a.w + r * a.row_bytes;
  const int64_t chunks = a.in / kChunk;
  const float* x = a.x_prepared;
  int64_t c = 0;
  for (; c + 2 <= chunks; c += 2) {
    typename V::Vec w0lo, w0hi, w1lo, w1hi;
    L::Load(row, c, w0lo, w0hi);
    L::Load(row, c + 1, w1lo, w1hi);
    const float* xc = x + kChunk * c;
    acc[0] = V::Fma(w0lo, V::Load(xc), acc[0]);
    acc[1] = V::Fma(w0hi, V::Load(xc + V::kLanes), acc[1]);
    acc[2] = V::Fma(w1lo, V::Load(xc + 2 * V::kLanes), acc[2]);
    acc[3] = V::Fma(w1hi, V::Load(xc + 3 * V::kLanes), acc[3]);
  }
  if (c < chunks) {
    typename V::Vec wlo, whi;
    L::Load(row, c, wlo, whi);
    acc[0] = V::Fma(wlo, V::Load(x + kChunk * c), acc[0]);
    acc[1] = V::Fma(whi, V::Load(x + kChunk * c + V::kLanes), acc[1]);
  }
  float sum = V::Sum(V::Add(V::Add(acc[0], acc[1]), V::Add(acc[2], acc[3])));
  for (int64_t i = chunks * kChunk; i < a.in; ++i) sum += PlainAt(a.dtype, row, i) * a.x[i];
  if (a.bias != nullptr) sum += a.bias[r];
  a.y[r] = sum;
}

}  // namespace sigma::internal

#endif  // SIGMA_ENGINE_CPU_MATMUL_STREAM_ROW_H_
