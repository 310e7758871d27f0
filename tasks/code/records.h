// Strict reading of the code benchmarks' JSONL files: each non-blank line one JSON object (strict
// parser of tasks/jsonl.h: depth limit, no duplicate keys, valid UTF-8), typed field access, and
// errors that name "<file>:<line>: <field>: expected ...". Nothing is skipped silently.
// Thread safety: free functions, no shared state.
#ifndef SIGMA_TASKS_CODE_RECORDS_H_
#define SIGMA_TASKS_CODE_RECORDS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/base/status.h"

namespace sigma::tasks::code {

// Calls `record(object, where, line)` for every non-blank line of `text` (BOM, CRLF, a missing
// final newline are fine); `where` is "<source>:<line>". Stops at the first error.
using RecordFn = std::function<Status(const rapidjson::Value&, const std::string&, int64_t)>;
Status ForEachRecord(std::string_view text, std::string_view source, const RecordFn& record);
// A dataset file's bytes (at most 1 GiB).
StatusOr<std::string> ReadDataFile(const std::string& path);

// Field accessors: NOT_FOUND-free - a missing or mistyped field is INVALID_ARGUMENT naming it.
StatusOr<std::string> StringField(const rapidjson::Value& obj, const char* name,
                                  const std::string& where, bool allow_empty);
// An id given as a string or an integer (MBPP's task_id is an integer), as text.
StatusOr<std::string> IdField(const rapidjson::Value& obj, const char* name,
                              const std::string& where);
// An array of strings; `optional` = a missing field is an empty list.
StatusOr<std::vector<std::string>> StringListField(const rapidjson::Value& obj, const char* name,
                                                   const std::string& where, bool optional);

// A Python identifier (ASCII letters, digits, '_', not starting with a digit).
bool IsPythonIdentifier(std::string_view s);

}  // namespace sigma::tasks::code

#endif  // SIGMA_TASKS_CODE_RECORDS_H_
