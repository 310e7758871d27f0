// Strict JSON and JSONL reading for task configs and datasets (reference/reliability.md §4.3).
//
// RapidJSON's defaults are unsafe for files we did not write: the recursive parser overflows the
// stack on deep nesting, duplicate keys are accepted silently, invalid UTF-8 passes. ParseJsonStrict
// runs a depth-limited SAX pass that also rejects duplicate keys, then an iterative, UTF-8
// validating DOM parse. LoadJsonl reads a dataset line by line (BOM on line 1, CRLF, blank lines
// and a missing final newline are fine); a malformed line is an error naming the file and line,
// never skipped.
// Thread safety: free functions, no shared state.
#ifndef SIGMA_TASKS_JSONL_H_
#define SIGMA_TASKS_JSONL_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/base/status.h"
#include "tasks/types.h"

namespace sigma::tasks {

struct JsonLimits {
  size_t max_depth = 64;
  size_t max_line_bytes = size_t{64} << 20;  // one JSONL line, or a whole config
  size_t max_file_bytes = size_t{1} << 30;
};

// `source` prefixes errors ("arc.json", "test.jsonl:12").
StatusOr<std::unique_ptr<rapidjson::Document>> ParseJsonStrict(std::string_view text,
                                                               std::string_view source,
                                                               const JsonLimits& limits = {});

// Every non-blank line must be a JSON object. Document ids come from `id_field` (a string or
// integer field; ids must be unique) or, when it is empty, from the 0-based record index.
StatusOr<std::vector<Document>> LoadJsonl(const std::string& path, const std::string& id_field,
                                          const JsonLimits& limits = {});
// Same, from text in memory; `source` names it in errors.
StatusOr<std::vector<Document>> ParseJsonl(std::string_view text, std::string_view source,
                                           const std::string& id_field,
                                           const JsonLimits& limits = {});

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_JSONL_H_
