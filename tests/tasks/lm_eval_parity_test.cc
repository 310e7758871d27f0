// The general benchmarks build the requests EleutherAI's lm-evaluation-harness builds, and score
// answers as it does: the same context and continuation text for every choice of every sample
// document (zero-shot; MMLU, MMLU-Pro and GSM8K 5-shot), the same prompt and stop strings for
// generation, and from the same log-likelihoods the same acc, acc_norm and LAMBADA perplexity.
// Reference: tests/data/tasks/lm_eval_requests.jsonl, written by tests/oracle/lm_eval_requests.py
// with lm-eval 0.4.13's own task configs and its process_results on these files.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "tasks/jsonl.h"
#include "tasks/registry.h"
#include "tasks/task.h"
#include "tests/tasks/test_util.h"

namespace sigma::tasks {
namespace {

struct Expected {
  std::string context;
  std::string continuation;  // log-likelihood requests
  bool generate = false;
  std::vector<std::string> until;  // generation
  LoglikelihoodResult answer;  // the made-up answer lm-eval scored
};

// A made-up response to a generation request: what each filter pipeline extracts, and the
// metrics ("exact_match,<pipeline>").
struct ExpectedResponse {
  std::string text;
  std::map<std::string, std::string> filtered;
  std::map<std::string, double> metrics;
};

struct ExpectedDoc {
  std::vector<Expected> requests;  // lm-eval's order: a multiple-choice document's choices in order
  std::map<std::string, double> metrics;
  std::vector<ExpectedResponse> responses;
};

std::map<std::string, std::map<int64_t, ExpectedDoc>> LoadReference() {
  const std::string path =
      std::string(SIGMA_SOURCE_DIR) + "/tests/data/tasks/lm_eval_requests.jsonl";
  auto text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  auto rows = ParseJsonl(text.ok() ? *text : "", path, "");
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  std::map<std::string, std::map<int64_t, ExpectedDoc>> out;
  if (!rows.ok()) return out;
  for (const Document& row : *rows) {
    const rapidjson::Value& f = *row.fields;
    ExpectedDoc& doc = out[f["task"].GetString()][f["doc"].GetInt64()];
    for (const auto& r : f["requests"].GetArray()) {
      Expected e;
      e.context = r["context"].GetString();
      e.generate = r.HasMember("until");
      if (e.generate) {
        for (const auto& stop : r["until"].GetArray()) e.until.push_back(stop.GetString());
      } else {
        e.continuation = r["continuation"].GetString();
        e.answer = {r["ll"].GetDouble(), r["greedy"].GetBool(), 1};
      }
      doc.requests.push_back(std::move(e));
    }
    if (f.HasMember("responses")) {
      for (const auto& r : f["responses"].GetArray()) {
        ExpectedResponse e{r["text"].GetString(), {}, {}};
        for (const auto& m : r["filtered"].GetObject())
          e.filtered[m.name.GetString()] = m.value.GetString();
        for (const auto& m : r["metrics"].GetObject())
          e.metrics[m.name.GetString()] = m.value.GetDouble();
        doc.responses.push_back(std::move(e));
      }
    }
    if (f.HasMember("metrics")) {
      for (const auto& m : f["metrics"].GetObject())
        doc.metrics[m.name.GetString()] = m.value.GetDouble();
    }
  }
  return out;
}

TEST(LmEvalParityTest, GeneralBenchmarksBuildAndScoreAsLmEvalDoes) {
  const auto reference = LoadReference();
  ASSERT_EQ(reference.size(), 41u);
  auto registry = TaskRegistry::Scan(std::string(SIGMA_SOURCE_DIR) + "/tasks/benchmarks");
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  TaskLoadOptions zero_shot;
  zero_shot.num_fewshot = 0;
  int64_t requests_compared = 0, metrics_compared = 0, responses_compared = 0;
  for (const auto& [name, docs] : reference) {
    SCOPED_TRACE(name);
    // MMLU's, MMLU-Pro's and BBH's references are few-shot as configured (lm-eval's first_n
    // examples), GSM8K's too (lm-eval's default sampler, random.Random(1234) document by
    // document); the others zero-shot.
    const bool few_shot =
        name == "mmlu" || name == "mmlu_pro" || name == "gsm8k" || name.rfind("bbh_", 0) == 0;
    auto task = Task::Load(*registry->ConfigPath(name), few_shot ? TaskLoadOptions{} : zero_shot);
    ASSERT_TRUE(task.ok()) << task.status().ToString();
    ASSERT_EQ((*task)->docs().size(), docs.size());
    for (const auto& [index, expected] : docs) {
      SCOPED_TRACE("document " + std::to_string(index));
      const Document& doc = (*task)->docs()[static_cast<size_t>(index)];
      auto requests = (*task)->BuildRequests(doc);
      ASSERT_TRUE(requests.ok()) << requests.status().ToString();
      // Ours flattened to lm-eval's one (context, continuation) a request, and lm-eval's answers
      // handed back in our shape (a response per request, a log-likelihood per continuation).
      std::vector<Expected> ours;
      std::vector<Response> responses;
      size_t next = 0;
      for (const Request& r : *requests) {
        if (r.type == RequestType::kGenerateUntil) {
          ours.push_back({r.context, "", true, r.stop, {}});
          ++next;
          continue;
        }
        Response response;
        for (const std::string& c : r.continuations) {
          ours.push_back({r.context, c, false, {}, {}});
          if (next < expected.requests.size()) {
            response.loglikelihoods.push_back(expected.requests[next].answer);
          }
          ++next;
        }
        responses.push_back(std::move(response));
      }
      ASSERT_EQ(ours.size(), expected.requests.size());
      for (size_t i = 0; i < ours.size(); ++i) {
        EXPECT_EQ(ours[i].context, expected.requests[i].context) << "request " << i;
        EXPECT_EQ(ours[i].continuation, expected.requests[i].continuation) << "request " << i;
        EXPECT_EQ(ours[i].generate, expected.requests[i].generate) << "request " << i;
        EXPECT_EQ(ours[i].until, expected.requests[i].until) << "request " << i;
        ++requests_compared;
      }
      for (const ExpectedResponse& want : expected.responses) {
        SCOPED_TRACE("response '" + want.text + "'");
        auto score = (*task)->Score(doc, {TextResponse(want.text)});
        ASSERT_TRUE(score.ok()) << score.status().ToString();
        ASSERT_EQ(score->extracted_by_filter.size(), want.filtered.size());
        for (const auto& [pipeline, answer] : want.filtered) {
          EXPECT_EQ(score->extracted_by_filter.at(pipeline), answer) << pipeline;
        }
        for (const auto& [metric, value] : want.metrics) {
          // Ours names the pipeline only where a task has several.
          const std::string name =
              want.filtered.size() > 1 ? metric : metric.substr(0, metric.find(','));
          EXPECT_EQ(score->metrics.at(name), value) << metric;
          ++responses_compared;
        }
      }
      if (expected.metrics.empty()) continue;
      auto score = (*task)->Score(doc, responses);
      ASSERT_TRUE(score.ok()) << score.status().ToString();
      ASSERT_EQ(score->error, "");
      ASSERT_EQ(score->metrics.size(), expected.metrics.size());
      for (const auto& [metric, theirs] : expected.metrics) {
        // lm-eval's per-document perplexity item is the log-likelihood (its aggregate takes
        // exp(-mean)); ours is the document's own exp(-ll), aggregated the same way.
        const double want = metric == "perplexity" ? std::exp(-theirs) : theirs;
        EXPECT_DOUBLE_EQ(score->metrics.at(metric), want) << metric;
        ++metrics_compared;
      }
    }
  }
  EXPECT_EQ(requests_compared, 601);
  EXPECT_EQ(metrics_compared, 256);
  EXPECT_EQ(responses_compared, 1638);
}

}  // namespace
}  // namespace sigma::tasks
