#include "tasks/code/mbpp.h"

#include "tasks/code/extract.h"
#include "tasks/code/records.h"

namespace sigma::tasks::code {
namespace {

constexpr char kChatSuffix[] =
    "\n\nWrite the complete solution (imports included) in a single ```python code block.";

StatusOr<CodeProblem> ParseRecord(const rapidjson::Value& obj, const std::string& where,
                                  int64_t line) {
  CodeProblem p;
  p.line = line;
  SIGMA_ASSIGN_OR_RETURN(p.id, IdField(obj, "task_id", where));
  SIGMA_ASSIGN_OR_RETURN(std::string text, StringField(obj, "text", where, false));
  SIGMA_ASSIGN_OR_RETURN(std::string code, StringField(obj, "code", where, false));
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> tests,
                         StringListField(obj, "test_list", where, false));
  if (tests.empty()) return InvalidArgumentError(where, ": test_list: expected at least one test");
  for (size_t i = 0; i < tests.size(); ++i) {
    if (tests[i].find_first_not_of(" \t\r\n") == std::string::npos) {
      return InvalidArgumentError(where, ": test_list[", i, "]: empty test");
    }
  }
  std::string setup;
  if (obj.HasMember("test_setup_code")) {
    SIGMA_ASSIGN_OR_RETURN(setup, StringField(obj, "test_setup_code", where, true));
  }
  SIGMA_RETURN_IF_ERROR(StringListField(obj, "challenge_test_list", where, true).status());
  p.entry_point = CalledFunction(tests[0]);
  const std::string instruction = MbppInstruction(text, tests);
  p.prompt = instruction + "\n[BEGIN]\n";
  p.chat_prompt = instruction + kChatSuffix;
  p.setup = std::move(setup);
  for (const std::string& t : tests) p.tests += t + "\n";
  p.canonical = code;
  p.target = std::move(code);
  return p;
}

}  // namespace

std::string MbppInstruction(std::string_view text, const std::vector<std::string>& tests) {
  std::string out = StrCat("You are an expert Python programmer, and here is your task: ", text,
                           " Your code should pass these tests:\n\n");
  for (size_t i = 0; i < tests.size(); ++i) out += (i ? "\n" : "") + tests[i];
  return out;
}

StatusOr<std::vector<CodeProblem>> ParseMbpp(std::string_view text, std::string_view source) {
  return ParseUniqueRecords<CodeProblem>(text, source, "task_id", ParseRecord);
}

StatusOr<std::vector<CodeProblem>> LoadMbpp(const std::string& path) {
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadDataFile(path));
  return ParseMbpp(text, path);
}

}  // namespace sigma::tasks::code
