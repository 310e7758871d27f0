// Prompt templates: text with {{ field }} substitutions from a document's JSON fields.
//
// Syntax, inside {{ }} (whitespace around parts is ignored):
//   path        question | choices.text | choices[0] | meta.tags[2].name
//   pipes       {{ path | pipe | pipe:arg }}, applied left to right:
//     lower, upper, capitalize (Python's: first character upper, the rest lower; ASCII letters
//     only), strip, lstrip (Python's: Unicode whitespace; lstrip at the start only), first_line,
//     humanize ("_" -> " "),
//     hellaswag_clean (lm-eval's HellaSwag preprocess of WikiHow's "[title]", "[step]" marks)
//     after:SEP   text after the LAST SEP (unchanged when SEP is absent)   {{answer | after:####}}
//     after_first:SEP   text after the FIRST SEP
//     before:SEP  text before the FIRST SEP
//     before_last:SEP   text before the LAST SEP                        {{text | before_last: }}
//     remove:TEXT every occurrence of TEXT deleted (Python's replace(TEXT, ""))
//     letter      integer n -> "A" + n                                      {{answer | letter}}
//     lettered    list -> "A. x\nB. y\n..."                                 {{choices | lettered}}
//     join:SEP    list -> items joined by SEP (default "\n")
//     boxed       a MATH solution -> the inside of its last \boxed{...} (math_answer.h); an
//                 error where it has none
//   Text pipes map over every item of a list. An argument runs to the next "|" or "}}", spaces
//   included ("{{text | after: }}" splits at a space).
// Values: strings as is, integers in decimal, other numbers shortest round-trip, booleans
// "true"/"false", null "". A list (JSON array of scalars) must be joined before it is text. A
// missing field or index is an error naming it. There is no escape for a literal "{{".
// Thread safety: a const Template may render from many threads.
#ifndef SIGMA_TASKS_TEMPLATE_H_
#define SIGMA_TASKS_TEMPLATE_H_

#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/base/status.h"

namespace sigma::tasks {

class Template {
 public:
  Template() = default;
  // `where` names the template's origin in errors ("mmlu/config.json: prompt.template").
  static StatusOr<Template> Parse(std::string_view text, std::string_view where);

  StatusOr<std::string> Render(const rapidjson::Value& doc) const;
  // Text pipes ("strip | hellaswag_clean", the syntax after a field's first "|") that Render
  // applies to the whole rendered text (RenderList: to each item).
  Status SetWholePipes(std::string_view pipes);
  // For a template that is exactly one {{ ... }} whose value is a list: the items. A template
  // whose value is text gives a one-item list.
  StatusOr<std::vector<std::string>> RenderList(const rapidjson::Value& doc) const;

  bool empty() const { return segments_.empty(); }
  const std::string& text() const { return text_; }

 private:
  struct PathStep {
    std::string key;  // object member, or empty for an index
    int64_t index = -1;
  };
  struct Pipe {
    std::string name;
    std::string arg;
  };
  struct Segment {
    bool is_field = false;
    std::string literal;
    std::string path_text;
    std::vector<PathStep> path;
    std::vector<Pipe> pipes;
  };
  struct Value;

  static Status ParseField(std::string_view body, std::string_view where, Segment* out);
  StatusOr<Value> Evaluate(const Segment& segment, const rapidjson::Value& doc) const;
  Status ApplyPipes(const Segment& segment, Value* value) const;

  std::string text_;
  std::string where_;
  std::vector<Segment> segments_;
  std::vector<Pipe> whole_pipes_;
};

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_TEMPLATE_H_
