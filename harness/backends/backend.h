// Backend: what answers the runner's requests. The embedded engine (engine_backend.h) runs a
// model; the replay backend (replay_backend.h) returns recorded outputs, e.g. GPT-4's, so they are
// scored by exactly the same code as live ones; the OpenAI backend (openai_backend.h) asks a
// server with OpenAI's API.
//
// The runner hands a batch of items; the backend fills each item's response and timing. A failure
// of one request is data (response.error) so the run goes on; a Status error means the backend
// itself cannot continue (the run stops and can be resumed).
// Thread safety: implementations are not thread-safe; one runner drives one backend.
#ifndef SIGMA_HARNESS_BACKENDS_BACKEND_H_
#define SIGMA_HARNESS_BACKENDS_BACKEND_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/status.h"
#include "tasks/types.h"

namespace sigma::harness {

// A token's log-probability under the model where it stands (the log-softmax of the logits,
// before temperature, top-k or top-p) and the most likely tokens there.
struct TokenLogprob {
  int32_t token = 0;
  double logprob = 0;
  std::vector<std::pair<int32_t, double>> top;  // most likely first, ties to the lower id
};

// What a generation changes in the model's logits before each draw (the logprobs it reports stay
// the model's), in this order: vLLM's repetition penalty (the logit of a token the prompt or the
// answer holds divided by it where positive, multiplied where negative), OpenAI's presence and
// frequency penalties (subtracted from the logit of each token the answer holds: once, and per
// time it holds it), and OpenAI's logit_bias (added; -100 all but bans a token, 100 forces it).
struct LogitAdjustments {
  float repetition_penalty = 1;
  float presence_penalty = 0;
  float frequency_penalty = 0;
  std::vector<std::pair<int32_t, float>> bias;  // (token id, added)
  bool none() const {
    return repetition_penalty == 1 && presence_penalty == 0 && frequency_penalty == 0 &&
           bias.empty();
  }
};

struct RequestTiming {
  int64_t prompt_tokens = 0;
  int64_t reused_tokens = 0;  // of prompt_tokens: KV rows an earlier request left (PrefixBlocks)
  int64_t new_tokens = 0;
  double queue_ms = 0;      // waiting for a free slot in the batch
  double prefill_ms = 0;
  double ttft_ms = 0;       // from the request's start to its first token
  double decode_ms = 0;     // the batched decode steps this request took part in (not other
                            // requests' prefills), so decode tok/s is per-sequence throughput
  double total_ms = 0;
  int64_t kv_bytes = 0;     // KV-cache bytes the request held at its longest
  double PrefillTokensPerSecond() const {
    return prefill_ms > 0 ? (prompt_tokens - reused_tokens) * 1000.0 / prefill_ms : 0;
  }
  double DecodeTokensPerSecond() const {
    return decode_ms > 0 && new_tokens > 1 ? (new_tokens - 1) * 1000.0 / decode_ms : 0;
  }
};

struct BackendItem {
  std::string task;
  std::string doc_id;
  const tasks::Request* request = nullptr;  // owned by the runner
  int index_in_doc = 0;  // position among the document's requests, follow-up turns included
  tasks::Response response;
  RequestTiming timing;
  // generate_until, the engine backend: where not empty, the prompt as token ids (a server's
  // token-id prompt), read in place of the request's text.
  std::vector<int32_t> prompt_tokens;
  // generate_until, the engine backend: where set, called with each piece of the answer as it is
  // generated, in order, together the final text; a piece never holds bytes a stop string could
  // still take back or part of a UTF-8 character (until the end). With it come the
  // token_logprobs entries (where top_logprobs asks for them) of the tokens whose text starts in
  // the piece, the rest with the last (a piece may be empty where only entries come). Returning
  // false cancels the request (stop_reason "cancelled", the text so far kept): the client is gone.
  std::function<bool(std::string_view piece, std::span<const TokenLogprob> tokens)> on_text;
  // generate_until, the engine backend: where 0..20, token_logprobs receives an entry for each
  // token of the answer (a stop token is none; a token a stop string cut is one while its text
  // starts before the cut), with this many most likely tokens at its position.
  int top_logprobs = -1;
  std::vector<TokenLogprob> token_logprobs;
  // generate_until, the engine backend: the changes to the logits before each draw.
  LogitAdjustments adjust;
};

// New tokens a generation may take where its request sets no limit.
inline constexpr int64_t kDefaultMaxNewTokens = 256;

// The sampling seed of one request: the run's seed mixed (FNV-1a) with the task, the document and
// the repeat, so a sample draws the same tokens whatever batch, order or backend it runs in.
inline uint64_t RequestSeed(const BackendItem& item, uint64_t seed) {
  uint64_t h = seed * 1000003u + static_cast<uint64_t>(item.request->repeat);
  for (unsigned char c : item.task + '\0' + item.doc_id) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

class Backend {
 public:
  virtual ~Backend() = default;
  // What runs.model records: a model path, or "replay:FILE".
  virtual std::string Describe() const = 0;
  // Canonical JSON describing what determines outputs (model file hashes, sampling, dtype), for
  // the run fingerprint.
  virtual std::string FingerprintJson() const = 0;
  virtual Status Run(std::span<BackendItem> items) = 0;
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_BACKEND_H_
