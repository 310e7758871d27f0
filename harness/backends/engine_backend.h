// EngineBackend: runs requests on the embedded engine (a LanguageModel, on the CPU or a CUDA device
// as it was opened; the code below sees only the device-neutral ForwardModel).
//
// generate_until: up to `max_sequences` requests decode together (continuous batching: a finished
// sequence's slot takes the next request at once); each request prefills alone, then joins the
// batched decode step. Stops at the model's EOS, a request stop string (cut from the text), its
// max_tokens, or a full context. loglikelihood / multiple_choice: the context is prefilled once
// and every continuation reuses its KV (the sequence is truncated back to the context length);
// context and continuations are tokenized as lm-evaluation-harness does (EncodePairs,
// request_tokens.h; a chat request's context is the template's rendering). A context or prompt
// reuses the whole blocks (64 positions on the CPU) of KV rows that a slot holds of the same
// tokens from an earlier request (PrefixBlocks, prefix_blocks.h: the same bits as without), so a
// task's shared few-shot prefix is computed once; RequestTiming::reused_tokens counts those rows,
// and the prefill rate is over the positions computed. loglikelihood_rolling: the whole text in
// lm-eval's windows of the context capacity (RollingWindows).
//
// Thread safety: not thread-safe.
#ifndef SIGMA_HARNESS_BACKENDS_ENGINE_BACKEND_H_
#define SIGMA_HARNESS_BACKENDS_ENGINE_BACKEND_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/language_model.h"
#include "engine/sampler.h"
#include "harness/backends/backend.h"
#include "harness/backends/prefix_blocks.h"

namespace sigma::harness {

struct EngineBackendOptions {
  SamplingParams sampling;  // greedy by default; the seed is mixed with each request's repeat
};

class EngineBackend : public Backend {
 public:
  // `lm` must have been opened with max_sequences = the decode batch size.
  static StatusOr<std::unique_ptr<EngineBackend>> Create(std::unique_ptr<LanguageModel> lm,
                                                         const EngineBackendOptions& options);

  std::string Describe() const override { return lm_->path(); }
  std::string FingerprintJson() const override { return fingerprint_; }
  Status Run(std::span<BackendItem> items) override;

  LanguageModel& language_model() { return *lm_; }

  // For a server whose requests carry their own sampling (harness/serve/openai_server.h): the
  // parameters of the next Run's generations (validated; the fingerprint keeps the first ones).
  Status SetSampling(const SamplingParams& sampling);

  // Scores a token sequence as an OpenAI completions request with echo and logprobs does:
  // for each position i >= 1, log P(tokens[i] | tokens[0..i)) and the `top_n` most likely tokens
  // there (ties to the lower id); position 0 has no score. Runs in chunks that start at
  // multiples of ScoreChunk(device), in the slot whose earlier ScoreTokens
  // call shares the most whole chunks of these tokens (with the same top_n; else the slot used
  // least recently), and reuses those chunks if no Run came in between: a few-shot prompt's
  // examples, and a context scored with one continuation after another while other requests
  // interleave (clients with requests in flight), are computed once. Since the chunks are the same
  // calls either way, the scores are the same bits as without. The last token is only
  // scored, so a sequence may be one longer than the context. With `next`, one more score follows:
  // the most likely token after the last (its logprob that of top[0], top at least that one),
  // and every token takes a position. INVALID_ARGUMENT for an empty sequence or a longer one,
  // `top_n` outside [0, 20] or an id outside the vocabulary.
  // Positions a ScoreTokens call computes at a time. On the CPU a continuation recomputes up to
  // one chunk of its context, and a fresh prompt pays a call per chunk: through `serve`, 12
  // documents of mmlu / hellaswag / arc_easy took 6.4 / 2.6 / 1.7 s in chunks of 64, 4.1 / 2.2 /
  // 1.7 in 32, 3.0 / 1.9 / 1.5 in 16 and 4.0 / 2.0 / 1.6 in 8 (the 2-core Zen 4 VM; the embedded
  // run 2.2 / 1.3 / 0.7). On a GPU, PrefixBlocks' block (not measured).
  static int64_t ScoreChunk(std::string_view device) {
    return device == "cpu" ? 16 : PrefixBlocks::BlockFor(device);
  }
  // `reused`, where given, receives how many positions came from an earlier call.
  StatusOr<std::vector<TokenLogprob>> ScoreTokens(std::span<const int32_t> tokens, int top_n,
                                                  bool next = false, int64_t* reused = nullptr);

 private:
  EngineBackend() = default;
  Status RunGenerate(std::span<BackendItem*> items);
  // `token`'s log-softmax in the logits `row`, and the `top_n` most likely ids there.
  static TokenLogprob ScoreRow(std::span<const float> row, int32_t token, int top_n);
  void RunLoglikelihood(BackendItem& item);
  void RunRolling(BackendItem& item);
  StatusOr<std::vector<int32_t>> PromptTokens(const tasks::Request& request) const;

  std::unique_ptr<LanguageModel> lm_;
  std::vector<PrefixBlocks> slots_;  // one per sequence slot; log-likelihoods use slot 0
  // What ScoreTokens left in each slot (all cleared by Run, which uses the slots otherwise).
  struct ScoredSlot {
    std::vector<int32_t> tokens;  // the rows the slot holds
    std::vector<TokenLogprob> scores;
    std::vector<float> last_logits;  // of its last row, where the call that made it kept them
    int top_n = -1;
    int64_t last_use = 0;
  };
  std::vector<ScoredSlot> scored_;
  int64_t score_calls_ = 0;
  EngineBackendOptions options_;
  std::string fingerprint_;
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_ENGINE_BACKEND_H_
