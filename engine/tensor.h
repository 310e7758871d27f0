// TensorView: a non-owning, typed view of a weight or buffer (usually bytes of a memory-mapped
// checkpoint). Shapes are outermost-first, row-major; a Linear weight is [out_features, in_features]
// exactly as Hugging Face stores it. Quantized types are rows of whole blocks along the last axis.
#ifndef SIGMA_ENGINE_TENSOR_H_
#define SIGMA_ENGINE_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/dtype.h"

namespace sigma {

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
  // Optional: copies of the matrix's rows that the CPU GEMV reads instead of `data`, made and owned
  // by whoever placed them (Model, at load), in parts: part p holds rows [MatMulPartRow(rows(), n,
  // p), MatMulPartRow(rows(), n, p + 1)) (engine/cpu/matmul.h), n = parts.size(), one part for the
  // whole matrix. Model places each worker's parts of every matrix one after another, so that a
  // worker reads one region through a decode step. In the 16-row tile layout where
  // `parts_are_tiles` (engine/cpu/matmul_tiles.h: whole tiles only; the rows past them are read
  // from `data`), else as plain rows.
  std::vector<const void*> parts;
  bool parts_are_tiles = false;

  int64_t dim(size_t i) const { return shape.at(i); }
  int64_t rows() const { return shape.size() < 2 ? 1 : shape[0]; }
  int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
  bool valid() const { return data != nullptr; }
  // Bytes of one row of a 2-D view.
  size_t row_bytes() const {
    return static_cast<size_t>(cols() / DTypeBlockSize(dtype) * DTypeBlockBytes(dtype));
  }
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_TENSOR_H_
