// Filters: named pipelines that turn raw model output into the answer a metric compares.
//
// A pipeline is a list of steps applied to the list of responses of one document (usually one):
//   {"type": "regex", "pattern": "#### (-?[0-9.,]+)", "group": 1, "select": "first",
//    "fallback": "[invalid]", "ignore_case": false}
//        group: capture group to keep (default, as lm-eval's regex filter: the whole match when
//        the pattern has no group, the group when it has one, the first non-empty group when it
//        has several, or the fallback when all are empty); select: "first" or "last" match;
//        fallback: the answer when nothing matches (default "[invalid]"). The kept text is
//        stripped of surrounding whitespace.
//   {"type": "remove", "pattern": "[$,]"}      delete every match
//   {"type": "take_first"}                     keep only the first response
//   {"type": "first_line"}, {"type": "strip"}, {"type": "lowercase"}, {"type": "uppercase"}
//   {"type": "map", "values": {"yes": "A"}, "default": "?"}   exact lookup; no default: unchanged
//   {"type": "code_block"}                     contents of the first ``` fenced block, if any
//   {"type": "dollar_span"}                    between the first and last '$' when there are two
//                                              or more, else all (hendrycks_math; math_answer.h)
// Unknown step types and keys are errors naming the key. A pipeline with no steps passes the
// responses through unchanged.
// Thread safety: a const FilterPipeline may be applied from many threads.
#ifndef SIGMA_TASKS_FILTERS_H_
#define SIGMA_TASKS_FILTERS_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "engine/base/status.h"
#include "tasks/regex.h"

namespace sigma::tasks {

inline constexpr const char* kInvalidAnswer = "[invalid]";

struct FilterStep {
  enum class Type {
    kRegex,
    kRemove,
    kTakeFirst,
    kFirstLine,
    kStrip,
    kLowercase,
    kUppercase,
    kMap,
    kCodeBlock,
    kDollarSpan
  };
  Type type = Type::kStrip;
  std::shared_ptr<const Regex> regex;  // kRegex, kRemove
  int group = -1;                      // -1: first non-empty group (or the whole match)
  bool select_last = false;
  std::string fallback = kInvalidAnswer;
  std::map<std::string, std::string> values;  // kMap
  bool has_default = false;
  std::string default_value;
};

class FilterPipeline {
 public:
  FilterPipeline() = default;
  FilterPipeline(std::string name, std::vector<FilterStep> steps)
      : name_(std::move(name)), steps_(std::move(steps)) {}

  // `where` names the pipeline in errors ("gsm8k/config.json: filters[1]").
  static StatusOr<FilterPipeline> FromJson(const rapidjson::Value& value, const std::string& where);

  StatusOr<std::vector<std::string>> Apply(std::vector<std::string> responses) const;

  const std::string& name() const { return name_; }

 private:
  std::string name_;
  std::vector<FilterStep> steps_;
};

// Helpers, exposed for tests and scorers.
std::string StripWhitespace(std::string_view text);
std::string FirstCodeBlock(std::string_view text);  // unchanged text when there is no fence

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_FILTERS_H_
