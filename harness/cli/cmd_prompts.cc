// sigma-eval prompts --tasks T [--limit N] [--doc ID] [--model PATH|none] [--json]: the requests a
// run would send for the first documents of each task (or one document), with the text the model
// reads and its token counts, to check a prompt's format before a long run. Thin: loads the tasks
// as run does (TaskFlags) and the model's tokenizer and chat template, and prints
// harness::PreviewText / PreviewJson (harness/runner/prompt_preview.h).
#include <cstdio>
#include <optional>

#include "engine/language_model.h"
#include "harness/backends/openai_backend.h"
#include "harness/cli/commands.h"
#include "harness/cli/flags.h"
#include "harness/cli/task_flags.h"
#include "harness/runner/prompt_preview.h"

namespace sigma::cli {
namespace {

struct PromptsFlags {
  TaskFlags task;
  int64_t limit = 1;
  std::string doc;
  std::string model;
  bool json = false;
};

Status Prompts(const PromptsFlags& f) {
  if (f.limit < 0) return InvalidArgumentError("--limit: expected >= 0 (0: every document)");
  if (harness::IsOpenAiUrl(f.model) || f.model.rfind("replay:", 0) == 0) {
    return InvalidArgumentError(
        "--model: a model file or folder (its tokenizer and chat "
        "template), or none; for a server's model give its tokenizer");
  }
  harness::PreviewOptions options;
  options.max_gen_tokens = f.task.max_gen_toks;
  std::unique_ptr<Tokenizer> tokenizer;
  if (f.model != "none") {
    options.model = f.model.empty() ? DefaultModelPath() : f.model;
    SIGMA_ASSIGN_OR_RETURN(tokenizer, Tokenizer::Open(options.model));
    SIGMA_ASSIGN_OR_RETURN(options.chat_template, ChatTemplateOf(options.model, *tokenizer,
                                                                 &options.chat_template_unusable));
    options.tokenizer = tokenizer.get();
  }
  SIGMA_ASSIGN_OR_RETURN(harness::LoadedTasks loaded, f.task.Load(/*threads=*/0, "prompts"));
  bool found = false;
  for (const auto& task : loaded.tasks) {
    size_t shown = 0;
    for (size_t i = 0; i < task->size(); ++i) {
      if (f.doc.empty() && f.limit > 0 && shown == static_cast<size_t>(f.limit)) break;
      if (!f.doc.empty() && task->DocId(i) != f.doc) continue;
      SIGMA_ASSIGN_OR_RETURN(std::string text, f.json ? harness::PreviewJson(*task, i, options)
                                                      : harness::PreviewText(*task, i, options));
      std::fputs(text.c_str(), stdout);
      std::fputc('\n', stdout);  // JSONL's line end; a blank line between documents
      ++shown;
      found = true;
    }
  }
  if (!f.doc.empty() && !found) {
    return NotFoundError("--doc: no document '", f.doc, "' in ", f.task.tasks);
  }
  return Status::Ok();
}

}  // namespace

int RunPrompts(const Args& args) {
  PromptsFlags f;
  Flags flags("prompts",
              "sigma-eval prompts --tasks mmlu,gsm8k [--limit N] [--doc ID] [--model PATH|none] "
              "[--json]",
              "Prints the requests a run would send for the first --limit documents of each task\n"
              "(or the document --doc): the prompt with its few-shot examples, chat messages and\n"
              "the model's rendering of them, continuations, stop strings and token limit, and\n"
              "with the model's tokenizer (default: the embedded model; none: without) the token\n"
              "counts the engine scores. Takes run's task flags, so the prompts are run's.");
  f.task.Register(flags);
  flags.Int("limit", &f.limit, "documents per task; 0 = all");
  flags.String("doc", &f.doc, "only the document with this id");
  flags.String("model", &f.model,
               "model file or folder whose tokenizer and chat template to use (default: the "
               "embedded model); none: no tokens");
  flags.Bool("json", &f.json, "one JSON object per document (JSONL)");
  if (std::optional<int> exit_code = ParseFlags(flags, args)) return *exit_code;
  if (Status s = Prompts(f); !s.ok()) return ReportError("prompts", s);
  return kExitOk;
}

}  // namespace sigma::cli
