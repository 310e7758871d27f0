// Task: one benchmark (config + dataset) that builds requests and scores responses.
//
//   SIGMA_ASSIGN_OR_RETURN(auto task, Task::Load("tasks/benchmarks/arc_easy/config.json"));
//   for (const Document& doc : task->docs()) {
//     SIGMA_ASSIGN_OR_RETURN(std::vector<Request> requests, task->BuildRequests(doc));
//     std::vector<Response> responses = backend.Run(requests);     // same order
//     SIGMA_ASSIGN_OR_RETURN(SampleScore score, task->Score(doc, responses));
//     samples.push_back(score);                                    // and store it
//   }
//   std::vector<Aggregate> results = task->AggregateScores(samples);
//
// Prompt layout: preamble + (example prompt + target_delimiter + example target +
// fewshot_delimiter) * num_fewshot + doc prompt. Continuations start with target_delimiter.
// With chat_template the same parts go as chat messages (ChatMessages), and a multiple-choice
// continuation has no target_delimiter (the rendered prompt ends the assistant's header).
// A multiple_choice task with a `continuation` (Winogrande) asks one request a choice: context
// = prompt + choice, continuation = target_delimiter + continuation; its examples show the gold
// choice and the continuation.
// Scoring:
//   generate_until: every filter pipeline extracts an answer; exact_match and f1 take the best
//     over the gold answers (a gold template naming a list field gives several); bleu keeps
//     n-gram statistics for corpus BLEU; pass@k counts correct answers over num_samples
//     generations; math_equiv compares as lm-eval's hendrycks_math (math_answer.h, IsEquiv).
//     With more than one pipeline, metric names are "<metric>,<pipeline>".
//   loglikelihood: acc = the continuation is the greedy path; perplexity = exp(-ll) of the
//     document's continuation, aggregated exp(-mean ll) over documents (lm-eval's, so LAMBADA's
//     perplexity is per target word whatever the tokenizer).
//   loglikelihood_rolling: perplexity (per token), word_perplexity, byte_perplexity,
//     bits_per_byte; aggregated as corpus totals (sum of ll over sum of units).
//   multiple_choice: acc = argmax of log-likelihoods is the gold choice; acc_norm = the same
//     after dividing each log-likelihood by the length of its choice text in characters (Unicode
//     code points, without the delimiter), acc_bytes by its UTF-8 bytes (lm-eval's two); the
//     first of equal scores wins, as numpy's argmax.
// A response with an error, or a Score() that cannot extract what it needs from the backend's
// answer, yields a SampleScore with `error` set and no metrics; aggregates skip such samples (n
// counts the samples used). Errors in the task itself (a template naming a missing field, a gold
// label not among the choices) are Status errors naming the task and document.
// Thread safety: immutable after Load; BuildRequests/Score/AggregateScores may run concurrently.
#ifndef SIGMA_TASKS_TASK_H_
#define SIGMA_TASKS_TASK_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "tasks/metrics.h"
#include "tasks/task_config.h"
#include "tasks/types.h"

namespace sigma::tasks {

class Task {
 public:
  // Reads and validates the config, then loads its splits.
  static StatusOr<std::unique_ptr<Task>> Load(const std::string& config_path,
                                              const TaskLoadOptions& options = {});
  // From parsed parts (tests, generated tasks). `hash` identifies config and data.
  static StatusOr<std::unique_ptr<Task>> Create(TaskConfig config, std::vector<Document> docs,
                                                std::vector<Document> fewshot_pool,
                                                std::string hash);

  const TaskConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  // SHA-256 over the config bytes and every split file's bytes (part of a run fingerprint).
  const std::string& hash() const { return hash_; }
  // "<version>-<first 12 hex digits of hash>", as stored in run_tasks.version.
  std::string version() const;
  const std::vector<Document>& docs() const { return docs_; }
  const std::vector<Document>& fewshot_pool() const { return fewshot_pool_; }

  StatusOr<std::string> BuildPrompt(const Document& doc) const;
  StatusOr<std::vector<Request>> BuildRequests(const Document& doc) const;
  StatusOr<SampleScore> Score(const Document& doc, const std::vector<Response>& responses) const;

  // Names of the aggregate metrics this task reports, in config order.
  std::vector<std::string> MetricNames() const;
  std::vector<Aggregate> AggregateScores(const std::vector<SampleScore>& samples,
                                         const AggregateOptions& options = {}) const;

 private:
  Task() = default;
  Status Init();
  Status Context(const Document& doc, Status status) const;
  StatusOr<std::vector<size_t>> FewshotExamples(const Document& doc) const;
  // A few-shot example: its question (the prompt; with a continuation, the prompt and the gold
  // choice) and its answer (target, gold choice, or continuation), and how they join in text.
  struct Example {
    std::string question;
    std::string answer;
    std::string Text(const TaskConfig& config) const;  // without the few-shot delimiter
  };
  StatusOr<Example> MakeExample(const Document& doc) const;
  // The few-shot examples of `doc`'s prompt, in order (none with num_fewshot 0).
  StatusOr<std::vector<Example>> ExamplesFor(const Document& doc) const;
  // The chat a prompt is sent as (prompt.chat_template), `question` being the document's part of
  // it: the system message (`system`, then the preamble, fewshot_delimiter between unless either
  // side has whitespace there: lm-eval puts the description there), then the few-shot examples and
  // the question in one user turn, or with fewshot_as_multiturn each example as a user and an
  // assistant turn and the question as the last user turn (lm-eval's apply_chat_template and
  // fewshot_as_multiturn).
  StatusOr<std::vector<ChatMessage>> ChatMessages(const Document& doc,
                                                  const std::string& question) const;
  StatusOr<size_t> GoldIndex(const Document& doc, size_t num_choices) const;
  std::string MetricSuffix(size_t filter) const;
  Status ScoreGenerate(const Document& doc, const std::vector<Response>& responses,
                       SampleScore* score) const;
  Status ScoreMultipleChoice(const Document& doc, const std::vector<Response>& responses,
                             SampleScore* score) const;
  void ScoreLoglikelihood(const Document& doc, const std::vector<Response>& responses,
                          SampleScore* score) const;

  TaskConfig config_;
  std::vector<Document> docs_;
  std::vector<Document> fewshot_pool_;
  bool fewshot_is_test_ = true;
  // sampler python_random: each document's examples (pool indices), by its index in the split.
  std::vector<std::vector<size_t>> split_order_examples_;
  std::string hash_;
  std::vector<ExactMatcher> matchers_;  // one per metric (unused entries default)
};

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_TASK_H_
