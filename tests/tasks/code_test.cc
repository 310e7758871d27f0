// Code benchmarks (tasks/code): loaders (valid and malformed records), prompts, requests, code
// extraction from hostile model output, and solution building. Execution tests are in
// code_exec_test.cc (real sandbox).
#include <chrono>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tasks/code/code_task.h"
#include "tasks/code/extract.h"
#include "tasks/code/humaneval.h"
#include "tasks/code/load.h"
#include "tasks/code/mbpp.h"

namespace sigma::tasks::code {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kHumanEvalSample = SIGMA_SOURCE_DIR "/tasks/code/data/humaneval/sample.jsonl";
const std::string kMbppSample = SIGMA_SOURCE_DIR "/tasks/code/data/mbpp/sample.jsonl";

// One valid HumanEval-layout record (our own toy problem).
const char kHeLine[] =
    R"({"task_id":"T/0","prompt":"import math\n\ndef twice(x):\n    \"\"\"Double x.\"\"\"\n",)"
    R"("canonical_solution":"    return 2 * x\n","test":"def check(candidate):\n    assert candidate(2) == 4\n",)"
    R"("entry_point":"twice"})";
const char kMbppLine[] =
    R"({"task_id":7,"text":"Write a function to add one.","code":"def add_one(x):\n    return x + 1",)"
    R"("test_list":["assert add_one(1) == 2","assert add_one(-1) == 0"],"test_setup_code":"",)"
    R"("challenge_test_list":[]})";

// ---- loaders ------------------------------------------------------------------------------

TEST(CodeLoaderTest, SampleSetsLoad) {
  auto he = LoadHumanEval(kHumanEvalSample);
  ASSERT_TRUE(he.ok()) << he.status().ToString();
  EXPECT_GE(he->size(), 10u);
  EXPECT_LE(he->size(), 20u);
  auto mbpp = LoadMbpp(kMbppSample);
  ASSERT_TRUE(mbpp.ok()) << mbpp.status().ToString();
  EXPECT_GE(mbpp->size(), 10u);
  EXPECT_LE(mbpp->size(), 20u);
  for (const CodeProblem& p : *mbpp) EXPECT_FALSE(p.entry_point.empty()) << p.id;
}

TEST(CodeLoaderTest, HumanEvalValidRecord) {
  auto ps = ParseHumanEval(std::string("\n") + kHeLine + "\r\n\n", "he.jsonl");
  ASSERT_TRUE(ps.ok()) << ps.status().ToString();
  ASSERT_EQ(ps->size(), 1u);
  const CodeProblem& p = (*ps)[0];
  EXPECT_EQ(p.id, "T/0");
  EXPECT_EQ(p.line, 2);
  EXPECT_EQ(p.entry_point, "twice");
  EXPECT_EQ(p.prompt, "import math\n\ndef twice(x):\n    \"\"\"Double x.\"\"\"\n");
  EXPECT_EQ(p.canonical, p.prompt + "    return 2 * x\n");
  EXPECT_THAT(p.tests, HasSubstr("\ncheck(twice)\n"));
}

void ExpectError(const StatusOr<std::vector<CodeProblem>>& r, const std::string& a,
                 const std::string& b) {
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().ToString(), HasSubstr(a));
  EXPECT_THAT(r.status().ToString(), HasSubstr(b));
}

TEST(CodeLoaderTest, HumanEvalMalformedLinesNameFileAndLine) {
  const std::string good = std::string(kHeLine) + "\n";
  ExpectError(ParseHumanEval(good + "{not json\n", "he.jsonl"), "he.jsonl:2", "");
  ExpectError(ParseHumanEval(good + "[1,2]\n", "he.jsonl"), "he.jsonl:2", "object");
  ExpectError(ParseHumanEval(good + good, "he.jsonl"), "he.jsonl:2", "duplicate");
  std::string no_entry = kHeLine;
  no_entry.replace(no_entry.find(R"(,"entry_point":"twice")"), 22, "");
  ExpectError(ParseHumanEval(no_entry, "he.jsonl"), "he.jsonl:1", "entry_point: missing");
  std::string bad_entry = kHeLine;
  bad_entry.replace(bad_entry.find("\"twice\"}"), 7, "\"thrice\"");
  ExpectError(ParseHumanEval(bad_entry, "he.jsonl"), "he.jsonl:1", "does not define");
  std::string ident = kHeLine;
  ident.replace(ident.find("\"twice\"}"), 7, "\"a b\"");
  ExpectError(ParseHumanEval(ident, "he.jsonl"), "he.jsonl:1", "identifier");
  std::string num_prompt = kHeLine;
  num_prompt.replace(num_prompt.find("\"prompt\":"), 9, "\"prompt\":5,\"x\":");
  ExpectError(ParseHumanEval(num_prompt, "he.jsonl"), "he.jsonl:1", "prompt: expected a string");
  ExpectError(ParseHumanEval("\n\n", "empty.jsonl"), "empty.jsonl", "no problems");
  ExpectError(ParseHumanEval(R"({"a":1,"a":2})", "dup.jsonl"), "dup.jsonl:1", "");
  auto missing = LoadHumanEval("/nonexistent/he.jsonl");
  EXPECT_FALSE(missing.ok());
}

TEST(CodeLoaderTest, MbppValidAndMalformed) {
  auto ps = ParseMbpp(kMbppLine, "m.jsonl");
  ASSERT_TRUE(ps.ok()) << ps.status().ToString();
  ASSERT_EQ(ps->size(), 1u);
  EXPECT_EQ((*ps)[0].id, "7");
  EXPECT_EQ((*ps)[0].entry_point, "add_one");
  EXPECT_EQ((*ps)[0].tests, "assert add_one(1) == 2\nassert add_one(-1) == 0\n");
  std::string s = kMbppLine;
  std::string not_list = s;
  not_list.replace(not_list.find("[\"assert add_one(1) == 2\",\"assert add_one(-1) == 0\"]"), 52,
                   "\"assert add_one(1) == 2\"");
  ExpectError(ParseMbpp(not_list, "m.jsonl"), "m.jsonl:1", "test_list: expected an array");
  std::string empty_list = s;
  empty_list.replace(empty_list.find("[\"assert add_one(1) == 2\",\"assert add_one(-1) == 0\"]"),
                     52, "[]");
  ExpectError(ParseMbpp(empty_list, "m.jsonl"), "m.jsonl:1", "at least one test");
  std::string bad_item = s;
  bad_item.replace(bad_item.find("\"assert add_one(-1) == 0\""), 25, 1, '3');
  ExpectError(ParseMbpp(bad_item, "m.jsonl"), "m.jsonl:1", "test_list[1]");
  std::string no_code = s;
  no_code.replace(no_code.find("\"code\""), 6, "\"kode\"");
  ExpectError(ParseMbpp(no_code, "m.jsonl"), "m.jsonl:1", "code: missing");
  std::string float_id = s;
  float_id.replace(float_id.find("\"task_id\":7"), 11, "\"task_id\":7.5");
  ExpectError(ParseMbpp(float_id, "m.jsonl"), "m.jsonl:1", "task_id");
  ExpectError(ParseMbpp(s + "\n" + s, "m.jsonl"), "m.jsonl:2", "duplicate");
}

// ---- prompts and requests ----------------------------------------------------------------

TEST(CodePromptTest, HumanEvalPrompts) {
  auto ps = ParseHumanEval(kHeLine, "he.jsonl");
  ASSERT_TRUE(ps.ok());
  const CodeProblem& p = (*ps)[0];
  EXPECT_EQ(p.prompt, p.header);
  EXPECT_THAT(p.chat_prompt, HasSubstr("```python\n" + p.prompt + "```\n"));
  EXPECT_THAT(p.chat_prompt, HasSubstr("single ```python code block"));
}

TEST(CodePromptTest, MbppPromptIsTheStandardInstruction) {
  auto ps = ParseMbpp(kMbppLine, "m.jsonl");
  ASSERT_TRUE(ps.ok());
  EXPECT_EQ((*ps)[0].prompt,
            "You are an expert Python programmer, and here is your task: Write a function to add "
            "one. Your code should pass these tests:\n\nassert add_one(1) == 2\nassert add_one(-1) "
            "== 0\n[BEGIN]\n");
  EXPECT_THAT((*ps)[0].chat_prompt, HasSubstr("```python code block"));
}

// Requests are built without running anything: a null-free dummy executor is never called.
class NeverExecutor : public Executor {
 public:
  StatusOr<ExecResult> Run(const ExecRequest&) override { return InternalError("not expected"); }
};

TEST(CodePromptTest, RequestsCarryRepeatsStopsAndChat) {
  NeverExecutor never;
  auto ps = ParseHumanEval(kHeLine, "he.jsonl");
  ASSERT_TRUE(ps.ok());
  CodeTaskOptions options;
  options.num_samples = 5;
  auto task = MakeCodeTask("humaneval", CodeBenchmark::kHumanEval, *ps, "h", &never, options);
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  auto rs = (*task)->BuildRequests(0);
  ASSERT_TRUE(rs.ok());
  ASSERT_EQ(rs->size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((*rs)[i].repeat, i);
    EXPECT_EQ((*rs)[i].context, (*ps)[0].prompt);
    EXPECT_TRUE((*rs)[i].chat.empty());
    EXPECT_THAT((*rs)[i].stop,
                ElementsAre("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#"));
  }
  options.mode = PromptMode::kChat;
  options.num_samples = 1;
  auto chat = MakeCodeTask("humaneval_chat", CodeBenchmark::kHumanEval, *ps, "h", &never, options);
  ASSERT_TRUE(chat.ok());
  auto cr = (*chat)->BuildRequests(0);
  ASSERT_TRUE(cr.ok());
  ASSERT_EQ(cr->size(), 1u);
  ASSERT_EQ((*cr)[0].chat.size(), 1u);
  EXPECT_EQ((*cr)[0].chat[0].content, (*ps)[0].chat_prompt);
  EXPECT_TRUE((*cr)[0].stop.empty());
  EXPECT_NE((*task)->hash(), (*chat)->hash());
  EXPECT_THAT((*task)->SettingsJson(), HasSubstr("\"num_samples\":5"));
  options.num_samples = 0;
  EXPECT_FALSE(MakeCodeTask("x", CodeBenchmark::kMbpp, *ps, "h", &never, options).ok());
  EXPECT_FALSE(MakeCodeTask("x", CodeBenchmark::kMbpp, *ps, "h", nullptr, {}).ok());
}

TEST(CodePromptTest, TaskSpecs) {
  EXPECT_TRUE(IsCodeTaskSpec("humaneval"));
  EXPECT_TRUE(IsCodeTaskSpec("mbpp_chat:n=10"));
  EXPECT_FALSE(IsCodeTaskSpec("humanevalx"));
  EXPECT_FALSE(IsCodeTaskSpec("gsm8k"));
  NeverExecutor never;
  for (const char* bad : {"humaneval:n=0", "humaneval:n=", "humaneval:x", "mbpp:n=5x",
                          "mbpp:n=1001"}) {
    auto t = LoadCodeTask(bad, "", &never);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_THAT(t.status().ToString(), HasSubstr("n=N")) << bad;
  }
  auto t = LoadCodeTask("mbpp:n=3", "", &never);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->name(), "mbpp");
  auto rs = (*t)->BuildRequests(0);
  ASSERT_TRUE(rs.ok());
  EXPECT_EQ(rs->size(), 3u);
  EXPECT_THAT((*rs)[0].stop, ElementsAre("[DONE]"));
}

// ---- extraction --------------------------------------------------------------------------

TEST(CodeExtractTest, FencedBlocks) {
  auto b = ExtractFencedBlocks("text\n```Python extra\nx = 1\n```\nmore\n~~~\ny\n~~~~\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].lang, "python");
  EXPECT_EQ(b[0].body, "x = 1\n");
  EXPECT_TRUE(b[0].terminated);
  EXPECT_EQ(b[1].lang, "");
  EXPECT_EQ(b[1].body, "y\n");
  auto open = ExtractFencedBlocks("```python\ndef f():\n    return 1");
  ASSERT_EQ(open.size(), 1u);
  EXPECT_FALSE(open[0].terminated);
  EXPECT_EQ(open[0].body, "def f():\n    return 1");
  EXPECT_TRUE(ExtractFencedBlocks("```x```\nfoo\n").empty());
  EXPECT_TRUE(ExtractFencedBlocks("").empty());
  auto crlf = ExtractFencedBlocks("```py\r\na\r\n```\r\n");
  ASSERT_EQ(crlf.size(), 1u);
  EXPECT_EQ(crlf[0].body, "a\r\n");
}

TEST(CodeExtractTest, PythonCodeSelection) {
  const std::string two =
      "First a helper:\n```python\ndef helper():\n    pass\n```\nThen:\n```python\n"
      "def solve(x):\n    return x\n```\n";
  EXPECT_EQ(ExtractPythonCode(two, "solve"), "def solve(x):\n    return x\n");
  EXPECT_EQ(ExtractPythonCode(two, "other"), "def helper():\n    pass\n");
  EXPECT_EQ(ExtractPythonCode("```bash\nls\n```\n```\nprint(1)\n```\n", ""), "print(1)\n");
  EXPECT_EQ(ExtractPythonCode("```bash\nls\n```\n", ""), "ls\n");
  EXPECT_EQ(ExtractPythonCode("def f():\n    return 1\n[DONE] junk", "f"), "def f():\n    return 1\n");
  EXPECT_EQ(ExtractPythonCode("", "f"), "");
}

TEST(CodeExtractTest, HostileInputIsTotal) {
  std::string binary;
  for (int i = 0; i < 4096; ++i) binary.push_back(static_cast<char>(i * 37));
  binary += "```python\n\x00\xff\xfe def f(:\n```";
  (void)ExtractFencedBlocks(binary);
  (void)ExtractPythonCode(binary, "f");
  (void)CalledFunction(binary);
  (void)DefinesFunction(binary, "f");
  // 8 MiB of fence openers and newlines: linear, clipped to kMaxCodeBytes, at most 64 blocks.
  std::string huge;
  while (huge.size() < (size_t{8} << 20)) huge += "```\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto blocks = ExtractFencedBlocks(huge);
  std::string code = ExtractPythonCode(huge, "f");
  const double s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LE(blocks.size(), 64u);
  EXPECT_LE(code.size(), kMaxCodeBytes);
  EXPECT_LT(s, 2.0);
  std::string raw(size_t{3} << 20, 'a');
  EXPECT_EQ(ExtractPythonCode(raw, "f").size(), kMaxCodeBytes);
  EXPECT_EQ(TruncateAtStop(raw, {"\ndef "}).size(), kMaxCodeBytes);
}

TEST(CodeExtractTest, StopsDefinitionsCallsImports) {
  const std::vector<std::string> stops = StopSequences(CodeBenchmark::kHumanEval,
                                                       PromptMode::kCompletion);
  EXPECT_EQ(TruncateAtStop("    return x\n\n\ndef other():\n", stops), "    return x\n\n");
  EXPECT_EQ(TruncateAtStop("    return x\n# note\nprint(1)", stops), "    return x");
  EXPECT_EQ(TruncateAtStop("    y = 1\n    def inner():\n", stops), "    y = 1\n    def inner():\n");
  EXPECT_EQ(TruncateAtStop("abc", {""}), "abc");
  EXPECT_TRUE(DefinesFunction("class A:\n    def  go (self):\n", "go"));
  EXPECT_TRUE(DefinesFunction("async def go():\n", "go"));
  EXPECT_FALSE(DefinesFunction("def gone():\n", "go"));
  EXPECT_FALSE(DefinesFunction("undef go():\n", "go"));
  EXPECT_EQ(CalledFunction("assert add_one(1) == 2"), "add_one");
  EXPECT_EQ(CalledFunction("assert math.isclose(area(2), 4)"), "area");
  EXPECT_EQ(CalledFunction("assert set(common(a, b)) == {1}"), "common");
  EXPECT_EQ(CalledFunction("assert x == 1"), "");
  EXPECT_EQ(TopLevelImports("import os\nfrom typing import List\n\ndef f():\n    import re\n"),
            "import os\nfrom typing import List\n");
}

TEST(CodeExtractTest, BuildSolution) {
  auto ps = ParseHumanEval(kHeLine, "he.jsonl");
  ASSERT_TRUE(ps.ok());
  const CodeProblem& p = (*ps)[0];
  EXPECT_EQ(BuildSolution(CodeBenchmark::kHumanEval, PromptMode::kCompletion, p,
                          "    return 2 * x\n\nprint(twice(3))\n"),
            p.header + "    return 2 * x\n");
  EXPECT_EQ(BuildSolution(CodeBenchmark::kHumanEval, PromptMode::kChat, p,
                          "Sure:\n```python\ndef twice(x):\n    return x + x\n```"),
            "import math\ndef twice(x):\n    return x + x\n");
  EXPECT_EQ(BuildSolution(CodeBenchmark::kHumanEval, PromptMode::kChat, p,
                          "```python\n    return x + x\n```"),
            p.header + "    return x + x\n");
  auto ms = ParseMbpp(kMbppLine, "m.jsonl");
  ASSERT_TRUE(ms.ok());
  const CodeProblem& m = (*ms)[0];
  EXPECT_EQ(BuildSolution(CodeBenchmark::kMbpp, PromptMode::kCompletion, m,
                          "def add_one(x):\n    return x + 1\n[DONE]\n[BEGIN]"),
            "def add_one(x):\n    return x + 1\n");
  EXPECT_EQ(BuildSolution(CodeBenchmark::kMbpp, PromptMode::kCompletion, m,
                          "```python\ndef add_one(x):\n    return x + 1\n```\n[DONE]"),
            "def add_one(x):\n    return x + 1\n");
  const std::string program = BuildProgram(m, "SOLUTION", "SENTINEL");
  EXPECT_EQ(program,
            "SOLUTION\n\nassert add_one(1) == 2\nassert add_one(-1) == 0\n\n\n"
            "print(\"SENTINEL\", flush=True)\n");
}

}  // namespace
}  // namespace sigma::tasks::code
