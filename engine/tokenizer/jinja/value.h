// The values a chat template computes with: Python's None, bool, int, float, str, list and dict
// (insertion-ordered), Jinja's undefined, and callables (macros, builtins); tuples are lists (and
// print as lists). Lists and dicts are shared, so that a namespace() assigned to stays one object;
// templates cannot otherwise mutate them (transformers renders in an immutable sandbox).
// Thread safety: a Value is not shared across threads while one of them renders.
#ifndef SIGMA_ENGINE_TOKENIZER_JINJA_VALUE_H_
#define SIGMA_ENGINE_TOKENIZER_JINJA_VALUE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/status.h"

namespace sigma::jinja {

class Value;
using List = std::vector<Value>;

// Insertion-ordered members, as Python's dict: keys are strings, numbers, booleans or None
// (Value::Hashable), equal as Python's are (1, 1.0 and True are one key).
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  bool is_namespace = false;  // namespace(): members may be assigned with {% set ns.x = ... %}

  const Value* Find(std::string_view key) const;
  const Value* Find(const Value& key) const;
  void Set(std::string key, Value value);
  void Set(Value key, Value value);
};

// A call's arguments: positional, then keyword.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;

  // The argument at `index` or named `name`, or null.
  const Value* Get(size_t index, std::string_view name) const;
};

using Function = std::function<StatusOr<Value>(const Args&)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kFunction };

  Value() = default;  // undefined
  static Value None();
  static Value Bool(bool b);
  static Value Int(int64_t i);
  static Value Float(double d);
  static Value String(std::string s);
  static Value ListOf(List items);
  static Value DictOf(Dict dict);
  static Value FunctionOf(Function fn);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_dict() const { return kind_ == Kind::kDict; }

  bool boolean() const { return b_; }
  int64_t integer() const { return i_; }
  double number() const { return kind_ == Kind::kInt ? static_cast<double>(i_) : f_; }
  const std::string& string() const { return s_; }
  const List& list() const { return *list_; }
  const Dict& dict() const { return *dict_; }
  Dict& mutable_dict() const { return *dict_; }
  const Function& function() const { return *fn_; }

  // Python's truth value (undefined is false).
  bool Truthy() const;
  // str(): what {{ value }} prints. None -> "None", True -> "True", 1.0 -> "1.0", lists and dicts
  // as Python's repr; undefined -> "".
  std::string Str() const;
  // repr(): strings quoted as Python quotes them.
  std::string Repr() const;
  // Python's ==: 1 == 1.0, lists and dicts member by member.
  bool Equals(const Value& other) const;
  // A name for errors: "string", "list", ...
  std::string_view TypeName() const;
  // Whether it may be a dict key: none, a boolean, a number or a string.
  bool Hashable() const;

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

// Python's json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=sort_keys), as
// transformers' tojson filter calls it: separators ", " and ": ", or "," and ": " with an indent
// (indent < 0: none); keys that are not strings as JSON writes them ("1", "true", "null").
// INVALID_ARGUMENT for undefined or a function, or keys of mixed types to sort.
StatusOr<std::string> ToJson(const Value& value, int indent, bool sort_keys);

// Python's a < b for the values sorted() orders: numbers (and booleans) by value, strings by code
// point; INVALID_ARGUMENT for other kinds or a string against a number, as Python raises.
StatusOr<bool> PythonLess(const Value& a, const Value& b);

}  // namespace sigma::jinja

#endif  // SIGMA_ENGINE_TOKENIZER_JINJA_VALUE_H_
