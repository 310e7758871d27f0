#include "tasks/code/load.h"

#include <charconv>
#include <cstdlib>

#include "engine/base/file.h"
#include "engine/base/sha256.h"
#include "tasks/code/code_task.h"
#include "tasks/code/humaneval.h"
#include "tasks/code/mbpp.h"

namespace sigma::tasks::code {
namespace {

struct Variant {
  std::string_view name;
  CodeBenchmark benchmark;
  PromptMode mode;
};

constexpr Variant kVariants[] = {
    {"humaneval", CodeBenchmark::kHumanEval, PromptMode::kCompletion},
    {"humaneval_chat", CodeBenchmark::kHumanEval, PromptMode::kChat},
    {"mbpp", CodeBenchmark::kMbpp, PromptMode::kCompletion},
    {"mbpp_chat", CodeBenchmark::kMbpp, PromptMode::kChat},
};

const Variant* FindVariant(std::string_view spec) {
  const std::string_view base = spec.substr(0, spec.find(':'));
  for (const Variant& v : kVariants) {
    if (v.name == base) return &v;
  }
  return nullptr;
}

StatusOr<int64_t> ParseNumSamples(std::string_view spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return 1;
  std::string_view arg = spec.substr(colon + 1);
  int64_t n = 0;
  if (arg.substr(0, 2) == "n=") {
    arg.remove_prefix(2);
    auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), n);
    if (ec == std::errc() && end == arg.data() + arg.size() && n >= 1 && n <= 1000) return n;
  }
  return InvalidArgumentError("--tasks ", spec, ": expected <task>:n=N with N in 1..1000");
}

}  // namespace

std::string DefaultCodeDataDir() {
  const char* env = std::getenv("SIGMA_CODE_DATA");
  return env != nullptr && *env != '\0' ? env : SIGMA_CODE_DATA_DIR;
}

const std::vector<std::string>& CodeGroup() {
  static const std::vector<std::string> kGroup = {"humaneval", "mbpp"};
  return kGroup;
}

std::vector<std::string> CodeTaskNames() {
  std::vector<std::string> names;
  for (const Variant& v : kVariants) names.emplace_back(v.name);
  return names;
}

bool IsCodeTaskSpec(std::string_view spec) { return FindVariant(spec) != nullptr; }

StatusOr<std::unique_ptr<EvalTask>> LoadCodeTask(std::string_view spec,
                                                 const std::string& data_dir, Executor* executor) {
  const Variant* v = FindVariant(spec);
  if (v == nullptr) return NotFoundError("--tasks ", spec, ": not a code task");
  CodeTaskOptions options;
  options.mode = v->mode;
  SIGMA_ASSIGN_OR_RETURN(options.num_samples, ParseNumSamples(spec));
  const char* folder = v->benchmark == CodeBenchmark::kHumanEval ? "humaneval" : "mbpp";
  std::string path = data_dir.empty() ? "" : StrCat(data_dir, "/", folder, "/test.jsonl");
  if (path.empty() || !FileExists(path)) {
    path = StrCat(DefaultCodeDataDir(), "/", folder, "/sample.jsonl");
  }
  SIGMA_ASSIGN_OR_RETURN(std::string hash, Sha256File(path));
  std::vector<CodeProblem> problems;
  if (v->benchmark == CodeBenchmark::kHumanEval) {
    SIGMA_ASSIGN_OR_RETURN(problems, LoadHumanEval(path));
  } else {
    SIGMA_ASSIGN_OR_RETURN(problems, LoadMbpp(path));
  }
  return MakeCodeTask(std::string(v->name), v->benchmark, std::move(problems), std::move(hash),
                      executor, std::move(options));
}

}  // namespace sigma::tasks::code
