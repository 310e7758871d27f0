// GgufWriter: builds GGUF v3 files (for `sigma-eval convert`, random-weight fixtures, and tests);
// GgufByteWriter: the raw little-endian primitives underneath, which tests also use to craft
// malformed files that no well-behaved writer would produce.
//
// GgufWriter copies the metadata and the tensor bytes it is given; Serialize() lays them out with
// the alignment given at construction (also written as general.alignment when not 32).
// Thread safety: thread-compatible.
#ifndef SIGMA_ENGINE_GGUF_GGUF_WRITER_H_
#define SIGMA_ENGINE_GGUF_GGUF_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/dtype.h"
#include "engine/gguf/gguf_file.h"

namespace sigma {

class GgufByteWriter {
 public:
  void PutU8(uint8_t v) { bytes_.push_back(static_cast<char>(v)); }
  void PutU32(uint32_t v) { PutRaw(&v, 4); }
  void PutI32(int32_t v) { PutRaw(&v, 4); }
  void PutU64(uint64_t v) { PutRaw(&v, 8); }
  void PutI64(int64_t v) { PutRaw(&v, 8); }
  void PutF32(float v) { PutRaw(&v, 4); }
  void PutF64(double v) { PutRaw(&v, 8); }
  // u64 length + bytes.
  void PutString(std::string_view s) {
    PutU64(s.size());
    bytes_.append(s);
  }
  void PutRaw(const void* data, size_t n) { bytes_.append(static_cast<const char*>(data), n); }
  // Zero bytes up to the next multiple of `alignment`.
  void PadTo(uint64_t alignment) {
    while (bytes_.size() % alignment != 0) bytes_.push_back('\0');
  }
  size_t size() const { return bytes_.size(); }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32);

  // Metadata, kept in insertion order; setting a key again replaces its value.
  void SetU32(std::string_view key, uint32_t v);
  void SetI32(std::string_view key, int32_t v);
  void SetU64(std::string_view key, uint64_t v);
  void SetF32(std::string_view key, float v);
  void SetBool(std::string_view key, bool v);
  void SetString(std::string_view key, std::string_view v);
  void SetStringArray(std::string_view key, const std::vector<std::string>& v);
  void SetF32Array(std::string_view key, const std::vector<float>& v);
  void SetI32Array(std::string_view key, const std::vector<int32_t>& v);

  // `shape` is outermost first (PyTorch order); it is written reversed, as GGUF wants. `data`
  // must hold exactly the bytes of that shape in `dtype`. INVALID_ARGUMENT naming the tensor.
  Status AddTensor(std::string_view name, DType dtype, const std::vector<int64_t>& shape,
                   std::string_view data);

  // Slice `index` of the tensor `name` of one more dimension ([slices, shape...], as llama.cpp
  // stacks a mixture's experts): index 0 adds it with one slice, each next index must follow in
  // order with the same type and shape. INVALID_ARGUMENT as AddTensor, or naming the slice.
  Status AddTensorSlice(std::string_view name, DType dtype, const std::vector<int64_t>& shape,
                        int64_t index, std::string_view data);

  std::string Serialize() const;
  Status WriteFile(const std::string& path) const;

 private:
  struct Entry {
    std::string key;
    std::string encoded;  // type id + value, as in the file
  };
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::string data;
  };
  void SetEncoded(std::string_view key, GgufByteWriter value);

  uint32_t alignment_;
  std::vector<Entry> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_GGUF_GGUF_WRITER_H_
