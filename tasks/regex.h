// Regex: a compiled PCRE2 pattern for answer extraction (filters) and exact-match options.
//
// PCRE2 instead of std::regex: libstdc++'s matcher recurses per character and overflows the stack
// on long model outputs. Matching runs with PCRE2_MATCH_INVALID_UTF, so invalid UTF-8 in a model's
// output never fails a match, and with a match limit, so a pathological pattern cannot hang a run
// (that is a Status, not a crash). Syntax: Perl-compatible, UTF-8 aware.
// Ownership: Regex owns its compiled code (move-only). Thread safety: a const Regex may be used
// from many threads (match data is allocated per call).
#ifndef SIGMA_TASKS_REGEX_H_
#define SIGMA_TASKS_REGEX_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace sigma::tasks {

class Regex {
 public:
  // `where` names the pattern's origin in errors ("gsm8k.json: filters[0].steps[0].pattern").
  static StatusOr<Regex> Compile(std::string_view pattern, std::string_view where,
                                 bool ignore_case = false);

  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;
  ~Regex();

  int capture_count() const { return capture_count_; }
  const std::string& pattern() const { return pattern_; }

  // Every non-overlapping match; each entry holds group 0..capture_count() (unset groups empty).
  StatusOr<std::vector<std::vector<std::string>>> FindAll(std::string_view text) const;
  // `text` with every match replaced by `replacement` (literal text).
  StatusOr<std::string> ReplaceAll(std::string_view text, std::string_view replacement) const;

 private:
  struct Code;
  Regex(std::unique_ptr<Code> code, std::string pattern, int capture_count);

  std::unique_ptr<Code> code_;
  std::string pattern_;
  int capture_count_ = 0;
};

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_REGEX_H_
