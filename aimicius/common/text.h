// Text helpers shared by the AIMICIUS scorers: trimming, ASCII case folding, markdown code-fence
// extraction, lenient JSON extraction from model output, and JSONL record loading.
//
// Model output is hostile input: it may be empty, megabytes long, binary, or built to confuse a
// scorer. Every function here is total (returns a value or a Status, never crashes), runs in time
// linear in its input, and looks at no more than kMaxScoredBytes of a model's output (scorers call
// ClipModelOutput first). Nothing here ever interprets model text as instructions.
// Thread safety: free functions, no shared state.
#ifndef SIGMA_AIMICIUS_COMMON_TEXT_H_
#define SIGMA_AIMICIUS_COMMON_TEXT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/base/status.h"

namespace sigma::aimicius {

// Scorers consider at most this many bytes of a model's output (1 MiB); the rest is ignored.
inline constexpr size_t kMaxScoredBytes = size_t{1} << 20;

std::string_view ClipModelOutput(std::string_view text);
std::string_view Trim(std::string_view text);
std::string ToLowerAscii(std::string_view text);
// Splits on ASCII whitespace; no empty pieces.
std::vector<std::string_view> SplitWhitespace(std::string_view text);
// Collapses runs of whitespace to one space and trims.
std::string CollapseWhitespace(std::string_view text);

// One markdown fenced block: a line starting with ``` (or ~~~), an optional info string (the
// language tag, lower-cased, first word only), the body, and a closing fence line. A block left
// open at the end of the text (a truncated output) is returned with terminated = false and the
// body running to the end.
struct CodeBlock {
  std::string lang;
  std::string body;
  bool terminated = true;
};

// Every fenced block in order, at most `max_blocks`.
std::vector<CodeBlock> ExtractCodeBlocks(std::string_view text, size_t max_blocks = 64);

// The first block whose tag is one of `langs`; else the first untagged block; else null.
const CodeBlock* PickCodeBlock(const std::vector<CodeBlock>& blocks,
                               const std::vector<std::string_view>& langs);

// Parses `text` as one JSON value, leniently: RapidJSON's iterative parser (no recursion, so
// nesting depth cannot overflow the stack), with trailing commas and // and /* */ comments
// accepted. Leading/trailing whitespace is allowed; anything else around the value is an error.
StatusOr<std::unique_ptr<rapidjson::Document>> ParseLenientJson(std::string_view text);

// Finds a JSON value of the wanted kind ('{' for objects, '[' for arrays) inside model output:
//   1. the bodies of fenced blocks tagged json (or untagged), in order;
//   2. then balanced {...} / [...] spans of the text, outermost first, in order of position
//      (found in one string-aware linear scan; at most 32 spans are tried).
// The first candidate that ParseLenientJson accepts and that has the wanted kind wins.
// NOT_FOUND when nothing parses.
StatusOr<std::unique_ptr<rapidjson::Document>> ExtractJson(std::string_view text, char kind);

// Reads a JSONL file of objects (blank lines skipped, CRLF and a UTF-8 BOM accepted); a malformed
// line is an error naming path and line. Files over 256 MiB are refused.
StatusOr<std::vector<std::unique_ptr<rapidjson::Document>>> LoadJsonlObjects(
    const std::string& path);
// The same from text in memory; `source` names it in errors.
StatusOr<std::vector<std::unique_ptr<rapidjson::Document>>> ParseJsonlObjects(
    std::string_view text, std::string_view source);

}  // namespace sigma::aimicius

#endif  // SIGMA_AIMICIUS_COMMON_TEXT_H_
