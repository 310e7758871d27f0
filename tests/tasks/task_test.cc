#include "tasks/task.h"

#include <cmath>

#include <gtest/gtest.h>

#include "tests/tasks/test_util.h"

namespace sigma::tasks {
namespace {

std::unique_ptr<Task> LoadTask(const TaskDir& dir, const std::string& config,
                               const std::string& data) {
  dir.Write("t/test.jsonl", data);
  auto task = Task::Load(dir.Write("t/config.json", config));
  EXPECT_TRUE(task.ok()) << task.status().ToString();
  return task.ok() ? std::move(task).value() : nullptr;
}

std::string QaData(int n) {
  std::string data;
  for (int i = 0; i < n; ++i) {
    data += "{\"q\": \"question " + std::to_string(i) + "\", \"a\": \"answer " +
            std::to_string(i) + "\"}\n";
  }
  return data;
}

Response Text(const std::string& text) { return TextResponse(text); }

TEST(TaskTest, FewshotPromptsAreDeterministicAndExcludeTheDocument) {
  TaskDir dir;
  auto task = LoadTask(dir, R"({"name": "qa", "version": 1, "request_type": "generate_until",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"preamble": "Answer briefly.\n\n", "template": "Q: {{q}}\nA:",
                 "target": "{{a}}", "chat_template": true, "system": "Be terse."},
      "fewshot": {"num": 2, "seed": 42},
      "generation": {"until": ["\n"], "max_tokens": 16},
      "metrics": [{"name": "exact_match"}]})", QaData(6));
  ASSERT_NE(task, nullptr);
  for (const Document& doc : task->docs()) {
    auto first = task->BuildPrompt(doc);
    auto second = task->BuildPrompt(doc);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(*first, *second);
    const std::string own = "Q: question " + doc.id + "\nA:";
    EXPECT_EQ(first->find(own), first->size() - own.size()) << "own question only at the end";
    EXPECT_EQ(first->rfind("Answer briefly.\n\n", 0), 0u);
    // Two examples, each "Q: ...\nA: answer k\n\n".
    size_t examples = 0;
    for (size_t at = first->find("\nA: answer "); at != std::string::npos;
         at = first->find("\nA: answer ", at + 1)) {
      ++examples;
    }
    EXPECT_EQ(examples, 2u);
  }
  auto requests = task->BuildRequests(task->docs()[0]);
  ASSERT_TRUE(requests.ok());
  ASSERT_EQ(requests->size(), 1u);
  const Request& r = (*requests)[0];
  EXPECT_EQ(r.type, RequestType::kGenerateUntil);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});
  EXPECT_EQ(r.max_tokens, 16);
  // As chat (lm-eval's apply_chat_template): the system message, then the preamble (lm-eval's
  // description) after the few-shot delimiter; the examples and the question in one user turn.
  ASSERT_EQ(r.chat.size(), 2u);
  EXPECT_EQ(r.chat[0].role, "system");
  EXPECT_EQ(r.chat[0].content, "Be terse.\n\nAnswer briefly.\n\n");
  EXPECT_EQ(r.chat[1].role, "user");
  EXPECT_EQ("Answer briefly.\n\n" + r.chat[1].content, r.context);
}

// lm-eval's fewshot_as_multiturn: each example a user turn (its prompt) and an assistant turn
// (its answer), the question the last user turn; the stored prompt stays the plain text.
TEST(TaskTest, FewshotAsMultiturnGivesEachExampleItsTurns) {
  TaskDir dir;
  auto task = LoadTask(dir, R"({"name": "qa", "version": 1, "request_type": "generate_until",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"preamble": "Answer briefly.\n\n", "template": "Q: {{q}}\nA:",
                 "target": "{{a}}", "chat_template": true, "fewshot_as_multiturn": true},
      "fewshot": {"num": 2, "sampler": "first_n"},
      "metrics": [{"name": "exact_match"}]})",
                       QaData(4));
  ASSERT_NE(task, nullptr);
  auto requests = task->BuildRequests(task->docs()[3]);
  ASSERT_TRUE(requests.ok()) << requests.status().ToString();
  const Request& r = (*requests)[0];
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"system", "Answer briefly.\n\n"}, {"user", "Q: question 0\nA:"},
      {"assistant", "answer 0"},         {"user", "Q: question 1\nA:"},
      {"assistant", "answer 1"},         {"user", "Q: question 3\nA:"}};
  ASSERT_EQ(r.chat.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.chat[i].role, expected[i].first) << i;
    EXPECT_EQ(r.chat[i].content, expected[i].second) << i;
  }
  EXPECT_EQ(r.context,
            "Answer briefly.\n\nQ: question 0\nA: answer 0\n\nQ: question 1\nA: answer 1\n\nQ: "
            "question 3\nA:");
  // A system message ending in whitespace takes the preamble without the delimiter
  // (lm-eval's maybe_delimit).
  auto spaced = LoadTask(dir, R"({"name": "qa", "version": 1, "request_type": "generate_until",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"preamble": "Answer briefly.\n\n", "template": "Q: {{q}}\nA:",
                 "target": "{{a}}", "chat_template": true, "system": "Be terse.\n"},
      "metrics": [{"name": "exact_match"}]})",
                         QaData(2));
  ASSERT_NE(spaced, nullptr);
  auto spaced_requests = spaced->BuildRequests(spaced->docs()[0]);
  ASSERT_TRUE(spaced_requests.ok());
  EXPECT_EQ((*spaced_requests)[0].chat[0].content, "Be terse.\nAnswer briefly.\n\n");
  // Turns are a chat's: without chat_template the config is refused.
  auto refused = Task::Load(dir.Write("u/config.json", R"({"name": "u", "version": 1,
      "request_type": "generate_until", "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "Q", "target": "A", "fewshot_as_multiturn": true},
      "metrics": [{"name": "exact_match"}]})"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("fewshot_as_multiturn needs chat_template"),
            std::string::npos)
      << refused.status().ToString();
}

TEST(TaskTest, GenerateScoresExactMatchF1BleuAndPassAtK) {
  TaskDir dir;
  auto task = LoadTask(dir, R"({"name": "gen", "version": 1, "request_type": "generate_until",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "Q: {{q}}\nA:", "target": "{{a}}"},
      "generation": {"num_samples": 5},
      "filters": [{"name": "raw", "steps": [{"type": "strip"}]},
                  {"name": "first", "steps": [{"type": "strip"}, {"type": "take_first"}]}],
      "metrics": [{"name": "exact_match", "ignore_case": true}, {"name": "f1"}, {"name": "bleu"},
                  {"name": "pass@k", "k": [1, 2], "ignore_case": true}]})", QaData(3));
  ASSERT_NE(task, nullptr);
  const Document& doc = task->docs()[1];
  auto requests = task->BuildRequests(doc);
  ASSERT_TRUE(requests.ok());
  ASSERT_EQ(requests->size(), 5u);
  EXPECT_EQ((*requests)[4].repeat, 4);
  std::vector<Response> responses = {Text(" ANSWER 1 "), Text("no"), Text("answer 1"),
                                     Text("answer"), Text("nope")};
  auto score = task->Score(doc, responses);
  ASSERT_TRUE(score.ok()) << score.status().ToString();
  EXPECT_EQ(score->error, "");
  EXPECT_EQ(score->target, "answer 1");
  EXPECT_EQ(score->extracted, "ANSWER 1");
  EXPECT_EQ(score->metrics.at("exact_match,raw"), 1.0);
  EXPECT_EQ(score->metrics.at("f1,raw"), 1.0);
  EXPECT_DOUBLE_EQ(score->metrics.at("pass@1,raw"), 0.4);
  EXPECT_DOUBLE_EQ(score->metrics.at("pass@2,raw"), 0.7);
  EXPECT_DOUBLE_EQ(score->metrics.at("pass@2,first"), 0.7);  // filtered per generation
  EXPECT_NE(score->raw_output.find("\" ANSWER 1 \""), std::string::npos);
  EXPECT_EQ(task->MetricNames(),
            (std::vector<std::string>{"exact_match,raw", "f1,raw", "bleu,raw", "pass@1,raw",
                                      "pass@2,raw", "exact_match,first", "f1,first", "bleu,first",
                                      "pass@1,first", "pass@2,first"}));
}

TEST(TaskTest, LoglikelihoodAndRollingPerplexities) {
  TaskDir dir;
  auto ll = LoadTask(dir, R"({"name": "ll", "version": 1, "request_type": "loglikelihood",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "Q: {{q}}\nA:", "gold": "{{a}}"},
      "metrics": [{"name": "acc"}, {"name": "perplexity"}]})", QaData(2));
  ASSERT_NE(ll, nullptr);
  auto requests = ll->BuildRequests(ll->docs()[0]);
  ASSERT_TRUE(requests.ok());
  EXPECT_EQ((*requests)[0].continuations, std::vector<std::string>{" answer 0"});
  auto s = ll->Score(ll->docs()[0], {LoglikelihoodResponse({{-4.0, true, 2}})});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->metrics.at("acc"), 1.0);
  EXPECT_DOUBLE_EQ(s->metrics.at("perplexity"), std::exp(4.0));  // per document, not per token
  auto s2 = ll->Score(ll->docs()[1], {LoglikelihoodResponse({{-2.0, false, 1}})});
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->metrics.at("acc"), 0.0);
  auto ll_aggregates = ll->AggregateScores({*s, *s2});
  ASSERT_EQ(ll_aggregates.size(), 2u);
  EXPECT_DOUBLE_EQ(ll_aggregates[0].value, 0.5);
  EXPECT_NEAR(ll_aggregates[1].value, std::exp(3.0), 1e-12);  // exp(-mean ll), 2 documents

  TaskDir dir2;
  auto rolling = LoadTask(dir2, R"({"name": "wiki", "version": 1,
      "request_type": "loglikelihood_rolling", "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "{{text}}"},
      "metrics": [{"name": "perplexity"}, {"name": "word_perplexity"},
                  {"name": "byte_perplexity"}, {"name": "bits_per_byte"}]})",
      "{\"text\": \"one two three\"}\n{\"text\": \"four five\"}\n");
  ASSERT_NE(rolling, nullptr);
  auto rr = rolling->BuildRequests(rolling->docs()[0]);
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ((*rr)[0].context, "");
  EXPECT_EQ((*rr)[0].continuations, std::vector<std::string>{"one two three"});
  auto a = rolling->Score(rolling->docs()[0], {LoglikelihoodResponse({{-6.0, false, 4}})});
  auto b = rolling->Score(rolling->docs()[1], {LoglikelihoodResponse({{-3.0, false, 2}})});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_DOUBLE_EQ(a->metrics.at("word_perplexity"), std::exp(2.0));  // 6 / 3 words
  EXPECT_DOUBLE_EQ(a->metrics.at("bits_per_byte"), 6.0 / (13 * std::log(2.0)));
  auto aggregates = rolling->AggregateScores({*a, *b});
  ASSERT_EQ(aggregates.size(), 4u);
  EXPECT_NEAR(aggregates[0].value, std::exp(9.0 / 6.0), 1e-12);    // tokens 4 + 2
  EXPECT_NEAR(aggregates[1].value, std::exp(9.0 / 5.0), 1e-12);    // words 3 + 2
  EXPECT_NEAR(aggregates[2].value, std::exp(9.0 / 22.0), 1e-12);   // bytes 13 + 9
  EXPECT_NEAR(aggregates[3].value, 9.0 / (22.0 * std::log(2.0)), 1e-12);
  EXPECT_EQ(aggregates[3].n, 2);
}

// Winogrande's form: the choices complete the context, the same continuation is scored after
// each (lm-eval's multiple inputs).
TEST(TaskTest, ChoicesThatCompleteTheContextScoreOneContinuationEach) {
  TaskDir dir;
  const std::string data =
      "{\"sentence\": \"Ann lent Bea a pen because _ had two.\", \"option1\": \"Ann\", "
      "\"option2\": \"Bea\", \"answer\": \"1\"}\n"
      "{\"sentence\": \"The cup fell off the shelf because _ was tilted.\", \"option1\": "
      "\"the cup\", \"option2\": \"the shelf\", \"answer\": \"2\"}\n";
  auto task = LoadTask(dir, R"({"name": "wino", "version": 1, "request_type": "multiple_choice",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "{{sentence | before:_}}", "choices": ["{{option1}}", "{{option2}}"],
                 "continuation": "{{sentence | after_first:_ | strip}}",
                 "choice_labels": ["1", "2"], "gold": "{{answer}}"},
      "fewshot": {"num": 1},
      "metrics": [{"name": "acc"}]})",
                       data);
  ASSERT_NE(task, nullptr);
  const Document& doc = task->docs()[1];
  auto requests = task->BuildRequests(doc);
  ASSERT_TRUE(requests.ok()) << requests.status().ToString();
  ASSERT_EQ(requests->size(), 2u);
  // The one example (the other document) shows its gold choice and its continuation.
  const std::string example = "Ann lent Bea a pen because Ann had two.\n\n";
  EXPECT_EQ((*requests)[0].context, example + "The cup fell off the shelf because the cup");
  EXPECT_EQ((*requests)[1].context, example + "The cup fell off the shelf because the shelf");
  for (const Request& r : *requests) {
    EXPECT_EQ(r.type, RequestType::kMultipleChoice);
    EXPECT_EQ(r.continuations, std::vector<std::string>{" was tilted."});
  }
  EXPECT_EQ(*task->BuildPrompt(doc), example + "The cup fell off the shelf because ");

  const auto answer = [&](double first, double second) {
    return std::vector<Response>{LoglikelihoodResponse({{first, false, 3}}),
                                 LoglikelihoodResponse({{second, false, 3}})};
  };
  auto right = task->Score(doc, answer(-9.0, -2.0));
  ASSERT_TRUE(right.ok()) << right.status().ToString();
  EXPECT_EQ(right->metrics.at("acc"), 1.0);
  EXPECT_EQ(right->target, "the shelf");
  EXPECT_EQ(right->raw_output,
            R"([{"ll":-9,"greedy":false,"tokens":3},{"ll":-2,"greedy":false,"tokens":3}])");
  auto wrong = task->Score(doc, answer(-1.0, -2.0));
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->metrics.at("acc"), 0.0);
  EXPECT_EQ(wrong->extracted, "the cup");
  // Both log-likelihoods in one response is not what was asked.
  auto one = task->Score(doc, {LoglikelihoodResponse({{-1.0, false, 3}, {-2.0, false, 3}})});
  ASSERT_TRUE(one.ok());
  EXPECT_NE(one->error.find("2 log-likelihoods in 1 responses for 2 choices"), std::string::npos)
      << one->error;
  EXPECT_TRUE(one->metrics.empty());

  // acc_norm would divide the same text's log-likelihood for every choice; not with a
  // continuation, which only multiple_choice takes.
  TaskDir dir2;
  dir2.Write("t/test.jsonl", data);
  auto norm = Task::Load(dir2.Write("t/config.json", R"({"name": "wino", "version": 1,
      "request_type": "multiple_choice", "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "{{sentence}}", "choices": ["{{option1}}", "{{option2}}"],
                 "continuation": "x", "gold": "0"},
      "metrics": [{"name": "acc"}, {"name": "acc_norm"}]})"));
  ASSERT_FALSE(norm.ok());
  EXPECT_NE(norm.status().message().find("metrics: acc_norm divides by the length"),
            std::string::npos)
      << norm.status().ToString();
  auto generate = Task::Load(dir2.Write("t/config.json", R"({"name": "wino", "version": 1,
      "request_type": "generate_until", "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "{{sentence}}", "continuation": "x", "target": "y"},
      "metrics": [{"name": "exact_match"}]})"));
  ASSERT_FALSE(generate.ok());
  EXPECT_NE(generate.status().message().find("prompt: 'continuation' only applies to "
                                             "multiple_choice"),
            std::string::npos)
      << generate.status().ToString();
}

// lm-eval's two normalisations: acc_norm per character (Python's len), acc_bytes per UTF-8 byte.
TEST(TaskTest, AccNormDividesByCharactersAndAccBytesByBytes) {
  TaskDir dir;
  auto task = LoadTask(dir, R"({"name": "mc", "version": 1, "request_type": "multiple_choice",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "Q: {{q}}\nA:", "choices": "{{options}}", "gold": "{{gold}}"},
      "metrics": [{"name": "acc"}, {"name": "acc_norm"}, {"name": "acc_bytes"}]})",
                       "{\"q\": \"?\", \"options\": [\"\u00e9\u00e9\u00e9\", \"abcd\"], "
                       "\"gold\": 1}\n");
  ASSERT_NE(task, nullptr);
  // "ééé": 3 characters, 6 bytes; "abcd": 4 and 4. Per character -1.1 against -1.0, per byte
  // -0.55 against -1.0.
  auto score =
      task->Score(task->docs()[0], {LoglikelihoodResponse({{-3.3, false, 2}, {-4.0, false, 2}})});
  ASSERT_TRUE(score.ok()) << score.status().ToString();
  EXPECT_EQ(score->metrics.at("acc"), 0.0);
  EXPECT_EQ(score->metrics.at("acc_norm"), 1.0);
  EXPECT_EQ(score->metrics.at("acc_bytes"), 0.0);
  // Equal scores: the first choice, as numpy's argmax.
  auto tie =
      task->Score(task->docs()[0], {LoglikelihoodResponse({{-3.0, false, 2}, {-3.0, false, 2}})});
  ASSERT_TRUE(tie.ok());
  EXPECT_EQ(tie->metrics.at("acc"), 0.0);
  EXPECT_EQ(task->MetricNames(), (std::vector<std::string>{"acc", "acc_norm", "acc_bytes"}));
}

// Under the chat template a choice follows the rendered prompt with no target_delimiter, as
// lm-eval's apply_chat_template has it (the prompt ends the assistant's header).
TEST(TaskTest, ChatChoicesHaveNoDelimiter) {
  TaskDir dir;
  auto task = LoadTask(dir, R"({"name": "mc", "version": 1, "request_type": "multiple_choice",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "Q: {{q}}\nA:", "choices": "{{options}}", "gold": "{{gold}}",
                 "chat_template": true},
      "metrics": [{"name": "acc"}]})",
                       "{\"q\": \"?\", \"options\": [\"yes\", \"no\"], \"gold\": 1}\n");
  ASSERT_NE(task, nullptr);
  auto requests = task->BuildRequests(task->docs()[0]);
  ASSERT_TRUE(requests.ok()) << requests.status().ToString();
  ASSERT_EQ(requests->size(), 1u);
  const Request& r = (*requests)[0];
  EXPECT_EQ(r.continuations, (std::vector<std::string>{"yes", "no"}));
  ASSERT_EQ(r.chat.size(), 1u);
  EXPECT_EQ(r.chat[0].content, "Q: ?\nA:");
}

// A choice that the context ends with (Winogrande) ends the chat's user turn too; a multiturn
// example's question holds its gold choice and its answer the continuation.
TEST(TaskTest, ChatOfChoicesThatCompleteTheContext) {
  TaskDir dir;
  auto task = LoadTask(dir, R"({"name": "wg", "version": 1, "request_type": "multiple_choice",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "{{before}}", "choices": ["A", "B"], "gold": "{{gold}}",
                 "continuation": "{{after}}", "chat_template": true,
                 "fewshot_as_multiturn": true},
      "fewshot": {"num": 1, "sampler": "first_n"},
      "metrics": [{"name": "acc"}]})",
                       "{\"before\": \"x \", \"after\": \"went.\", \"gold\": 1}\n"
                       "{\"before\": \"y \", \"after\": \"came.\", \"gold\": 0}\n");
  ASSERT_NE(task, nullptr);
  auto requests = task->BuildRequests(task->docs()[1]);
  ASSERT_TRUE(requests.ok()) << requests.status().ToString();
  ASSERT_EQ(requests->size(), 2u);
  for (size_t c = 0; c < 2; ++c) {
    const Request& r = (*requests)[c];
    ASSERT_EQ(r.chat.size(), 3u);
    EXPECT_EQ(r.chat[0].content, "x B");
    EXPECT_EQ(r.chat[1].content, "went.");
    EXPECT_EQ(r.chat[2].content, std::string("y ") + (c == 0 ? "A" : "B"));
    EXPECT_EQ(r.continuations, std::vector<std::string>{"came."});
  }
}

TEST(TaskTest, FailedResponsesBecomeSampleErrorsSkippedByAggregates) {
  TaskDir dir;
  auto task = LoadTask(dir, R"({"name": "gen", "version": 1, "request_type": "generate_until",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "Q: {{q}}\nA:", "target": "{{a}}"},
      "metrics": [{"name": "exact_match"}]})", QaData(3));
  ASSERT_NE(task, nullptr);
  auto ok = task->Score(task->docs()[0], {Text("answer 0")});
  auto failed = task->Score(task->docs()[1], {[] {
                              Response r;
                              r.error = "backend: out of memory";
                              return r;
                            }()});
  auto wrong_count = task->Score(task->docs()[2], {});
  ASSERT_TRUE(ok.ok() && failed.ok() && wrong_count.ok());
  EXPECT_EQ(failed->error, "backend: out of memory");
  EXPECT_TRUE(failed->metrics.empty());
  EXPECT_NE(wrong_count->error.find("expected 1 responses, got 0"), std::string::npos);
  auto aggregates = task->AggregateScores({*ok, *failed, *wrong_count});
  ASSERT_EQ(aggregates.size(), 1u);
  EXPECT_EQ(aggregates[0].n, 1);
  EXPECT_EQ(aggregates[0].value, 1.0);
}

// Choices and labels read from the documents' fields: a document whose list is empty, or whose
// labels do not match its choices one for one, is that document's error (it once crashed the run
// when scored: the gold label's index past the choices).
TEST(TaskTest, ChoicesFromFieldsThatDoNotFitAreTheDocumentsError) {
  TaskDir dir;
  auto task =
      LoadTask(dir, R"({"name": "mc", "version": 1, "request_type": "multiple_choice",
      "dataset": {"splits": {"test": "test.jsonl"}},
      "prompt": {"template": "Q: {{q}}\nA:", "choices": "{{c}}", "choice_labels": "{{l}}",
                 "gold": "{{a}}"},
      "metrics": [{"name": "acc"}]})",
               "{\"q\": \"good\", \"c\": [\"x\", \"y\"], \"l\": [\"A\", \"B\"], \"a\": \"B\"}\n"
               "{\"q\": \"none\", \"c\": [], \"l\": [\"A\", \"B\"], \"a\": \"B\"}\n"
               "{\"q\": \"more labels\", \"c\": [\"x\"], \"l\": [\"A\", \"B\"], \"a\": \"B\"}\n");
  ASSERT_NE(task, nullptr);
  const auto lls = [](std::vector<double> logprobs) {
    Response r;
    for (double lp : logprobs) r.loglikelihoods.push_back({lp, false, 1});
    return r;
  };
  auto good = task->Score(task->docs()[0], {lls({-2.0, -1.0})});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->metrics.at("acc"), 1.0);
  EXPECT_EQ(task->BuildRequests(task->docs()[1]).status().message(),
            "task mc, document '1': the document has no choices");
  EXPECT_EQ(task->BuildRequests(task->docs()[2]).status().message(),
            "task mc, document '2': 2 choice labels for 1 choices");
  EXPECT_FALSE(task->Score(task->docs()[1], {lls({})}).ok());
  auto scored = task->Score(task->docs()[2], {lls({-1.0})});
  ASSERT_FALSE(scored.ok());
  EXPECT_NE(scored.status().message().find("2 choice labels for 1 choices"), std::string::npos);
}

TEST(TaskTest, SampleScoreJsonRoundTrip) {
  SampleScore s;
  s.metrics = {{"acc", 1}, {"ppl", std::nan("")}, {"f1", 0.1}};
  s.stats = {{"ll", -12.345678901234567}};
  s.extracted_by_filter = {{"a", "x\"y"}, {"b", std::string("\xff\0", 2)}};
  const std::string json = SampleScoreToJson(s);
  auto back = SampleScoreFromJson(json, "metrics_json");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << " " << json;
  EXPECT_EQ(back->metrics.at("acc"), 1);
  EXPECT_EQ(back->metrics.at("f1"), 0.1);
  EXPECT_TRUE(std::isnan(back->metrics.at("ppl")));
  EXPECT_EQ(back->stats.at("ll"), -12.345678901234567);
  EXPECT_EQ(back->extracted_by_filter.at("a"), "x\"y");
  EXPECT_TRUE(back->responses.empty());
  EXPECT_EQ(SampleScoreToJson(SampleScore{}), "{}");

  // Several generations are kept in order (one alone is not: raw_output has it).
  SampleScore multi;
  multi.responses = {"first \"turn\"\n", "second", ""};
  auto multi_back = SampleScoreFromJson(SampleScoreToJson(multi), "metrics_json");
  ASSERT_TRUE(multi_back.ok()) << multi_back.status().ToString();
  EXPECT_EQ(multi_back->responses, multi.responses);
  SampleScore single;
  single.responses = {"only"};
  EXPECT_EQ(SampleScoreToJson(single), "{}");
  EXPECT_FALSE(SampleScoreFromJson("{\"_responses\": [1]}", "m").ok());
  EXPECT_FALSE(SampleScoreFromJson("{\"acc\": \"yes\"}", "m").ok());

  // Why each generation ended, one reason even for a single generation, after the responses.
  SampleScore stopped;
  stopped.metrics = {{"em", 0}};
  stopped.responses = {"a", "b"};
  stopped.stop_reasons = {"stop_string", "max_tokens"};
  const std::string stopped_json = SampleScoreToJson(stopped);
  EXPECT_EQ(stopped_json,
            R"({"em":0,"_responses":["a","b"],"_stop_reasons":["stop_string","max_tokens"]})");
  auto stopped_back = SampleScoreFromJson(stopped_json, "metrics_json");
  ASSERT_TRUE(stopped_back.ok()) << stopped_back.status().ToString();
  EXPECT_EQ(stopped_back->stop_reasons, stopped.stop_reasons);
  SampleScore one;
  one.stop_reasons = {"context_full"};
  EXPECT_EQ(SampleScoreToJson(one), R"({"_stop_reasons":["context_full"]})");
  EXPECT_FALSE(SampleScoreFromJson(R"({"_stop_reasons":"max_tokens"})", "m").ok());
  EXPECT_TRUE(CutOff("max_tokens") && CutOff("context_full"));
  EXPECT_FALSE(CutOff("stop_string") || CutOff("stop_token") || CutOff(""));
}

}  // namespace
}  // namespace sigma::tasks
