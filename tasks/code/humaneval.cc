#include "tasks/code/humaneval.h"

#include "tasks/code/extract.h"
#include "tasks/code/records.h"

namespace sigma::tasks::code {
namespace {

StatusOr<CodeProblem> ParseRecord(const rapidjson::Value& obj, const std::string& where,
                                  int64_t line) {
  CodeProblem p;
  p.line = line;
  SIGMA_ASSIGN_OR_RETURN(p.id, IdField(obj, "task_id", where));
  SIGMA_ASSIGN_OR_RETURN(std::string prompt, StringField(obj, "prompt", where, false));
  SIGMA_ASSIGN_OR_RETURN(std::string solution,
                         StringField(obj, "canonical_solution", where, false));
  SIGMA_ASSIGN_OR_RETURN(std::string test, StringField(obj, "test", where, false));
  SIGMA_ASSIGN_OR_RETURN(p.entry_point, StringField(obj, "entry_point", where, false));
  if (!IsPythonIdentifier(p.entry_point)) {
    return InvalidArgumentError(where, ": entry_point: expected a Python identifier, got \"",
                                p.entry_point.substr(0, 64), "\"");
  }
  if (!DefinesFunction(prompt, p.entry_point)) {
    return InvalidArgumentError(where, ": prompt: does not define entry_point ", p.entry_point);
  }
  if (!DefinesFunction(test, "check")) {
    return InvalidArgumentError(where, ": test: does not define check(candidate)");
  }
  p.prompt = prompt;
  p.chat_prompt = HumanEvalChatPrompt(prompt);
  p.header = prompt;
  p.tests = StrCat(test, "\n\ncheck(", p.entry_point, ")\n");
  p.canonical = prompt + solution;
  p.target = std::move(solution);
  return p;
}

}  // namespace

std::string HumanEvalChatPrompt(std::string_view prompt) {
  std::string body(prompt);
  if (!body.empty() && body.back() != '\n') body.push_back('\n');
  return StrCat(
      "Complete the following Python function so that it does what its docstring says. "
      "Reply with the complete function, signature included, in a single ```python code block.\n\n"
      "```python\n",
      body, "```\n");
}

StatusOr<std::vector<CodeProblem>> ParseHumanEval(std::string_view text, std::string_view source) {
  return ParseUniqueRecords<CodeProblem>(text, source, "task_id", ParseRecord);
}

StatusOr<std::vector<CodeProblem>> LoadHumanEval(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadDataFile(path));
  return ParseHumanEval(text, path);
}

}  // namespace sigma::tasks::code
