#include "tasks/filters.h"

#include <cctype>

#include "engine/base/json.h"
#include "tasks/math_answer.h"
#include "tasks/py_str.h"

namespace sigma::tasks {
namespace {

using Type = FilterStep::Type;

struct TypeName {
  const char* name;
  Type type;
};
constexpr TypeName kTypes[] = {
    {"regex", Type::kRegex},          {"remove", Type::kRemove},
    {"take_first", Type::kTakeFirst}, {"first_line", Type::kFirstLine},
    {"strip", Type::kStrip},          {"lowercase", Type::kLowercase},
    {"uppercase", Type::kUppercase},  {"map", Type::kMap},
    {"code_block", Type::kCodeBlock}, {"dollar_span", Type::kDollarSpan},
};

Status ParseRegexStep(JsonFields& fields, const std::string& where, FilterStep* step) {
  std::string pattern;
  SIGMA_RETURN_IF_ERROR(fields.RequireString("pattern", &pattern));
  bool ignore_case = false;
  SIGMA_RETURN_IF_ERROR(fields.OptionalBool("ignore_case", &ignore_case));
  SIGMA_ASSIGN_OR_RETURN(Regex regex, Regex::Compile(pattern, where + ".pattern", ignore_case));
  step->regex = std::make_shared<const Regex>(std::move(regex));
  if (step->type == Type::kRemove) return Status::Ok();
  int64_t group = -1;
  SIGMA_RETURN_IF_ERROR(fields.OptionalInt("group", &group));
  if (group < -1 || group > step->regex->capture_count()) {
    return InvalidArgumentError(where, ": group: ", group, " is not a group of the pattern (it has ",
                                step->regex->capture_count(), ")");
  }
  step->group = static_cast<int>(group);
  std::string select = "first";
  SIGMA_RETURN_IF_ERROR(fields.OptionalString("select", &select));
  if (select != "first" && select != "last") {
    return InvalidArgumentError(where, ": select: expected \"first\" or \"last\", got \"", select,
                                "\"");
  }
  step->select_last = select == "last";
  return fields.OptionalString("fallback", &step->fallback);
}

Status ParseMapStep(JsonFields& fields, const std::string& where, FilterStep* step) {
  const rapidjson::Value* values = fields.Find("values");
  if (values == nullptr) return InvalidArgumentError(where, ": missing required object 'values'");
  if (!values->IsObject()) return fields.TypeError("values", "an object of strings", *values);
  for (auto it = values->MemberBegin(); it != values->MemberEnd(); ++it) {
    if (!it->value.IsString()) return fields.TypeError("values", "an object of strings", it->value);
    step->values[it->name.GetString()] =
        std::string(it->value.GetString(), it->value.GetStringLength());
  }
  step->has_default = fields.Has("default");
  return fields.OptionalString("default", &step->default_value);
}

StatusOr<FilterStep> ParseStep(const rapidjson::Value& value, const std::string& where) {
  if (!value.IsObject()) {
    return InvalidArgumentError(where, ": expected an object, got ", JsonTypeName(value));
  }
  JsonFields fields(value, where);
  std::string type;
  SIGMA_RETURN_IF_ERROR(fields.RequireString("type", &type));
  FilterStep step;
  bool known = false;
  for (const TypeName& t : kTypes) {
    if (type == t.name) {
      step.type = t.type;
      known = true;
    }
  }
  if (!known) return InvalidArgumentError(where, ": type: unknown filter '", type, "'");
  if (step.type == Type::kRegex || step.type == Type::kRemove) {
    SIGMA_RETURN_IF_ERROR(ParseRegexStep(fields, where, &step));
  } else if (step.type == Type::kMap) {
    SIGMA_RETURN_IF_ERROR(ParseMapStep(fields, where, &step));
  }
  SIGMA_RETURN_IF_ERROR(fields.RejectUnknownKeys());
  return step;
}

StatusOr<std::string> ApplyRegex(const FilterStep& step, const std::string& text) {
  SIGMA_ASSIGN_OR_RETURN(auto matches, step.regex->FindAll(text));
  if (matches.empty()) return step.fallback;
  // lm-eval's RegexFilter on re.findall's items: the match without groups, the group with one,
  // the first non-empty group with several (none: the fallback); stripped as Python strips.
  const std::vector<std::string>& m = step.select_last ? matches.back() : matches.front();
  if (step.group >= 0) return std::string(py::Strip(m[static_cast<size_t>(step.group)]));
  if (m.size() <= 2) return std::string(py::Strip(m.back()));
  for (size_t g = 1; g < m.size(); ++g) {
    if (!m[g].empty()) return std::string(py::Strip(m[g]));
  }
  return step.fallback;
}

StatusOr<std::string> ApplyOne(const FilterStep& step, std::string text) {
  switch (step.type) {
    case Type::kRegex: return ApplyRegex(step, text);
    case Type::kRemove: return step.regex->ReplaceAll(text, "");
    case Type::kFirstLine: return text.substr(0, text.find('\n'));
    case Type::kStrip: return StripWhitespace(text);
    case Type::kLowercase:
    case Type::kUppercase:
      for (char& c : text) {
        const auto u = static_cast<unsigned char>(c);
        c = static_cast<char>(step.type == Type::kLowercase ? std::tolower(u) : std::toupper(u));
      }
      return text;
    case Type::kMap: {
      auto it = step.values.find(text);
      if (it != step.values.end()) return it->second;
      return step.has_default ? step.default_value : text;
    }
    case Type::kCodeBlock: return FirstCodeBlock(text);
    case Type::kDollarSpan: return math::DollarSpan(text);
    case Type::kTakeFirst: return text;
  }
  return text;
}

}  // namespace

std::string StripWhitespace(std::string_view text) {
  const char* kSpace = " \t\r\n\f\v";
  const size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return "";
  const size_t end = text.find_last_not_of(kSpace);
  return std::string(text.substr(begin, end - begin + 1));
}

std::string FirstCodeBlock(std::string_view text) {
  const size_t open = text.find("```");
  if (open == std::string_view::npos) return std::string(text);
  const size_t line_end = text.find('\n', open);
  if (line_end == std::string_view::npos) return std::string(text);
  const size_t close = text.find("```", line_end + 1);
  std::string_view body = text.substr(line_end + 1, close == std::string_view::npos
                                                         ? std::string_view::npos
                                                         : close - line_end - 1);
  return std::string(body);
}

StatusOr<FilterPipeline> FilterPipeline::FromJson(const rapidjson::Value& value,
                                                  const std::string& where) {
  if (!value.IsObject()) {
    return InvalidArgumentError(where, ": expected an object, got ", JsonTypeName(value));
  }
  JsonFields fields(value, where);
  std::string name;
  SIGMA_RETURN_IF_ERROR(fields.RequireString("name", &name));
  if (name.empty() || name.find(',') != std::string::npos) {
    return InvalidArgumentError(where, ": name: must be non-empty and without ','");
  }
  std::vector<FilterStep> steps;
  if (const rapidjson::Value* list = fields.Find("steps")) {
    if (!list->IsArray()) return fields.TypeError("steps", "an array", *list);
    for (rapidjson::SizeType i = 0; i < list->Size(); ++i) {
      SIGMA_ASSIGN_OR_RETURN(FilterStep step,
                             ParseStep((*list)[i], StrCat(where, ".steps[", i, "]")));
      steps.push_back(std::move(step));
    }
  }
  SIGMA_RETURN_IF_ERROR(fields.RejectUnknownKeys());
  return FilterPipeline(std::move(name), std::move(steps));
}

StatusOr<std::vector<std::string>> FilterPipeline::Apply(std::vector<std::string> responses) const {
  for (const FilterStep& step : steps_) {
    if (step.type == Type::kTakeFirst) {
      if (responses.size() > 1) responses.resize(1);
      continue;
    }
    for (std::string& text : responses) {
      SIGMA_ASSIGN_OR_RETURN(text, ApplyOne(step, std::move(text)));
    }
  }
  return responses;
}

}  // namespace sigma::tasks
