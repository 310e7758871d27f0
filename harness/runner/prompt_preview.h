// Prompt preview (`sigma-eval prompts`): a document's requests as a run would hand them to its
// backend, so that a prompt's format (few-shot examples, delimiters, chat template, stop strings,
// token limit) can be read and checked against a reference harness before a long run.
//
// A request shows its type, its context (or chat messages) byte for byte but with control
// characters made visible, its continuations, and for generations the stop strings and the new
// token limit after `--max-gen-toks`. With a tokenizer it also shows the text the model reads
// (a chat request's rendering by the model's template) and the token counts the engine backend
// would score or prefill: the context's and each continuation's tokens as EncodePairs splits them,
// a generation prompt's tokens, a rolling text's tokens. A request the backend would refuse (a
// chat request for a model without a template this engine renders) shows why instead.
// A task's second turn (Optiflow's) is built from the first turn's answers, so it is not shown.
// Thread safety: pure functions of their arguments.
#ifndef SIGMA_HARNESS_RUNNER_PROMPT_PREVIEW_H_
#define SIGMA_HARNESS_RUNNER_PROMPT_PREVIEW_H_

#include <cstdint>
#include <optional>
#include <string>

#include "engine/base/status.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "tasks/eval_task.h"

namespace sigma::harness {

struct PreviewOptions {
  int64_t max_gen_tokens = 0;            // run's --max-gen-toks (0: the task's own limits)
  const Tokenizer* tokenizer = nullptr;  // token counts where given
  std::optional<ChatTemplate> chat_template;
  std::string chat_template_unusable;  // why the model's template does not render, where it has one
  std::string model;  // names the model in refusals
};

// Document `doc` of `task` for a terminal: a header line, then each request.
StatusOr<std::string> PreviewText(const tasks::EvalTask& task, size_t doc,
                                  const PreviewOptions& options);

// The same as one JSON object on one line (JSONL): {"task","doc_id","doc_index","requests":[
// {"type","context"|"chat"|"text" (rolling),"prompt"? (a chat rendering),"prompt_tokens"?,
//  "continuations":[{"text","tokens"?}],"stop","max_tokens","repeat","error"?}]}.
StatusOr<std::string> PreviewJson(const tasks::EvalTask& task, size_t doc,
                                  const PreviewOptions& options);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_RUNNER_PROMPT_PREVIEW_H_
