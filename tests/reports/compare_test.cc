#include "reports/compare.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "harness/store/results_store.h"
#include "harness/store/sqlite.h"
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
  EXPECT_EQ(r.candidate.errors, 1);
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

// A task scored on the paper's 0-100 scale (AIMICIUS: aggregates 100x the per-sample mean) is
// named in a note, since compare's figures are the 0-1 per-sample means; tasks on one scale are
// not.
TEST_F(CompareTest, NotesTasksWhoseStoredScoresAreInPercent) {
  CompareOptions options;
  options.bootstrap_iterations = 200;
  const auto note_of = [](const CompareResult& r) {
    for (const std::string& note : r.notes) {
      if (note.find("0-100 scale") != std::string::npos) return note;
    }
    return std::string();
  };
  EXPECT_EQ(note_of(Run(options)), "");  // the fixture's aggregates are plain means
  {
    auto store = store::ResultsStore::Open(dir_.File("r.db"));
    ASSERT_TRUE(store.ok());
    auto rows = (*store)->ReadTaskResults(1, "cmdgen");
    ASSERT_TRUE(rows.ok());
    ASSERT_FALSE(rows->empty());
    for (store::TaskResultRow& row : *rows) row.value = *row.value * 100;
    ASSERT_TRUE((*store)->WriteTaskResults(1, "cmdgen", *rows).ok());
  }
  const std::string note = note_of(Run(options));
  EXPECT_NE(note.find("show and the reports give cmdgen on the 0-100 scale"), std::string::npos)
      << note;
  EXPECT_EQ(note.find("gsm8k"), std::string::npos) << note;
}

// What differs between the two runs' configurations is listed (not the build or the model path,
// which the side lines show), and a task configured differently on the two sides gets a note.
TEST_F(CompareTest, ListsWhereTheConfigurationsDiffer) {
  CompareOptions options;
  options.bootstrap_iterations = 200;
  const CompareResult r = Run(options);
  std::vector<std::string> lines;
  for (const JsonDifference& d : r.config_differences) {
    lines.push_back(d.path + ": " + d.before + " -> " + d.after);
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"backend.kv_dtype: \"bf16\" -> \"f32\"",
                                             "tasks[gsm8k].version: \"1-41ab1\" -> \"2-9f2c1\"",
                                             "tasks[gsm8k].hash: \"41ab1\" -> \"9f2c1\""}));
  EXPECT_EQ(r.more_config_differences, 0u);
  std::vector<std::string> task_notes;
  for (const std::string& note : r.notes) {
    if (note.rfind("task ", 0) == 0) task_notes.push_back(note);
  }
  EXPECT_EQ(task_notes, (std::vector<std::string>{
                            "task gsm8k is configured differently in the two runs (version "
                            "1-41ab1 against 2-9f2c1): its pairs may compare different prompts "
                            "or scoring"}));
  const std::string md = RenderCompareMarkdown(r);
  EXPECT_NE(
      md.find("- configuration, where it differs (base → candidate):\n  - backend.kv\\_dtype: "
              "\"bf16\" → \"f32\"\n"),
      std::string::npos)
      << md;
  EXPECT_NE(RenderCompareJson(r).find(
                R"("config_differences":[{"path":"backend.kv_dtype","base":"\"bf16\"",)"
                R"("candidate":"\"f32\""},)"),
            std::string::npos)
      << RenderCompareJson(r);

  // A run against itself: the same configuration, no task note.
  const CompareResult same = Run(options, 1, 1);
  EXPECT_TRUE(same.config_differences.empty());
  for (const std::string& note : same.notes) EXPECT_NE(note.rfind("task ", 0), 0u) << note;
  EXPECT_NE(RenderCompareMarkdown(same).find(
                "- configuration: the same, apart from the build and the model path\n"),
            std::string::npos);

  // The replay run's backend has other members; the model's path stays out of the list.
  const CompareResult replay = Run(options, 1, 3);
  bool backend_named = false;
  for (const JsonDifference& d : replay.config_differences) {
    EXPECT_NE(d.path, "backend.model");
    EXPECT_NE(d.path, "engine_build");
    backend_named |=
        d.path == "backend.backend" && d.before == "\"engine\"" && d.after == "\"replay\"";
  }
  EXPECT_TRUE(backend_named);
}

// A configuration that is not JSON (a hand-edited or foreign database) is named in a note; the
// scores are still compared.
TEST_F(CompareTest, NotesAConfigurationItCannotRead) {
  {
    auto store = store::ResultsStore::Open(dir_.File("r.db"));
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE(store::Exec((*store)->raw_db(),
                            "UPDATE runs SET config_json = '{\"backend\":' WHERE id = 2", "test")
                    .ok());
  }
  CompareOptions options;
  options.bootstrap_iterations = 200;
  const CompareResult r = Run(options);
  EXPECT_TRUE(r.config_differences.empty());
  bool noted = false;
  for (const std::string& note : r.notes) {
    noted |=
        note.rfind("the configurations could not be compared: the candidate configuration", 0) == 0;
  }
  EXPECT_TRUE(noted);
  EXPECT_FALSE(r.metrics.empty());
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

// Two bench sessions as `sigma-eval bench` writes them: decode rows with the read bandwidth they
// ran with and their share of it. Returns the bench ids.
struct BenchDecodeRow {
  int64_t context;
  double tok_s;
  double read_gbps;       // 0: no bandwidth fields (rows of a bench without the probe)
  double share_mean;      // < 0: a row of an older bench, with the median share alone
  double share_median;
};
StatusOr<int64_t> WriteBench(store::ResultsStore& db, const std::vector<BenchDecodeRow>& rows,
                             const std::string& build = "sigma-eval 0.1.0 (test)",
                             const std::string& host = "testhost") {
  store::BenchRunSpec spec;
  spec.model = "smollm2";
  spec.engine_build = build;
  spec.host = host;
  spec.device = "cpu";
  SIGMA_ASSIGN_OR_RETURN(int64_t bench, db.CreateBenchRun(spec));
  for (const BenchDecodeRow& r : rows) {
    store::SpeedRow row;
    row.bench_id = bench;
    row.config_json = R"({"model":"smollm2","kv_dtype":"bf16")";
    if (r.read_gbps > 0) {
      row.config_json += StrCat(",\"read_gbps\":", r.read_gbps, ",\"read_share\":", r.share_median);
      if (r.share_mean >= 0) {
        row.config_json +=
            StrCat(",\"read_share_mean\":", r.share_mean, ",\"read_share_std\":0.01");
      }
    }
    row.config_json += "}";
    row.context_length = r.context;
    row.phase = "decode";
    row.repetitions = 10;
    row.tokens_per_s_mean = r.tok_s;
    row.tokens_per_s_std = 5;
    row.ms_per_token = 1000.0 / r.tok_s;
    row.device = "cpu";
    SIGMA_RETURN_IF_ERROR(db.InsertSpeed(row).status());
  }
  SIGMA_RETURN_IF_ERROR(db.FinishBenchRun(bench, store::RunState::kComplete));
  return bench;
}

const SpeedComparison* FindSpeed(const CompareResult& r, const std::string& figure,
                                 int64_t context) {
  for (const SpeedComparison& s : r.speed) {
    if (s.figure == figure && s.context == context) return &s;
  }
  return nullptr;
}

// Each side names the build and host that produced it, and speed from two hosts is flagged.
TEST(CompareSidesTest, NameTheirBuildAndHostAndFlagDifferentHosts) {
  ScratchDir dir;
  auto db = store::ResultsStore::Open(dir.File("sides.db"));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  auto a = WriteBench(**db, {{512, 310, 36.0, 0.95, 0.96}},
                      "sigma-eval 0.1.0 (git 1111111)", "vm-a");
  auto b = WriteBench(**db, {{512, 320, 36.0, 0.95, 0.96}},
                      "sigma-eval 0.1.0 (git 2222222)", "vm-a");
  auto c = WriteBench(**db, {{512, 330, 36.0, 0.95, 0.96}},
                      "sigma-eval 0.1.0 (git 2222222)", "vm-b");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto reader = ResultsReader::Open(dir.File("sides.db"));
  ASSERT_TRUE(reader.ok());
  const auto host_note = [](const CompareResult& r) {
    for (const std::string& n : r.notes) {
      if (n.find("different hosts") != std::string::npos) return n;
    }
    return std::string();
  };

  auto same_host = CompareRuns(**reader, {true, *a}, {true, *b}, CompareOptions{});
  ASSERT_TRUE(same_host.ok()) << same_host.status().ToString();
  EXPECT_EQ(same_host->base.build, "sigma-eval 0.1.0 (git 1111111)");
  EXPECT_EQ(same_host->candidate.build, "sigma-eval 0.1.0 (git 2222222)");
  EXPECT_EQ(host_note(*same_host), "");
  const std::string md = RenderCompareMarkdown(*same_host);
  EXPECT_NE(md.find("- base: bench 1 `smollm2` (build `sigma-eval 0.1.0 (git 1111111)`, host "
                    "`vm-a`)"),
            std::string::npos)
      << md;
  EXPECT_NE(RenderCompareJson(*same_host).find(
                "\"candidate\":{\"label\":\"bench 2\",\"model\":\"smollm2\",\"build\":"
                "\"sigma-eval 0.1.0 (git 2222222)\",\"host\":\"vm-a\""),
            std::string::npos);

  auto two_hosts = CompareRuns(**reader, {true, *b}, {true, *c}, CompareOptions{});
  ASSERT_TRUE(two_hosts.ok());
  EXPECT_NE(host_note(*two_hosts).find("(vm-a, vm-b)"), std::string::npos)
      << host_note(*two_hosts);
}

TEST(CompareBandwidthTest, GradesDecodeRowsAgainstTheBandwidthTheyRanWith) {
  ScratchDir dir;
  auto db = store::ResultsStore::Open(dir.File("bw.db"));
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  // 512: the host ran 1.7x as fast for the candidate; 4096: the same bandwidth, the candidate's
  // share 10% lower; 8192: older rows (median share only); 16384: no bandwidth on either side.
  auto base = WriteBench(**db, {{512, 310, 36.0, 0.95, 0.96},
                                {4096, 175, 60.0, 0.80, 0.80},
                                {8192, 120, 36.0, -1, 0.90},
                                {16384, 90, 0, 0, 0}});
  auto cand = WriteBench(**db, {{512, 420, 61.2, 0.74, 0.75},
                                {4096, 158, 62.0, 0.72, 0.72},
                                {8192, 121, 37.0, -1, 0.91},
                                {16384, 91, 0, 0, 0}});
  ASSERT_TRUE(base.ok() && cand.ok());
  auto reader = ResultsReader::Open(dir.File("bw.db"));
  ASSERT_TRUE(reader.ok());
  CompareOptions options;
  options.fail_on = *ParseFailOn("decode_read_pct:-5%");
  auto r = CompareRuns(**reader, {true, *base}, {true, *cand}, options);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  const SpeedComparison* at512 = FindSpeed(*r, "decode_read_pct", 512);
  ASSERT_NE(at512, nullptr);
  EXPECT_NEAR(at512->base, 95.0, 1e-9);  // the mean share where the rows have it
  EXPECT_NEAR(at512->candidate, 74.0, 1e-9);
  EXPECT_NEAR(at512->ratio, 74.0 / 95.0, 1e-12);
  ASSERT_TRUE(at512->p_value.has_value());
  EXPECT_LT(*at512->p_value, 0.001);  // 0.95 vs 0.74, std 0.01, n 10
  EXPECT_NE(at512->test.find("Welch"), std::string::npos);
  EXPECT_FALSE(at512->regression.empty());
  ASSERT_NE(FindSpeed(*r, "decode_tok_s", 512), nullptr);
  EXPECT_TRUE(FindSpeed(*r, "decode_tok_s", 512)->regression.empty());  // no rule on tok/s

  const SpeedComparison* at4096 = FindSpeed(*r, "decode_read_pct", 4096);
  ASSERT_NE(at4096, nullptr);
  EXPECT_NEAR(at4096->ratio, 0.9, 1e-12);
  EXPECT_FALSE(at4096->regression.empty());

  const SpeedComparison* at8192 = FindSpeed(*r, "decode_read_pct", 8192);
  ASSERT_NE(at8192, nullptr);
  EXPECT_NEAR(at8192->base, 90.0, 1e-9);  // the median
  EXPECT_NEAR(at8192->candidate, 91.0, 1e-9);
  EXPECT_FALSE(at8192->p_value.has_value());
  EXPECT_TRUE(at8192->regression.empty());

  EXPECT_EQ(FindSpeed(*r, "decode_read_pct", 16384), nullptr);
  ASSERT_NE(FindSpeed(*r, "decode_tok_s", 16384), nullptr);

  // One note, naming the one row pair whose bandwidths were more than 15% apart.
  int bandwidth_notes = 0;
  for (const std::string& note : r->notes) {
    if (note.find("read bandwidth differed") == std::string::npos) continue;
    ++bandwidth_notes;
    EXPECT_NE(note.find("1 of 3 decode rows"), std::string::npos) << note;
    EXPECT_NE(note.find("context 512: 36 -> 61.2 GB/s"), std::string::npos) << note;
    EXPECT_EQ(note.find("context 4096"), std::string::npos) << note;
  }
  EXPECT_EQ(bandwidth_notes, 1);
  EXPECT_EQ(r->regressions.size(), 2u);

  // The same session against itself: equal shares, no note.
  auto same = CompareRuns(**reader, {true, *base}, {true, *base}, CompareOptions{});
  ASSERT_TRUE(same.ok());
  for (const std::string& note : same->notes) {
    EXPECT_EQ(note.find("read bandwidth differed"), std::string::npos) << note;
  }
  ASSERT_NE(FindSpeed(*same, "decode_read_pct", 512), nullptr);
  EXPECT_DOUBLE_EQ(FindSpeed(*same, "decode_read_pct", 512)->ratio, 1.0);
}

}  // namespace
}  // namespace sigma::reports
