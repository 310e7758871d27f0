// Every general benchmark under tasks/benchmarks loads, builds requests for every sample
// document, and scores a known-correct response as correct and a known-wrong one as wrong.
#include <gtest/gtest.h>

#include "tasks/registry.h"
#include "tasks/task.h"
#include "tests/tasks/test_util.h"

namespace sigma::tasks {
namespace {

const std::string kRoot = std::string(SIGMA_SOURCE_DIR) + "/tasks/benchmarks";

TaskRegistry Registry() {
  auto registry = TaskRegistry::Scan(kRoot);
  EXPECT_TRUE(registry.ok()) << registry.status().ToString();
  return std::move(registry).value();
}

// A multiple-choice response that strongly prefers choice `pick`.
Response Prefer(size_t pick, size_t n) {
  Response r;
  for (size_t i = 0; i < n; ++i) r.loglikelihoods.push_back({i == pick ? -1.0 : -100.0, false, 3});
  return r;
}

TEST(BenchmarksTest, RegistryListsAndExpands) {
  TaskRegistry registry = Registry();
  EXPECT_EQ(registry.TaskNames(),
            (std::vector<std::string>{"arc_challenge", "arc_easy", "boolq", "gsm8k", "hellaswag",
                                      "mmlu", "piqa"}));
  EXPECT_EQ(*registry.Expand("mmlu,gsm8k"), (std::vector<std::string>{"mmlu", "gsm8k"}));
  EXPECT_EQ(*registry.Expand(" arc , arc_easy"),
            (std::vector<std::string>{"arc_challenge", "arc_easy"}));
  EXPECT_EQ(registry.Expand("all")->size(), 7u);
  auto unknown = registry.Expand("mmlu,nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("unknown task or group 'nope'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("arc (group)"), std::string::npos);
  EXPECT_FALSE(registry.Expand(",").ok());
  auto tasks = registry.LoadTasks("reasoning");
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  EXPECT_EQ(tasks->size(), 4u);
  EXPECT_FALSE(TaskRegistry::Scan("/nonexistent").ok());
}

TEST(BenchmarksTest, MultipleChoiceBenchmarksScoreKnownAnswers) {
  // Gold choice text of the first document of each set, checked by hand against the data.
  const std::map<std::string, std::string> first_gold = {
      {"arc_easy", "a balance"}, {"arc_challenge", "dissolved air leaving the water"},
      {"boolq", "no"}, {"mmlu", "B"}, {"hellaswag", "stirs the mixture with a wooden spoon "
                                                    "until it is smooth."},
      {"piqa", "Brush the exposed flesh with lemon juice and wrap it."}};
  TaskRegistry registry = Registry();
  for (const auto& [name, gold_text] : first_gold) {
    SCOPED_TRACE(name);
    auto task = Task::Load(*registry.ConfigPath(name));
    ASSERT_TRUE(task.ok()) << task.status().ToString();
    ASSERT_GE((*task)->docs().size(), 10u);
    for (const Document& doc : (*task)->docs()) {
      SCOPED_TRACE(doc.id);
      auto requests = (*task)->BuildRequests(doc);
      ASSERT_TRUE(requests.ok()) << requests.status().ToString();
      ASSERT_EQ(requests->size(), 1u);
      const size_t n = (*requests)[0].continuations.size();
      ASSERT_GE(n, 2u);
      EXPECT_EQ((*requests)[0].continuations[0][0], ' ');
      // Exactly one choice is right, and a wrong choice scores 0.
      int right = 0;
      for (size_t pick = 0; pick < n; ++pick) {
        auto score = (*task)->Score(doc, {Prefer(pick, n)});
        ASSERT_TRUE(score.ok()) << score.status().ToString();
        ASSERT_EQ(score->error, "");
        const double acc = score->metrics.at("acc");
        if (score->metrics.count("acc_norm") > 0) {
          EXPECT_EQ(score->metrics.at("acc_norm"), acc);
        }
        if (acc == 1.0) {
          ++right;
          EXPECT_EQ(score->extracted, score->target);
          if (doc.index == 0) {
            EXPECT_EQ(score->target, gold_text);
          }
        }
      }
      EXPECT_EQ(right, 1);
    }
  }
}

TEST(BenchmarksTest, MmluPromptIsFiveShotFromTheSameSubject) {
  auto task = Task::Load(kRoot + "/mmlu/config.json");
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  const Document& doc = (*task)->docs()[0];
  auto prompt = (*task)->BuildPrompt(doc);
  ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
  EXPECT_EQ(prompt->rfind("The following are multiple choice questions (with answers) about "
                          "astronomy.\n\n", 0), 0u);
  size_t shots = 0;
  for (size_t at = prompt->find("\nAnswer: "); at != std::string::npos;
       at = prompt->find("\nAnswer: ", at + 1)) {
    ++shots;
  }
  EXPECT_EQ(shots, 5u);
  EXPECT_EQ(prompt->find("chemistry"), std::string::npos);  // same subject only
  EXPECT_NE(prompt->find("Which planet in our solar system has the shortest orbital period around "
                         "the Sun?\nA. Venus\nB. Mercury\nC. Mars\nD. Earth\nAnswer:"),
            std::string::npos);
  EXPECT_EQ(*prompt, *(*task)->BuildPrompt(doc));
}

TEST(BenchmarksTest, Gsm8kStrictAndFlexibleExtraction) {
  auto task = Task::Load(kRoot + "/gsm8k/config.json");
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  for (const Document& doc : (*task)->docs()) {
    SCOPED_TRACE(doc.id);
    auto requests = (*task)->BuildRequests(doc);
    ASSERT_TRUE(requests.ok()) << requests.status().ToString();
    ASSERT_EQ(requests->size(), 1u);
    EXPECT_EQ((*requests)[0].max_tokens, 256);
    EXPECT_EQ((*requests)[0].stop.size(), 4u);
    const std::string answer = (*doc.fields)["answer"].GetString();
    auto right = (*task)->Score(doc, {TextResponse(" " + answer + "\n")});
    ASSERT_TRUE(right.ok()) << right.status().ToString();
    EXPECT_EQ(right->metrics.at("exact_match,strict-match"), 1.0) << right->extracted;
    EXPECT_EQ(right->metrics.at("exact_match,flexible-extract"), 1.0);
    auto wrong = (*task)->Score(doc, {TextResponse("I think it is 999999.")});
    ASSERT_TRUE(wrong.ok());
    EXPECT_EQ(wrong->metrics.at("exact_match,strict-match"), 0.0);
    EXPECT_EQ(wrong->metrics.at("exact_match,flexible-extract"), 0.0);
    EXPECT_EQ(wrong->extracted, "[invalid]");
    EXPECT_EQ(wrong->extracted_by_filter.at("flexible-extract"), "999999.");
  }
  // Only the flexible filter accepts an answer without the "####" marker.
  const Document& first = (*task)->docs()[0];
  auto loose = (*task)->Score(first, {TextResponse("She has 27 pencils left.")});
  ASSERT_TRUE(loose.ok());
  EXPECT_EQ(loose->target, "27");
  EXPECT_EQ(loose->metrics.at("exact_match,strict-match"), 0.0);
  EXPECT_EQ(loose->metrics.at("exact_match,flexible-extract"), 1.0);
  auto prompt = (*task)->BuildPrompt(first);
  ASSERT_TRUE(prompt.ok());
  size_t shots = 0;
  for (size_t at = prompt->find("#### "); at != std::string::npos;
       at = prompt->find("#### ", at + 1)) {
    ++shots;
  }
  EXPECT_EQ(shots, 5u);
  EXPECT_EQ(prompt->find("Maya buys 3 packs"), prompt->rfind("Maya buys 3 packs"));
}

}  // namespace
}  // namespace sigma::tasks
