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
  // Optional: the same matrix's first rows / 4 * 4 rows in the CPU GEMV's tile layout
  // (engine/cpu/matmul_tiles.h), owned by whoever made it; kernels that use it read it instead.
  const void* tiles = nullptr;

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
