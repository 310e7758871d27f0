// Python's str operations that lm-evaluation-harness's task helpers use, on UTF-8 text, for the
// tasks that must build and score exactly as lm-eval does (template pipes, MATH answers,
// acc_norm). Lengths count characters (code points; bytes that do not continue a UTF-8 sequence).
// Thread safety: pure functions.
#ifndef SIGMA_TASKS_PY_STR_H_
#define SIGMA_TASKS_PY_STR_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sigma::tasks::py {

// len(s).
size_t Len(std::string_view s);

// Bytes of the character that starts s (0 for empty s): s[0] in Python.
size_t FirstCharBytes(std::string_view s);

// s.replace(old, with): every non-overlapping occurrence, left to right (old non-empty).
std::string Replace(std::string_view s, std::string_view old, std::string_view with);

// s.split(sep): the pieces between occurrences of sep (sep non-empty); [s] when it is absent.
std::vector<std::string> Split(std::string_view s, std::string_view sep);

// s.strip(): without the characters str.isspace() holds at either end (Unicode White_Space and
// U+001C-U+001F); bytes that are not valid UTF-8 are kept.
std::string_view Strip(std::string_view s);
// s.lstrip() and s.rstrip(): the same at the start or the end only.
std::string_view LStrip(std::string_view s);
std::string_view RStrip(std::string_view s);

}  // namespace sigma::tasks::py

#endif  // SIGMA_TASKS_PY_STR_H_
