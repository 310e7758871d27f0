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
#include <string>
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

 private:
  EngineBackend() = default;
  Status RunGenerate(std::span<BackendItem*> items);
  void RunLoglikelihood(BackendItem& item);
  void RunRolling(BackendItem& item);
  StatusOr<std::vector<int32_t>> PromptTokens(const tasks::Request& request) const;
  static std::vector<ChatMessage> ChatMessages(const tasks::Request& request);

  std::unique_ptr<LanguageModel> lm_;
  std::vector<PrefixBlocks> slots_;  // one per sequence slot; log-likelihoods use slot 0
  EngineBackendOptions options_;
  std::string fingerprint_;
};

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_ENGINE_BACKEND_H_
