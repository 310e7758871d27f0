#include "reports/report.h"

#include <gtest/gtest.h>

#include <set>

#include "harness/store/results_store.h"
#include "reports/escape.h"
#include "tests/reports/fixture.h"
#include "tests/reports/golden.h"

namespace sigma::reports {
namespace {

using testing::ScratchDir;

class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = dir_.File("results.db");
    ASSERT_TRUE(testing::BuildFixtureDb(db_).ok());
    auto reader = ResultsReader::Open(db_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::move(*reader);
  }
  ReportData Build(const ReportOptions& options) {
    auto data = BuildReportData(*reader_, options);
    EXPECT_TRUE(data.ok()) << data.status().ToString();
    return data.ok() ? *data : ReportData{};
  }
  std::string Normalise(const std::string& text) {
    return testing::ReplaceAll(testing::ReplaceAll(text, MarkdownEscape(db_), "<db>"), db_, "<db>");
  }

  ScratchDir dir_;
  std::string db_;
  std::unique_ptr<ResultsReader> reader_;
};

TEST_F(ReportTest, DataSummarisesRunsSpeedAndSamples) {
  ReportOptions options;
  options.max_samples = 5;
  const ReportData d = Build(options);
  ASSERT_EQ(d.runs.size(), 3u);
  EXPECT_EQ(d.tasks, (std::vector<std::string>{"arc_easy", "cmdgen", "gsm8k"}));
  EXPECT_TRUE(d.samples_capped);
  EXPECT_EQ(d.samples_total, 20 * 3 * 2 + 20 * 2);
  EXPECT_EQ(d.samples.size(), 5u * 8);
  // gqa16's arc_easy has one errored sample.
  EXPECT_EQ(d.runs[1].counts.at("arc_easy").errors, 1);
  // cmdgen's metric is continuous: ungraded; gsm8k is graded by exact_match,strict-match.
  EXPECT_EQ(d.runs[0].counts.at("cmdgen").ungraded, 20);
  EXPECT_EQ(d.runs[0].counts.at("cmdgen").verdicts.at("TIMEOUT"), 3);
  bool saw_reference = false;
  for (const ShownSample& s : d.samples) {
    if (s.sample.task == "gsm8k" && s.sample.run_id == 1) {
      EXPECT_EQ(s.primary_metric, "exact_match,strict-match");
      ASSERT_TRUE(s.reference.has_value());
      EXPECT_EQ(s.reference_run, 3);
      saw_reference = true;
    }
    if (s.sample.task == "arc_easy") {
      EXPECT_FALSE(s.reference.has_value());  // the replay run has no arc_easy
    }
  }
  EXPECT_TRUE(saw_reference);
  // Every fifth gsm8k answer of the engine runs ran into its token limit (doc-4 is shown).
  EXPECT_EQ(d.runs[0].counts.at("gsm8k").cut_off, 4);
  EXPECT_EQ(d.runs[0].counts.at("arc_easy").cut_off, 0);
  int shown_cut_off = 0;
  for (const ShownSample& s : d.samples) {
    EXPECT_EQ(s.cut_off,
              s.sample.task == "gsm8k" && s.sample.run_id != 3 && s.sample.doc_id == "doc-4")
        << s.sample.run_id << " " << s.sample.task << " " << s.sample.doc_id;
    shown_cut_off += s.cut_off ? 1 : 0;
  }
  EXPECT_EQ(shown_cut_off, 2);  // engine runs 1 and 2
  EXPECT_NE(RenderHtml(d).find("<span class=\"na\">cut off</span>"), std::string::npos);
  // A sample's reused prompt positions beside its prompt's length (arc_easy doc-1: 137, 64).
  EXPECT_NE(RenderHtml(d).find("tokens 137 (64 reused) + 5"), std::string::npos);
  // DiffQKV vs GQA pairs from the bench session: decode at 3 contexts, prefill at 1.
  ASSERT_EQ(d.ratios.size(), 2u);
  EXPECT_EQ(d.ratios[0].phase, "decode");
  EXPECT_EQ(d.ratios[0].points.size(), 3u);
  EXPECT_GT(d.ratios[0].points.back().ratio, d.ratios[0].points.front().ratio);
}

TEST_F(ReportTest, BenchDecodeRowsShowTheirShareOfTheReadBandwidth) {
  {
    auto db = store::ResultsStore::Open(db_);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    store::BenchRunSpec spec;
    spec.model = "smollm2";
    spec.device = "cpu";
    auto bench = (*db)->CreateBenchRun(spec);
    ASSERT_TRUE(bench.ok());
    store::SpeedRow row;
    row.bench_id = *bench;
    row.config_json = R"({"model":"smollm2","read_gbps":61.23,"read_share":0.7151})";
    row.context_length = 512;
    row.phase = "decode";
    row.repetitions = 4;
    row.tokens_per_s_mean = 408.2;
    row.tokens_per_s_std = 3.1;
    row.device = "cpu";
    ASSERT_TRUE((*db)->InsertSpeed(row).ok());
    ASSERT_TRUE((*db)->FinishBenchRun(*bench, store::RunState::kComplete).ok());
  }
  const ReportData d = Build(ReportOptions{});
  int with_share = 0;
  for (const SpeedSeries& s : d.speed) {
    for (const SpeedPoint& p : s.points) {
      if (!p.read_share) continue;
      ++with_share;
      EXPECT_EQ(s.model, "smollm2");
      EXPECT_DOUBLE_EQ(*p.read_share, 0.7151);
      EXPECT_EQ(p.ReadShareText(), "71.5% of 61.2 GB/s read");
    }
  }
  EXPECT_EQ(with_share, 1);  // the fixture's bench rows recorded no bandwidth
  EXPECT_NE(RenderMarkdown(d).find("408.20 ± 3.10 (71.5% of 61.2 GB/s read)"), std::string::npos);
  EXPECT_NE(RenderJson(d).find("\"read_gbps\":61.23,\"read_share\":0.7151"), std::string::npos);
  EXPECT_NE(RenderHtml(d).find("(n=4); 71.5% of 61.2 GB/s read"), std::string::npos);
}

TEST_F(ReportTest, MarkdownGolden) {
  ReportOptions options;
  options.max_samples = 5;
  testing::ExpectGolden("report.md", Normalise(RenderMarkdown(Build(options))));
}

TEST_F(ReportTest, JsonGolden) {
  ReportOptions options;
  options.run_ids = {1, 3};
  options.max_samples = 4;
  const std::string json = Normalise(RenderJson(Build(options)));
  testing::ExpectGolden("report.json", json);
  // Hostile bytes survive as JSON escapes.
  EXPECT_NE(json.find("\\u0000nul \\u00ff\\u00fe"), std::string::npos);
}

TEST_F(ReportTest, HtmlEscapesHostileOutputAndIsSelfContained) {
  ReportOptions options;
  options.max_samples = 5;
  const std::string html = RenderHtml(Build(options));
  EXPECT_EQ(html.find("<script>console.error('pwned')"), std::string::npos);
  EXPECT_EQ(html.find("<img src=x"), std::string::npos);
  EXPECT_NE(html.find(HtmlEscape(testing::HostileOutput())), std::string::npos);
  EXPECT_EQ(html.find('\0'), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_EQ(html.find("\xff"), std::string::npos);
  // Exactly one script element, no external references.
  size_t scripts = 0;
  for (size_t p = 0; (p = html.find("<script", p)) != std::string::npos; ++p) ++scripts;
  EXPECT_EQ(scripts, 1u);
  EXPECT_EQ(html.find("src=\"http"), std::string::npos);
  EXPECT_EQ(html.find("href=\"http"), std::string::npos);
  EXPECT_NE(html.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(html.find("Showing at most 5 samples per run and task"), std::string::npos);
  EXPECT_GE(std::count(html.begin(), html.end(), '\n'), 1);
  size_t svgs = 0;
  for (size_t p = 0; (p = html.find("<svg", p)) != std::string::npos; ++p) ++svgs;
  EXPECT_GE(svgs, 5u);  // scores, decode, prefill, ttft, ratio, trade-off
}

// A task stored on the paper's 0-100 scale (AIMICIUS' aggregates are 100x their samples' mean)
// is found as such, drawn where the same scores on the 0-1 scale would be, and counts in the run's
// mean headline score on the 0-1 scale like every other task.
TEST_F(ReportTest, TasksStoredInPercentShareTheScoresChartsScale) {
  ReportOptions options;
  options.max_samples = 0;
  const ReportData before = Build(options);
  ASSERT_TRUE(before.runs[0].percent_tasks.empty());
  {
    auto store = store::ResultsStore::Open(db_);
    ASSERT_TRUE(store.ok());
    auto rows = (*store)->ReadTaskResults(1, "arc_easy");
    ASSERT_TRUE(rows.ok());
    for (store::TaskResultRow& row : *rows) {
      row.value = *row.value * 100;
      row.stderr_value = *row.stderr_value * 100;
    }
    ASSERT_TRUE((*store)->WriteTaskResults(1, "arc_easy", *rows).ok());
  }
  const ReportData after = Build(options);
  EXPECT_EQ(after.runs[0].percent_tasks, (std::set<std::string>{"arc_easy"}));
  EXPECT_TRUE(after.runs[1].percent_tasks.empty());
  ASSERT_TRUE(before.runs[0].mean_primary_score && after.runs[0].mean_primary_score);
  EXPECT_NEAR(*after.runs[0].mean_primary_score, *before.runs[0].mean_primary_score, 1e-12);
  // The scores chart: arc_easy's point of run 1 at the same place, its tooltip the stored value.
  const auto arc_point = [](const std::string& html) {
    const size_t tip =
        html.find("<title>run 1 sigma-1.5b (kv bf16, batch 4, limit 20): arc_easy acc = ");
    EXPECT_NE(tip, std::string::npos);
    const size_t circle = html.rfind("<circle cx=\"", tip);
    return std::pair{html.substr(circle, html.find('>', circle) - circle),
                     html.substr(tip, html.find('<', tip + 1) - tip)};
  };
  const auto [was, old_tip] = arc_point(RenderHtml(before));
  const auto [now, new_tip] = arc_point(RenderHtml(after));
  EXPECT_EQ(now, was);
  EXPECT_NE(old_tip.find("acc = 0.6"), std::string::npos) << old_tip;
  EXPECT_NE(new_tip.find("acc = 6"), std::string::npos) << new_tip;
}

// The sample browser shows a sample's scores as "metric value" lines, without the private keys
// (_stats, _stop_reasons) of its stored JSON, and names the model by its file, the path as title.
TEST_F(ReportTest, SampleRowsShowScoresAsLinesAndTheModelsName) {
  ReportOptions options;
  options.max_samples = 3;
  const std::string html = RenderHtml(Build(options));
  EXPECT_NE(html.find("<div class=\"kv\"><span>acc</span> 1<br><span>acc_norm</span> 1<br></div>"),
            std::string::npos);
  EXPECT_NE(html.find("<div class=\"kv\"><span>cmd_score</span> 0."), std::string::npos);
  EXPECT_EQ(html.find("_stats"), std::string::npos);
  EXPECT_EQ(html.find("_stop_reasons"), std::string::npos);
  EXPECT_NE(html.find("<td>run 3<br><small title=\"replay:gpt4.jsonl\">replay:gpt4.jsonl</small>"),
            std::string::npos);
}

TEST_F(ReportTest, WriteReportFormats) {
  ReportOptions options;
  EXPECT_TRUE(WriteReport(db_, dir_.File("r.html"), ReportFormat::kHtml, options).ok());
  EXPECT_TRUE(WriteReport(db_, dir_.File("r.md"), ReportFormat::kMarkdown, options).ok());
  EXPECT_FALSE(ParseReportFormat("pdf").ok());
  options.run_ids = {7};
  const Status missing = WriteReport(db_, dir_.File("x.html"), ReportFormat::kHtml, options);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sigma::reports
