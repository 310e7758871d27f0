// Code extraction for the code benchmarks (HumanEval, MBPP): markdown fences, stop sequences,
// and the small Python-source checks the scorers need (does this text define function f?).
//
// Model output is hostile input: empty, megabytes long, binary, or shaped to confuse a scorer.
// Every function here is total (a value, never a crash), linear in its input, and looks at no more
// than kMaxCodeBytes of it. Nothing here runs or interprets the code; that is the sandbox's job.
// This is tasks/'s own copy of the fence rules (tasks/ sits below aimicius/ and cannot include it).
// Thread safety: free functions, no shared state.
#ifndef SIGMA_TASKS_CODE_EXTRACT_H_
#define SIGMA_TASKS_CODE_EXTRACT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sigma::tasks::code {

// Scorers consider at most this many bytes of a model's output (1 MiB); the rest is ignored.
inline constexpr size_t kMaxCodeBytes = size_t{1} << 20;

// One fenced block: a line starting with ``` or ~~~ (up to 3 spaces of indentation), an optional
// info string (first word, lower-cased = lang), the body, and a closing fence of the same
// character at least as long. A block still open at the end (truncated output) has
// terminated = false and runs to the end of the text.
struct FencedBlock {
  std::string lang;
  std::string body;
  bool terminated = true;
};

// Every fenced block in order, at most `max_blocks`.
std::vector<FencedBlock> ExtractFencedBlocks(std::string_view text, size_t max_blocks = 64);

// The code a chat answer gives for `entry_point` (may be empty = unknown):
//   1. among blocks tagged python/py/python3 or untagged, the first that defines entry_point;
//   2. else the first python-tagged block, else the first untagged block, else the first block;
//   3. no fence at all: the whole text (an unfenced answer), with a trailing "[DONE]" cut.
std::string ExtractPythonCode(std::string_view text, std::string_view entry_point);

// `text` cut before the earliest occurrence of any stop string (empty strings ignored).
std::string TruncateAtStop(std::string_view text, const std::vector<std::string>& stops);

// True when a line of `code` starts (after indentation, optionally "async ") with
// "def <name>(" - a definition of that function at any nesting level.
bool DefinesFunction(std::string_view code, std::string_view name);

// The top-level import lines ("import x", "from x import y") of `code`, joined with newlines.
std::string TopLevelImports(std::string_view code);

// The function name a test line calls first: "assert foo(1) == 2" -> "foo",
// "assert math.isclose(area(2), 4)" -> "area" (the first call that is not a known builtin or
// module function). Empty when none is found.
std::string CalledFunction(std::string_view test_line);

}  // namespace sigma::tasks::code

#endif  // SIGMA_TASKS_CODE_EXTRACT_H_
