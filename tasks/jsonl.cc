#include "tasks/jsonl.h"

#include <set>
#include <unordered_map>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "engine/base/file.h"
#include "engine/base/json.h"

namespace sigma::tasks {
namespace {

// SAX pass: nesting depth and duplicate keys. Returning false stops the reader; `error` says why.
class GuardHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, GuardHandler> {
 public:
  explicit GuardHandler(size_t max_depth) : max_depth_(max_depth) {}

  bool Default() { return true; }
  bool StartObject() {
    keys_.emplace_back();
    return Enter();
  }
  bool Key(const char* str, rapidjson::SizeType length, bool) {
    std::string key(str, length);
    if (!keys_.back().insert(key).second) {
      error = StrCat("duplicate key '", key, "'");
      return false;
    }
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    keys_.pop_back();
    --depth_;
    return true;
  }
  bool StartArray() { return Enter(); }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }

  std::string error;

 private:
  bool Enter() {
    if (++depth_ > max_depth_) {
      error = StrCat("nesting deeper than ", max_depth_, " levels");
      return false;
    }
    return true;
  }

  size_t max_depth_;
  size_t depth_ = 0;
  std::vector<std::set<std::string>> keys_;
};

std::string_view StripLine(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

bool IsBlank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

StatusOr<std::string> DocId(const rapidjson::Document& fields, const std::string& id_field,
                            int64_t index, std::string_view where) {
  if (id_field.empty()) return std::to_string(index);
  auto it = fields.FindMember(id_field.c_str());
  if (it == fields.MemberEnd()) {
    return InvalidArgumentError(where, ": missing id field '", id_field, "'");
  }
  if (it->value.IsString()) return std::string(it->value.GetString(), it->value.GetStringLength());
  if (it->value.IsInt64()) return std::to_string(it->value.GetInt64());
  return InvalidArgumentError(where, ": id field '", id_field,
                              "': expected a string or an integer, got ",
                              JsonTypeName(it->value));
}

}  // namespace

StatusOr<std::unique_ptr<rapidjson::Document>> ParseJsonStrict(std::string_view text,
                                                               std::string_view source,
                                                               const JsonLimits& limits) {
  if (text.size() > limits.max_line_bytes) {
    return ResourceExhaustedError(source, ": JSON text of ", text.size(), " bytes exceeds the ",
                                  limits.max_line_bytes, "-byte limit");
  }
  GuardHandler guard(limits.max_depth);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> input(stream);
  rapidjson::ParseResult guarded = reader.Parse<kJsonParseFlags>(input, guard);
  if (!guarded && !guard.error.empty()) {
    return InvalidArgumentError(source, ": ", guard.error, " (byte ", guarded.Offset(), ")");
  }
  auto doc = std::make_unique<rapidjson::Document>();
  doc->Parse<kJsonParseFlags>(text.data(), text.size());
  if (doc->HasParseError()) {
    return InvalidArgumentError(source, ": invalid JSON at byte ", doc->GetErrorOffset(), ": ",
                                rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return doc;
}

StatusOr<std::vector<Document>> ParseJsonl(std::string_view text, std::string_view source,
                                           const std::string& id_field,
                                           const JsonLimits& limits) {
  if (text.size() > limits.max_file_bytes) {
    return ResourceExhaustedError(source, ": ", text.size(), " bytes exceeds the ",
                                  limits.max_file_bytes, "-byte limit for a dataset");
  }
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  std::vector<Document> docs;
  std::unordered_map<std::string, int64_t> id_lines;
  int64_t line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = StripLine(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_number;
    if (IsBlank(line)) continue;
    const std::string where = StrCat(source, ":", line_number);
    SIGMA_ASSIGN_OR_RETURN(auto fields, ParseJsonStrict(line, where, limits));
    if (!fields->IsObject()) {
      return InvalidArgumentError(where, ": expected a JSON object, got ",
                                  JsonTypeName(*fields));
    }
    const int64_t index = static_cast<int64_t>(docs.size());
    SIGMA_ASSIGN_OR_RETURN(std::string id, DocId(*fields, id_field, index, where));
    auto [it, inserted] = id_lines.emplace(id, line_number);
    if (!inserted) {
      return InvalidArgumentError(where, ": duplicate document id '", id, "' (first on line ",
                                  it->second, ")");
    }
    docs.push_back(Document{std::move(id), index, std::move(fields)});
  }
  return docs;
}

StatusOr<std::vector<Document>> LoadJsonl(const std::string& path, const std::string& id_field,
                                          const JsonLimits& limits) {
  if (!FileExists(path)) return NotFoundError(path, ": dataset file not found");
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseJsonl(text, path, id_field, limits);
}

}  // namespace sigma::tasks
