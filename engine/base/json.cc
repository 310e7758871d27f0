#include "engine/base/json.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>
#include <vector>

namespace sigma {

StatusOr<std::unique_ptr<rapidjson::Document>> ParseJson(std::string_view text,
                                                         std::string_view source) {
  auto doc = std::make_unique<rapidjson::Document>();
  doc->Parse<kJsonParseFlags>(text.data(), text.size());
  if (doc->HasParseError()) {
    const size_t offset = doc->GetErrorOffset();
    size_t line = 1;
    for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
    return InvalidArgumentError(source, ": invalid JSON at byte ", offset, " (line ", line,
                                "): ", rapidjson::GetParseError_En(doc->GetParseError()));
  }
  return doc;
}

std::string_view JsonTypeName(const rapidjson::Value& value) {
  if (value.IsNull()) return "null";
  if (value.IsBool()) return "a boolean";
  if (value.IsObject()) return "an object";
  if (value.IsArray()) return "an array";
  if (value.IsString()) return "a string";
  if (value.IsInt64() || value.IsUint64()) return "an integer";
  return "a number";
}

// Walks the value with an explicit stack: RapidJSON's Accept() recurses once per nesting level,
// and the iterative parser accepts any depth, so a hostile file (a tokenizer.json whose unknown
// normalizer held a million nested arrays) overflowed the stack when an error message quoted it.
// Same output as Accept() with a Writer.
std::string JsonToString(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  struct Open {
    const rapidjson::Value* container;
    rapidjson::SizeType next = 0;
  };
  std::vector<Open> open;
  // Writes a scalar, or starts a container and leaves it open.
  const auto start = [&](const rapidjson::Value& v) {
    if (v.IsObject()) {
      writer.StartObject();
      open.push_back({&v});
    } else if (v.IsArray()) {
      writer.StartArray();
      open.push_back({&v});
    } else if (v.IsString()) {
      writer.String(v.GetString(), v.GetStringLength());
    } else if (v.IsNull()) {
      writer.Null();
    } else if (v.IsBool()) {
      writer.Bool(v.GetBool());
    } else if (v.IsDouble()) {  // Accept()'s order for numbers
      writer.Double(v.GetDouble());
    } else if (v.IsInt()) {
      writer.Int(v.GetInt());
    } else if (v.IsUint()) {
      writer.Uint(v.GetUint());
    } else if (v.IsInt64()) {
      writer.Int64(v.GetInt64());
    } else {
      writer.Uint64(v.GetUint64());
    }
  };
  start(value);
  while (!open.empty()) {
    const rapidjson::Value& c = *open.back().container;
    const rapidjson::SizeType i = open.back().next++;
    if (c.IsObject()) {
      if (i == c.MemberCount()) {
        writer.EndObject(c.MemberCount());
        open.pop_back();
        continue;
      }
      const auto& member = *(c.MemberBegin() + i);
      writer.Key(member.name.GetString(), member.name.GetStringLength());
      start(member.value);
    } else {
      if (i == c.Size()) {
        writer.EndArray(c.Size());
        open.pop_back();
        continue;
      }
      start(c[i]);
    }
  }
  return std::string(buffer.GetString(), buffer.GetSize());
}

namespace {

std::string ShortJson(const rapidjson::Value* value) {
  if (value == nullptr) return "(absent)";
  std::string text = JsonToString(*value);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

// The path of item i of an array: its "name" where it is an object with a string one.
std::string ItemPath(const std::string& path, const rapidjson::Value& item, rapidjson::SizeType i) {
  if (item.IsObject()) {
    const auto name = item.FindMember("name");
    if (name != item.MemberEnd() && name->value.IsString()) {
      return StrCat(path, "[", name->value.GetString(), "]");
    }
  }
  return StrCat(path, "[", i, "]");
}

// The items of `array` by name where every item is an object with a string "name" and no name
// repeats; empty otherwise (and for an empty array).
std::vector<std::pair<std::string, const rapidjson::Value*>> NamedItems(
    const rapidjson::Value& array) {
  std::vector<std::pair<std::string, const rapidjson::Value*>> items;
  for (const rapidjson::Value& item : array.GetArray()) {
    const auto name = item.IsObject() ? item.FindMember("name") : item.MemberEnd();
    if (!item.IsObject() || name == item.MemberEnd() || !name->value.IsString()) return {};
    items.emplace_back(name->value.GetString(), &item);
  }
  std::vector<std::string> names;
  for (const auto& [name, item] : items) names.push_back(name);
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) return {};
  return items;
}

void CollectDifferences(const rapidjson::Value* a, const rapidjson::Value* b,
                        const std::string& path, int depth, std::vector<JsonDifference>* out) {
  const auto differ = [&] { out->push_back({path, ShortJson(a), ShortJson(b)}); };
  if (a == nullptr || b == nullptr) return differ();
  if (depth >= 64) {  // the rest whole, without recursing (Value's == recurses)
    if (JsonToString(*a) != JsonToString(*b)) differ();
    return;
  }
  const auto key = [&](const char* name) {
    return path.empty() ? std::string(name) : StrCat(path, ".", name);
  };
  if (a->IsObject() && b->IsObject()) {
    for (const auto& m : a->GetObject()) {
      const auto in_b = b->FindMember(m.name);
      CollectDifferences(&m.value, in_b == b->MemberEnd() ? nullptr : &in_b->value,
                         key(m.name.GetString()), depth + 1, out);
    }
    for (const auto& m : b->GetObject()) {
      if (!a->HasMember(m.name)) {
        CollectDifferences(nullptr, &m.value, key(m.name.GetString()), depth + 1, out);
      }
    }
    return;
  }
  if (a->IsArray() && b->IsArray()) {
    const auto named_a = NamedItems(*a), named_b = NamedItems(*b);
    if (!named_a.empty() && !named_b.empty()) {
      const auto find = [](const auto& items, const std::string& name) -> const rapidjson::Value* {
        for (const auto& [n, item] : items) {
          if (n == name) return item;
        }
        return nullptr;
      };
      for (const auto& [name, item] : named_a) {
        CollectDifferences(item, find(named_b, name), StrCat(path, "[", name, "]"), depth + 1, out);
      }
      for (const auto& [name, item] : named_b) {
        if (find(named_a, name) == nullptr) {
          CollectDifferences(nullptr, item, StrCat(path, "[", name, "]"), depth + 1, out);
        }
      }
      return;
    }
    const rapidjson::SizeType n = std::max(a->Size(), b->Size());
    for (rapidjson::SizeType i = 0; i < n; ++i) {
      const rapidjson::Value* x = i < a->Size() ? &(*a)[i] : nullptr;
      const rapidjson::Value* y = i < b->Size() ? &(*b)[i] : nullptr;
      CollectDifferences(x, y, ItemPath(path, x != nullptr ? *x : *y, i), depth + 1, out);
    }
    return;
  }
  const auto container = [](const rapidjson::Value* v) { return v->IsObject() || v->IsArray(); };
  if (container(a) || container(b) || *a != *b) differ();  // scalars compare flat
}

}  // namespace

std::vector<JsonDifference> ListJsonDifferences(const rapidjson::Value& before,
                                                const rapidjson::Value& after) {
  std::vector<JsonDifference> differences;
  CollectDifferences(&before, &after, "", 0, &differences);
  return differences;
}

std::vector<std::string> JsonDifferences(const rapidjson::Value& before,
                                         const rapidjson::Value& after, size_t max_lines) {
  const std::vector<JsonDifference> differences = ListJsonDifferences(before, after);
  std::vector<std::string> lines;
  for (size_t i = 0; i < differences.size() && i < max_lines; ++i) {
    const JsonDifference& d = differences[i];
    lines.push_back(StrCat(d.path, ": ", d.before, " -> ", d.after));
  }
  if (differences.size() > max_lines) {
    lines.push_back(StrCat("... and ", differences.size() - max_lines, " more"));
  }
  return lines;
}

void AppendJsonDouble(double value, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char buf[32];
  const std::to_chars_result result = std::to_chars(buf, buf + sizeof(buf), value);
  out->append(buf, result.ptr);
}

std::string JsonQuote(std::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

void AppendJsonString(std::string_view text, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    // Length of a valid UTF-8 sequence starting here, 0 if invalid.
    size_t len = 0;
    if (c < 0x80) {
      len = 1;
    } else if (c >= 0xC2 && c <= 0xF4) {
      len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      if (i + len > text.size()) {
        len = 0;
      } else {
        for (size_t k = 1; k < len; ++k) {
          if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) len = 0;
        }
        if (len == 3 && c == 0xE0 && static_cast<unsigned char>(text[i + 1]) < 0xA0) len = 0;
        if (len == 3 && c == 0xED && static_cast<unsigned char>(text[i + 1]) >= 0xA0) len = 0;
        if (len == 4 && c == 0xF0 && static_cast<unsigned char>(text[i + 1]) < 0x90) len = 0;
        if (len == 4 && c == 0xF4 && static_cast<unsigned char>(text[i + 1]) >= 0x90) len = 0;
      }
    }
    if (len == 0 || (len == 1 && (c < 0x20 || c == '"' || c == '\\' || c == 0x7F))) {
      switch (c) {
        case '"': out->append("\\\""); break;
        case '\\': out->append("\\\\"); break;
        case '\n': out->append("\\n"); break;
        case '\r': out->append("\\r"); break;
        case '\t': out->append("\\t"); break;
        default:
          out->append("\\u00");
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 15]);
      }
      ++i;
      continue;
    }
    out->append(text.substr(i, len));
    i += len;
  }
  out->push_back('"');
}

JsonFields::JsonFields(const rapidjson::Value& object, std::string context)
    : object_(object), context_(std::move(context)) {
  SIGMA_CHECK(object.IsObject(), "JsonFields needs an object");
}

bool JsonFields::Has(const char* key) const {
  auto it = object_.FindMember(key);
  return it != object_.MemberEnd() && !it->value.IsNull();
}

bool JsonFields::Present(const char* key) const {
  return object_.FindMember(key) != object_.MemberEnd();
}

const rapidjson::Value* JsonFields::Find(const char* key) {
  seen_.insert(key);
  auto it = object_.FindMember(key);
  if (it == object_.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

Status JsonFields::TypeError(const char* key, std::string_view expected,
                             const rapidjson::Value& got) const {
  return InvalidArgumentError(context_, ": ", key, ": expected ", expected, ", got ",
                              JsonTypeName(got));
}

Status JsonFields::RequireInt(const char* key, int64_t* out) {
  if (!Has(key)) {
    seen_.insert(key);
    return InvalidArgumentError(context_, ": missing required integer field '", key, "'");
  }
  return OptionalInt(key, out);
}

Status JsonFields::OptionalInt(const char* key, int64_t* out) {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (v->IsInt64()) {
    *out = v->GetInt64();
    return Status::Ok();
  }
  // Accept integral doubles such as 1e6 written by some exporters.
  if (v->IsDouble()) {
    const double d = v->GetDouble();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      *out = static_cast<int64_t>(d);
      return Status::Ok();
    }
  }
  return TypeError(key, "an integer", *v);
}

Status JsonFields::RequireDouble(const char* key, double* out) {
  if (!Has(key)) {
    seen_.insert(key);
    return InvalidArgumentError(context_, ": missing required number field '", key, "'");
  }
  return OptionalDouble(key, out);
}

Status JsonFields::OptionalDouble(const char* key, double* out) {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsNumber()) return TypeError(key, "a number", *v);
  // JSON has no infinity; RapidJSON reads a literal beyond the double range (2e308) as one.
  if (!std::isfinite(v->GetDouble())) {
    return InvalidArgumentError(context_, ": ", key, ": number out of the double range");
  }
  *out = v->GetDouble();
  return Status::Ok();
}

Status JsonFields::RequireString(const char* key, std::string* out) {
  if (!Has(key)) {
    seen_.insert(key);
    return InvalidArgumentError(context_, ": missing required string field '", key, "'");
  }
  return OptionalString(key, out);
}

Status JsonFields::OptionalString(const char* key, std::string* out) {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsString()) return TypeError(key, "a string", *v);
  out->assign(v->GetString(), v->GetStringLength());
  return Status::Ok();
}

Status JsonFields::OptionalBool(const char* key, bool* out) {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsBool()) return TypeError(key, "a boolean", *v);
  *out = v->GetBool();
  return Status::Ok();
}

Status JsonFields::OptionalStringArray(const char* key, std::vector<std::string>* out) {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsArray()) return TypeError(key, "an array of strings", *v);
  std::vector<std::string> values;
  for (const auto& item : v->GetArray()) {
    if (!item.IsString()) return TypeError(key, "an array of strings", item);
    values.emplace_back(item.GetString(), item.GetStringLength());
  }
  *out = std::move(values);
  return Status::Ok();
}

Status JsonFields::OptionalIntArray(const char* key, std::vector<int64_t>* out) {
  const rapidjson::Value* v = Find(key);
  if (v == nullptr) return Status::Ok();
  if (!v->IsArray()) return TypeError(key, "an array of integers", *v);
  std::vector<int64_t> values;
  for (const auto& item : v->GetArray()) {
    if (!item.IsInt64()) return TypeError(key, "an array of integers", item);
    values.push_back(item.GetInt64());
  }
  *out = std::move(values);
  return Status::Ok();
}

void JsonFields::Ignore(std::initializer_list<const char*> keys) {
  for (const char* key : keys) seen_.insert(key);
}

Status JsonFields::RejectUnknownKeys() const {
  for (auto it = object_.MemberBegin(); it != object_.MemberEnd(); ++it) {
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    if (seen_.find(name) == seen_.end()) {
      return InvalidArgumentError(context_, ": unknown key '", name, "'");
    }
  }
  return Status::Ok();
}

}  // namespace sigma
