// The data that flows between tasks, the runner and backends (DESIGN.md §2): documents, requests,
// responses and scored samples. Plain structs, copied by value; Document shares its parsed JSON
// immutably, so copies are cheap.
//
//   task.BuildRequests(doc)   -> std::vector<Request>   (backend runs them, in any order/batch)
//   backend                   -> one Response per Request, same order
//   task.Score(doc, responses) -> SampleScore           (store it: harness/store SampleRecord)
//
// Thread safety: values; a const Document may be read from many threads.
#ifndef SIGMA_TASKS_TYPES_H_
#define SIGMA_TASKS_TYPES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/document.h>

#include "engine/base/status.h"

namespace sigma::tasks {

enum class RequestType {
  kGenerateUntil,         // generate from `context` until a stop string or max_tokens
  kLoglikelihood,         // log P(continuations[0] | context), and whether it is the greedy path
  kLoglikelihoodRolling,  // log P(continuations[0]) of a whole text from an empty context
  kMultipleChoice,        // log P(continuations[i] | context) for every choice i
};

std::string_view RequestTypeName(RequestType type);  // "generate_until", ...
StatusOr<RequestType> ParseRequestType(std::string_view name);

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

struct Request {
  RequestType type = RequestType::kGenerateUntil;
  // Plain prompt: few-shot examples, then the document's prompt. Backends use it as-is unless
  // `chat` is non-empty.
  std::string context;
  // With the task's chat template on: the same prompt as messages (system preamble, one user
  // turn); the backend applies the model's chat template and adds the generation prompt.
  std::vector<ChatMessage> chat;
  // Loglikelihood: one; MultipleChoice: one per choice; Rolling: the whole text. Each starts with
  // the task's target delimiter where one applies (" Paris").
  std::vector<std::string> continuations;
  std::vector<std::string> stop;  // generate_until only
  int64_t max_tokens = 0;         // generate_until only
  int repeat = 0;                 // 0..n-1 when a doc asks for n generations (pass@k)
};

struct LoglikelihoodResult {
  double logprob = 0;      // sum of log-probabilities (natural log) of the continuation tokens
  bool is_greedy = false;  // every continuation token was the argmax
  int64_t num_tokens = 0;  // continuation tokens (for token perplexity)
};

struct Response {
  std::string text;                                 // generate_until
  std::vector<LoglikelihoodResult> loglikelihoods;  // one per continuation otherwise
  std::string error;                                // non-empty: the backend failed this request
  // generate_until: why the generation ended, where the backend knows: "stop_token",
  // "stop_string", "max_tokens" or "context_full" (the last two cut the answer off); "cancelled"
  // where a streaming client went away (the server's, never a run's).
  std::string stop_reason;
};

// One dataset record. `fields` is the parsed JSON object of its line.
struct Document {
  std::string id;     // from the config's doc_id_field, else the 0-based line index
  int64_t index = 0;  // position in its split
  std::shared_ptr<const rapidjson::Document> fields;
};

// The outcome of scoring one document; everything the results store needs but the timings.
struct SampleScore {
  std::map<std::string, double> metrics;  // per-sample metric values ("acc" -> 1)
  // Numbers the corpus-level aggregates need (log-likelihood sums, byte and word counts, BLEU
  // n-gram counts), kept so aggregates can be recomputed from stored samples after a resume.
  std::map<std::string, double> stats;
  std::string extracted;                        // answer of the first filter pipeline
  std::map<std::string, std::string> extracted_by_filter;  // every pipeline's answer
  std::string target;                           // the gold answer as rendered
  std::string raw_output;                       // what the backend returned (see SCHEMA.md)
  std::string verdict;                          // sandbox verdict when code ran ("OK", ...)
  std::string error;                            // non-empty: the sample failed
  // Every generated text in request order (follow-up turns last) when a document asked for more
  // than one generation: what `sigma-eval export` writes as replay "outputs".
  std::vector<std::string> responses;
  // Why each generation ended (Response::stop_reason), in request order, where the backend said.
  std::vector<std::string> stop_reasons;
};

// Whether a generation that ended for `stop_reason` was cut off (by the token limit or the
// context) rather than finished by the model.
bool CutOff(std::string_view stop_reason);

// {"acc":1,"_stats":{...},"_extracted":{...},"_responses":[...],"_stop_reasons":[...]}: the
// samples.metrics_json of SCHEMA.md.
std::string SampleScoreToJson(const SampleScore& score);
// Reads metrics and stats back from metrics_json (for re-aggregation after a resume).
StatusOr<SampleScore> SampleScoreFromJson(std::string_view json, std::string_view source);

}  // namespace sigma::tasks

#endif  // SIGMA_TASKS_TYPES_H_
