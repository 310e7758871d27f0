// Strict reading of the code benchmarks' JSONL files: each non-blank line one JSON object (strict
// parser of tasks/jsonl.h: depth limit, no duplicate keys, valid UTF-8), typed field access, and
// errors that name "<file>:<line>: <field>: expected ...". Nothing is skipped silently.
// Thread safety: free functions, no shared state.
#ifndef SIGMA_TASKS_CODE_RECORDS_H_
#define SIGMA_TASKS_CODE_RECORDS_H_

#include <cstdint>
#include <functional>
#include <set>
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

// Every record of `text` through `parse(object, where, line)` -> StatusOr<T>, in file order; a
// second record with a T::id already seen, or a file without records, is INVALID_ARGUMENT
// naming `id_field` or `source`.
template <class T, class Parse>
StatusOr<std::vector<T>> ParseUniqueRecords(std::string_view text, std::string_view source,
                                            const char* id_field, Parse parse) {
  std::vector<T> records;
  std::set<std::string> ids;
  SIGMA_RETURN_IF_ERROR(ForEachRecord(
      text, source, [&](const rapidjson::Value& obj, const std::string& where, int64_t line) {
        SIGMA_ASSIGN_OR_RETURN(T record, parse(obj, where, line));
        if (!ids.insert(record.id).second) {
          return InvalidArgumentError(where, ": ", id_field, ": duplicate \"", record.id, "\"");
        }
        records.push_back(std::move(record));
        return Status::Ok();
      }));
  if (records.empty()) return InvalidArgumentError(source, ": no problems");
  return records;
}

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
