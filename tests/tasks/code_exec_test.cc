// Code benchmarks through the real bubblewrap sandbox (harness/sandbox, no mocks): every sample-set
// canonical solution passes and a wrong one fails; pass@k from scored samples; hostile
// completions (infinite loop, early exit 0, os._exit, forged sentinel, killing the parent, file
// writes, output floods) never pass. Skipped where the sandbox cannot start on this machine.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/sandbox/bwrap_sandbox.h"
#include "tasks/code/code_task.h"
#include "tasks/code/humaneval.h"
#include "tasks/code/load.h"
#include "tasks/code/mbpp.h"
#include "tests/tasks/test_util.h"

namespace sigma::tasks::code {
namespace {

using ::testing::HasSubstr;

const std::string kHumanEvalSample = SIGMA_SOURCE_DIR "/tasks/code/data/humaneval/sample.jsonl";
const std::string kMbppSample = SIGMA_SOURCE_DIR "/tasks/code/data/mbpp/sample.jsonl";

class CodeExecTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto s = sandbox::BwrapSandbox::Create();
    if (s.ok()) {
      sandbox_ = std::move(*s).release();
    } else {
      skip_reason_ = new std::string(s.status().ToString());
    }
  }
  void SetUp() override {
    if (sandbox_ == nullptr) GTEST_SKIP() << "sandbox unavailable: " << *skip_reason_;
  }
  // The first sample-set problem of HumanEval (count_vowels).
  static CodeProblem Vowels() {
    auto ps = LoadHumanEval(kHumanEvalSample);
    EXPECT_TRUE(ps.ok());
    return (*ps)[0];
  }
  static CodeRunResult RunCompletion(const CodeProblem& p, const std::string& completion,
                                     int64_t wall_ms = 10'000) {
    CodeTaskOptions options;
    options.limits.wall_ms = wall_ms;
    options.limits.cpu_ms = wall_ms;
    const std::string solution =
        BuildSolution(CodeBenchmark::kHumanEval, PromptMode::kCompletion, p, completion);
    auto r = RunSolution(p, solution, sandbox_, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CodeRunResult{};
  }
  static sandbox::BwrapSandbox* sandbox_;
  static std::string* skip_reason_;
};

sandbox::BwrapSandbox* CodeExecTest::sandbox_ = nullptr;
std::string* CodeExecTest::skip_reason_ = nullptr;

const char kVowelsBody[] = "    return sum(1 for ch in word.lower() if ch in \"aeiou\")\n";

TEST_F(CodeExecTest, EveryHumanEvalCanonicalPassesAndAWrongSolutionFails) {
  auto ps = LoadHumanEval(kHumanEvalSample);
  ASSERT_TRUE(ps.ok()) << ps.status().ToString();
  for (const CodeProblem& p : *ps) {
    auto good = RunSolution(p, p.canonical, sandbox_, {});
    ASSERT_TRUE(good.ok()) << good.status().ToString();
    EXPECT_TRUE(good->passed) << p.id << ": " << good->verdict << " " << good->detail;
    auto bad = RunSolution(p, p.header + "    return None\n", sandbox_, {});
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(bad->passed) << p.id;
    EXPECT_EQ(bad->verdict, "RUNTIME_ERROR") << p.id;
  }
}

TEST_F(CodeExecTest, EveryMbppCanonicalPassesAndAWrongSolutionFails) {
  auto ps = LoadMbpp(kMbppSample);
  ASSERT_TRUE(ps.ok()) << ps.status().ToString();
  for (const CodeProblem& p : *ps) {
    auto good = RunSolution(p, p.canonical, sandbox_, {});
    ASSERT_TRUE(good.ok()) << good.status().ToString();
    EXPECT_TRUE(good->passed) << p.id << ": " << good->verdict << " " << good->detail;
    const std::string wrong = "def " + p.entry_point + "(*args, **kwargs):\n    return None\n";
    auto bad = RunSolution(p, wrong, sandbox_, {});
    ASSERT_TRUE(bad.ok());
    EXPECT_FALSE(bad->passed) << p.id;
  }
}

TEST_F(CodeExecTest, CorrectAndWrongCompletions) {
  const CodeProblem p = Vowels();
  CodeRunResult ok = RunCompletion(p, std::string(kVowelsBody) + "\n\ndef unrelated():\n    x");
  EXPECT_TRUE(ok.passed) << ok.verdict << " " << ok.detail;
  EXPECT_EQ(ok.verdict, "OK");
  CodeRunResult wrong = RunCompletion(p, "    return len(word)\n");
  EXPECT_FALSE(wrong.passed);
  EXPECT_EQ(wrong.verdict, "RUNTIME_ERROR");
  EXPECT_THAT(wrong.detail, HasSubstr("AssertionError"));
  CodeRunResult syntax = RunCompletion(p, "    return (((\n");
  EXPECT_FALSE(syntax.passed);
  EXPECT_THAT(syntax.detail, HasSubstr("SyntaxError"));
  CodeRunResult empty = RunCompletion(p, "");
  EXPECT_FALSE(empty.passed);
}

TEST_F(CodeExecTest, InfiniteLoopIsATimeout) {
  CodeRunResult r = RunCompletion(Vowels(), "    while True:\n        pass\n", 1500);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.verdict, "TIMEOUT");
}

TEST_F(CodeExecTest, EarlyExitZeroDoesNotPass) {
  const CodeProblem p = Vowels();
  for (const std::string& body : {
           std::string("    return 0\nimport sys\nsys.exit(0)\n"),
           std::string("    return 0\nimport os\nos._exit(0)\n"),
           std::string("    return 0\nraise SystemExit\n"),
           std::string("    return 0\nimport os, sys\n"
                       "sys.stdout.write('SIGMA-TESTS-DONE-00000000000000000000000000000000\\n')\n"
                       "sys.stdout.flush()\nos._exit(0)\n"),
           // The tests run but the program hides their failure by exiting 0 at exit.
           std::string("    return 0\nimport atexit, os\natexit.register(lambda: os._exit(0))\n"),
       }) {
    CodeRunResult r = RunCompletion(p, body);
    EXPECT_FALSE(r.passed) << body;
    EXPECT_EQ(r.verdict, "RUNTIME_ERROR") << body;
    EXPECT_THAT(r.detail, HasSubstr("sentinel")) << body;  // it exited 0: only the sentinel tells
  }
}

TEST_F(CodeExecTest, KillingTheParentOrFloodingDoesNotPassAndTheSandboxSurvives) {
  const CodeProblem p = Vowels();
  for (const std::string& body : {
           std::string("    return 0\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"),
           std::string("    return 0\nimport os, signal\nos.killpg(0, signal.SIGKILL)\n"),
           std::string("    return 0\nimport sys\nsys.stdout.write('x' * (8 << 20))\n"),
           std::string("    return 0\nimport os\nos.fork()\n"),
       }) {
    CodeRunResult r = RunCompletion(p, body, 3000);
    EXPECT_FALSE(r.passed) << body << " -> " << r.verdict;
  }
  CodeRunResult after = RunCompletion(p, kVowelsBody);
  EXPECT_TRUE(after.passed) << after.verdict << " " << after.detail;
}

TEST_F(CodeExecTest, FileWritesStayInTheSandbox) {
  const std::string host_file = "/tmp/sigma_code_exec_escape_" + std::to_string(getpid());
  std::filesystem::remove(host_file);
  const std::string body = std::string(kVowelsBody) +
                           "import os\n"
                           "open('scratch.txt', 'w').write('ok')\n"
                           "for path in ['" + host_file + "', '/etc/sigma_escape']:\n"
                           "    try:\n"
                           "        open(path, 'w').write('escaped')\n"
                           "    except OSError:\n"
                           "        pass\n";
  CodeRunResult r = RunCompletion(Vowels(), body);
  EXPECT_TRUE(r.passed) << r.verdict << " " << r.detail;  // writing its own work dir is fine
  EXPECT_FALSE(std::filesystem::exists(host_file));
  EXPECT_FALSE(std::filesystem::exists("/etc/sigma_escape"));
}

// n = 10 generations, 3 correct: pass@1 = 3/10, pass@10 = 1; n = 12, c = 2: pass@10 =
// 1 - C(10,10)/C(12,10) = 65/66.
TEST_F(CodeExecTest, PassAtKFromScoredSamples) {
  auto ps = LoadHumanEval(kHumanEvalSample);
  ASSERT_TRUE(ps.ok());
  std::vector<CodeProblem> one = {(*ps)[0]};
  for (auto [n, c, pass1, pass10] : {std::tuple{10, 3, 0.3, 1.0},
                                     std::tuple{12, 2, 2.0 / 12.0, 65.0 / 66.0},
                                     std::tuple{10, 0, 0.0, 0.0}}) {
    CodeTaskOptions options;
    options.num_samples = n;
    auto task = MakeCodeTask("humaneval", CodeBenchmark::kHumanEval, one, "h", sandbox_, options);
    ASSERT_TRUE(task.ok());
    std::vector<Response> rs(n);
    for (int k = 0; k < n; ++k) rs[k].text = k < c ? kVowelsBody : "    return -1\n";
    auto s = (*task)->Score(0, rs);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(s->error.empty()) << s->error;
    EXPECT_NEAR(s->metrics.at("pass@1"), pass1, 1e-12);
    EXPECT_NEAR(s->metrics.at("pass@10"), pass10, 1e-12);
    EXPECT_EQ(s->stats.at("n"), n);
    EXPECT_EQ(s->stats.at("c"), c);
    EXPECT_EQ(s->verdict, c > 0 ? "OK" : "RUNTIME_ERROR");
    EXPECT_THAT(s->extracted_by_filter.at("verdicts"), HasSubstr(c > 0 ? "OK," : "RUNTIME_ERROR"));
  }
}

TEST_F(CodeExecTest, ScoreAndAggregateThroughTheLoadedTask) {
  auto task = LoadCodeTask("mbpp", "", sandbox_);
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  auto ps = LoadMbpp(kMbppSample);
  ASSERT_TRUE(ps.ok());
  std::vector<SampleScore> samples;
  for (size_t i = 0; i < 3; ++i) {
    // Doc 0: the canonical code then [DONE]; doc 1: wrong; doc 2: a backend error.
    Response r;
    if (i == 0) r.text = (*ps)[0].canonical + "\n[DONE]\nmore text";
    if (i == 1) r.text = "def " + (*ps)[1].entry_point + "(s):\n    return -1\n";
    if (i == 2) r.error = "engine failed";
    auto s = (*task)->Score(i, {r});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    samples.push_back(*s);
  }
  EXPECT_EQ(samples[0].metrics.at("pass@1"), 1);
  EXPECT_EQ(samples[0].verdict, "OK");
  EXPECT_EQ(samples[0].extracted, (*ps)[0].canonical + "\n");
  EXPECT_EQ(samples[1].metrics.at("pass@1"), 0);
  EXPECT_THAT(samples[1].extracted_by_filter.at("detail"), HasSubstr("AssertionError"));
  EXPECT_THAT(samples[2].error, HasSubstr("engine failed"));
  EXPECT_EQ(samples[0].metrics.count("pass@10"), 0u);
  auto aggs = (*task)->AggregateScores(samples);
  ASSERT_EQ(aggs.size(), 1u);
  EXPECT_EQ(aggs[0].metric, "pass@1");
  EXPECT_EQ(aggs[0].n, 2);
  EXPECT_DOUBLE_EQ(aggs[0].value, 0.5);
  EXPECT_NEAR(aggs[0].stderr_value, std::sqrt(0.5) / std::sqrt(2.0), 1e-12);
}

TEST_F(CodeExecTest, DataDirWithTestJsonlIsUsed) {
  TaskDir dir;
  dir.Write("humaneval/test.jsonl",
            R"({"task_id":"Full/0","prompt":"def one():\n    \"\"\"Return 1.\"\"\"\n",)"
            R"("canonical_solution":"    return 1\n","test":"def check(f):\n    assert f() == 1\n",)"
            R"("entry_point":"one"})"
            "\n");
  auto task = LoadCodeTask("humaneval", dir.path(), sandbox_);
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  ASSERT_EQ((*task)->size(), 1u);
  EXPECT_EQ((*task)->DocId(0), "Full/0");
  Response r;
  r.text = "    return 1\n";
  auto s = (*task)->Score(0, {r});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->metrics.at("pass@1"), 1);
  // A folder without the benchmark falls back to the sample set.
  auto fallback = LoadCodeTask("mbpp", dir.path(), sandbox_);
  ASSERT_TRUE(fallback.ok());
  EXPECT_GE((*fallback)->size(), 10u);
}

}  // namespace
}  // namespace sigma::tasks::code
