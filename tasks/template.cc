#include "tasks/template.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>

#include "engine/base/json.h"
#include "tasks/math_answer.h"
#include "tasks/py_str.h"

namespace sigma::tasks {
namespace {

constexpr const char* kPipes[] = {
    "lower",    "upper",           "capitalize", "strip",       "lstrip", "first_line",
    "humanize", "hellaswag_clean", "after",      "after_first", "before", "before_last",
    "letter",   "lettered",        "join",       "boxed",       "remove"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string NumberText(const rapidjson::Value& v) {
  if (v.IsInt64()) return std::to_string(v.GetInt64());
  if (v.IsUint64()) return std::to_string(v.GetUint64());
  char buffer[32];
  const double d = v.GetDouble();
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, d);
    if (std::strtod(buffer, nullptr) == d) break;
  }
  return buffer;
}

// Scalar JSON value -> text; false for arrays and objects.
bool ScalarText(const rapidjson::Value& v, std::string* out) {
  if (v.IsString()) {
    out->assign(v.GetString(), v.GetStringLength());
  } else if (v.IsNumber()) {
    *out = NumberText(v);
  } else if (v.IsBool()) {
    *out = v.GetBool() ? "true" : "false";
  } else if (v.IsNull()) {
    out->clear();
  } else {
    return false;
  }
  return true;
}

// lm-eval's HellaSwag preprocess (the brackets are artifacts of its WikiHow part): strip,
// " [title]" -> ". ", drop every "[...]" (re.sub(r"\[.*?\]", ""): the shortest, within one line),
// then "  " -> " ".
std::string HellaswagClean(std::string_view text) {
  const std::string titled = py::Replace(py::Strip(text), " [title]", ". ");
  std::string unbracketed;
  for (size_t i = 0; i < titled.size(); ++i) {
    if (titled[i] == '[') {
      const size_t end = titled.find_first_of("]\n", i + 1);
      if (end != std::string::npos && titled[end] == ']') {
        i = end;
        continue;
      }
    }
    unbracketed += titled[i];
  }
  return py::Replace(unbracketed, "  ", " ");
}

std::string ApplyTextPipe(const std::string& name, const std::string& arg, std::string s) {
  if (name == "lower") return Lower(std::move(s));
  if (name == "upper") return Upper(std::move(s));
  if (name == "capitalize") {
    s = Lower(std::move(s));
    if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return s;
  }
  if (name == "hellaswag_clean") return HellaswagClean(s);
  if (name == "remove") return arg.empty() ? s : py::Replace(s, arg, "");
  if (name == "strip") return std::string(py::Strip(s));
  if (name == "lstrip") return std::string(py::LStrip(s));
  if (name == "first_line") return s.substr(0, s.find('\n'));
  if (name == "humanize") {
    for (char& c : s) c = c == '_' ? ' ' : c;
    return s;
  }
  if (name == "after" || name == "after_first") {
    const size_t at =
        arg.empty() ? std::string::npos : (name == "after" ? s.rfind(arg) : s.find(arg));
    return at == std::string::npos ? s : s.substr(at + arg.size());
  }
  if (name == "before" || name == "before_last") {
    const size_t at =
        arg.empty() ? std::string::npos : (name == "before" ? s.find(arg) : s.rfind(arg));
    return at == std::string::npos ? s : s.substr(0, at);
  }
  return s;
}

}  // namespace

struct Template::Value {
  bool is_list = false;
  std::string text;
  std::vector<std::string> items;
};

Status Template::ParseField(std::string_view body, std::string_view where, Segment* out) {
  out->is_field = true;
  size_t bar = body.find('|');
  std::string_view path = Trim(body.substr(0, bar));
  out->path_text = std::string(path);
  if (path.empty()) return InvalidArgumentError(where, ": empty field in {{ }}");
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '[') {
      const size_t close = path.find(']', i);
      if (close == std::string_view::npos) {
        return InvalidArgumentError(where, ": field '", path, "': missing ']'");
      }
      std::string digits(path.substr(i + 1, close - i - 1));
      char* end = nullptr;
      const long long index = std::strtoll(digits.c_str(), &end, 10);
      if (digits.empty() || *end != '\0' || index < 0) {
        return InvalidArgumentError(where, ": field '", path, "': bad index [", digits, "]");
      }
      out->path.push_back({"", index});
      i = close + 1;
      if (i < path.size() && path[i] == '.') ++i;
      continue;
    }
    const size_t stop = path.find_first_of(".[", i);
    std::string key(path.substr(i, stop == std::string_view::npos ? path.size() - i : stop - i));
    if (key.empty()) return InvalidArgumentError(where, ": field '", path, "': empty name");
    out->path.push_back({key, -1});
    i = stop == std::string_view::npos ? path.size() : stop;
    if (i < path.size() && path[i] == '.') ++i;
  }
  while (bar != std::string_view::npos) {
    const size_t next = body.find('|', bar + 1);
    std::string_view part = body.substr(bar + 1, next == std::string_view::npos
                                                     ? std::string_view::npos
                                                     : next - bar - 1);
    const size_t colon = part.find(':');
    Pipe pipe{std::string(Trim(part.substr(0, colon))),
              colon == std::string_view::npos ? "" : std::string(part.substr(colon + 1))};
    bool known = false;
    for (const char* name : kPipes) known = known || pipe.name == name;
    if (!known) {
      return InvalidArgumentError(where, ": field '", path, "': unknown pipe '", pipe.name, "'");
    }
    out->pipes.push_back(std::move(pipe));
    bar = next;
  }
  return Status::Ok();
}

StatusOr<Template> Template::Parse(std::string_view text, std::string_view where) {
  Template t;
  t.text_ = std::string(text);
  t.where_ = std::string(where);
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.segments_.push_back(Segment{false, std::string(text.substr(pos)), "", {}, {}});
      break;
    }
    if (open > pos) {
      t.segments_.push_back(Segment{false, std::string(text.substr(pos, open - pos)), "", {}, {}});
    }
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return InvalidArgumentError(where, ": '{{' at offset ", open, " is never closed");
    }
    Segment field;
    SIGMA_RETURN_IF_ERROR(ParseField(text.substr(open + 2, close - open - 2), where, &field));
    t.segments_.push_back(std::move(field));
    pos = close + 2;
  }
  return t;
}

StatusOr<Template::Value> Template::Evaluate(const Segment& s, const rapidjson::Value& doc) const {
  const rapidjson::Value* v = &doc;
  for (const PathStep& step : s.path) {
    if (!step.key.empty()) {
      if (!v->IsObject()) {
        return InvalidArgumentError(where_, ": field '", s.path_text, "': '", step.key,
                                    "' is looked up in ", JsonTypeName(*v), ", not an object");
      }
      auto it = v->FindMember(step.key.c_str());
      if (it == v->MemberEnd()) {
        return NotFoundError(where_, ": field '", s.path_text, "' not found in the document");
      }
      v = &it->value;
    } else {
      if (!v->IsArray() || static_cast<size_t>(step.index) >= v->Size()) {
        return NotFoundError(where_, ": field '", s.path_text, "': index ", step.index,
                             " out of range");
      }
      v = &(*v)[static_cast<rapidjson::SizeType>(step.index)];
    }
  }
  Value value;
  if (v->IsArray()) {
    value.is_list = true;
    for (const auto& item : v->GetArray()) {
      std::string text;
      if (!ScalarText(item, &text)) {
        return InvalidArgumentError(where_, ": field '", s.path_text,
                                    "': list items must be strings or numbers");
      }
      value.items.push_back(std::move(text));
    }
  } else if (!ScalarText(*v, &value.text)) {
    return InvalidArgumentError(where_, ": field '", s.path_text, "' is an object, not text");
  }
  SIGMA_RETURN_IF_ERROR(ApplyPipes(s, &value));
  return value;
}

Status Template::ApplyPipes(const Segment& s, Value* value_ptr) const {
  Value& value = *value_ptr;
  for (const Pipe& pipe : s.pipes) {
    if (pipe.name == "lettered" || pipe.name == "join") {
      if (!value.is_list) {
        return InvalidArgumentError(where_, ": field '", s.path_text, "': pipe '", pipe.name,
                                    "' needs a list");
      }
      std::string joined;
      for (size_t i = 0; i < value.items.size(); ++i) {
        if (pipe.name == "lettered") {
          joined += std::string(1, static_cast<char>('A' + i % 26)) + ". " + value.items[i] + "\n";
        } else {
          joined += (i > 0 ? (pipe.arg.empty() ? "\n" : pipe.arg) : "") + value.items[i];
        }
      }
      if (pipe.name == "lettered" && !joined.empty()) joined.pop_back();
      value = Value{false, std::move(joined), {}};
    } else if (pipe.name == "boxed") {
      if (value.is_list) {
        return InvalidArgumentError(where_, ": field '", s.path_text, "': pipe 'boxed' needs text");
      }
      StatusOr<std::string> answer = math::BoxedAnswer(value.text);
      if (!answer.ok()) {
        return answer.status().WithContext(StrCat(where_, ": field '", s.path_text, "'"));
      }
      value.text = std::move(answer).value();
    } else if (pipe.name == "letter") {
      char* end = nullptr;
      const long long n = std::strtoll(value.text.c_str(), &end, 10);
      if (value.is_list || value.text.empty() || *end != '\0' || n < 0 || n >= 26) {
        return InvalidArgumentError(where_, ": field '", s.path_text, "': pipe 'letter' needs "
                                    "an integer 0..25, got '", value.text, "'");
      }
      value.text = std::string(1, static_cast<char>('A' + n));
    } else if (value.is_list) {
      for (std::string& item : value.items) item = ApplyTextPipe(pipe.name, pipe.arg, item);
    } else {
      value.text = ApplyTextPipe(pipe.name, pipe.arg, std::move(value.text));
    }
  }
  return Status::Ok();
}

StatusOr<std::string> Template::Render(const rapidjson::Value& doc) const {
  std::string out;
  for (const Segment& s : segments_) {
    if (!s.is_field) {
      out += s.literal;
      continue;
    }
    SIGMA_ASSIGN_OR_RETURN(Value value, Evaluate(s, doc));
    if (value.is_list) {
      return InvalidArgumentError(where_, ": field '", s.path_text,
                                  "' is a list; use '| join' or '| lettered' to make it text");
    }
    out += value.text;
  }
  for (const Pipe& pipe : whole_pipes_) out = ApplyTextPipe(pipe.name, pipe.arg, std::move(out));
  return out;
}

Status Template::SetWholePipes(std::string_view pipes) {
  Segment parsed;
  SIGMA_RETURN_IF_ERROR(ParseField(StrCat("template |", pipes), where_, &parsed));
  for (const Pipe& pipe : parsed.pipes) {
    if (pipe.name == "letter" || pipe.name == "lettered" || pipe.name == "join" ||
        pipe.name == "boxed") {
      return InvalidArgumentError(where_, ": pipe '", pipe.name,
                                  "' does not apply to the whole template");
    }
  }
  whole_pipes_ = std::move(parsed.pipes);
  return Status::Ok();
}

StatusOr<std::vector<std::string>> Template::RenderList(const rapidjson::Value& doc) const {
  if (segments_.size() == 1 && segments_[0].is_field) {
    SIGMA_ASSIGN_OR_RETURN(Value value, Evaluate(segments_[0], doc));
    if (!value.is_list) value.items = {std::move(value.text)};
    for (std::string& item : value.items) {
      for (const Pipe& pipe : whole_pipes_)
        item = ApplyTextPipe(pipe.name, pipe.arg, std::move(item));
    }
    return value.items;
  }
  SIGMA_ASSIGN_OR_RETURN(std::string text, Render(doc));
  return std::vector<std::string>{std::move(text)};
}

}  // namespace sigma::tasks
