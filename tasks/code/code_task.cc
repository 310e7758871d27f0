#include "tasks/code/code_task.h"

#include <cstdio>
#include <random>
#include <set>

#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "tasks/code/extract.h"
#include "tasks/metrics.h"

namespace sigma::tasks::code {
namespace {

// Bump when prompts, extraction, programs or scoring change.
constexpr char kVersion[] = "code-1";
constexpr char kSentinelPrefix[] = "SIGMA-TESTS-DONE-";
constexpr size_t kDetailBytes = 300;

// 128 random bits as hex: a program cannot print the sentinel without having run the tests
// (short of reading its own source; see README.md, "What a pass means").
std::string FreshSentinel() {
  std::random_device rd;
  std::string s = kSentinelPrefix;
  for (int i = 0; i < 4; ++i) {
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(rd()));
    s += buf;
  }
  return s;
}

// The last non-empty line of a program's stderr (the Python exception), clipped.
std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return "";
  size_t start = text.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  std::string line = text.substr(start, end + 1 - start);
  if (line.size() > kDetailBytes) line.resize(kDetailBytes);
  return line;
}

}  // namespace

std::string_view PromptModeName(PromptMode mode) {
  return mode == PromptMode::kChat ? "chat" : "completion";
}

Limits DefaultCodeLimits() {
  Limits limits;
  limits.wall_ms = 10'000;
  limits.cpu_ms = 10'000;
  limits.memory_mb = 512;
  return limits;
}

std::vector<std::string> StopSequences(CodeBenchmark benchmark, PromptMode mode) {
  if (mode == PromptMode::kChat) return {};
  if (benchmark == CodeBenchmark::kHumanEval) {
    return {"\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"};
  }
  return {"[DONE]"};
}

std::string BuildSolution(CodeBenchmark benchmark, PromptMode mode, const CodeProblem& problem,
                          std::string_view completion) {
  if (benchmark == CodeBenchmark::kHumanEval) {
    if (mode == PromptMode::kCompletion) {
      return problem.header + TruncateAtStop(completion, StopSequences(benchmark, mode));
    }
    std::string code = ExtractPythonCode(completion, problem.entry_point);
    // A whole function keeps the header's imports; anything else is taken as the body.
    if (DefinesFunction(code, problem.entry_point)) return TopLevelImports(problem.header) + code;
    return problem.header + code;
  }
  if (mode == PromptMode::kCompletion) {
    std::string text = TruncateAtStop(completion, StopSequences(benchmark, mode));
    if (ExtractFencedBlocks(text, 1).empty()) return text;
    return ExtractPythonCode(text, problem.entry_point);
  }
  return ExtractPythonCode(completion, problem.entry_point);
}

std::string BuildProgram(const CodeProblem& problem, std::string_view solution,
                         std::string_view sentinel) {
  std::string program;
  program.reserve(problem.setup.size() + solution.size() + problem.tests.size() + 128);
  if (!problem.setup.empty()) program.append(problem.setup).append("\n");
  program.append(solution).append("\n\n");
  program.append(problem.tests).append("\n\n");
  program.append("print(").append(JsonQuote(sentinel)).append(", flush=True)\n");
  return program;
}

StatusOr<CodeRunResult> RunSolution(const CodeProblem& problem, std::string_view solution,
                                    Executor* executor, const CodeTaskOptions& options) {
  if (executor == nullptr) return FailedPreconditionError("code task: no Executor (sandbox)");
  const std::string sentinel = FreshSentinel();
  ExecRequest request;
  request.argv = {options.python, "prog.py"};
  request.files["prog.py"] = BuildProgram(problem, solution, sentinel);
  request.env = {{"PYTHONDONTWRITEBYTECODE", "1"}, {"PYTHONHASHSEED", "0"},
                 {"PYTHONIOENCODING", "utf-8"}, {"OMP_NUM_THREADS", "1"}};
  request.limits = options.limits;
  request.profile = "default";
  SIGMA_ASSIGN_OR_RETURN(ExecResult r, executor->Run(request));
  CodeRunResult out;
  out.verdict = std::string(VerdictName(r.verdict));
  if (r.verdict != Verdict::kOk) {
    out.detail = r.detail.empty() ? LastLine(r.stderr_data) : r.detail;
    if (out.detail.empty()) out.detail = StrCat("exit ", r.exit_code, " signal ", r.term_signal);
    return out;
  }
  if (r.stdout_data.find(sentinel + "\n") == std::string::npos) {
    out.verdict = std::string(VerdictName(Verdict::kRuntimeError));
    out.detail = "exited with status 0 before the tests finished (no completion sentinel)";
    return out;
  }
  out.passed = true;
  return out;
}

namespace {

class CodeTask : public EvalTask {
 public:
  CodeTask(std::string name, CodeBenchmark benchmark, std::vector<CodeProblem> problems,
           std::string data_hash, Executor* executor, CodeTaskOptions options)
      : name_(std::move(name)), benchmark_(benchmark), problems_(std::move(problems)),
        executor_(executor), options_(std::move(options)),
        stop_(StopSequences(benchmark_, options_.mode)) {
    settings_ = BuildSettingsJson();
    hash_ = Sha256Hex(StrCat(name_, "\n", kVersion, "\n", settings_, "\n", data_hash));
  }

  const std::string& name() const override { return name_; }
  std::string version() const override { return StrCat(kVersion, "-", hash_.substr(0, 12)); }
  const std::string& hash() const override { return hash_; }
  std::string SettingsJson() const override { return settings_; }
  size_t size() const override { return problems_.size(); }
  std::string DocId(size_t i) const override { return problems_[i].id; }

  StatusOr<std::string> Prompt(size_t i) const override {
    const CodeProblem& p = problems_[i];
    return options_.mode == PromptMode::kChat ? p.chat_prompt : p.prompt;
  }

  StatusOr<std::vector<Request>> BuildRequests(size_t i) const override {
    const CodeProblem& p = problems_[i];
    Request base;
    base.type = RequestType::kGenerateUntil;
    base.context = options_.mode == PromptMode::kChat ? p.chat_prompt : p.prompt;
    if (options_.mode == PromptMode::kChat) base.chat.push_back({"user", p.chat_prompt});
    base.stop = stop_;
    base.max_tokens = options_.max_tokens;
    std::vector<Request> out(static_cast<size_t>(options_.num_samples), base);
    for (size_t r = 0; r < out.size(); ++r) out[r].repeat = static_cast<int>(r);
    return out;
  }

  StatusOr<SampleScore> Score(size_t i, const std::vector<Response>& responses) const override;
  std::vector<Aggregate> AggregateScores(const std::vector<SampleScore>& samples) const override;

 private:
  std::string BuildSettingsJson() const;

  std::string name_;
  CodeBenchmark benchmark_;
  std::vector<CodeProblem> problems_;
  Executor* executor_;
  CodeTaskOptions options_;
  std::vector<std::string> stop_;
  std::string settings_;
  std::string hash_;
};

std::string CodeTask::BuildSettingsJson() const {
  std::string stops = "[";
  for (size_t i = 0; i < stop_.size(); ++i) {
    if (i > 0) stops += ',';
    stops += JsonQuote(stop_[i]);
  }
  stops += "]";
  return StrCat("{\"mode\":\"", PromptModeName(options_.mode),
                "\",\"num_samples\":", options_.num_samples,
                ",\"max_tokens\":", options_.max_tokens, ",\"stop\":", stops,
                ",\"wall_ms\":", options_.limits.wall_ms, ",\"cpu_ms\":", options_.limits.cpu_ms,
                ",\"memory_mb\":", options_.limits.memory_mb,
                ",\"python\":", JsonQuote(options_.python), ",\"sentinel\":true}");
}

StatusOr<SampleScore> CodeTask::Score(size_t i, const std::vector<Response>& responses) const {
  const CodeProblem& p = problems_[i];
  SampleScore s;
  s.target = p.target;
  const size_t n = static_cast<size_t>(options_.num_samples);
  if (responses.size() != n) {
    s.error = StrCat("expected ", n, " responses, got ", responses.size());
    return s;
  }
  for (const Response& r : responses) {
    if (!r.error.empty()) {
      s.error = "backend: " + r.error;
      return s;
    }
  }
  int64_t passed = 0;
  std::string verdicts;
  for (size_t k = 0; k < n; ++k) {
    const std::string solution = BuildSolution(benchmark_, options_.mode, p, responses[k].text);
    SIGMA_ASSIGN_OR_RETURN(CodeRunResult run, RunSolution(p, solution, executor_, options_));
    if (k == 0) {
      s.verdict = run.verdict;
      s.extracted = solution;
      s.raw_output = responses[0].text;
    } else {
      s.raw_output += StrCat("\n--- sample ", k, " ---\n", responses[k].text);
    }
    passed += run.passed ? 1 : 0;
    verdicts += (k ? "," : "") + run.verdict;
    if (!run.passed && s.extracted_by_filter.count("detail") == 0) {
      s.extracted_by_filter["detail"] = StrCat("sample ", k, ": ", run.detail);
    }
  }
  s.extracted_by_filter["code"] = s.extracted;
  s.extracted_by_filter["verdicts"] = verdicts;
  s.stats["n"] = static_cast<double>(n);
  s.stats["c"] = static_cast<double>(passed);
  for (int64_t k : {int64_t{1}, int64_t{10}}) {
    if (k > options_.num_samples) continue;
    SIGMA_ASSIGN_OR_RETURN(double v, PassAtK(options_.num_samples, passed, k));
    s.metrics[StrCat("pass@", k)] = v;
  }
  return s;
}

std::vector<Aggregate> CodeTask::AggregateScores(const std::vector<SampleScore>& samples) const {
  std::set<std::string> names;
  for (const SampleScore& s : samples) {
    if (s.error.empty()) for (const auto& [k, v] : s.metrics) names.insert(k);
  }
  std::vector<Aggregate> out;
  for (const std::string& metric : names) {
    std::vector<double> values;
    for (const SampleScore& s : samples) {
      auto it = s.metrics.find(metric);
      if (s.error.empty() && it != s.metrics.end()) values.push_back(it->second);
    }
    out.push_back(AggregateMean(metric, values));
  }
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<EvalTask>> MakeCodeTask(std::string name, CodeBenchmark benchmark,
                                                 std::vector<CodeProblem> problems,
                                                 std::string data_hash, Executor* executor,
                                                 CodeTaskOptions options) {
  if (executor == nullptr) return UnavailableError(name, ": needs a sandbox (Executor)");
  if (options.num_samples < 1 || options.num_samples > 1000) {
    return InvalidArgumentError(name, ": num_samples: expected 1..1000, got ", options.num_samples);
  }
  if (options.max_tokens < 1) return InvalidArgumentError(name, ": max_tokens: expected >= 1");
  return std::unique_ptr<EvalTask>(new CodeTask(std::move(name), benchmark, std::move(problems),
                                                std::move(data_hash), executor, std::move(options)));
}

}  // namespace sigma::tasks::code
