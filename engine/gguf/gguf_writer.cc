#include "engine/gguf/gguf_writer.h"

#include <algorithm>

#include "engine/base/file.h"

namespace sigma {

GgufWriter::GgufWriter(uint32_t alignment) : alignment_(alignment) {
  if (alignment_ != 32) SetU32("general.alignment", alignment_);
}

void GgufWriter::SetEncoded(std::string_view key, GgufByteWriter value) {
  for (Entry& e : kv_) {
    if (e.key == key) {
      e.encoded = std::move(value.bytes());
      return;
    }
  }
  kv_.push_back(Entry{std::string(key), std::move(value.bytes())});
}

namespace {

GgufByteWriter Scalar(GgufType type) {
  GgufByteWriter w;
  w.PutU32(static_cast<uint32_t>(type));
  return w;
}

GgufByteWriter ArrayHeader(GgufType elem, uint64_t count) {
  GgufByteWriter w = Scalar(GgufType::kArray);
  w.PutU32(static_cast<uint32_t>(elem));
  w.PutU64(count);
  return w;
}

}  // namespace

void GgufWriter::SetU32(std::string_view key, uint32_t v) {
  GgufByteWriter w = Scalar(GgufType::kU32);
  w.PutU32(v);
  SetEncoded(key, std::move(w));
}

void GgufWriter::SetI32(std::string_view key, int32_t v) {
  GgufByteWriter w = Scalar(GgufType::kI32);
  w.PutI32(v);
  SetEncoded(key, std::move(w));
}

void GgufWriter::SetU64(std::string_view key, uint64_t v) {
  GgufByteWriter w = Scalar(GgufType::kU64);
  w.PutU64(v);
  SetEncoded(key, std::move(w));
}

void GgufWriter::SetF32(std::string_view key, float v) {
  GgufByteWriter w = Scalar(GgufType::kF32);
  w.PutF32(v);
  SetEncoded(key, std::move(w));
}

void GgufWriter::SetBool(std::string_view key, bool v) {
  GgufByteWriter w = Scalar(GgufType::kBool);
  w.PutU8(v ? 1 : 0);
  SetEncoded(key, std::move(w));
}

void GgufWriter::SetString(std::string_view key, std::string_view v) {
  GgufByteWriter w = Scalar(GgufType::kString);
  w.PutString(v);
  SetEncoded(key, std::move(w));
}

void GgufWriter::SetStringArray(std::string_view key, const std::vector<std::string>& v) {
  GgufByteWriter w = ArrayHeader(GgufType::kString, v.size());
  for (const std::string& s : v) w.PutString(s);
  SetEncoded(key, std::move(w));
}

void GgufWriter::SetF32Array(std::string_view key, const std::vector<float>& v) {
  GgufByteWriter w = ArrayHeader(GgufType::kF32, v.size());
  for (float f : v) w.PutF32(f);
  SetEncoded(key, std::move(w));
}

void GgufWriter::SetI32Array(std::string_view key, const std::vector<int32_t>& v) {
  GgufByteWriter w = ArrayHeader(GgufType::kI32, v.size());
  for (int32_t i : v) w.PutI32(i);
  SetEncoded(key, std::move(w));
}

Status GgufWriter::AddTensor(std::string_view name, DType dtype, const std::vector<int64_t>& shape,
                             std::string_view data) {
  if (name.empty() || name.size() > kGgufMaxTensorNameLength) {
    return InvalidArgumentError("gguf writer: tensor name '", name, "' must have 1 to ",
                                kGgufMaxTensorNameLength, " bytes");
  }
  if (shape.empty() || shape.size() > 4) {
    return InvalidArgumentError("gguf writer: tensor '", name, "': ", shape.size(),
                                " dims (expected 1 to 4)");
  }
  int64_t numel = 1;
  for (int64_t d : shape) {
    if (d < 1) return InvalidArgumentError("gguf writer: tensor '", name, "': dim ", d);
    numel *= d;
  }
  const int64_t block = DTypeBlockSize(dtype);
  if (shape.back() % block != 0) {
    return InvalidArgumentError("gguf writer: tensor '", name, "': row length ", shape.back(),
                                " is not a multiple of the ", DTypeName(dtype), " block ", block);
  }
  const int64_t nbytes = numel / block * DTypeBlockBytes(dtype);
  if (static_cast<int64_t>(data.size()) != nbytes) {
    return InvalidArgumentError("gguf writer: tensor '", name, "': ", data.size(),
                                " bytes given, shape needs ", nbytes);
  }
  for (const Tensor& t : tensors_) {
    if (t.name == name) return InvalidArgumentError("gguf writer: duplicate tensor '", name, "'");
  }
  tensors_.push_back(Tensor{std::string(name), dtype, shape, std::string(data)});
  return Status::Ok();
}

Status GgufWriter::AddTensorSlice(std::string_view name, DType dtype,
                                  const std::vector<int64_t>& shape, int64_t index,
                                  std::string_view data) {
  std::vector<int64_t> stacked = {1};
  stacked.insert(stacked.end(), shape.begin(), shape.end());
  if (index == 0) return AddTensor(name, dtype, stacked, data);
  for (Tensor& t : tensors_) {
    if (t.name != name) continue;
    if (t.shape[0] != index) {
      return InvalidArgumentError("gguf writer: tensor '", name, "': slice ", index,
                                  " given after ", t.shape[0], " slices");
    }
    if (t.dtype != dtype ||
        !std::equal(t.shape.begin() + 1, t.shape.end(), shape.begin(), shape.end()) ||
        data.size() * static_cast<size_t>(index) != t.data.size()) {
      return InvalidArgumentError("gguf writer: tensor '", name, "': slice ", index,
                                  " differs in type or shape from the first");
    }
    t.shape[0] = index + 1;
    t.data.append(data);
    return Status::Ok();
  }
  return InvalidArgumentError("gguf writer: tensor '", name, "': slice ", index,
                              " given before slice 0");
}

std::string GgufWriter::Serialize() const {
  GgufByteWriter w;
  w.PutRaw("GGUF", 4);
  w.PutU32(3);
  w.PutU64(tensors_.size());
  w.PutU64(kv_.size());
  for (const Entry& e : kv_) {
    w.PutString(e.key);
    w.PutRaw(e.encoded.data(), e.encoded.size());
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    w.PutString(t.name);
    w.PutU32(static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) w.PutU64(*it);
    w.PutU32(GgmlTypeFromDType(t.dtype));
    w.PutU64(offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  w.PadTo(alignment_);
  for (const Tensor& t : tensors_) {
    w.PutRaw(t.data.data(), t.data.size());
    w.PadTo(alignment_);
  }
  return std::move(w.bytes());
}

Status GgufWriter::WriteFile(const std::string& path) const {
  return WriteFileAtomic(path, Serialize());
}

}  // namespace sigma
