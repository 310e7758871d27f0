// The AIMICIUS tasks behind tasks::EvalTask: requests, scoring of ground-truth responses,
// backend errors as sample errors, and aggregation that skips unmeasured metrics.
#include "aimicius/eval_tasks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "aimicius/nl2kql/nl2kql.h"
#include "tests/tasks/test_util.h"

namespace sigma::aimicius {
namespace {

std::vector<tasks::Response> Texts(std::initializer_list<std::string> texts) {
  std::vector<tasks::Response> out;
  for (const std::string& t : texts) out.push_back(tasks::TextResponse(t));
  return out;
}

TEST(EvalTasks, Nl2KqlEndToEnd) {
  auto task = MakeNl2KqlTask("");
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  const tasks::EvalTask& t = **task;
  EXPECT_EQ(t.name(), "nl2kql");
  EXPECT_EQ(t.hash().size(), 64u);
  ASSERT_GE(t.size(), 25u);
  auto requests = t.BuildRequests(0);
  ASSERT_TRUE(requests.ok());
  ASSERT_EQ(requests->size(), 1u);
  EXPECT_EQ((*requests)[0].type, tasks::RequestType::kGenerateUntil);
  ASSERT_EQ((*requests)[0].chat.size(), 1u);
  std::vector<tasks::SampleScore> samples;
  for (size_t i = 0; i < 3; ++i) {
    auto s = t.Score(i, Texts({"```kql\n\n```"}));  // an empty query: syntax error
    ASSERT_TRUE(s.ok());
    samples.push_back(*s);
  }
  auto s = t.Score(3, {tasks::FailedResponse("backend exploded")});
  ASSERT_TRUE(s.ok());
  EXPECT_THAT(s->error, ::testing::HasSubstr("backend exploded"));
  samples.push_back(*s);
  for (const tasks::Aggregate& a : t.AggregateScores(samples)) {
    EXPECT_EQ(a.n, 3) << a.metric;  // the failed sample is not averaged in
    if (a.metric == "syntax_accuracy") {
      EXPECT_EQ(a.value, 0);
    }
  }

  // Scores are reported 0-100 as in the paper: 2 of 4 right gives 50 (per-sample values stay 0/1).
  auto records = LoadNl2KqlRecords(SIGMA_SOURCE_DIR "/aimicius/data/nl2kql/sample.jsonl");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  auto right = t.Score(0, Texts({(*records)[0].gt_kql}));
  ASSERT_TRUE(right.ok());
  EXPECT_EQ(right->metrics.at("syntax_accuracy"), 1);
  std::vector<tasks::SampleScore> half = {*right, *right, samples[0], samples[1]};
  bool seen = false;
  for (const tasks::Aggregate& a : t.AggregateScores(half)) {
    if (a.metric != "syntax_accuracy") continue;
    seen = true;
    EXPECT_DOUBLE_EQ(a.value, 50);
    EXPECT_NEAR(a.stderr_value, 100 * std::sqrt(0.25 / 3), 1e-9);  // sample std / sqrt(n)
  }
  EXPECT_TRUE(seen);
}

TEST(EvalTasks, InfrawiseTwoRequests) {
  auto task = MakeInfrawiseTask("");
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  auto requests = (*task)->BuildRequests(0);
  ASSERT_TRUE(requests.ok());
  ASSERT_EQ(requests->size(), 2u);
  EXPECT_THAT((*requests)[1].context, ::testing::HasSubstr("Candidate benchmark records"));
  auto bad = (*task)->Score(0, Texts({"only one"}));
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(bad->error.empty());
  auto s = (*task)->Score(0, Texts({"{}", "None"}));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->metrics.count("dcw"), 1u);
  EXPECT_EQ(s->metrics.count("bench_accuracy"), 1u);
}

TEST(EvalTasks, CmdGenPlatformsAndUnmeasuredOutputs) {
  HashingEmbedder embedder;
  auto nvidia = MakeCmdGenTask("", "nvidia", &embedder, nullptr);
  auto amd = MakeCmdGenTask("", "amd", &embedder, nullptr);
  ASSERT_TRUE(nvidia.ok() && amd.ok());
  EXPECT_EQ((*nvidia)->name(), "cmdgen_nvidia");
  EXPECT_GE((*nvidia)->size() + (*amd)->size(), 25u);
  EXPECT_NE((*nvidia)->hash(), (*amd)->hash());
  EXPECT_THAT((*nvidia)->SettingsJson(), ::testing::HasSubstr("hashing-ngram-384"));
  auto s = (*amd)->Score(0, Texts({"rocm-smi --showuse"}));
  ASSERT_TRUE(s.ok());
  auto aggregates = (*amd)->AggregateScores({*s});
  bool has_accuracy = false;
  for (const auto& a : aggregates) has_accuracy |= a.metric == "accuracy";
  EXPECT_FALSE(has_accuracy);  // no sample could measure it
  EXPECT_FALSE(MakeCmdGenTask("", "intel", &embedder, nullptr).ok());
  EXPECT_FALSE(MakeCmdGenTask("", "", nullptr, nullptr).ok());
}

TEST(EvalTasks, OptiflowNeedsASandbox) {
  EXPECT_EQ(MakeOptiflowTask("", nullptr).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sigma::aimicius
