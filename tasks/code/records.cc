#include "tasks/code/records.h"

#include "engine/base/file.h"
#include "tasks/jsonl.h"

namespace sigma::tasks::code {

Status ForEachRecord(std::string_view text, std::string_view source, const RecordFn& record) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t pos = 0;
  int64_t line_no = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const std::string where = StrCat(source, ":", line_no);
    SIGMA_ASSIGN_OR_RETURN(auto doc, ParseJsonStrict(line, where));
    if (!doc->IsObject()) return InvalidArgumentError(where, ": expected a JSON object");
    SIGMA_RETURN_IF_ERROR(record(*doc, where, line_no));
  }
  return Status::Ok();
}

StatusOr<std::string> ReadDataFile(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (text.size() > (size_t{1} << 30)) return InvalidArgumentError(path, ": file over 1 GiB");
  return text;
}

StatusOr<std::string> StringField(const rapidjson::Value& obj, const char* name,
                                  const std::string& where, bool allow_empty) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return InvalidArgumentError(where, ": ", name, ": missing");
  if (!it->value.IsString()) return InvalidArgumentError(where, ": ", name, ": expected a string");
  std::string s(it->value.GetString(), it->value.GetStringLength());
  if (!allow_empty && s.find_first_not_of(" \t\r\n") == std::string::npos) {
    return InvalidArgumentError(where, ": ", name, ": expected a non-empty string");
  }
  return s;
}

StatusOr<std::string> IdField(const rapidjson::Value& obj, const char* name,
                              const std::string& where) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return InvalidArgumentError(where, ": ", name, ": missing");
  if (it->value.IsInt64()) return StrCat(it->value.GetInt64());
  if (it->value.IsString() && it->value.GetStringLength() > 0) {
    return std::string(it->value.GetString(), it->value.GetStringLength());
  }
  return InvalidArgumentError(where, ": ", name, ": expected a non-empty string or an integer");
}

StatusOr<std::vector<std::string>> StringListField(const rapidjson::Value& obj, const char* name,
                                                   const std::string& where, bool optional) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) {
    if (optional) return std::vector<std::string>{};
    return InvalidArgumentError(where, ": ", name, ": missing");
  }
  if (!it->value.IsArray()) {
    return InvalidArgumentError(where, ": ", name, ": expected an array of strings");
  }
  std::vector<std::string> out;
  for (const auto& v : it->value.GetArray()) {
    if (!v.IsString()) {
      return InvalidArgumentError(where, ": ", name, "[", out.size(), "]: expected a string");
    }
    out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

bool IsPythonIdentifier(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace sigma::tasks::code
