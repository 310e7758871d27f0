// TaskConfig: a task's JSON config, strictly validated (unknown keys and wrong types are errors
// naming the file and key). Format, with defaults:
//
// {
//   "name": "arc_easy",                 required; [a-z0-9_.-]+
//   "version": 1,                       required integer; bump when prompts or data change
//   "description": "...",               for people
//   "groups": ["arc"],                  names that select several tasks at once
//   "request_type": "multiple_choice",  generate_until | loglikelihood | loglikelihood_rolling |
//                                       multiple_choice
//   "dataset": {
//     "splits": {"test": "test.jsonl", "dev": "dev.jsonl"},  paths relative to the config's
//                                       folder, or to <--data-dir>/<name>/ when that is given
//     "test_split": "test", "fewshot_split": "dev",          fewshot_split defaults to test_split
//     "doc_id_field": "id"              default: the record's index
//   },
//   "prompt": {
//     "preamble": "",                   template placed before everything (before the few-shot)
//     "template": "Question: {{question}}\nAnswer:",          required (see template.h)
//     "template_pipes": "hellaswag_clean",  text pipes applied to the whole rendered template
//     "target": "{{answer}}",           the answer shown after few-shot examples
//     "gold": "{{answer}}",             what scoring compares with (default: target); for
//                                       multiple_choice an index, or a label in choice_labels
//     "choices": "{{choices.text}}" or ["{{sol1}}", "{{sol2}}"],   multiple_choice only
//     "choice_labels": "{{choices.label}}" or ["false", "true"],    maps gold to an index
//     "continuation": "{{sentence | after_first:_ | strip}}",   multiple_choice only: the choices
//                                       complete the context (template + choice, nothing between)
//                                       and this text, after target_delimiter, is what is scored
//                                       for each (lm-eval's multiple inputs: Winogrande)
//     "target_delimiter": " ", "fewshot_delimiter": "\n\n",
//     "chat_template": false, "system": ""       chat: send the prompt as chat messages (a
//                                       multiple-choice continuation then has no
//                                       target_delimiter, as under lm-eval's apply_chat_template)
//     "fewshot_as_multiturn": false     with chat_template: each few-shot example a user turn
//                                       and an assistant turn (lm-eval's fewshot_as_multiturn)
//   },
//   "fewshot": {"num": 0, "seed": 1234, "same_field": "subject", "sampler": "random"},
//                                       same_field: examples only from docs with the same value
//                                       of that field; sampler: "random" (seeded, per document),
//                                       "first_n" (the first num in split order, lm-eval's) or
//                                       "python_random" (lm-eval's default: one Python
//                                       random.Random(seed) drawn by each document in split
//                                       order; no same_field)
//   "generation": {"until": ["\n\n"], "max_tokens": 256, "num_samples": 1},
//   "filters": [ see filters.h ],       generate_until only; default one pipeline "none"
//   "metrics": [{"name": "exact_match", "ignore_case": true, "ignore_punctuation": false,
//                "regexes_to_ignore": [","]}, {"name": "pass@k", "k": [1, 5]}, ...]
// }
// Metrics by request type: generate_until: exact_match, f1, bleu, pass@k, math_equiv;
// loglikelihood: acc, perplexity; loglikelihood_rolling: perplexity, word_perplexity,
// byte_perplexity, bits_per_byte; multiple_choice: acc, acc_norm, acc_bytes. Thread safety:
// immutable after parsing.
#ifndef SIGMA_TASKS_TASK_CONFIG_H_
#define SIGMA_TASKS_TASK_CONFIG_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "tasks/fewshot.h"
#include "tasks/filters.h"
#include "tasks/metrics.h"
#include "tasks/template.h"
#include "tasks/types.h"

namespace sigma::tasks {

struct MetricSpec {
  std::string name;                   // "exact_match", "acc_norm", "pass@k", ...
  ExactMatcher::Options exact_match;  // exact_match and pass@k (what counts as correct)
  std::vector<int64_t> k;             // pass@k
};

// A list given either as one template resolving to a list, or as a list of templates.
struct TemplateList {
  bool present = false;
  bool from_field = false;
  Template field;
  std::vector<Template> items;
  StatusOr<std::vector<std::string>> Render(const rapidjson::Value& doc) const;
};

struct TaskConfig {
  std::string name;
  int64_t version = 0;
  std::string description;
  std::vector<std::string> groups;
  RequestType request_type = RequestType::kGenerateUntil;

  std::string config_path;
  std::map<std::string, std::string> splits;  // split name -> resolved path
  std::string test_split = "test";
  std::string fewshot_split;
  std::string doc_id_field;

  Template preamble;
  Template prompt;
  Template target;
  Template gold;
  TemplateList choices;
  TemplateList choice_labels;
  Template continuation;  // multiple_choice: the scored text after each choice-completed context
  std::string target_delimiter = " ";
  std::string fewshot_delimiter = "\n\n";
  bool chat_template = false;
  bool fewshot_as_multiturn = false;  // with chat_template: each example a user, assistant turn
  std::string system;

  int64_t num_fewshot = 0;
  uint64_t fewshot_seed = 1234;
  std::string fewshot_same_field;
  FewshotSampler fewshot_sampler = FewshotSampler::kRandom;

  std::vector<std::string> until;
  int64_t max_tokens = 256;
  int64_t num_samples = 1;

  std::vector<FilterPipeline> filters;
  std::vector<MetricSpec> metrics;
};

struct TaskLoadOptions {
  std::string data_dir;  // when set, dataset paths resolve under <data_dir>/<task name>/
  int64_t num_fewshot = -1;  // >= 0: few-shot examples per prompt in place of fewshot.num
  // lm-eval's --apply_chat_template: every prompt sent as chat messages (prompt.chat_template).
  bool apply_chat_template = false;
  // lm-eval's --system_instruction: the chat's system message, before the task's own `system`
  // (a blank line between them). Needs apply_chat_template or a task with chat_template.
  std::string system_instruction{};
  // lm-eval's --fewshot_as_multiturn: with apply_chat_template, examples as turns of their own.
  bool fewshot_as_multiturn = false;
};

// Parses config text; `path` names it in errors and anchors relative dataset paths.
StatusOr<TaskConfig> ParseTaskConfig(std::string_view text, const std::string& path,
                                     const TaskLoadOptions& options = {});

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_TASK_CONFIG_H_
