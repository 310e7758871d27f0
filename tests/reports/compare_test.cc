#include "reports/compare.h"

#include <gtest/gtest.h>

#include "tests/reports/fixture.h"
#include "tests/reports/golden.h"

namespace sigma::reports {
namespace {

using testing::ScratchDir;

TEST(FailOnTest, Parses) {
  auto rules = ParseFailOn("acc:-0.02,decode_tok_s:-5%,gsm8k/exact_match,strict-match:-0.05,ttft_ms:+10%");
  ASSERT_TRUE(rules.ok()) << rules.status().ToString();
  ASSERT_EQ(rules->size(), 4u);
  EXPECT_EQ((*rules)[0].name, "acc");
  EXPECT_DOUBLE_EQ((*rules)[0].threshold, -0.02);
  EXPECT_FALSE((*rules)[0].relative);
  EXPECT_TRUE((*rules)[1].relative);
  EXPECT_DOUBLE_EQ((*rules)[1].threshold, -5);
  EXPECT_EQ((*rules)[2].task, "gsm8k");
  EXPECT_EQ((*rules)[2].name, "exact_match,strict-match");
  EXPECT_DOUBLE_EQ((*rules)[3].threshold, 10);
  EXPECT_TRUE(ParseFailOn("")->empty());
  EXPECT_FALSE(ParseFailOn("acc").ok());
  EXPECT_FALSE(ParseFailOn("acc:abc").ok());
  EXPECT_FALSE(ParseFailOn("acc:0").ok());
  EXPECT_FALSE(ParseFailOn(":-1").ok());
}

TEST(CompareRefTest, Parses) {
  EXPECT_EQ(ParseCompareRef("12", "BASE")->id, 12);
  EXPECT_TRUE(ParseCompareRef("bench:3", "BASE")->bench);
  EXPECT_FALSE(ParseCompareRef("x", "BASE").ok());
  EXPECT_FALSE(ParseCompareRef("-1", "BASE").ok());
}

class CompareTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::BuildFixtureDb(dir_.File("r.db")).ok());
    auto reader = ResultsReader::Open(dir_.File("r.db"));
    ASSERT_TRUE(reader.ok());
    reader_ = std::move(*reader);
  }
  CompareResult Run(const CompareOptions& options, int64_t base = 1, int64_t cand = 2) {
    auto r = CompareRuns(*reader_, {false, base}, {false, cand}, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CompareResult{};
  }
  const MetricComparison* Find(const CompareResult& r, const std::string& task, const std::string& metric) {
    for (const MetricComparison& m : r.metrics) {
      if (m.task == task && m.metric == metric) return &m;
    }
    return nullptr;
  }
  ScratchDir dir_;
  std::unique_ptr<ResultsReader> reader_;
};

TEST_F(CompareTest, PairsSharedSamplesAndTestsBinaryMetricsWithMcNemar) {
  CompareOptions options;
  options.bootstrap_iterations = 2000;
  const CompareResult r = Run(options);
  const MetricComparison* acc = Find(r, "arc_easy", "acc");
  ASSERT_NE(acc, nullptr);
  EXPECT_EQ(acc->shared, 19);  // one gqa16 sample failed with an error
  EXPECT_EQ(acc->base_only, 1);
  EXPECT_EQ(r.candidate_errors, 1);
  EXPECT_TRUE(acc->binary);
  EXPECT_DOUBLE_EQ(acc->p_value, McNemarExactP(acc->broken, acc->fixed));
  EXPECT_NEAR(acc->delta, static_cast<double>(acc->fixed - acc->broken) / acc->shared, 1e-12);
  EXPECT_EQ(acc->agree, acc->shared - acc->broken - acc->fixed);  // binary: concordant pairs
  const MetricComparison* cmd = Find(r, "cmdgen", "cmd_score");
  ASSERT_NE(cmd, nullptr);
  EXPECT_FALSE(cmd->binary);
  EXPECT_EQ(cmd->test.rfind("paired bootstrap", 0), 0u);
  EXPECT_LE(cmd->bootstrap.ci_low, cmd->delta);
  EXPECT_GE(cmd->bootstrap.ci_high, cmd->delta);
  // Deterministic for the seed.
  const CompareResult again = Run(options);
  EXPECT_EQ(Find(again, "cmdgen", "cmd_score")->bootstrap.ci_low, cmd->bootstrap.ci_low);
  // Speed: per-sample figures with Mann-Whitney, the speed table with Welch.
  bool mw = false, welch = false;
  for (const SpeedComparison& s : r.speed) {
    if (s.figure == "decode_tok_s" && s.source == "samples") {
      mw = true;
      EXPECT_LT(s.ratio, 0.85);  // gqa16 is slower in the fixture
      ASSERT_TRUE(s.p_value.has_value());
      EXPECT_LT(*s.p_value, 1e-4);
    }
    if (s.source == "speed table") {
      welch = true;
      EXPECT_NE(s.test.find("Welch"), std::string::npos);
    }
  }
  EXPECT_TRUE(mw);
  EXPECT_TRUE(welch);
}

TEST_F(CompareTest, FailOnThresholdsFire) {
  CompareOptions options;
  options.bootstrap_iterations = 500;
  options.fail_on = *ParseFailOn("decode_tok_s:-5%,ttft_ms:+50%,no_such_metric:-1");
  const CompareResult r = Run(options);
  EXPECT_FALSE(r.regressions.empty());
  bool decode_fired = false;
  for (const std::string& line : r.regressions) decode_fired |= line.rfind("decode_tok_s", 0) == 0;
  EXPECT_TRUE(decode_fired);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes.back().find("no_such_metric"), std::string::npos);
  // The same run against itself never regresses.
  const CompareResult same = Run(options, 1, 1);
  EXPECT_TRUE(same.regressions.empty());
}

TEST_F(CompareTest, Goldens) {
  CompareOptions options;
  options.bootstrap_iterations = 1000;
  options.fail_on = *ParseFailOn("acc:-0.02,decode_tok_s:-5%");
  const CompareResult r = Run(options);
  testing::ExpectGolden("compare.md", RenderCompareMarkdown(r));
  testing::ExpectGolden("compare.json", RenderCompareJson(r));
}

TEST_F(CompareTest, BenchSessionsCompareSpeedOnly) {
  auto r = CompareRuns(*reader_, {true, 1}, {true, 1}, CompareOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->metrics.empty());
  EXPECT_EQ(r->speed.size(), 8u);
  for (const SpeedComparison& s : r->speed) EXPECT_DOUBLE_EQ(s.ratio, 1.0);
  EXPECT_FALSE(CompareRuns(*reader_, {true, 1}, {false, 1}, CompareOptions{}).ok());
  EXPECT_EQ(CompareRuns(*reader_, {false, 1}, {false, 99}, CompareOptions{}).status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace sigma::reports
