// The general benchmarks build the requests EleutherAI's lm-evaluation-harness builds: the same
// context and continuation text for every choice of every sample document (zero-shot), and the
// same prompt for generation. Reference: tests/data/tasks/lm_eval_requests.jsonl, written by
// tests/oracle/lm_eval_requests.py from lm-eval 0.4.13's own task configs run on these files.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "tasks/jsonl.h"
#include "tasks/registry.h"
#include "tasks/task.h"

namespace sigma::tasks {
namespace {

struct Expected {
  std::string context;
  std::string continuation;  // log-likelihood requests
  bool generate = false;
};

// task -> doc index -> requests in lm-eval's order (a multiple-choice document's choices in order).
std::map<std::string, std::map<int64_t, std::vector<Expected>>> LoadReference() {
  const std::string path =
      std::string(SIGMA_SOURCE_DIR) + "/tests/data/tasks/lm_eval_requests.jsonl";
  auto text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  auto docs = ParseJsonl(text.ok() ? *text : "", path, "");
  EXPECT_TRUE(docs.ok()) << docs.status().ToString();
  std::map<std::string, std::map<int64_t, std::vector<Expected>>> out;
  if (!docs.ok()) return out;
  for (const Document& row : *docs) {
    const rapidjson::Value& f = *row.fields;
    Expected e;
    e.context = f["context"].GetString();
    e.generate = f.HasMember("until");
    if (!e.generate) e.continuation = f["continuation"].GetString();
    out[f["task"].GetString()][f["doc"].GetInt64()].push_back(std::move(e));
  }
  return out;
}

TEST(LmEvalParityTest, GeneralBenchmarksBuildLmEvalsRequests) {
  const auto reference = LoadReference();
  ASSERT_EQ(reference.size(), 11u);
  auto registry = TaskRegistry::Scan(std::string(SIGMA_SOURCE_DIR) + "/tasks/benchmarks");
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  TaskLoadOptions zero_shot;
  zero_shot.num_fewshot = 0;
  int64_t compared = 0;
  for (const auto& [name, docs] : reference) {
    SCOPED_TRACE(name);
    auto task = Task::Load(*registry->ConfigPath(name), zero_shot);
    ASSERT_TRUE(task.ok()) << task.status().ToString();
    ASSERT_EQ((*task)->docs().size(), docs.size());
    for (const auto& [index, expected] : docs) {
      SCOPED_TRACE("document " + std::to_string(index));
      auto requests = (*task)->BuildRequests((*task)->docs()[static_cast<size_t>(index)]);
      ASSERT_TRUE(requests.ok()) << requests.status().ToString();
      std::vector<Expected> ours;
      for (const Request& r : *requests) {
        if (r.type == RequestType::kGenerateUntil) {
          ours.push_back({r.context, "", true});
          continue;
        }
        for (const std::string& c : r.continuations) ours.push_back({r.context, c, false});
      }
      ASSERT_EQ(ours.size(), expected.size());
      for (size_t i = 0; i < ours.size(); ++i) {
        EXPECT_EQ(ours[i].context, expected[i].context) << "request " << i;
        EXPECT_EQ(ours[i].continuation, expected[i].continuation) << "request " << i;
        EXPECT_EQ(ours[i].generate, expected[i].generate) << "request " << i;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 422);
}

}  // namespace
}  // namespace sigma::tasks
