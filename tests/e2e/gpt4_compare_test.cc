// A model against recorded GPT-4 outputs, as a user does it: both output files are scored by
// `sigma-eval run --model replay:FILE` on the same AIMICIUS scorers, then `sigma-eval compare`
// prints the side-by-side table (per task and metric: GPT-4, model, delta, per-sample agreement).
// The "GPT-4" file holds the NL2KQL ground truths; the "model" file gets half of them wrong.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "aimicius/infrawise/infrawise.h"
#include "aimicius/nl2kql/nl2kql.h"
#include "engine/base/json.h"
#include "tests/e2e/cli_util.h"

namespace sigma {
namespace {

using testing_util::RunSigmaEval;

std::string ReplayLine(const std::string& doc_id, const std::string& output) {
  std::string line = "{\"task\":\"nl2kql\",\"doc_id\":";
  AppendJsonString(doc_id, &line);
  line += ",\"output\":";
  AppendJsonString(output, &line);
  return line + "}\n";
}

// The Markdown table row of `metric` (the line starting "| nl2kql | metric |").
std::string Row(const std::string& markdown, const std::string& metric) {
  std::istringstream in(markdown);
  const std::string prefix = "| nl2kql | " + metric + " |";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

TEST(Gpt4CompareTest, SideBySideTableWithAgreement) {
  auto records = aimicius::LoadNl2KqlRecords(SIGMA_SOURCE_DIR "/aimicius/data/nl2kql/sample.jsonl");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  ASSERT_GE(records->size(), 8u);
  const std::string dir = testing_util::MakeTempDir("gpt4");
  {
    std::ofstream gpt4(dir + "/gpt4.jsonl"), model(dir + "/model.jsonl");
    for (size_t i = 0; i < 8; ++i) {
      const aimicius::Nl2KqlRecord& r = (*records)[i];
      gpt4 << ReplayLine(r.id, "```kql\n" + r.gt_kql + "\n```");
      // The model: right on the even documents, prose on the odd ones (not a query).
      model << ReplayLine(r.id, i % 2 == 0 ? r.gt_kql : "Sorry, I cannot write that query.");
    }
  }
  const std::string db = dir + "/results.db";
  auto gpt4 = RunSigmaEval("run --model replay:" + dir + "/gpt4.jsonl --tasks nl2kql --limit 8 --db " + db);
  ASSERT_EQ(gpt4.exit_code, 0) << gpt4.err;
  auto model = RunSigmaEval("run --model replay:" + dir + "/model.jsonl --tasks nl2kql --limit 8 --db " + db);
  ASSERT_EQ(model.exit_code, 0) << model.err;

  // Run summaries report AIMICIUS scores on the paper's 0-100 scale.
  EXPECT_NE(gpt4.out.find("syntax_accuracy"), std::string::npos) << gpt4.out;
  EXPECT_NE(gpt4.out.find("100.0000"), std::string::npos) << gpt4.out;
  EXPECT_NE(model.out.find("50.0000"), std::string::npos) << model.out;

  auto table = RunSigmaEval("compare 1 2 --db " + db);
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("| task | metric | n | base | candidate | Δ | agree |"), std::string::npos)
      << table.out;
  // GPT-4 (base) 1.0, model 0.5, 4 of 8 documents scored alike, 4 broken.
  const std::string syntax = Row(table.out, "syntax\\_accuracy");
  EXPECT_EQ(syntax.rfind("| nl2kql | syntax\\_accuracy | 8 | 1.0000 | 0.5000 | -0.5000 | 50.0% |", 0), 0u)
      << table.out;
  EXPECT_NE(syntax.find("McNemar exact (b=4, c=0)"), std::string::npos) << syntax;
  EXPECT_NE(Row(table.out, "table\\_score").find("| 50.0% |"), std::string::npos) << table.out;
  // Replayed outputs carry no timing, so there is no speed comparison to print.
  EXPECT_EQ(table.out.find("end_to_end"), std::string::npos) << table.out;

  // The two sides named as a reader wants them.
  auto named = RunSigmaEval("compare 1 2 --db " + db + " --names GPT-4,SmolLM2");
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_NE(named.out.find("| task | metric | n | GPT-4 | SmolLM2 | Δ | agree |"), std::string::npos) << named.out;
  EXPECT_EQ(RunSigmaEval("compare 1 2 --db " + db + " --names GPT-4").exit_code, 2);

  // A regression gate in CI: the model is worse than GPT-4 by more than 0.1 on syntax accuracy.
  auto gate = RunSigmaEval("compare 1 2 --db " + db + " --fail-on 'nl2kql/syntax_accuracy:-0.1'");
  EXPECT_EQ(gate.exit_code, 1) << gate.out << gate.err;

  auto json = RunSigmaEval("compare 1 2 --db " + db + " --format json");
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"metric\":\"syntax_accuracy\",\"shared\":8"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"agree\":4"), std::string::npos) << json.out;

  // A recording that lacks documents: the run completes, stores the failures, names the first
  // and exits 1 so that a script notices the scores do not cover every document.
  auto partial = RunSigmaEval("run --model replay:" + dir + "/gpt4.jsonl --tasks nl2kql --limit 10 --db " + db);
  EXPECT_EQ(partial.exit_code, 1) << partial.err;
  EXPECT_NE(partial.err.find("nl2kql: 2 of 10 samples failed; first: doc " + (*records)[8].id +
                             ": backend: replay: no recorded output"),
            std::string::npos)
      << partial.err;
  testing_util::RemoveTree(dir);
}

// Infrawise asks two questions per document (DCW, then retrieval): a recording carries both
// answers as "outputs": [...], and each request gets its own.
TEST(Gpt4CompareTest, MultiRequestDocumentsReplayEachOutput) {
  auto records = aimicius::LoadInfrawiseRecords(SIGMA_SOURCE_DIR "/aimicius/data/infrawise/sample.jsonl");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  const std::string dir = testing_util::MakeTempDir("gpt4");
  {
    std::ofstream out(dir + "/gpt4.jsonl");
    for (size_t i = 0; i < 3; ++i) {
      const aimicius::InfrawiseRecord& r = (*records)[i];
      std::string dcw = "{\"Design\": {\"Target\": ", indices;
      AppendJsonString(r.gt_dcw.target, &dcw);
      dcw += ", \"Baseline\": ";
      AppendJsonString(r.gt_dcw.baseline, &dcw);
      dcw += "}, \"Criterion\": ";
      AppendJsonString(r.gt_dcw.criterion, &dcw);
      dcw += ", \"Workload\": ";
      AppendJsonString(r.gt_dcw.workload, &dcw);
      dcw += "}";
      for (int64_t index : r.gt_selected) indices += (indices.empty() ? "" : ", ") + std::to_string(index);
      if (indices.empty()) indices = "None";
      std::string line = "{\"task\":\"infrawise\",\"doc_id\":";
      AppendJsonString(r.id, &line);
      line += ",\"outputs\":[";
      AppendJsonString(dcw, &line);
      line += ",";
      AppendJsonString(indices, &line);
      out << line << "]}\n";
    }
  }
  const std::string db = dir + "/results.db";
  auto run = RunSigmaEval("run --model replay:" + dir + "/gpt4.jsonl --tasks infrawise --limit 3 --db " + db +
                          " --json");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("\"metric\":\"dcw\",\"value\":100,"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\"metric\":\"bench_accuracy\",\"value\":100,"), std::string::npos) << run.out;

  // Export writes both answers per document, and replaying the export scores identically.
  auto exported = RunSigmaEval("export --db " + db + " --run 1 --out " + dir + "/exported.jsonl");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto again = RunSigmaEval("run --model replay:" + dir + "/exported.jsonl --tasks infrawise --limit 3 --db " +
                            db + " --json");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  const auto results = [](const std::string& json) { return json.substr(json.find("\"results\"")); };
  EXPECT_EQ(results(again.out), results(run.out));
  testing_util::RemoveTree(dir);
}

}  // namespace
}  // namespace sigma
