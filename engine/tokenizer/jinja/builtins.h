// The filters, tests, methods and global functions a chat template may call (jinja.h).
//   filters: abs, capitalize, count, d, default, first, float, indent, int, items, join, last,
//     length, list, lower, map, reject, rejectattr, replace, reverse, safe, select, selectattr,
//     string, title, tojson (transformers': json.dumps with ensure_ascii false), trim, unique,
//     upper
//   tests: boolean, callable, defined, divisibleby, eq / equalto / ==, even, false, float, ge,
//     gt, in, integer, iterable, le, lower, lt, mapping, ne, none, number, odd, sameas,
//     sequence, string, true, undefined, upper
//   methods: strings' strip, lstrip, rstrip, split, startswith, endswith, upper, lower, title,
//     capitalize, replace, find, count; dicts' get, items, keys, values
//   globals: range, namespace, dict, raise_exception
#ifndef SIGMA_ENGINE_TOKENIZER_JINJA_BUILTINS_H_
#define SIGMA_ENGINE_TOKENIZER_JINJA_BUILTINS_H_

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/tokenizer/jinja/value.h"

namespace sigma::jinja {

// Applies filter `name` to `value`; `apply` runs another filter by name (map's, select's).
StatusOr<Value> ApplyFilter(std::string_view name, const Value& value, const Args& args);

// Whether `value` passes test `name`.
StatusOr<bool> ApplyTest(std::string_view name, const Value& value, const Args& args);

// value.name for a string or a dict method, as a function bound to `value`; undefined if `value`
// has no such method.
Value BoundMethod(const Value& value, std::string_view name);

// The global functions, for a render's outermost scope.
Dict Globals();

// Byte offsets of each UTF-8 code point's start in `s`, then s.size(): Python indexes and slices
// strings by code point.
std::vector<size_t> CodePointStarts(const std::string& s);

// Python's len() of a string (code points), list or dict.
StatusOr<int64_t> Length(const Value& value);

// The items a for loop or a filter walks: a list's items, a dict's keys, a string's characters.
StatusOr<List> Iterate(const Value& value);

}  // namespace sigma::jinja

#endif  // SIGMA_ENGINE_TOKENIZER_JINJA_BUILTINS_H_
