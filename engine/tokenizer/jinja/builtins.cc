#include "engine/tokenizer/jinja/builtins.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>
#include <vector>

namespace sigma::jinja {
namespace {

// ---- UTF-8 ---------------------------------------------------------------------------------

// The code point at byte `i` and its length.
uint32_t DecodeAt(const std::string& s, size_t i, size_t* len) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  n = std::min(n, s.size() - i);
  uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1F : n == 3 ? c & 0x0F : c & 0x07;
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  *len = n;
  return cp;
}

// Python's str.isspace.
bool IsSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Python's str.strip / lstrip / rstrip: whitespace, or the characters of `chars`.
std::string Strip(const std::string& s, const Value* chars, bool left, bool right) {
  const std::vector<size_t> starts = CodePointStarts(s);
  const auto strippable = [&](size_t k) {
    if (chars != nullptr && chars->is_string()) {
      return chars->string().find(s.substr(starts[k], starts[k + 1] - starts[k])) !=
             std::string::npos;
    }
    size_t len = 0;
    return IsSpace(DecodeAt(s, starts[k], &len));
  };
  size_t b = 0, e = starts.size() - 1;
  while (left && b < e && strippable(b)) ++b;
  while (right && e > b && strippable(e - 1)) --e;
  return s.substr(starts[b], starts[e] - starts[b]);
}

std::string AsciiMap(std::string s, int (*f)(int)) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x80) c = static_cast<char>(f(c));
  }
  return s;
}

std::string Capitalize(const std::string& s) {
  std::string out = AsciiMap(s, [](int c) { return std::tolower(c); });
  if (!out.empty() && static_cast<unsigned char>(out[0]) < 0x80) {
    out[0] = static_cast<char>(std::toupper(out[0]));
  }
  return out;
}

// Python's str.title (ASCII letters): a letter after a non-letter is upper, others lower.
std::string Title(const std::string& s) {
  std::string out = s;
  bool previous_letter = false;
  for (char& c : out) {
    const bool letter = std::isalpha(static_cast<unsigned char>(c)) != 0;
    if (letter) c = static_cast<char>(previous_letter ? std::tolower(c) : std::toupper(c));
    previous_letter = letter;
  }
  return out;
}

std::string Replace(const std::string& s, const std::string& from, const std::string& to,
                    int64_t count) {
  if (from.empty()) return s;
  std::string out;
  size_t pos = 0;
  for (int64_t n = 0; count < 0 || n < count; ++n) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out += s.substr(pos, hit - pos) + to;
    pos = hit + from.size();
  }
  return out + s.substr(pos);
}

// Python's str.split(sep, maxsplit).
List Split(const std::string& s, const Value* sep, int64_t maxsplit) {
  List out;
  if (sep == nullptr || sep->is_none() || sep->is_undefined()) {
    const std::vector<size_t> starts = CodePointStarts(s);
    const auto space = [&](size_t k) {
      size_t len = 0;
      return IsSpace(DecodeAt(s, starts[k], &len));
    };
    size_t k = 0;
    const size_t n = starts.size() - 1;
    while (k < n) {
      while (k < n && space(k)) ++k;
      if (k == n) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        size_t e = n;
        while (e > k && space(e - 1)) --e;
        out.push_back(Value::String(s.substr(starts[k], starts[e] - starts[k])));
        break;
      }
      const size_t b = k;
      while (k < n && !space(k)) ++k;
      out.push_back(Value::String(s.substr(starts[b], starts[k] - starts[b])));
    }
    return out;
  }
  const std::string& d = sep->string();
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
    const size_t hit = s.find(d, pos);
    if (hit == std::string::npos) break;
    out.push_back(Value::String(s.substr(pos, hit - pos)));
    pos = hit + d.size();
  }
  out.push_back(Value::String(s.substr(pos)));
  return out;
}

bool StartsOrEnds(const std::string& s, const Value& what, bool start) {
  const auto one = [&](const std::string& x) {
    return x.size() <= s.size() && (start ? s.compare(0, x.size(), x) == 0
                                          : s.compare(s.size() - x.size(), x.size(), x) == 0);
  };
  if (what.is_string()) return one(what.string());
  if (what.is_list()) {
    return std::any_of(what.list().begin(), what.list().end(),
                       [&](const Value& v) { return v.is_string() && one(v.string()); });
  }
  return false;
}

StatusOr<int64_t> IntArg(const Args& args, size_t index, std::string_view name, int64_t fallback) {
  const Value* v = args.Get(index, name);
  if (v == nullptr || v->is_none()) return fallback;
  if (v->kind() != Value::Kind::kInt) {
    return InvalidArgumentError("argument ", name, ": expected an integer, got a ", v->TypeName());
  }
  return v->integer();
}

StatusOr<std::string> StringArg(const Args& args, size_t index, std::string_view name,
                                std::string fallback) {
  const Value* v = args.Get(index, name);
  if (v == nullptr || v->is_undefined()) return fallback;
  if (!v->is_string()) {
    return InvalidArgumentError("argument ", name, ": expected a string, got a ", v->TypeName());
  }
  return v->string();
}

// The attribute (or dotted path) `path` of `value`, as the attr filters read it.
Value AttributeOf(const Value& value, const std::string& path) {
  Value v = value;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t dot = path.find('.', pos);
    const std::string part =
        path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (!v.is_dict()) return Value();
    const Value* member = v.dict().Find(part);
    if (member == nullptr) return Value();
    v = *member;
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return v;
}

// The arguments after the first `skip` positional ones.
Args Rest(const Args& args, size_t skip) {
  Args rest;
  for (size_t i = skip; i < args.positional.size(); ++i)
    rest.positional.push_back(args.positional[i]);
  rest.named = args.named;
  return rest;
}

// select / reject / selectattr / rejectattr: items whose (attribute's) value passes the test named
// by the first argument (truthiness without one), or fails it.
StatusOr<Value> SelectItems(const Value& value, const Args& args, bool by_attribute, bool keep) {
  if (!value.Truthy()) return Value::ListOf({});  // jinja2: "if seq:" before walking it
  SIGMA_ASSIGN_OR_RETURN(List items, Iterate(value));
  std::string attribute;
  size_t next = 0;
  if (by_attribute) {
    SIGMA_ASSIGN_OR_RETURN(attribute, StringArg(args, next++, "attribute", ""));
  }
  const Value* test = args.Get(next, "");
  const Args test_args = Rest(args, next + 1);
  List out;
  for (const Value& item : items) {
    const Value subject = by_attribute ? AttributeOf(item, attribute) : item;
    bool pass = subject.Truthy();
    if (test != nullptr) {
      if (!test->is_string()) return InvalidArgumentError("select: the test must be a name");
      SIGMA_ASSIGN_OR_RETURN(pass, ApplyTest(test->string(), subject, test_args));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value::ListOf(std::move(out));
}

StatusOr<Value> Indent(const std::string& s, const Args& args) {
  std::string pad;
  const Value* width = args.Get(0, "width");
  if (width != nullptr && width->is_string()) {
    pad = width->string();
  } else {
    SIGMA_ASSIGN_OR_RETURN(int64_t n, IntArg(args, 0, "width", 4));
    pad.assign(static_cast<size_t>(std::max<int64_t>(n, 0)), ' ');
  }
  const Value* first = args.Get(1, "first");
  const Value* blank = args.Get(2, "blank");
  const bool indent_blank = blank != nullptr && blank->Truthy();
  std::string out;
  size_t pos = 0;
  bool first_line = true;
  while (pos <= s.size()) {
    const size_t nl = s.find('\n', pos);
    const std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    const bool indent = first_line ? (first != nullptr && first->Truthy())
                                   : (indent_blank || !Strip(line, nullptr, true, true).empty());
    if (indent) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    pos = nl + 1;
    first_line = false;
  }
  return Value::String(out);
}

}  // namespace

std::vector<size_t> CodePointStarts(const std::string& s) {
  std::vector<size_t> starts;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) starts.push_back(i);
  }
  starts.push_back(s.size());
  return starts;
}

StatusOr<int64_t> Length(const Value& value) {
  if (value.is_string()) return static_cast<int64_t>(CodePointStarts(value.string()).size() - 1);
  if (value.is_list()) return static_cast<int64_t>(value.list().size());
  if (value.is_dict()) return static_cast<int64_t>(value.dict().items.size());
  if (value.is_undefined()) return 0;  // jinja2's Undefined has length 0
  return InvalidArgumentError("length of a ", value.TypeName());
}

StatusOr<List> Iterate(const Value& value) {
  if (value.is_list()) return value.list();
  if (value.is_dict()) {
    List keys;
    for (const auto& [k, v] : value.dict().items) keys.push_back(k);
    return keys;
  }
  if (value.is_string()) {
    const std::vector<size_t> starts = CodePointStarts(value.string());
    List chars;
    for (size_t k = 0; k + 1 < starts.size(); ++k) {
      chars.push_back(Value::String(value.string().substr(starts[k], starts[k + 1] - starts[k])));
    }
    return chars;
  }
  if (value.is_undefined()) return List();  // Jinja iterates an undefined value as empty
  return InvalidArgumentError("a ", value.TypeName(), " is not iterable");
}

// dictsort(case_sensitive=false, by='key', reverse=false): the items as [key, value] pairs sorted
// by key (or value), strings compared lowercased unless case_sensitive, as jinja2 sorts them.
StatusOr<Value> DictSort(const Value& value, const Args& args) {
  if (!value.is_dict()) return InvalidArgumentError("dictsort of a ", value.TypeName());
  const Value* case_sensitive = args.Get(0, "case_sensitive");
  SIGMA_ASSIGN_OR_RETURN(const std::string by, StringArg(args, 1, "by", "key"));
  const Value* reverse = args.Get(2, "reverse");
  if (by != "key" && by != "value") {
    return InvalidArgumentError("dictsort: 'by' must be 'key' or 'value', got '", by, "'");
  }
  const bool exact = case_sensitive != nullptr && case_sensitive->Truthy();
  const bool descending = reverse != nullptr && reverse->Truthy();
  const auto sort_key = [&](const std::pair<Value, Value>& item) {
    const Value& v = by == "key" ? item.first : item.second;
    if (exact || !v.is_string()) return v;
    return Value::String(AsciiMap(v.string(), [](int c) { return std::tolower(c); }));
  };
  std::vector<std::pair<Value, Value>> items = value.dict().items;
  Status error;
  // Stable either way, as Python's sorted(reverse=True): equal keys keep their order.
  std::stable_sort(items.begin(), items.end(), [&](const auto& a, const auto& b) {
    const StatusOr<bool> less =
        descending ? PythonLess(sort_key(b), sort_key(a)) : PythonLess(sort_key(a), sort_key(b));
    if (!less.ok() && error.ok()) error = less.status();
    return less.ok() && *less;
  });
  SIGMA_RETURN_IF_ERROR(error);
  List out;
  for (auto& [k, v] : items) out.push_back(Value::ListOf({std::move(k), std::move(v)}));
  return Value::ListOf(std::move(out));
}

StatusOr<Value> ApplyFilter(std::string_view name, const Value& value, const Args& args) {
  if (name == "safe") return value;
  if (name == "string") return Value::String(value.Str());
  if (name == "length" || name == "count") {
    SIGMA_ASSIGN_OR_RETURN(int64_t n, Length(value));
    return Value::Int(n);
  }
  if (name == "default" || name == "d") {
    const Value* fallback = args.Get(0, "default_value");
    const Value* boolean = args.Get(1, "boolean");
    const bool use =
        value.is_undefined() || (boolean != nullptr && boolean->Truthy() && !value.Truthy());
    return use ? (fallback != nullptr ? *fallback : Value::String("")) : value;
  }
  if (name == "tojson") {
    // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
    const Value* indent = args.Get(1, "indent");
    const Value* sort_keys = args.Get(3, "sort_keys");
    SIGMA_ASSIGN_OR_RETURN(std::string json,
                           ToJson(value,
                                  indent != nullptr && indent->kind() == Value::Kind::kInt
                                      ? static_cast<int>(indent->integer())
                                      : -1,
                                  sort_keys != nullptr && sort_keys->Truthy()));
    return Value::String(std::move(json));
  }
  if (name == "items") {
    if (value.is_undefined()) return Value::ListOf({});
    if (!value.is_dict()) return InvalidArgumentError("items of a ", value.TypeName());
    List items;
    for (const auto& [k, v] : value.dict().items) items.push_back(Value::ListOf({k, v}));
    return Value::ListOf(std::move(items));
  }
  if (name == "dictsort") return DictSort(value, args);
  if (name == "list") {
    SIGMA_ASSIGN_OR_RETURN(List items, Iterate(value));
    return Value::ListOf(std::move(items));
  }
  if (name == "first" || name == "last") {
    SIGMA_ASSIGN_OR_RETURN(List items, Iterate(value));
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    SIGMA_ASSIGN_OR_RETURN(List items, Iterate(value));
    std::reverse(items.begin(), items.end());
    if (!value.is_string()) return Value::ListOf(std::move(items));
    std::string out;
    for (const Value& c : items) out += c.string();
    return Value::String(out);
  }
  if (name == "join") {
    SIGMA_ASSIGN_OR_RETURN(List items, Iterate(value));
    SIGMA_ASSIGN_OR_RETURN(std::string separator, StringArg(args, 0, "d", ""));
    const Value* attribute = args.Get(1, "attribute");
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out += separator;
      out += (attribute != nullptr ? AttributeOf(items[i], attribute->Str()) : items[i]).Str();
    }
    return Value::String(out);
  }
  if (name == "unique") {
    SIGMA_ASSIGN_OR_RETURN(List items, Iterate(value));
    const Value* case_sensitive = args.Get(0, "case_sensitive");
    const bool exact = case_sensitive != nullptr && case_sensitive->Truthy();
    List out;
    std::vector<Value> seen;
    for (const Value& item : items) {
      const Value key =
          !exact && item.is_string()
              ? Value::String(AsciiMap(item.string(), [](int c) { return std::tolower(c); }))
              : item;
      if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return s.Equals(key); })) {
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return Value::ListOf(std::move(out));
  }
  if (name == "map") {
    if (!value.Truthy()) return Value::ListOf({});  // jinja2: "if seq:" before walking it
    SIGMA_ASSIGN_OR_RETURN(List items, Iterate(value));
    List out;
    const Value* attribute = args.Get(99, "attribute");
    for (const Value& item : items) {
      if (attribute != nullptr) {
        Value v = AttributeOf(item, attribute->Str());
        const Value* fallback = args.Get(99, "default");
        out.push_back(v.is_undefined() && fallback != nullptr ? *fallback : v);
        continue;
      }
      const Value* filter = args.Get(0, "");
      if (filter == nullptr || !filter->is_string()) {
        return InvalidArgumentError("map: expected a filter name or attribute=");
      }
      SIGMA_ASSIGN_OR_RETURN(Value mapped, ApplyFilter(filter->string(), item, Rest(args, 1)));
      out.push_back(std::move(mapped));
    }
    return Value::ListOf(std::move(out));
  }
  if (name == "select" || name == "reject")
    return SelectItems(value, args, false, name == "select");
  if (name == "selectattr" || name == "rejectattr") {
    return SelectItems(value, args, true, name == "selectattr");
  }
  if (name == "int") {
    if (value.kind() == Value::Kind::kInt) return value;
    if (value.kind() == Value::Kind::kFloat)
      return Value::Int(static_cast<int64_t>(value.number()));
    if (value.kind() == Value::Kind::kBool) return Value::Int(value.boolean() ? 1 : 0);
    int64_t n = 0;
    const std::string s = value.is_string() ? Strip(value.string(), nullptr, true, true) : "";
    if (!s.empty() &&
        std::from_chars(s.data(), s.data() + s.size(), n).ptr == s.data() + s.size()) {
      return Value::Int(n);
    }
    return args.positional.empty() ? Value::Int(0) : args.positional[0];
  }
  if (name == "float") {
    if (value.is_number()) return Value::Float(value.number());
    const std::string s = value.is_string() ? Strip(value.string(), nullptr, true, true) : "";
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end == s.c_str() + s.size()) return Value::Float(d);
    return args.positional.empty() ? Value::Float(0) : args.positional[0];
  }
  if (name == "abs") {
    if (value.kind() == Value::Kind::kInt)
      return Value::Int(value.integer() < 0 ? -value.integer() : value.integer());
    if (value.is_number()) return Value::Float(std::fabs(value.number()));
    return InvalidArgumentError("abs of a ", value.TypeName());
  }
  static const std::set<std::string_view> kStringFilters = {
      "trim", "upper", "lower", "capitalize", "title", "indent", "replace"};
  if (kStringFilters.count(name) == 0) {
    return UnimplementedError("filter '", name, "' is not in the Jinja subset chat templates use");
  }
  if (!value.is_string() && !value.is_undefined() && name != "indent") {
    return InvalidArgumentError("filter '", name, "' of a ", value.TypeName(),
                                " (expected a string)");
  }
  const std::string s = value.Str();
  if (name == "trim") return Value::String(Strip(s, args.Get(0, "chars"), true, true));
  if (name == "upper") return Value::String(AsciiMap(s, [](int c) { return std::toupper(c); }));
  if (name == "lower") return Value::String(AsciiMap(s, [](int c) { return std::tolower(c); }));
  if (name == "capitalize") return Value::String(Capitalize(s));
  if (name == "title") return Value::String(Title(s));
  if (name == "indent") return Indent(s, args);
  if (name == "replace") {
    SIGMA_ASSIGN_OR_RETURN(std::string from, StringArg(args, 0, "old", ""));
    SIGMA_ASSIGN_OR_RETURN(std::string to, StringArg(args, 1, "new", ""));
    SIGMA_ASSIGN_OR_RETURN(int64_t count, IntArg(args, 2, "count", -1));
    return Value::String(Replace(s, from, to, count));
  }
  SIGMA_CHECK(false, "string filter '", name, "' without a case");
  return Value();
}

StatusOr<bool> ApplyTest(std::string_view name, const Value& value, const Args& args) {
  const Value* other = args.Get(0, "");
  using Kind = Value::Kind;
  if (name == "defined") return !value.is_undefined();
  if (name == "undefined") return value.is_undefined();
  if (name == "none") return value.is_none();
  if (name == "string") return value.is_string();
  if (name == "number") return value.is_number();
  if (name == "integer") return value.kind() == Kind::kInt;
  if (name == "float") return value.kind() == Kind::kFloat;
  if (name == "boolean") return value.kind() == Kind::kBool;
  if (name == "true") return value.kind() == Kind::kBool && value.boolean();
  if (name == "false") return value.kind() == Kind::kBool && !value.boolean();
  if (name == "mapping") return value.is_dict();
  if (name == "iterable") return value.is_list() || value.is_dict() || value.is_string();
  if (name == "sequence") return value.is_list() || value.is_dict() || value.is_string();
  if (name == "callable") return value.kind() == Kind::kFunction;
  if (name == "lower" || name == "upper") {
    if (!value.is_string()) return false;
    const std::string& s = value.string();
    const bool want_lower = name == "lower";
    return std::none_of(s.begin(), s.end(), [&](char c) {
      return want_lower ? std::isupper(static_cast<unsigned char>(c)) != 0
                        : std::islower(static_cast<unsigned char>(c)) != 0;
    });
  }
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (value.kind() != Kind::kInt)
      return InvalidArgumentError("test '", name, "' of a ", value.TypeName());
    if (name == "divisibleby") {
      if (other == nullptr || other->kind() != Kind::kInt || other->integer() == 0) {
        return InvalidArgumentError("divisibleby: expected a non-zero integer");
      }
      return value.integer() % other->integer() == 0;
    }
    return (value.integer() % 2 != 0) == (name == "odd");
  }
  if (other == nullptr) return InvalidArgumentError("test '", name, "' needs an argument");
  if (name == "eq" || name == "equalto" || name == "==") return value.Equals(*other);
  if (name == "ne" || name == "!=") return !value.Equals(*other);
  if (name == "sameas") return value.kind() == other->kind() && value.Equals(*other);
  if (name == "in") {
    if (other->is_string())
      return value.is_string() && other->string().find(value.string()) != std::string::npos;
    SIGMA_ASSIGN_OR_RETURN(List items, Iterate(*other));
    return std::any_of(items.begin(), items.end(), [&](const Value& v) { return v.Equals(value); });
  }
  if (name == "lt" || name == "le" || name == "gt" || name == "ge") {
    if (!value.is_number() || !other->is_number()) {
      return InvalidArgumentError("test '", name, "' of a ", value.TypeName());
    }
    const double a = value.number(), b = other->number();
    return name == "lt" ? a < b : name == "le" ? a <= b : name == "gt" ? a > b : a >= b;
  }
  return UnimplementedError("test '", name, "' is not in the Jinja subset chat templates use");
}

namespace {

// Python's str.format for the fields chat templates use: {} (numbered in turn), {0}, {name}, and
// {{ / }} for braces, each value as str() gives it; a format spec or conversion is refused.
StatusOr<Value> Format(const std::string& s, const Args& args) {
  std::string out;
  size_t next = 0;  // the automatic field number
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if ((c == '{' || c == '}') && i + 1 < s.size() && s[i + 1] == c) {
      out += c;
      ++i;
      continue;
    }
    if (c == '}') return InvalidArgumentError("format: single '}' in the format string");
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t end = s.find('}', i);
    if (end == std::string::npos) return InvalidArgumentError("format: '{' without its '}'");
    const std::string field = s.substr(i + 1, end - i - 1);
    i = end;
    if (field.find_first_of(":!") != std::string::npos) {
      return UnimplementedError("format: field '{", field, "}' (a format spec or conversion)");
    }
    const Value* v = nullptr;
    if (field.empty()) {
      v = next < args.positional.size() ? &args.positional[next] : nullptr;
      ++next;
    } else if (std::all_of(field.begin(), field.end(),
                           [](char d) { return d >= '0' && d <= '9'; })) {
      const size_t index = std::stoul(field);
      v = index < args.positional.size() ? &args.positional[index] : nullptr;
    } else {
      for (const auto& [key, value] : args.named) {
        if (key == field) v = &value;
      }
    }
    if (v == nullptr) return InvalidArgumentError("format: no argument for field '{", field, "}'");
    out += v->Str();
  }
  return Value::String(out);
}

}  // namespace

Value BoundMethod(const Value& value, std::string_view name) {
  const std::string method(name);
  if (value.is_string()) {
    static const std::set<std::string, std::less<>> kStringMethods = {
        "strip", "lstrip", "rstrip",     "split",   "startswith", "endswith", "upper",
        "lower", "title",  "capitalize", "replace", "find",       "count",    "format"};
    if (kStringMethods.count(method) == 0) return Value();
    const std::string s = value.string();
    return Value::FunctionOf([s, method](const Args& args) -> StatusOr<Value> {
      const Value* a = args.Get(0, "");
      if (method == "strip") return Value::String(Strip(s, a, true, true));
      if (method == "lstrip") return Value::String(Strip(s, a, true, false));
      if (method == "rstrip") return Value::String(Strip(s, a, false, true));
      if (method == "split") {
        SIGMA_ASSIGN_OR_RETURN(int64_t maxsplit, IntArg(args, 1, "maxsplit", -1));
        return Value::ListOf(Split(s, args.Get(0, "sep"), maxsplit));
      }
      if (method == "startswith" || method == "endswith") {
        if (a == nullptr) return InvalidArgumentError(method, "() needs an argument");
        return Value::Bool(StartsOrEnds(s, *a, method == "startswith"));
      }
      if (method == "upper")
        return Value::String(AsciiMap(s, [](int c) { return std::toupper(c); }));
      if (method == "lower")
        return Value::String(AsciiMap(s, [](int c) { return std::tolower(c); }));
      if (method == "title") return Value::String(Title(s));
      if (method == "format") return Format(s, args);
      if (method == "capitalize") return Value::String(Capitalize(s));
      if (method == "replace") {
        SIGMA_ASSIGN_OR_RETURN(std::string from, StringArg(args, 0, "old", ""));
        SIGMA_ASSIGN_OR_RETURN(std::string to, StringArg(args, 1, "new", ""));
        SIGMA_ASSIGN_OR_RETURN(int64_t count, IntArg(args, 2, "count", -1));
        return Value::String(Replace(s, from, to, count));
      }
      SIGMA_ASSIGN_OR_RETURN(std::string sub, StringArg(args, 0, "sub", ""));
      if (method == "find") {
        const size_t hit = s.find(sub);
        if (hit == std::string::npos) return Value::Int(-1);
        return Value::Int(static_cast<int64_t>(CodePointStarts(s.substr(0, hit)).size() - 1));
      }
      int64_t n = 0;  // count
      if (sub.empty()) return Value::Int(static_cast<int64_t>(CodePointStarts(s).size()));
      for (size_t pos = s.find(sub); pos != std::string::npos; pos = s.find(sub, pos + sub.size()))
        ++n;
      return Value::Int(n);
    });
  }
  if (value.is_dict()) {
    if (method != "get" && method != "items" && method != "keys" && method != "values")
      return Value();
    const Value self = value;
    return Value::FunctionOf([self, method](const Args& args) -> StatusOr<Value> {
      if (method == "get") {
        const Value* key = args.Get(0, "key");
        const Value* fallback = args.Get(1, "default");
        const Value* found = key != nullptr ? self.dict().Find(*key) : nullptr;
        return found != nullptr ? *found : fallback != nullptr ? *fallback : Value::None();
      }
      List out;
      for (const auto& [k, v] : self.dict().items) {
        if (method == "items") out.push_back(Value::ListOf({k, v}));
        if (method == "keys") out.push_back(k);
        if (method == "values") out.push_back(v);
      }
      return Value::ListOf(std::move(out));
    });
  }
  return Value();
}

Dict Globals() {
  Dict g;
  g.Set("range", Value::FunctionOf([](const Args& args) -> StatusOr<Value> {
          std::vector<int64_t> n;
          for (const Value& v : args.positional) {
            if (v.kind() != Value::Kind::kInt)
              return InvalidArgumentError("range: expected integers");
            n.push_back(v.integer());
          }
          if (n.empty() || n.size() > 3) return InvalidArgumentError("range: 1 to 3 arguments");
          const int64_t start = n.size() == 1 ? 0 : n[0];
          const int64_t stop = n.size() == 1 ? n[0] : n[1];
          const int64_t step = n.size() == 3 ? n[2] : 1;
          if (step == 0) return InvalidArgumentError("range: step 0");
          List out;
          for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
            out.push_back(Value::Int(i));
            if (out.size() > 1000000) return InvalidArgumentError("range: over a million items");
          }
          return Value::ListOf(std::move(out));
        }));
  const auto dict_of = [](bool is_namespace) {
    return [is_namespace](const Args& args) -> StatusOr<Value> {
      Dict d;
      d.is_namespace = is_namespace;
      for (const Value& v : args.positional) {
        if (!v.is_dict())
          return InvalidArgumentError("namespace / dict: a positional argument must be a mapping");
        for (const auto& [k, member] : v.dict().items) d.Set(k, member);
      }
      for (const auto& [k, v] : args.named) d.Set(k, v);
      return Value::DictOf(std::move(d));
    };
  };
  g.Set("namespace", Value::FunctionOf(dict_of(true)));
  g.Set("dict", Value::FunctionOf(dict_of(false)));
  g.Set("raise_exception", Value::FunctionOf([](const Args& args) -> StatusOr<Value> {
          const Value* message = args.Get(0, "message");
          return InvalidArgumentError("raise_exception: ", message != nullptr
                                                               ? message->Str()
                                                               : std::string("(no message)"));
        }));
  return g;
}

}  // namespace sigma::jinja
