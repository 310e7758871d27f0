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
  // there (ties to the lower id); position 0 has no score. Runs in slot 0, in chunks that start
  // at multiples of the prefix block (PrefixBlocks::BlockFor), and reuses the whole chunks the
  // previous ScoreTokens call computed of the same tokens (with the same top_n) if nothing ran
  // in between: a few-shot prompt's examples are computed once, and since the chunks are the
  // same calls either way, the scores are the same bits as without. The last token is only
  // scored, so a sequence may be one longer than the context. With `next`, one more score follows:
  // the most likely token after the last (its logprob that of top[0], top at least that one),
  // and every token takes a position. INVALID_ARGUMENT for an empty sequence or a longer one,
  // `top_n` outside [0, 20] or an id outside the vocabulary.
  struct TokenScore {
    double logprob = 0;
    std::vector<std::pair<int32_t, double>> top;  // most likely first
  };
  StatusOr<std::vector<TokenScore>> ScoreTokens(std::span<const int32_t> tokens, int top_n,
                                                bool next = false);

 private:
  EngineBackend() = default;
  Status RunGenerate(std::span<BackendItem*> items);
  void RunLoglikelihood(BackendItem& item);
  void RunRolling(BackendItem& item);
  StatusOr<std::vector<int32_t>> PromptTokens(const tasks::Request& request) const;
  static std::vector<ChatMessage> ChatMessages(const tasks::Request& request);

  std::unique_ptr<LanguageModel> lm_;
  std::vector<PrefixBlocks> slots_;  // one per sequence slot; log-likelihoods use slot 0
  // What the last ScoreTokens left in slot 0 (cleared by Run, which uses the slot otherwise).
  std::vector<int32_t> scored_tokens_;
  std::vector<TokenScore> scored_;
  int scored_top_n_ = -1;
  EngineBackendOptions options_;
  std::string fingerprint_;
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_ENGINE_BACKEND_H_
