#include "engine/loader/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <set>
#include <type_traits>

#include "engine/base/json.h"

namespace sigma {
namespace {

struct DTypeInfo {
  const char* name;
  uint64_t bytes;
};

// Every dtype the safetensors format defines; only F32/F16/BF16 become views.
constexpr DTypeInfo kDTypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E4M3", 1}, {"F8_E5M2", 1}, {"F8_E8M0", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
    {"F32", 4},  {"I64", 8}, {"U64", 8}, {"F64", 8},     {"C64", 8},
};

bool ToEngineDType(std::string_view name, DType* out) {
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    if (name == SafetensorsDTypeName(dtype)) {
      *out = dtype;
      return true;
    }
  }
  return false;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

// Bytes of a tensor, or an error naming it when the product overflows.
StatusOr<uint64_t> TensorBytes(const std::vector<int64_t>& shape, uint64_t elem_bytes,
                               std::string_view context) {
  uint64_t total = elem_bytes;
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgumentError(context, ": negative dimension in shape");
    if (__builtin_mul_overflow(total, static_cast<uint64_t>(d), &total)) {
      return InvalidArgumentError(context, ": shape ", ShapeString(shape),
                                  " overflows 64-bit byte count");
    }
  }
  return total;
}

uint64_t ReadLe64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Status ReadUintArray(const rapidjson::Value& value, const std::string& context, const char* key,
                     std::vector<uint64_t>* out) {
  if (!value.IsArray()) {
    return InvalidArgumentError(context, ": ", key, ": expected an array, got ",
                                JsonTypeName(value));
  }
  for (const auto& item : value.GetArray()) {
    // IsUint64 excludes negatives and non-integers (1.5, 1e3 written as a double).
    if (!item.IsUint64() || item.GetUint64() > static_cast<uint64_t>(INT64_MAX)) {
      return InvalidArgumentError(context, ": ", key, ": expected non-negative integers, got ",
                                  JsonToString(item));
    }
    out->push_back(item.GetUint64());
  }
  return Status::Ok();
}

Status ParseMetadata(const rapidjson::Value& value, const std::string& context,
                     std::map<std::string, std::string>* out) {
  if (!value.IsObject()) {
    return InvalidArgumentError(context, ": __metadata__: expected an object, got ",
                                JsonTypeName(value));
  }
  for (auto it = value.MemberBegin(); it != value.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    if (!it->value.IsString()) {
      return InvalidArgumentError(context, ": __metadata__.", key, ": expected a string, got ",
                                  JsonTypeName(it->value));
    }
    if (!out->emplace(key, std::string(it->value.GetString(), it->value.GetStringLength()))
             .second) {
      return InvalidArgumentError(context, ": __metadata__: duplicate key '", key, "'");
    }
  }
  return Status::Ok();
}

Status ParseEntry(const rapidjson::Value& value, const std::string& context, uint64_t data_size,
                  SafetensorsEntry* entry) {
  if (!value.IsObject()) {
    return InvalidArgumentError(context, ": expected an object, got ", JsonTypeName(value));
  }
  JsonFields fields(value, context);
  SIGMA_RETURN_IF_ERROR(fields.RequireString("dtype", &entry->dtype));
  const uint64_t elem_bytes = SafetensorsDTypeBytes(entry->dtype);
  if (elem_bytes == 0) {
    return InvalidArgumentError(context, ": unknown dtype '", entry->dtype, "'");
  }
  const rapidjson::Value* shape = fields.Find("shape");
  const rapidjson::Value* offsets = fields.Find("data_offsets");
  if (shape == nullptr) return InvalidArgumentError(context, ": missing 'shape'");
  if (offsets == nullptr) return InvalidArgumentError(context, ": missing 'data_offsets'");
  SIGMA_RETURN_IF_ERROR(fields.RejectUnknownKeys());
  std::vector<uint64_t> dims, range;
  SIGMA_RETURN_IF_ERROR(ReadUintArray(*shape, context, "shape", &dims));
  SIGMA_RETURN_IF_ERROR(ReadUintArray(*offsets, context, "data_offsets", &range));
  if (dims.size() > kSafetensorsMaxRank) {
    return InvalidArgumentError(context, ": rank ", dims.size(), " exceeds ", kSafetensorsMaxRank);
  }
  entry->shape.assign(dims.begin(), dims.end());
  SIGMA_ASSIGN_OR_RETURN(uint64_t nbytes, TensorBytes(entry->shape, elem_bytes, context));
  if (range.size() != 2) {
    return InvalidArgumentError(context, ": data_offsets: expected [begin, end], got ",
                                range.size(), " values");
  }
  entry->begin = range[0];
  entry->end = range[1];
  if (entry->begin > entry->end || entry->end > data_size) {
    return OutOfRangeError(context, ": data_offsets [", entry->begin, ", ", entry->end,
                           "] outside the data section of ", data_size, " bytes");
  }
  if (entry->end - entry->begin != nbytes) {
    return InvalidArgumentError(context, ": data_offsets span ", entry->end - entry->begin,
                                " bytes but ", entry->dtype, " shape ", ShapeString(entry->shape),
                                " needs ", nbytes);
  }
  return Status::Ok();
}

// Shard names from an index must be plain names of files in the checkpoint folder.
bool IsPlainFileName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

}  // namespace

std::string_view SafetensorsDTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "F32";
    case DType::kF16:
      return "F16";
    case DType::kBF16:
      return "BF16";
    default:
      break;
  }
  SIGMA_CHECK(false, "safetensors has no dtype for ", DTypeName(dtype));
  return "";
}

uint64_t SafetensorsDTypeBytes(std::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (name == info.name) return info.bytes;
  }
  return 0;
}

StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  SIGMA_ASSIGN_OR_RETURN(file->file_, MappedFile::Open(path));
  const uint64_t size = file->file_.size();
  if (size < 8) {
    return DataLossError(path, ": file is ", size,
                         " bytes, too short for the 8-byte safetensors header length");
  }
  const uint64_t header_len = ReadLe64(file->file_.data());
  if (header_len > kSafetensorsMaxHeaderBytes) {
    return InvalidArgumentError(path, ": header length ", header_len, " exceeds the limit of ",
                                kSafetensorsMaxHeaderBytes, " bytes");
  }
  if (header_len > size - 8) {
    return DataLossError(path, ": header length ", header_len, " runs past the end of the file (",
                         size, " bytes; truncated?)");
  }
  std::string_view header(reinterpret_cast<const char*>(file->file_.data()) + 8, header_len);
  if (header.empty() || header[0] != '{') {
    return InvalidArgumentError(path, ": header does not start with '{'");
  }
  const uint64_t data_size = size - 8 - header_len;
  SIGMA_RETURN_IF_ERROR(file->ParseHeader(header, data_size));
  SIGMA_RETURN_IF_ERROR(file->CheckLayout(data_size));
  file->MakeViews(file->file_.data() + 8 + header_len);
  return file;
}

Status SafetensorsFile::ParseHeader(std::string_view header, uint64_t data_size) {
  const std::string& p = path();
  SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJson(header, p + ": header"));
  if (!doc->IsObject()) {
    return InvalidArgumentError(p, ": header: expected a JSON object, got ", JsonTypeName(*doc));
  }
  if (doc->MemberCount() > kSafetensorsMaxTensors) {
    return InvalidArgumentError(p, ": header lists ", doc->MemberCount(), " entries (limit ",
                                kSafetensorsMaxTensors, ")");
  }
  std::set<std::string, std::less<>> names;
  for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
    std::string name(it->name.GetString(), it->name.GetStringLength());
    // RapidJSON keeps both copies of a duplicated key; readers that pick different ones would
    // disagree about the file, so a duplicate is an error.
    if (!names.insert(name).second) {
      return InvalidArgumentError(p, ": header: duplicate entry '", name, "'");
    }
    if (name == "__metadata__") {
      SIGMA_RETURN_IF_ERROR(ParseMetadata(it->value, p, &metadata_));
      continue;
    }
    SafetensorsEntry entry;
    entry.name = name;
    SIGMA_RETURN_IF_ERROR(
        ParseEntry(it->value, StrCat(p, ": tensor '", name, "'"), data_size, &entry));
    entries_.push_back(std::move(entry));
  }
  return Status::Ok();
}

// Tensors must tile the data section: sorted by offset, each begins where the previous ended.
Status SafetensorsFile::CheckLayout(uint64_t data_size) const {
  std::vector<const SafetensorsEntry*> order;
  for (const SafetensorsEntry& e : entries_) order.push_back(&e);
  std::sort(order.begin(), order.end(), [](const SafetensorsEntry* a, const SafetensorsEntry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expected = 0;
  const SafetensorsEntry* previous = nullptr;
  for (const SafetensorsEntry* e : order) {
    if (e->begin < expected) {
      return InvalidArgumentError(path(), ": tensor '", e->name, "' data_offsets [", e->begin, ", ",
                                  e->end, "] overlap tensor '", previous->name, "' [",
                                  previous->begin, ", ", previous->end, "]");
    }
    if (e->begin > expected) {
      return InvalidArgumentError(path(), ": gap of ", e->begin - expected,
                                  " bytes in the data section before tensor '", e->name, "'");
    }
    expected = e->end;
    previous = e;
  }
  if (expected != data_size) {
    return InvalidArgumentError(path(), ": data section is ", data_size,
                                " bytes but the tensors cover ", expected,
                                " (trailing bytes after the last tensor)");
  }
  return Status::Ok();
}

void SafetensorsFile::MakeViews(const uint8_t* data) {
  data_ = data;
  std::sort(entries_.begin(), entries_.end(),
            [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
              return a.begin != b.begin ? a.begin < b.begin : a.name < b.name;
            });
  for (const SafetensorsEntry& e : entries_) {
    TensorView view;
    if (!ToEngineDType(e.dtype, &view.dtype)) continue;
    view.name = e.name;
    view.shape = e.shape;
    view.nbytes = static_cast<size_t>(e.end - e.begin);
    const uint8_t* p = data + e.begin;
    const uint64_t elem = SafetensorsDTypeBytes(e.dtype);
    if (reinterpret_cast<uintptr_t>(p) % elem != 0) {
      // Writers align the data section, but the format does not promise it; copy rather than
      // hand out a misaligned float pointer.
      auto copy = std::make_unique<uint64_t[]>((view.nbytes + 7) / 8);
      std::memcpy(copy.get(), p, view.nbytes);
      p = reinterpret_cast<const uint8_t*>(copy.get());
      aligned_copies_.push_back(std::move(copy));
    }
    // Empty tensors still get a non-null pointer so valid() holds.
    view.data = p;
    views_.emplace(e.name, std::move(view));
  }
}

const SafetensorsEntry* SafetensorsFile::Find(std::string_view name) const {
  for (const SafetensorsEntry& e : entries_) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

StatusOr<std::shared_ptr<SafetensorsWeightSource>> SafetensorsWeightSource::OpenFile(
    const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(path));
  std::shared_ptr<SafetensorsWeightSource> source(new SafetensorsWeightSource());
  source->AddFile(std::move(file));
  return source;
}

StatusOr<std::shared_ptr<SafetensorsWeightSource>> SafetensorsWeightSource::Open(
    const std::string& dir) {
  const std::string single = dir + "/model.safetensors";
  if (FileExists(single)) return OpenFile(single);
  const std::string index = dir + "/model.safetensors.index.json";
  if (!FileExists(index)) {
    return NotFoundError(dir, ": no model.safetensors or model.safetensors.index.json");
  }
  std::shared_ptr<SafetensorsWeightSource> source(new SafetensorsWeightSource());
  SIGMA_RETURN_IF_ERROR(source->OpenIndex(dir, index));
  return source;
}

void SafetensorsWeightSource::AddFile(std::unique_ptr<SafetensorsFile> file) {
  tensors_.insert(file->tensors().begin(), file->tensors().end());
  for (const SafetensorsEntry& e : file->entries()) {
    if (file->tensors().count(e.name) == 0) unsupported_[e.name] = e.dtype;
  }
  files_.push_back(std::move(file));
}

Status SafetensorsWeightSource::OpenIndex(const std::string& dir, const std::string& index_path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(index_path));
  SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJson(text, index_path));
  if (!doc->IsObject()) {
    return InvalidArgumentError(index_path, ": expected a JSON object, got ", JsonTypeName(*doc));
  }
  JsonFields fields(*doc, index_path);
  const rapidjson::Value* map = fields.Find("weight_map");
  if (map == nullptr) return InvalidArgumentError(index_path, ": missing 'weight_map'");
  if (!map->IsObject()) return fields.TypeError("weight_map", "an object", *map);
  if (map->MemberCount() == 0) return InvalidArgumentError(index_path, ": weight_map is empty");
  std::map<std::string, SafetensorsFile*> shards;
  for (auto it = map->MemberBegin(); it != map->MemberEnd(); ++it) {
    const std::string name(it->name.GetString(), it->name.GetStringLength());
    if (!it->value.IsString()) {
      return InvalidArgumentError(index_path, ": weight_map['", name,
                                  "']: expected a file name, got ", JsonTypeName(it->value));
    }
    const std::string shard(it->value.GetString(), it->value.GetStringLength());
    if (!IsPlainFileName(shard)) {
      return InvalidArgumentError(index_path, ": weight_map['", name, "']: shard '", shard,
                                  "' is not a plain file name in the checkpoint folder");
    }
    if (shards.count(shard) == 0) {
      const std::string shard_path = dir + "/" + shard;
      if (!FileExists(shard_path)) {
        return NotFoundError(index_path, ": shard '", shard, "' (for tensor '", name,
                             "') does not exist");
      }
      SIGMA_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open(shard_path));
      shards[shard] = file.get();
      files_.push_back(std::move(file));
    }
    const SafetensorsFile& file = *shards[shard];
    if (tensors_.count(name) != 0 || unsupported_.count(name) != 0) {
      return InvalidArgumentError(index_path, ": weight_map: duplicate tensor '", name, "'");
    }
    auto view = file.tensors().find(name);
    if (view != file.tensors().end()) {
      tensors_.emplace(name, view->second);
    } else if (const SafetensorsEntry* e = file.Find(name)) {
      unsupported_[name] = e->dtype;
    } else {
      return NotFoundError(index_path, ": tensor '", name, "' is mapped to shard '", shard,
                           "', which does not hold it");
    }
  }
  return Status::Ok();
}

Status SafetensorsWeightSource::ApplyLayout(const std::vector<FileTensor>& layout) {
  for (const FileTensor& f : layout) {
    if (!f.stacked() || unsupported_.count(f.name) != 0) continue;  // the binder names the dtype
    const auto it = tensors_.find(f.name);
    if (it == tensors_.end() && f.transposed && unsupported_.count(f.name + "_blocks") != 0) {
      SIGMA_RETURN_IF_ERROR(AddMxfp4Pieces(f));
      continue;
    }
    if (it == tensors_.end()) {
      return NotFoundError("tensor '", f.name, "' not found in ", files_.size(), " file(s)");
    }
    const TensorView stack = it->second;
    if (stack.shape != f.shape) {
      const auto text = [](const std::vector<int64_t>& shape) {
        std::string out;
        for (const int64_t d : shape) out += StrCat(out.empty() ? "[" : ", ", d);
        return out + "]";
      };
      return InvalidArgumentError("tensor '", f.name, "': expected shape ", text(f.shape),
                                  " from the config, got ", text(stack.shape));
    }
    const size_t row_bytes = stack.row_bytes();
    const auto elem = static_cast<size_t>(DTypeBlockBytes(stack.dtype));
    size_t offset = 0;
    for (size_t i = 0; i < f.pieces.size(); ++i) {
      const ExpectedTensor& piece = f.pieces[i];
      TensorView view = stack;
      view.name = piece.name;
      view.shape = piece.shape;
      if (f.transposed) {  // a copy, rearranged (checkpoint_layout.h)
        view.nbytes = static_cast<size_t>(view.numel()) * elem;
        std::vector<uint8_t>& copy = owned_.emplace_back(view.nbytes);
        CopyPieceOut(f, i, elem, static_cast<const uint8_t*>(stack.data), copy.data());
        view.data = copy.data();
      } else {
        view.data = static_cast<const uint8_t*>(stack.data) + offset;
        view.nbytes = static_cast<size_t>(piece.shape[0]) * row_bytes;
        offset += view.nbytes;
      }
      if (!tensors_.emplace(piece.name, view).second) {
        return InvalidArgumentError("tensor '", piece.name, "' is both in the checkpoint and in '",
                                    f.name, "'");
      }
    }
    tensors_.erase(f.name);
    if (f.transposed) ReleasePages(stack.data, stack.nbytes);
  }
  return Status::Ok();
}

StatusOr<std::span<const uint8_t>> SafetensorsWeightSource::U8Tensor(
    const std::string& name, const std::vector<int64_t>& shape) const {
  for (const auto& file : files_) {
    const SafetensorsEntry* e = file->Find(name);
    if (e == nullptr) continue;
    if (e->dtype != "U8" || e->shape != shape) {
      std::string want, got;
      for (const int64_t d : shape) want += StrCat(want.empty() ? "" : ", ", d);
      for (const int64_t d : e->shape) got += StrCat(got.empty() ? "" : ", ", d);
      return InvalidArgumentError("tensor '", name, "': expected U8 [", want,
                                  "] (MXFP4 from the config), got ", e->dtype, " [", got, "]");
    }
    return file->Bytes(*e);
  }
  return NotFoundError("tensor '", name, "' not found in ", files_.size(), " file(s)");
}

Status SafetensorsWeightSource::AddMxfp4Pieces(const FileTensor& f) {
  std::vector<int64_t> block_shape, scale_shape;
  if (!Mxfp4StackShapes(f, &block_shape, &scale_shape)) {
    return InvalidArgumentError("tensor '", f.name, "_blocks': rows of ", f.shape[1],
                                " values are not whole MXFP4 blocks of 32");
  }
  SIGMA_ASSIGN_OR_RETURN(const std::span<const uint8_t> blocks,
                         U8Tensor(f.name + "_blocks", block_shape));
  SIGMA_ASSIGN_OR_RETURN(const std::span<const uint8_t> scales,
                         U8Tensor(f.name + "_scales", scale_shape));
  for (size_t i = 0; i < f.pieces.size(); ++i) {
    const ExpectedTensor& piece = f.pieces[i];
    TensorView view;
    view.name = piece.name;
    view.dtype = DType::kMXFP4;
    view.shape = piece.shape;
    view.nbytes = static_cast<size_t>(view.rows()) * view.row_bytes();
    std::vector<uint8_t>& copy = owned_.emplace_back(view.nbytes);
    Mxfp4PieceOut(f, i, blocks.data(), scales.data(), copy.data());
    view.data = copy.data();
    if (!tensors_.emplace(piece.name, view).second) {
      return InvalidArgumentError("tensor '", piece.name, "' is both in the checkpoint and in '",
                                  f.name, "_blocks'");
    }
  }
  for (const char* part : {"_blocks", "_scales"}) unsupported_.erase(f.name + part);
  ReleasePages(blocks.data(), blocks.size());
  ReleasePages(scales.data(), scales.size());
  return Status::Ok();
}

Status SafetensorsWeightSource::SelectLanguageModel() {
  constexpr std::pair<std::string_view, std::string_view> kRenames[] = {
      {"language_model.model.", "model."},
      {"language_model.lm_head.", "lm_head."},
      {"model.language_model.", "model."},
  };
  constexpr std::string_view kDropped[] = {"vision_tower.", "multi_modal_projector.",
                                           "model.vision_tower.", "model.multi_modal_projector."};
  const auto renamed = [&](const std::string& name) -> std::optional<std::string> {
    for (const auto& [from, to] : kRenames) {
      if (name.starts_with(from)) return StrCat(to, std::string_view(name).substr(from.size()));
    }
    return std::nullopt;
  };
  bool nested = false;
  for (const auto& entry : tensors_) nested = nested || renamed(entry.first).has_value();
  for (const auto& entry : unsupported_) nested = nested || renamed(entry.first).has_value();
  if (!nested) return Status::Ok();
  std::map<std::string, TensorView> tensors;
  std::map<std::string, std::string> unsupported;
  const auto add = [&](auto& into, const std::string& name, auto value) -> Status {
    for (const std::string_view prefix : kDropped) {
      if (name.starts_with(prefix)) return Status::Ok();
    }
    const std::string name_here = renamed(name).value_or(name);
    if (tensors.count(name_here) != 0 || unsupported.count(name_here) != 0) {
      return InvalidArgumentError("tensors '", name, "' and another both stand for '", name_here,
                                  "' of the language model");
    }
    if constexpr (std::is_same_v<decltype(value), TensorView>) value.name = name_here;
    into.emplace(name_here, std::move(value));
    return Status::Ok();
  };
  for (const auto& [name, view] : tensors_) SIGMA_RETURN_IF_ERROR(add(tensors, name, view));
  for (const auto& [name, dtype] : unsupported_) {
    SIGMA_RETURN_IF_ERROR(add(unsupported, name, dtype));
  }
  tensors_ = std::move(tensors);
  unsupported_ = std::move(unsupported);
  return Status::Ok();
}

std::vector<std::string> SafetensorsWeightSource::files() const {
  std::vector<std::string> out;
  for (const auto& file : files_) out.push_back(file->path());
  return out;
}

void SafetensorsWeightSource::ReleasePages(const void* p, size_t bytes) const {
  for (const auto& file : files_) file->ReleasePages(p, bytes);
}

std::string SafetensorsWeightSource::UnsupportedDType(const std::string& name) const {
  auto it = unsupported_.find(name);
  return it == unsupported_.end() ? std::string() : it->second;
}

// ---- Writer ----

namespace {

// The header JSON for `tensors` laid out back to back, padded so the data starts 8-aligned.
StatusOr<std::string> BuildHeader(const std::vector<SafetensorsTensorInfo>& tensors,
                                  const std::map<std::string, std::string>& metadata,
                                  uint64_t* data_bytes) {
  std::string json = "{";
  bool first = true;
  if (!metadata.empty()) {
    json += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (!first) json += ",";
      first = false;
      AppendJsonString(key, &json);
      json += ":";
      AppendJsonString(value, &json);
    }
    json += "}";
  }
  std::set<std::string, std::less<>> names;
  uint64_t offset = 0;
  for (const SafetensorsTensorInfo& t : tensors) {
    const std::string context = StrCat("safetensors writer: tensor '", t.name, "'");
    if (t.name == "__metadata__" || !names.insert(t.name).second) {
      return InvalidArgumentError(context, ": duplicate or reserved name");
    }
    const uint64_t elem = SafetensorsDTypeBytes(t.dtype);
    if (elem == 0) return InvalidArgumentError(context, ": unknown dtype '", t.dtype, "'");
    SIGMA_ASSIGN_OR_RETURN(uint64_t nbytes, TensorBytes(t.shape, elem, context));
    if (!first) json += ",";
    first = false;
    AppendJsonString(t.name, &json);
    json += StrCat(":{\"dtype\":\"", t.dtype, "\",\"shape\":", ShapeString(t.shape),
                   ",\"data_offsets\":[", offset, ",", offset + nbytes, "]}");
    if (__builtin_add_overflow(offset, nbytes, &offset)) {
      return InvalidArgumentError(context, ": total size overflows");
    }
  }
  json += "}";
  while ((8 + json.size()) % 8 != 0) json += ' ';
  *data_bytes = offset;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((json.size() >> (8 * i)) & 0xff);
  return out + json;
}

}  // namespace

StatusOr<std::unique_ptr<SafetensorsWriter>> SafetensorsWriter::Create(
    const std::string& path, const std::vector<SafetensorsTensorInfo>& tensors,
    const std::map<std::string, std::string>& metadata) {
  uint64_t total = 0;
  SIGMA_ASSIGN_OR_RETURN(std::string header, BuildHeader(tensors, metadata, &total));
  SIGMA_RETURN_IF_ERROR(CheckFreeSpace(path, header.size() + total));
  const std::string tmp = StrCat(path, ".tmp.", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return WriteFailure("cannot create", path, header.size() + total);
  std::unique_ptr<SafetensorsWriter> writer(new SafetensorsWriter(path, tmp, fd, total));
  SIGMA_RETURN_IF_ERROR(writer->WriteRaw(header));
  return writer;
}

SafetensorsWriter::~SafetensorsWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_path_.c_str());
  }
}

Status SafetensorsWriter::WriteRaw(std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return WriteFailure("write failed", path_, bytes.size() - done);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status SafetensorsWriter::Write(std::string_view bytes) {
  if (fd_ < 0) return FailedPreconditionError(path_, ": write after Finish");
  if (bytes.size() > total_ - written_) {
    return InvalidArgumentError(path_, ": writing ", bytes.size(), " bytes past the declared ",
                                total_, " bytes of tensor data");
  }
  SIGMA_RETURN_IF_ERROR(WriteRaw(bytes));
  written_ += bytes.size();
  return Status::Ok();
}

Status SafetensorsWriter::Finish() {
  if (fd_ < 0) return FailedPreconditionError(path_, ": Finish called twice");
  if (written_ != total_) {
    return InvalidArgumentError(path_, ": wrote ", written_, " of ", total_,
                                " bytes of tensor data");
  }
  const int fd = fd_;
  fd_ = -1;
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed || ::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    Status status = WriteFailure("cannot finish writing", path_, 0);
    ::unlink(tmp_path_.c_str());
    return status;
  }
  return Status::Ok();
}

Status WriteSafetensors(const std::string& path, const std::vector<SafetensorsTensorData>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsTensorInfo> infos;
  for (const SafetensorsTensorData& t : tensors) infos.push_back(t.info);
  SIGMA_ASSIGN_OR_RETURN(auto writer, SafetensorsWriter::Create(path, infos, metadata));
  for (const SafetensorsTensorData& t : tensors) {
    const uint64_t expected =
        *TensorBytes(t.info.shape, SafetensorsDTypeBytes(t.info.dtype), t.info.name);
    if (t.bytes.size() != expected) {
      return InvalidArgumentError(path, ": tensor '", t.info.name, "' has ", t.bytes.size(),
                                  " bytes, its dtype and shape need ", expected);
    }
    SIGMA_RETURN_IF_ERROR(writer->Write(t.bytes));
  }
  return writer->Finish();
}

}  // namespace sigma
