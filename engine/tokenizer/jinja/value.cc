#include "engine/tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sigma::jinja {
namespace {

// Python's repr of a float: the shortest round trip, with ".0" where it reads as an integer.
std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), d);
  std::string s(buf, end);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}

void AppendStringRepr(const std::string& s, std::string* out) {
  const char quote =
      s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  *out += quote;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      *out += '\\';
      *out += c;
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (c == '\t') {
      *out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      static const char* kHex = "0123456789abcdef";
      *out += "\\x";
      *out += kHex[u >> 4];
      *out += kHex[u & 15];
    } else {
      *out += c;
    }
  }
  *out += quote;
}

void AppendJsonString(const std::string& s, std::string* out) {
  *out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': *out += "\\\""; break;
      case '\\': *out += "\\\\"; break;
      case '\n': *out += "\\n"; break;
      case '\r': *out += "\\r"; break;
      case '\t': *out += "\\t"; break;
      case '\b': *out += "\\b"; break;
      case '\f': *out += "\\f"; break;
      default:
        if (u < 0x20) {
          static const char* kHex = "0123456789abcdef";
          *out += "\\u00";
          *out += kHex[u >> 4];
          *out += kHex[u & 15];
        } else {
          *out += c;
        }
    }
  }
  *out += '"';
}

Status AppendJson(const Value& v, int indent, bool sort_keys, int depth, std::string* out) {
  const auto newline = [&](int level) {
    if (indent < 0) return;
    *out += '\n';
    out->append(static_cast<size_t>(indent * level), ' ');
  };
  const char* item_separator = indent < 0 ? ", " : ",";
  switch (v.kind()) {
    case Value::Kind::kNone: *out += "null"; return Status::Ok();
    case Value::Kind::kBool: *out += v.boolean() ? "true" : "false"; return Status::Ok();
    case Value::Kind::kInt: *out += std::to_string(v.integer()); return Status::Ok();
    case Value::Kind::kFloat: {
      const double d = v.number();
      *out += std::isnan(d)   ? "NaN"
              : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity")
                              : FloatRepr(d);
      return Status::Ok();
    }
    case Value::Kind::kString: AppendJsonString(v.string(), out); return Status::Ok();
    case Value::Kind::kList: {
      if (v.list().empty()) {
        *out += "[]";
        return Status::Ok();
      }
      *out += '[';
      for (size_t i = 0; i < v.list().size(); ++i) {
        if (i > 0) *out += item_separator;
        newline(depth + 1);
        SIGMA_RETURN_IF_ERROR(AppendJson(v.list()[i], indent, sort_keys, depth + 1, out));
      }
      newline(depth);
      *out += ']';
      return Status::Ok();
    }
    case Value::Kind::kDict: {
      if (v.dict().items.empty()) {
        *out += "{}";
        return Status::Ok();
      }
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& item : v.dict().items) items.push_back(&item);
      if (sort_keys) {
        Status error;
        std::stable_sort(items.begin(), items.end(), [&](const auto* a, const auto* b) {
          const StatusOr<bool> less = PythonLess(a->first, b->first);
          if (!less.ok() && error.ok()) error = less.status();
          return less.ok() && *less;
        });
        SIGMA_RETURN_IF_ERROR(error);
      }
      *out += '{';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) *out += item_separator;
        newline(depth + 1);
        const Value& key = items[i]->first;
        if (key.is_string()) {
          AppendJsonString(key.string(), out);
        } else {  // json.dumps writes a number, boolean or null key as its JSON text, quoted
          std::string text;
          SIGMA_RETURN_IF_ERROR(AppendJson(key, -1, false, 0, &text));
          AppendJsonString(text, out);
        }
        *out += ": ";
        SIGMA_RETURN_IF_ERROR(AppendJson(items[i]->second, indent, sort_keys, depth + 1, out));
      }
      newline(depth);
      *out += '}';
      return Status::Ok();
    }
    case Value::Kind::kUndefined:
    case Value::Kind::kFunction:
      return InvalidArgumentError("tojson: a ", v.TypeName(), " is not JSON");
  }
  return Status::Ok();
}

}  // namespace

const Value* Dict::Find(std::string_view key) const {
  for (const auto& [k, v] : items) {
    if (k.is_string() && k.string() == key) return &v;
  }
  return nullptr;
}

const Value* Dict::Find(const Value& key) const {
  for (const auto& [k, v] : items) {
    if (k.Equals(key)) return &v;
  }
  return nullptr;
}

void Dict::Set(std::string key, Value value) {
  Set(Value::String(std::move(key)), std::move(value));
}

void Dict::Set(Value key, Value value) {
  for (auto& [k, v] : items) {
    if (k.Equals(key)) {  // Python keeps the first key object and replaces the value
      v = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

const Value* Args::Get(size_t index, std::string_view name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : named) {
    if (k == name) return &v;
  }
  return nullptr;
}

Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.b_ = b;
  return v;
}

Value Value::Int(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.i_ = i;
  return v;
}

Value Value::Float(double d) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.f_ = d;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.s_ = std::move(s);
  return v;
}

Value Value::ListOf(List items) {
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<List>(std::move(items));
  return v;
}

Value Value::DictOf(Dict dict) {
  Value v;
  v.kind_ = Kind::kDict;
  v.dict_ = std::make_shared<Dict>(std::move(dict));
  return v;
}

Value Value::FunctionOf(Function fn) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.fn_ = std::make_shared<Function>(std::move(fn));
  return v;
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return false;
    case Kind::kBool: return b_;
    case Kind::kInt: return i_ != 0;
    case Kind::kFloat: return f_ != 0;
    case Kind::kString: return !s_.empty();
    case Kind::kList: return !list_->empty();
    case Kind::kDict: return !dict_->items.empty();
    case Kind::kFunction: return true;
  }
  return false;
}

std::string Value::Str() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kString: return s_;
    default: return Repr();
  }
}

std::string Value::Repr() const {
  switch (kind_) {
    case Kind::kUndefined: return "";
    case Kind::kNone: return "None";
    case Kind::kBool: return b_ ? "True" : "False";
    case Kind::kInt: return std::to_string(i_);
    case Kind::kFloat: return FloatRepr(f_);
    case Kind::kString: {
      std::string out;
      AppendStringRepr(s_, &out);
      return out;
    }
    case Kind::kList: {
      std::string out = "[";
      for (size_t i = 0; i < list_->size(); ++i) out += (i ? ", " : "") + (*list_)[i].Repr();
      return out + "]";
    }
    case Kind::kDict: {
      std::string out = "{";
      for (size_t i = 0; i < dict_->items.size(); ++i) {
        if (i > 0) out += ", ";
        out += dict_->items[i].first.Repr() + ": " + dict_->items[i].second.Repr();
      }
      return out + "}";
    }
    case Kind::kFunction: return "<function>";
  }
  return "";
}

bool Value::Equals(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (kind_ == Kind::kInt && o.kind_ == Kind::kInt) return i_ == o.i_;
    return number() == o.number();
  }
  // Python: True == 1; bools compare as integers with numbers.
  if (kind_ == Kind::kBool && o.is_number()) return Int(b_ ? 1 : 0).Equals(o);
  if (o.kind_ == Kind::kBool && is_number()) return o.Equals(*this);
  if (kind_ != o.kind_) return false;
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone: return true;
    case Kind::kBool: return b_ == o.b_;
    case Kind::kString: return s_ == o.s_;
    case Kind::kList:
      return list_->size() == o.list_->size() &&
             std::equal(list_->begin(), list_->end(), o.list_->begin(),
                        [](const Value& a, const Value& b) { return a.Equals(b); });
    case Kind::kDict: {
      if (dict_->items.size() != o.dict_->items.size()) return false;
      for (const auto& [k, v] : dict_->items) {
        const Value* other = o.dict_->Find(k);
        if (other == nullptr || !v.Equals(*other)) return false;
      }
      return true;
    }
    case Kind::kFunction: return fn_ == o.fn_;
    default: return false;
  }
}

std::string_view Value::TypeName() const {
  switch (kind_) {
    case Kind::kUndefined: return "undefined value";
    case Kind::kNone: return "none";
    case Kind::kBool: return "boolean";
    case Kind::kInt: return "integer";
    case Kind::kFloat: return "float";
    case Kind::kString: return "string";
    case Kind::kList: return "list";
    case Kind::kDict: return "mapping";
    case Kind::kFunction: return "function";
  }
  return "value";
}

bool Value::Hashable() const {
  return kind_ == Kind::kNone || kind_ == Kind::kBool || is_number() || is_string();
}

StatusOr<bool> PythonLess(const Value& a, const Value& b) {
  const auto numeric = [](const Value& v) {
    return v.is_number() || v.kind() == Value::Kind::kBool;
  };
  const auto number = [](const Value& v) {
    return v.is_number() ? v.number() : v.boolean() ? 1.0 : 0.0;
  };
  if (numeric(a) && numeric(b)) {
    if (a.kind() == Value::Kind::kInt && b.kind() == Value::Kind::kInt)
      return a.integer() < b.integer();
    return number(a) < number(b);
  }
  if (a.is_string() && b.is_string()) return a.string() < b.string();  // UTF-8: code point order
  return InvalidArgumentError("'<' not supported between a ", a.TypeName(), " and a ",
                              b.TypeName());
}

StatusOr<std::string> ToJson(const Value& value, int indent, bool sort_keys) {
  std::string out;
  SIGMA_RETURN_IF_ERROR(AppendJson(value, indent, sort_keys, 0, &out));
  return out;
}

}  // namespace sigma::jinja
