// Every general benchmark under tasks/benchmarks loads, builds requests for every sample
// document, and scores a known-correct response as correct and a known-wrong one as wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

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
  std::vector<std::string> names = registry.TaskNames();
  // BIG-Bench Hard's 27 subtasks, one task each (the group "bbh").
  const auto bbh = std::stable_partition(
      names.begin(), names.end(), [](const std::string& n) { return n.rfind("bbh_", 0) != 0; });
  EXPECT_EQ(names.end() - bbh, 27);
  EXPECT_EQ(registry.Expand("bbh")->size(), 27u);
  names.erase(bbh, names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{"arc_challenge", "arc_easy", "boolq", "gsm8k", "hellaswag",
                                      "hendrycks_math", "lambada_openai", "logiqa", "mmlu",
                                      "mmlu_pro", "openbookqa", "piqa", "sciq", "winogrande"}));
  EXPECT_EQ(*registry.Expand("mmlu,gsm8k"), (std::vector<std::string>{"mmlu", "gsm8k"}));
  EXPECT_EQ(*registry.Expand(" arc , arc_easy"),
            (std::vector<std::string>{"arc_challenge", "arc_easy"}));
  EXPECT_EQ(registry.Expand("all")->size(), 41u);
  // The paper's general-domain suites: Table 7's nine zero-shot tasks, and the nine of its 1B
  // ablations (LAMBADA in place of ARC-e).
  EXPECT_EQ(*registry.Expand("sigma_general"),
            (std::vector<std::string>{"arc_challenge", "arc_easy", "boolq", "hellaswag", "logiqa",
                                      "openbookqa", "piqa", "sciq", "winogrande"}));
  EXPECT_EQ(*registry.Expand("sigma_ablation"),
            (std::vector<std::string>{"arc_challenge", "boolq", "hellaswag", "lambada_openai",
                                      "logiqa", "openbookqa", "piqa", "sciq", "winogrande"}));
  auto unknown = registry.Expand("mmlu,nope");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kNotFound);
  EXPECT_NE(unknown.status().message().find("unknown task or group 'nope'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("arc (group)"), std::string::npos);
  EXPECT_FALSE(registry.Expand(",").ok());
  auto tasks = registry.LoadTasks("reasoning");
  ASSERT_TRUE(tasks.ok()) << tasks.status().ToString();
  EXPECT_EQ(tasks->size(), 7u);
  EXPECT_FALSE(TaskRegistry::Scan("/nonexistent").ok());
}

TEST(BenchmarksTest, MultipleChoiceBenchmarksScoreKnownAnswers) {
  // Gold choice text of the first document of each set, checked by hand against the data.
  const std::map<std::string, std::string> first_gold = {
      {"arc_easy", "a balance"},
      {"arc_challenge", "dissolved air leaving the water"},
      {"boolq", "no"},
      {"mmlu", "B"},
      {"hellaswag",
       "stirs the mixture with a wooden spoon "
       "until it is smooth."},
      {"piqa", "Brush the exposed flesh with lemon juice and wrap it."},
      {"openbookqa", "conducts electricity"},
      {"sciq", "producer"},
      {"logiqa", "If Marta is an employee, she did not finish the safety course."}};
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

TEST(BenchmarksTest, PromptsAreLmEvalsForTheTasksOfThePapersTables) {
  TaskRegistry registry = Registry();
  const auto first_prompt = [&](const std::string& name) {
    auto task = Task::Load(*registry.ConfigPath(name));
    EXPECT_TRUE(task.ok()) << task.status().ToString();
    if (!task.ok()) return std::string();
    auto prompt = (*task)->BuildPrompt((*task)->docs()[0]);
    EXPECT_TRUE(prompt.ok()) << prompt.status().ToString();
    return prompt.ok() ? *prompt : std::string();
  };
  EXPECT_EQ(first_prompt("openbookqa"), "A copper wire is useful in a circuit because it");
  EXPECT_EQ(first_prompt("logiqa"),
            "Passage: Every employee who finished the safety course received a badge. Marta did "
            "not receive a badge.\nQuestion: Which of the following can be concluded from the "
            "statements above?\nChoices:\nA. Marta finished the safety course.\nB. Marta is not "
            "an employee of the company.\nC. If Marta is an employee, she did not finish the "
            "safety course.\nD. No employee received a badge.\nAnswer:");
  // SciQ drops the support's leading whitespace only, and an empty support leaves the newline.
  auto sciq = Task::Load(*registry.ConfigPath("sciq"));
  ASSERT_TRUE(sciq.ok());
  int empty_support = 0, indented_support = 0;
  for (const Document& doc : (*sciq)->docs()) {
    const std::string support = (*doc.fields)["support"].GetString();
    const std::string prompt = *(*sciq)->BuildPrompt(doc);
    const std::string question = (*doc.fields)["question"].GetString();
    const size_t lead = support.find_first_not_of(" \t\n");
    const std::string body = lead == std::string::npos ? "" : support.substr(lead);
    EXPECT_EQ(prompt, body + "\nQuestion: " + question + "\nAnswer:");
    empty_support += support.empty() ? 1 : 0;
    indented_support += !support.empty() && lead != 0 ? 1 : 0;
  }
  EXPECT_GE(empty_support, 1);
  EXPECT_GE(indented_support, 1);
}

TEST(BenchmarksTest, WinograndeScoresTheSentenceAfterTheBlankForEachOption) {
  auto task = Task::Load(kRoot + "/winogrande/config.json");
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  ASSERT_GE((*task)->docs().size(), 10u);
  const Document& first = (*task)->docs()[0];
  auto requests = (*task)->BuildRequests(first);
  ASSERT_TRUE(requests.ok()) << requests.status().ToString();
  ASSERT_EQ(requests->size(), 2u);
  EXPECT_EQ((*requests)[0].context, "Sarah lent her umbrella to Jessica because Sarah");
  EXPECT_EQ((*requests)[1].context, "Sarah lent her umbrella to Jessica because Jessica");
  EXPECT_EQ((*requests)[0].continuations,
            std::vector<std::string>{" was about to walk home in the rain."});
  for (const Document& doc : (*task)->docs()) {
    SCOPED_TRACE(doc.id);
    auto built = (*task)->BuildRequests(doc);
    ASSERT_TRUE(built.ok()) << built.status().ToString();
    ASSERT_EQ(built->size(), 2u);
    EXPECT_EQ((*built)[0].continuations, (*built)[1].continuations);
    const size_t gold = std::string((*doc.fields)["answer"].GetString()) == "1" ? 0 : 1;
    for (size_t pick = 0; pick < 2; ++pick) {
      std::vector<Response> responses;
      for (size_t i = 0; i < 2; ++i) responses.push_back(Prefer(i == pick ? 0 : 1, 2));
      for (Response& r : responses) r.loglikelihoods.resize(1);  // one continuation each
      auto score = (*task)->Score(doc, responses);
      ASSERT_TRUE(score.ok()) << score.status().ToString();
      ASSERT_EQ(score->error, "");
      EXPECT_EQ(score->metrics.at("acc"), pick == gold ? 1.0 : 0.0);
    }
  }
}

TEST(BenchmarksTest, LambadaScoresTheLastWordAfterTheRestOfThePassage) {
  auto task = Task::Load(kRoot + "/lambada_openai/config.json");
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  ASSERT_GE((*task)->docs().size(), 10u);
  std::vector<SampleScore> scores;
  for (const Document& doc : (*task)->docs()) {
    SCOPED_TRACE(doc.id);
    const std::string text = (*doc.fields)["text"].GetString();
    auto requests = (*task)->BuildRequests(doc);
    ASSERT_TRUE(requests.ok()) << requests.status().ToString();
    ASSERT_EQ(requests->size(), 1u);
    const Request& r = (*requests)[0];
    ASSERT_EQ(r.continuations.size(), 1u);
    EXPECT_EQ(r.context + r.continuations[0], text);
    EXPECT_EQ(r.continuations[0].rfind(' '), 0u);  // " word": one word, after one space
    auto score = (*task)->Score(doc, {LoglikelihoodResponse({{-2.0, doc.index % 2 == 0, 2}})});
    ASSERT_TRUE(score.ok()) << score.status().ToString();
    EXPECT_EQ(score->target, r.continuations[0].substr(1));
    scores.push_back(*score);
  }
  EXPECT_EQ((*(*task)->BuildRequests((*task)->docs()[0]))[0].continuations[0], " lighthouse");
  const std::vector<Aggregate> aggregates = (*task)->AggregateScores(scores);
  ASSERT_EQ(aggregates.size(), 2u);
  EXPECT_EQ(aggregates[0].metric, "perplexity");
  EXPECT_NEAR(aggregates[0].value, std::exp(2.0), 1e-9);  // per word, not per token
  EXPECT_EQ(aggregates[1].metric, "acc");
  EXPECT_NEAR(aggregates[1].value, 0.5, 1e-12);
}

TEST(BenchmarksTest, MmluPromptIsTheFirstFiveDevQuestionsOfTheSubject) {
  auto task = Task::Load(kRoot + "/mmlu/config.json");
  ASSERT_TRUE(task.ok()) << task.status().ToString();
  std::string previous_chemistry;
  for (const Document& doc : (*task)->docs()) {
    SCOPED_TRACE(doc.id);
    const std::string subject = (*doc.fields)["subject"].GetString();
    auto prompt = (*task)->BuildPrompt(doc);
    ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
    size_t shots = 0;
    for (size_t at = prompt->find("\nAnswer: "); at != std::string::npos;
         at = prompt->find("\nAnswer: ", at + 1)) {
      ++shots;
    }
    EXPECT_EQ(shots, 5u);
    if (subject == "astronomy") {
      EXPECT_EQ(prompt->rfind("The following are multiple choice questions (with answers) about "
                              "astronomy.\n\nWhich color of star has the highest surface "
                              "temperature?\nA. Red\nB. Yellow\nC. Orange\nD. Blue\nAnswer: D\n\n",
                              0),
                0u);
      EXPECT_EQ(prompt->find("chemistry"), std::string::npos);  // same subject only
    }
    if (subject == "high_school_chemistry") {
      // The same five examples before every question of the subject.
      const std::string shots_part = prompt->substr(0, prompt->rfind("\n\n"));
      if (!previous_chemistry.empty()) {
        EXPECT_EQ(shots_part, previous_chemistry);
      }
      previous_chemistry = shots_part;
    }
  }
  EXPECT_FALSE(previous_chemistry.empty());
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
    EXPECT_EQ((*requests)[0].stop, (std::vector<std::string>{"Question:", "</s>", "<|im_end|>"}));
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
