// MATH (Hendrycks et al.) answers as lm-evaluation-harness's hendrycks_math task reads and compares
// them: the last \boxed{...} of a solution, the text between a response's first and last '$', and
// equivalence after the MATH paper's string normalisation (strip_string: \dfrac -> \frac, units,
// degrees, \left/\right, "k = " prefixes, \sqrt3 -> \sqrt{3}, \frac12 -> \frac{1}{2}, 0.5 ->
// \frac{1}{2}, a/b -> \frac{a}{b}, spaces...). Where lm-eval's Python raises inside the
// normalisation (an IndexError on a trailing "\sqrt" or "\frac", a failed assert on two
// "\text{ " units, int() of a non-integer "a/b"), its is_equiv falls back to comparing the raw
// strings; so does IsEquiv. Lengths and positions count characters (code points), as Python's do.
// Checked against lm-eval's own functions: tests/tasks/lm_eval_parity_test.cc.
// Thread safety: pure functions.
#ifndef SIGMA_TASKS_MATH_ANSWER_H_
#define SIGMA_TASKS_MATH_ANSWER_H_

#include <optional>
#include <string>
#include <string_view>

#include "engine/base/status.h"

namespace sigma::tasks::math {

// The last "\boxed{...}" (balanced braces) or "\fbox{...}" of `text`, or "\boxed " and what
// follows the last "\boxed " up to a '$'; nullopt where there is none or its braces never close
// (last_boxed_only_string).
std::optional<std::string> LastBoxed(std::string_view text);

// The inside of a LastBoxed string (remove_boxed); INVALID_ARGUMENT for anything else.
StatusOr<std::string> RemoveBoxed(std::string_view boxed);

// The answer of a solution: RemoveBoxed(LastBoxed(solution)); INVALID_ARGUMENT without one.
StatusOr<std::string> BoxedAnswer(std::string_view solution);

// strip_string; nullopt where lm-eval's raises.
std::optional<std::string> Normalize(std::string_view answer);

// is_equiv: Normalize(a) == Normalize(b), or a == b where either normalisation raises.
bool IsEquiv(std::string_view a, std::string_view b);

// The answer hendrycks_math reads from a response: between its first and last '$' when it has two
// or more, else the whole response.
std::string DollarSpan(std::string_view response);

}  // namespace sigma::tasks::math

#endif  // SIGMA_TASKS_MATH_ANSWER_H_
