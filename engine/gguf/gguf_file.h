// GgufFile: a validating reader of GGUF v2/v3 files (the llama.cpp model format).
//
// Layout (little-endian): "GGUF", u32 version, u64 tensor_count, u64 kv_count, the metadata
// key/values, the tensor infos (name, n_dims, dims in ggml order = innermost first, ggml type,
// offset relative to the data section), zero padding to `general.alignment` (default 32), then
// the tensor data. Every count, string length, array length, dim, type and offset is checked
// against the bytes left and against overflow before it is used (shared/reference/reliability.md
// §4.1); a hostile file yields a Status naming the file, the field and the offending value, never
// a crash or an allocation sized by an unchecked header field.
//
// Ownership: a GgufFile owns its bytes (a read-only memory map, or a copy for FromBytes); every
// string_view and span it hands out points into them and lives as long as the GgufFile.
// Thread safety: immutable after Open; safe to read from any thread.
#ifndef SIGMA_ENGINE_GGUF_GGUF_FILE_H_
#define SIGMA_ENGINE_GGUF_GGUF_FILE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/status.h"
#include "engine/dtype.h"

namespace sigma {

// Whether `path` names a GGUF model file: how every loader (and every command writing a model)
// tells one from a checkpoint folder, by its ".gguf" name.
inline bool IsGgufPath(std::string_view path) { return path.ends_with(".gguf"); }

// Metadata value types, numbered as in the GGUF spec.
enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
std::string_view GgufTypeName(GgufType type);  // "u32", "string", "array", ...
// Bytes of one scalar element of `type` (0 for string and array).
size_t GgufScalarSize(GgufType type);

// ggml tensor type ids (ggml.h) of the types this project reads; others are rejected at Open.
inline constexpr uint32_t kGgmlF32 = 0, kGgmlF16 = 1, kGgmlQ4_0 = 2, kGgmlQ4_1 = 3, kGgmlQ5_0 = 6,
                          kGgmlQ5_1 = 7, kGgmlQ8_0 = 8, kGgmlQ2_K = 10, kGgmlQ3_K = 11,
                          kGgmlQ4_K = 12, kGgmlQ5_K = 13, kGgmlQ6_K = 14, kGgmlQ8_K = 15,
                          kGgmlIQ4_NL = 20, kGgmlIQ4_XS = 23, kGgmlBF16 = 30, kGgmlMXFP4 = 39;
std::optional<DType> DTypeFromGgml(uint32_t ggml_type);
uint32_t GgmlTypeFromDType(DType dtype);

// One metadata value. Scalars: `u` holds unsigned ints and bool, `i` signed ints, `f` floats.
// Strings: `str`. Arrays: `elem_type`, `count`, and either `raw` (numeric elements, packed
// little-endian), `strings`, or `arrays` (nested arrays).
struct GgufValue {
  GgufType type = GgufType::kU8;
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string_view str;
  GgufType elem_type = GgufType::kU8;
  uint64_t count = 0;
  std::span<const uint8_t> raw;
  std::vector<std::string_view> strings;
  std::vector<GgufValue> arrays;

  bool is_integer() const;
  bool is_array() const { return type == GgufType::kArray; }
};

struct GgufTensorInfo {
  std::string name;
  uint32_t ggml_type = 0;
  DType dtype = DType::kF32;
  std::vector<uint64_t> dims;  // ggml order: dims[0] is the contiguous axis
  std::vector<int64_t> shape;  // outermost first (reverse of dims), as TensorView wants
  uint64_t offset = 0;         // relative to data_offset()
  uint64_t nbytes = 0;
  uint64_t numel = 0;
};

// A Hugging Face tokenizer.json embedded whole as a string (`sigma-eval convert` writes it for a
// checkpoint folder that has one; Tokenizer::FromGguf reads it where tokenizer.ggml.* is absent).
inline constexpr char kGgufHfTokenizerKey[] = "tokenizer.huggingface.json";
// Its tokenizer_config.json (bos/eos tokens, chat template), embedded beside it the same way.
inline constexpr char kGgufHfTokenizerConfigKey[] = "tokenizer.huggingface.config_json";

// Limits applied while parsing (all far above what real models use).
inline constexpr uint64_t kGgufMaxTensors = 1u << 20;
inline constexpr uint64_t kGgufMaxKv = 1u << 20;
inline constexpr uint64_t kGgufMaxKeyLength = 65535;
inline constexpr uint64_t kGgufMaxStringLength = 256ull << 20;
inline constexpr uint64_t kGgufMaxArrayCount = 1ull << 28;
inline constexpr uint64_t kGgufMaxTensorNameLength = 64;
inline constexpr uint64_t kGgufMaxDim = 1ull << 40;
inline constexpr uint64_t kGgufMaxNumel = 1ull << 50;
inline constexpr uint64_t kGgufMaxAlignment = 1u << 16;
inline constexpr int kGgufMaxArrayDepth = 3;

class GgufFile {
 public:
  // Maps `path` read-only and parses it.
  static StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Parses a copy of `bytes`; `name` stands for the file in errors (tests, fuzzing).
  static StatusOr<std::unique_ptr<GgufFile>> FromBytes(std::string_view bytes, std::string name);

  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return bytes_.size(); }

  // Metadata in file order; Find returns null when the key is absent.
  const std::vector<std::pair<std::string_view, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* Find(std::string_view key) const;

  // Typed getters: NOT_FOUND when absent, INVALID_ARGUMENT naming the key when the stored type is
  // not the expected one. GetUint accepts any non-negative integer type; GetFloat f32 or f64.
  StatusOr<std::string_view> GetString(std::string_view key) const;
  StatusOr<uint64_t> GetUint(std::string_view key) const;
  StatusOr<double> GetFloat(std::string_view key) const;
  StatusOr<bool> GetBool(std::string_view key) const;
  // Array getters check the element type exactly (a u8 array is not an i32 array).
  StatusOr<std::vector<std::string_view>> GetStringArray(std::string_view key) const;
  StatusOr<std::vector<float>> GetF32Array(std::string_view key) const;
  StatusOr<std::vector<int32_t>> GetI32Array(std::string_view key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(std::string_view name) const;
  // The tensor's bytes (checked against the file at Open).
  std::span<const uint8_t> TensorData(const GgufTensorInfo& info) const;
  // MappedFile::ReleasePages on the file's mapping (nothing for FromBytes).
  void ReleasePages(const void* p, size_t bytes) const { mapping_.ReleasePages(p, bytes); }

 private:
  friend class GgufParser;
  GgufFile() = default;
  std::span<const uint8_t> bytes() const { return bytes_; }
  StatusOr<const GgufValue*> FindTyped(std::string_view key) const;

  std::string name_;
  MappedFile mapping_;
  std::string owned_;
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string_view, GgufValue>> kv_;
  std::map<std::string_view, size_t, std::less<>> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_GGUF_GGUF_FILE_H_
