#include "engine/gguf/gguf_file.h"

#include <algorithm>
#include <cstring>

namespace sigma {

std::string_view GgufTypeName(GgufType type) {
  switch (type) {
    case GgufType::kU8:
      return "u8";
    case GgufType::kI8:
      return "i8";
    case GgufType::kU16:
      return "u16";
    case GgufType::kI16:
      return "i16";
    case GgufType::kU32:
      return "u32";
    case GgufType::kI32:
      return "i32";
    case GgufType::kF32:
      return "f32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kU64:
      return "u64";
    case GgufType::kI64:
      return "i64";
    case GgufType::kF64:
      return "f64";
  }
  return "unknown";
}

size_t GgufScalarSize(GgufType type) {
  switch (type) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64:
      return 8;
    case GgufType::kString:
    case GgufType::kArray:
      return 0;
  }
  return 0;
}

std::optional<DType> DTypeFromGgml(uint32_t ggml_type) {
  switch (ggml_type) {
    case kGgmlF32:
      return DType::kF32;
    case kGgmlF16:
      return DType::kF16;
    case kGgmlBF16:
      return DType::kBF16;
    case kGgmlQ8_0:
      return DType::kQ8_0;
    case kGgmlQ4_0:
      return DType::kQ4_0;
    case kGgmlQ4_1:
      return DType::kQ4_1;
    case kGgmlQ5_0:
      return DType::kQ5_0;
    case kGgmlQ5_1:
      return DType::kQ5_1;
    case kGgmlQ2_K: return DType::kQ2_K;
    case kGgmlQ3_K: return DType::kQ3_K;
    case kGgmlMXFP4: return DType::kMXFP4;
    case kGgmlIQ4_NL: return DType::kIQ4_NL;
    case kGgmlIQ4_XS: return DType::kIQ4_XS;
    case kGgmlQ4_K:
      return DType::kQ4_K;
    case kGgmlQ5_K:
      return DType::kQ5_K;
    case kGgmlQ6_K:
      return DType::kQ6_K;
    case kGgmlQ8_K:
      return DType::kQ8_K;
    default:
      return std::nullopt;
  }
}

uint32_t GgmlTypeFromDType(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return kGgmlF32;
    case DType::kF16:
      return kGgmlF16;
    case DType::kBF16:
      return kGgmlBF16;
    case DType::kQ8_0:
      return kGgmlQ8_0;
    case DType::kQ4_0:
      return kGgmlQ4_0;
    case DType::kQ4_1:
      return kGgmlQ4_1;
    case DType::kQ5_0:
      return kGgmlQ5_0;
    case DType::kQ5_1:
      return kGgmlQ5_1;
    case DType::kQ2_K: return kGgmlQ2_K;
    case DType::kQ3_K: return kGgmlQ3_K;
    case DType::kQ4_K:
      return kGgmlQ4_K;
    case DType::kQ5_K:
      return kGgmlQ5_K;
    case DType::kQ6_K:
      return kGgmlQ6_K;
    case DType::kQ8_K:
      return kGgmlQ8_K;
    case DType::kMXFP4: return kGgmlMXFP4;
    case DType::kIQ4_NL: return kGgmlIQ4_NL;
    case DType::kIQ4_XS: return kGgmlIQ4_XS;
  }
  return kGgmlF32;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kU16:
    case GgufType::kI16:
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kU64:
    case GgufType::kI64:
      return true;
    default:
      return false;
  }
}

namespace {

// Names of the ggml types we know but do not read, for messages.
std::string GgmlTypeLabel(uint32_t t) {
  static constexpr const char* kNames[] = {"F32",
                                           "F16",
                                           "Q4_0",
                                           "Q4_1",
                                           "Q4_2 (removed)",
                                           "Q4_3 (removed)",
                                           "Q5_0",
                                           "Q5_1",
                                           "Q8_0",
                                           "Q8_1",
                                           "Q2_K",
                                           "Q3_K",
                                           "Q4_K",
                                           "Q5_K",
                                           "Q6_K",
                                           "Q8_K",
                                           "IQ2_XXS",
                                           "IQ2_XS",
                                           "IQ3_XXS",
                                           "IQ1_S",
                                           "IQ4_NL",
                                           "IQ3_S",
                                           "IQ2_S",
                                           "IQ4_XS",
                                           "I8",
                                           "I16",
                                           "I32",
                                           "I64",
                                           "F64",
                                           "IQ1_M",
                                           "BF16"};
  if (t < std::size(kNames)) return StrCat(t, " (", kNames[t], ")");
  return StrCat(t);
}

bool IsPowerOfTwo(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

template <typename T>
T Load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Fills u (unsigned, bool), i (signed) or f (float) from the little-endian bytes at p.
void DecodeScalar(GgufType type, const uint8_t* p, GgufValue* out) {
  switch (type) {
    case GgufType::kU8:
    case GgufType::kBool:
      out->u = p[0];
      break;
    case GgufType::kI8:
      out->i = Load<int8_t>(p);
      break;
    case GgufType::kU16:
      out->u = Load<uint16_t>(p);
      break;
    case GgufType::kI16:
      out->i = Load<int16_t>(p);
      break;
    case GgufType::kU32:
      out->u = Load<uint32_t>(p);
      break;
    case GgufType::kI32:
      out->i = Load<int32_t>(p);
      break;
    case GgufType::kU64:
      out->u = Load<uint64_t>(p);
      break;
    case GgufType::kI64:
      out->i = Load<int64_t>(p);
      break;
    case GgufType::kF32:
      out->f = Load<float>(p);
      break;
    case GgufType::kF64:
      out->f = Load<double>(p);
      break;
    default:
      break;
  }
}

}  // namespace

// Reads the file front to back with a bounds-checked cursor. Errors name the file and the field.
class GgufParser {
 public:
  GgufParser(GgufFile* file) : file_(file), bytes_(file->bytes()) {}

  Status Parse() {
    SIGMA_RETURN_IF_ERROR(ParseHeader());
    SIGMA_RETURN_IF_ERROR(ParseMetadata());
    SIGMA_RETURN_IF_ERROR(ReadAlignment());
    SIGMA_RETURN_IF_ERROR(ParseTensorInfos());
    return CheckTensorData();
  }

 private:
  uint64_t left() const { return bytes_.size() - pos_; }

  Status Truncated(std::string_view field, uint64_t need) const {
    return DataLossError(file_->name_, ": truncated file: ", field, " needs ", need,
                         " bytes at offset ", pos_, ", ", left(), " left");
  }

  template <typename T>
  Status Read(std::string_view field, T* out) {
    if (left() < sizeof(T)) return Truncated(field, sizeof(T));
    std::memcpy(out, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  Status ReadString(std::string_view field, uint64_t max_length, std::string_view* out) {
    uint64_t length = 0;
    SIGMA_RETURN_IF_ERROR(Read(field, &length));
    if (length > max_length) {
      return InvalidArgumentError(file_->name_, ": ", field, ": string length ", length,
                                  " exceeds the limit of ", max_length);
    }
    if (length > left()) {
      return DataLossError(file_->name_, ": ", field, ": string length ", length,
                           " runs past the end of the file (", left(), " bytes left)");
    }
    *out = std::string_view(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return Status::Ok();
  }

  Status ParseHeader() {
    uint32_t magic = 0;
    SIGMA_RETURN_IF_ERROR(Read("magic", &magic));
    if (std::memcmp(&magic, "GGUF", 4) != 0) {
      return InvalidArgumentError(file_->name_, ": not a GGUF file (magic is not 'GGUF')");
    }
    SIGMA_RETURN_IF_ERROR(Read("version", &file_->version_));
    const uint32_t v = file_->version_;
    if (v != 2 && v != 3) {
      if (v != 0 && (v & 0xffffu) == 0) {
        return UnimplementedError(file_->name_, ": version field ", v,
                                  " looks byte-swapped: big-endian GGUF is not supported");
      }
      return UnimplementedError(file_->name_, ": GGUF version ", v, " (expected 2 or 3)");
    }
    SIGMA_RETURN_IF_ERROR(Read("tensor_count", &n_tensors_));
    SIGMA_RETURN_IF_ERROR(Read("metadata_kv_count", &n_kv_));
    // Smallest encodings: a kv is key length (8) + 1 key byte + type (4) + 1 value byte; a tensor
    // info is name length (8) + 1 name byte + n_dims (4) + one dim (8) + type (4) + offset (8).
    if (n_kv_ > kGgufMaxKv || n_kv_ > left() / 14) {
      return InvalidArgumentError(file_->name_, ": metadata_kv_count ", n_kv_,
                                  " is impossible for a file with ", left(),
                                  " bytes after the header");
    }
    if (n_tensors_ > kGgufMaxTensors || n_tensors_ > left() / 33) {
      return InvalidArgumentError(file_->name_, ": tensor_count ", n_tensors_,
                                  " is impossible for a file with ", left(),
                                  " bytes after the header");
    }
    return Status::Ok();
  }

  Status ParseMetadata() {
    file_->kv_.reserve(n_kv_);
    for (uint64_t k = 0; k < n_kv_; ++k) {
      const std::string field = StrCat("metadata key #", k);
      std::string_view key;
      SIGMA_RETURN_IF_ERROR(ReadString(field, kGgufMaxKeyLength, &key));
      if (key.empty()) return InvalidArgumentError(file_->name_, ": ", field, " is empty");
      uint32_t type = 0;
      const std::string named = StrCat("metadata '", key, "'");
      SIGMA_RETURN_IF_ERROR(Read(named + " type", &type));
      GgufValue value;
      SIGMA_RETURN_IF_ERROR(ReadValue(named, type, 0, &value));
      if (!file_->kv_index_.emplace(key, file_->kv_.size()).second) {
        return InvalidArgumentError(file_->name_, ": duplicate metadata key '", key, "'");
      }
      file_->kv_.emplace_back(key, std::move(value));
    }
    return Status::Ok();
  }

  Status CheckType(std::string_view field, uint32_t type) const {
    if (type > static_cast<uint32_t>(GgufType::kF64)) {
      return InvalidArgumentError(file_->name_, ": ", field, ": unknown value type ", type);
    }
    return Status::Ok();
  }

  Status ReadValue(const std::string& field, uint32_t raw_type, int depth, GgufValue* out) {
    SIGMA_RETURN_IF_ERROR(CheckType(field, raw_type));
    const GgufType type = static_cast<GgufType>(raw_type);
    out->type = type;
    switch (type) {
      case GgufType::kString:
        return ReadString(field, kGgufMaxStringLength, &out->str);
      case GgufType::kArray:
        return ReadArray(field, depth, out);
      default:
        break;
    }
    const size_t size = GgufScalarSize(type);
    if (left() < size) return Truncated(field, size);
    const uint8_t* p = bytes_.data() + pos_;
    pos_ += size;
    if (type == GgufType::kBool && p[0] > 1) {
      return InvalidArgumentError(file_->name_, ": ", field, ": bool byte ", +p[0]);
    }
    DecodeScalar(type, p, out);
    if (out->i >= 0 && out->u == 0) out->u = static_cast<uint64_t>(out->i);
    return Status::Ok();
  }

  Status ReadArray(const std::string& field, int depth, GgufValue* out) {
    if (depth >= kGgufMaxArrayDepth) {
      return InvalidArgumentError(file_->name_, ": ", field, ": arrays nested deeper than ",
                                  kGgufMaxArrayDepth);
    }
    uint32_t elem = 0;
    SIGMA_RETURN_IF_ERROR(Read(field + " element type", &elem));
    SIGMA_RETURN_IF_ERROR(CheckType(field + " element type", elem));
    out->elem_type = static_cast<GgufType>(elem);
    SIGMA_RETURN_IF_ERROR(Read(field + " array length", &out->count));
    const size_t size = GgufScalarSize(out->elem_type);
    // Strings take at least 8 bytes (their length), arrays at least 12 (type + count).
    const uint64_t min_size = size ? size : (out->elem_type == GgufType::kString ? 8 : 12);
    if (out->count > kGgufMaxArrayCount || out->count > left() / min_size) {
      return InvalidArgumentError(file_->name_, ": ", field, ": array length ", out->count, " of ",
                                  GgufTypeName(out->elem_type), " does not fit in the ", left(),
                                  " bytes left");
    }
    if (size) {
      out->raw = bytes_.subspan(pos_, out->count * size);
      if (out->elem_type == GgufType::kBool) {
        for (uint8_t b : out->raw) {
          if (b > 1) return InvalidArgumentError(file_->name_, ": ", field, ": bool byte ", +b);
        }
      }
      pos_ += out->count * size;
      return Status::Ok();
    }
    if (out->elem_type == GgufType::kString) {
      out->strings.resize(out->count);
      for (uint64_t k = 0; k < out->count; ++k) {
        SIGMA_RETURN_IF_ERROR(
            ReadString(StrCat(field, "[", k, "]"), kGgufMaxStringLength, &out->strings[k]));
      }
      return Status::Ok();
    }
    out->arrays.resize(out->count);
    for (uint64_t k = 0; k < out->count; ++k) {
      SIGMA_RETURN_IF_ERROR(ReadValue(StrCat(field, "[", k, "]"),
                                      static_cast<uint32_t>(GgufType::kArray), depth + 1,
                                      &out->arrays[k]));
    }
    return Status::Ok();
  }

  Status ReadAlignment() {
    const GgufValue* v = file_->Find("general.alignment");
    if (v == nullptr) return Status::Ok();
    if (v->type != GgufType::kU32) {
      return InvalidArgumentError(file_->name_, ": general.alignment: expected u32, got ",
                                  GgufTypeName(v->type));
    }
    if (!IsPowerOfTwo(v->u) || v->u < 8 || v->u > kGgufMaxAlignment) {
      return InvalidArgumentError(file_->name_, ": general.alignment ", v->u,
                                  " is not a power of two in [8, ", kGgufMaxAlignment, "]");
    }
    file_->alignment_ = v->u;
    return Status::Ok();
  }

  Status ReadTensorShape(const std::string& field, GgufTensorInfo* t) {
    uint32_t n_dims = 0;
    SIGMA_RETURN_IF_ERROR(Read(field + " n_dims", &n_dims));
    if (n_dims < 1 || n_dims > 4) {
      return InvalidArgumentError(file_->name_, ": ", field, ": n_dims ", n_dims,
                                  " (expected 1 to 4)");
    }
    t->dims.resize(n_dims);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      SIGMA_RETURN_IF_ERROR(Read(field + " dim", &t->dims[d]));
      const uint64_t dim = t->dims[d];
      if (dim < 1 || dim > kGgufMaxDim) {
        return InvalidArgumentError(file_->name_, ": ", field, ": dim ", d, " = ", dim,
                                    " (expected 1 to ", kGgufMaxDim, ")");
      }
      if (__builtin_mul_overflow(numel, dim, &numel) || numel > kGgufMaxNumel) {
        return InvalidArgumentError(file_->name_, ": ", field, ": element count overflows");
      }
    }
    t->numel = numel;
    t->shape.assign(t->dims.rbegin(), t->dims.rend());
    return Status::Ok();
  }

  Status ReadTensorType(const std::string& field, GgufTensorInfo* t) {
    SIGMA_RETURN_IF_ERROR(Read(field + " type", &t->ggml_type));
    std::optional<DType> dtype = DTypeFromGgml(t->ggml_type);
    if (!dtype) {
      return UnimplementedError(file_->name_, ": ", field, ": ggml type ",
                                GgmlTypeLabel(t->ggml_type), " is not supported");
    }
    t->dtype = *dtype;
    const uint64_t block = static_cast<uint64_t>(DTypeBlockSize(t->dtype));
    if (t->dims[0] % block != 0) {
      return InvalidArgumentError(file_->name_, ": ", field, ": row length ", t->dims[0],
                                  " is not a multiple of the ", DTypeName(t->dtype), " block size ",
                                  block);
    }
    // numel <= 2^50 and block bytes <= 292, so this cannot overflow; checked anyway.
    if (__builtin_mul_overflow(t->numel / block, static_cast<uint64_t>(DTypeBlockBytes(t->dtype)),
                               &t->nbytes)) {
      return InvalidArgumentError(file_->name_, ": ", field, ": byte size overflows");
    }
    return Status::Ok();
  }

  Status ParseTensorInfos() {
    file_->tensors_.reserve(n_tensors_);
    for (uint64_t k = 0; k < n_tensors_; ++k) {
      GgufTensorInfo t;
      std::string_view name;
      SIGMA_RETURN_IF_ERROR(
          ReadString(StrCat("tensor #", k, " name"), kGgufMaxTensorNameLength, &name));
      if (name.empty() || name.find('\0') != std::string_view::npos) {
        return InvalidArgumentError(file_->name_, ": tensor #", k, ": empty name or NUL in name");
      }
      t.name = std::string(name);
      const std::string field = StrCat("tensor '", t.name, "'");
      SIGMA_RETURN_IF_ERROR(ReadTensorShape(field, &t));
      SIGMA_RETURN_IF_ERROR(ReadTensorType(field, &t));
      SIGMA_RETURN_IF_ERROR(Read(field + " offset", &t.offset));
      if (t.offset % file_->alignment_ != 0) {
        return InvalidArgumentError(file_->name_, ": ", field, ": offset ", t.offset,
                                    " is not a multiple of the alignment ", file_->alignment_);
      }
      if (!file_->tensor_index_.emplace(t.name, file_->tensors_.size()).second) {
        return InvalidArgumentError(file_->name_, ": duplicate tensor name '", t.name, "'");
      }
      file_->tensors_.push_back(std::move(t));
    }
    return Status::Ok();
  }

  Status CheckTensorData() {
    const uint64_t a = file_->alignment_;
    const uint64_t data_offset = (pos_ + a - 1) / a * a;  // pos_ <= file size, no overflow
    if (data_offset > bytes_.size() && !file_->tensors_.empty()) {
      return DataLossError(file_->name_, ": tensor data section starts at ", data_offset,
                           ", past the end of the file (", bytes_.size(), " bytes)");
    }
    file_->data_offset_ = data_offset;
    const uint64_t data_size = bytes_.size() > data_offset ? bytes_.size() - data_offset : 0;
    std::vector<const GgufTensorInfo*> by_offset;
    by_offset.reserve(file_->tensors_.size());
    for (const GgufTensorInfo& t : file_->tensors_) {
      if (t.offset > data_size || t.nbytes > data_size - t.offset) {
        return DataLossError(file_->name_, ": tensor '", t.name, "': data [", t.offset, ", +",
                             t.nbytes, ") runs past the end of the data section (", data_size,
                             " bytes)");
      }
      by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](auto* x, auto* y) { return x->offset < y->offset; });
    for (size_t k = 1; k < by_offset.size(); ++k) {
      if (by_offset[k - 1]->offset + by_offset[k - 1]->nbytes > by_offset[k]->offset) {
        return InvalidArgumentError(file_->name_, ": tensors '", by_offset[k - 1]->name, "' and '",
                                    by_offset[k]->name, "' overlap");
      }
    }
    return Status::Ok();
  }

  GgufFile* file_;
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(MappedFile mapping, MappedFile::Open(path));
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->name_ = path;
  file->mapping_ = std::move(mapping);
  file->bytes_ = file->mapping_.bytes();
  SIGMA_RETURN_IF_ERROR(GgufParser(file.get()).Parse());
  return file;
}

StatusOr<std::unique_ptr<GgufFile>> GgufFile::FromBytes(std::string_view bytes, std::string name) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->name_ = std::move(name);
  file->owned_ = std::string(bytes);
  file->bytes_ = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(file->owned_.data()),
                                          file->owned_.size());
  SIGMA_RETURN_IF_ERROR(GgufParser(file.get()).Parse());
  return file;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

StatusOr<const GgufValue*> GgufFile::FindTyped(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (v == nullptr) return NotFoundError(name_, ": metadata key '", key, "' is missing");
  return v;
}

StatusOr<std::string_view> GgufFile::GetString(std::string_view key) const {
  SIGMA_ASSIGN_OR_RETURN(const GgufValue* v, FindTyped(key));
  if (v->type != GgufType::kString) {
    return InvalidArgumentError(name_, ": ", key, ": expected string, got ", GgufTypeName(v->type));
  }
  return v->str;
}

StatusOr<uint64_t> GgufFile::GetUint(std::string_view key) const {
  SIGMA_ASSIGN_OR_RETURN(const GgufValue* v, FindTyped(key));
  if (!v->is_integer()) {
    return InvalidArgumentError(name_, ": ", key, ": expected an integer, got ",
                                GgufTypeName(v->type));
  }
  if (v->i < 0) return InvalidArgumentError(name_, ": ", key, ": negative value ", v->i);
  return v->u;
}

StatusOr<double> GgufFile::GetFloat(std::string_view key) const {
  SIGMA_ASSIGN_OR_RETURN(const GgufValue* v, FindTyped(key));
  if (v->type != GgufType::kF32 && v->type != GgufType::kF64) {
    return InvalidArgumentError(name_, ": ", key, ": expected f32, got ", GgufTypeName(v->type));
  }
  return v->f;
}

StatusOr<bool> GgufFile::GetBool(std::string_view key) const {
  SIGMA_ASSIGN_OR_RETURN(const GgufValue* v, FindTyped(key));
  if (v->type != GgufType::kBool) {
    return InvalidArgumentError(name_, ": ", key, ": expected bool, got ", GgufTypeName(v->type));
  }
  return v->u != 0;
}

namespace {

Status ArrayTypeError(const std::string& file, std::string_view key, const GgufValue& v,
                      GgufType want) {
  if (v.type != GgufType::kArray) {
    return InvalidArgumentError(file, ": ", key, ": expected an array of ", GgufTypeName(want),
                                ", got ", GgufTypeName(v.type));
  }
  return InvalidArgumentError(file, ": ", key, ": expected an array of ", GgufTypeName(want),
                              ", got an array of ", GgufTypeName(v.elem_type));
}

template <typename T>
std::vector<T> UnpackArray(const GgufValue& v) {
  std::vector<T> out(v.count);
  if (v.count) std::memcpy(out.data(), v.raw.data(), v.count * sizeof(T));
  return out;
}

}  // namespace

StatusOr<std::vector<std::string_view>> GgufFile::GetStringArray(std::string_view key) const {
  SIGMA_ASSIGN_OR_RETURN(const GgufValue* v, FindTyped(key));
  if (!v->is_array() || v->elem_type != GgufType::kString) {
    return ArrayTypeError(name_, key, *v, GgufType::kString);
  }
  return v->strings;
}

StatusOr<std::vector<float>> GgufFile::GetF32Array(std::string_view key) const {
  SIGMA_ASSIGN_OR_RETURN(const GgufValue* v, FindTyped(key));
  if (!v->is_array() || v->elem_type != GgufType::kF32) {
    return ArrayTypeError(name_, key, *v, GgufType::kF32);
  }
  return UnpackArray<float>(*v);
}

StatusOr<std::vector<int32_t>> GgufFile::GetI32Array(std::string_view key) const {
  SIGMA_ASSIGN_OR_RETURN(const GgufValue* v, FindTyped(key));
  if (!v->is_array() || v->elem_type != GgufType::kI32) {
    return ArrayTypeError(name_, key, *v, GgufType::kI32);
  }
  return UnpackArray<int32_t>(*v);
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::TensorData(const GgufTensorInfo& info) const {
  return bytes_.subspan(data_offset_ + info.offset, info.nbytes);
}

}  // namespace sigma
