#include "harness/backends/engine_backend.h"

#include <algorithm>
#include <chrono>

#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "engine/generate.h"
#include "harness/backends/request_tokens.h"

namespace sigma::harness {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

StatusOr<std::unique_ptr<EngineBackend>> EngineBackend::Create(std::unique_ptr<LanguageModel> lm,
                                                               const EngineBackendOptions& options) {
  SIGMA_RETURN_IF_ERROR(options.sampling.Validate());
  if (lm->tokenizer() == nullptr) {
    return FailedPreconditionError(lm->path(), ": the harness needs a model with a tokenizer "
                                               "(tokenizer.json in the folder, or a GGUF file)");
  }
  std::unique_ptr<EngineBackend> backend(new EngineBackend());
  const ForwardModel& model = lm->model();
  std::string files = "[";
  for (const std::string& file : lm->weight_files()) {
    SIGMA_ASSIGN_OR_RETURN(std::string hash, Sha256File(file));
    files += StrCat(files.size() > 1 ? "," : "", "\"", hash, "\"");
  }
  files += "]";
  std::string path;
  AppendJsonString(lm->path(), &path);
  backend->fingerprint_ = StrCat(
      "{\"backend\":\"engine\",\"model\":", path, ",\"weights_sha256\":", files, ",\"kv_dtype\":\"",
      DTypeName(model.kv_dtype()), "\",\"selective_v\":", lm->options().selective_v_top_k,
      ",\"max_context\":", model.capacity(), ",\"temperature\":", options.sampling.temperature,
      ",\"top_k\":", options.sampling.top_k, ",\"top_p\":", options.sampling.top_p,
      ",\"seed\":", options.sampling.seed,
      // CPU fingerprints predate the device field and stay as they were (resume keeps working).
      lm->options().device == "cpu" ? "" : StrCat(",\"device\":\"", lm->options().device, "\""),
      "}");
  const int64_t block = PrefixBlocks::BlockFor(lm->options().device);
  for (int seq = 0; seq < model.num_sequences(); ++seq) backend->slots_.emplace_back(seq, block);
  backend->lm_ = std::move(lm);
  backend->options_ = options;
  return backend;
}

StatusOr<std::vector<int32_t>> EngineBackend::PromptTokens(const tasks::Request& request) const {
  return RequestPromptTokens(*lm_->tokenizer(), request, lm_->chat_template(), lm_->path(),
                             lm_->chat_template_unusable());
}

Status EngineBackend::Run(std::span<BackendItem> items) {
  scored_.clear();  // the slots will hold something else
  std::vector<BackendItem*> generate;
  for (BackendItem& item : items) {
    switch (item.request->type) {
      case tasks::RequestType::kGenerateUntil: generate.push_back(&item); break;
      case tasks::RequestType::kLoglikelihood:
      case tasks::RequestType::kMultipleChoice: RunLoglikelihood(item); break;
      case tasks::RequestType::kLoglikelihoodRolling: RunRolling(item); break;
    }
  }
  if (!generate.empty()) SIGMA_RETURN_IF_ERROR(RunGenerate(generate));
  return Status::Ok();
}

void EngineBackend::RunLoglikelihood(BackendItem& item) {
  const auto start = Clock::now();
  ForwardModel& model = lm_->model();
  const tasks::Request& req = *item.request;
  // Positions the context and a continuation take, all but its last token (which is only scored).
  const auto fits = [&](size_t tokens, const char* what) -> Status {
    if (static_cast<int64_t>(tokens) <= model.capacity()) return Status::Ok();
    return ResourceExhaustedError("loglikelihood: ", tokens, " positions for ", what,
                                  ", past the context of ", model.capacity(),
                                  " tokens (raise --max-context)");
  };
  // The context as lm-eval tokenizes it: the text, or the chat template's rendering of the
  // messages (which carries its own special tokens).
  StatusOr<PromptText> context =
      RequestPromptText(req, lm_->chat_template(), lm_->path(), lm_->chat_template_unusable());
  StatusOr<std::vector<EncodedPair>> pairs =
      context.ok()
          ? EncodePairs(*lm_->tokenizer(), context->text, req.continuations, context->add_special)
          : StatusOr<std::vector<EncodedPair>>(context.status());
  Status s = pairs.status();
  std::vector<int32_t> prefilled;  // the context tokens sequence 0 holds
  std::vector<float> last_logits;
  const auto vocab = static_cast<size_t>(model.vocab_size());
  for (size_t c = 0; s.ok() && c < pairs->size(); ++c) {
    const EncodedPair& pair = (*pairs)[c];
    const std::vector<int32_t>& cont = pair.continuation;
    s = fits(pair.context.size(), "the context");
    if (s.ok()) s = fits(pair.context.size() + cont.size() - 1, "the context and a continuation");
    if (s.ok() && pair.context != prefilled) {
      const auto prefill_start = Clock::now();
      StatusOr<int64_t> computed = slots_[0].Fill(model, pair.context, &last_logits);
      s = computed.status();
      prefilled = s.ok() ? pair.context : std::vector<int32_t>();
      item.timing.prefill_ms += Ms(prefill_start, Clock::now());
      item.timing.prompt_tokens += static_cast<int64_t>(pair.context.size());
      if (s.ok())
        item.timing.reused_tokens += static_cast<int64_t>(pair.context.size()) - *computed;
    }
    if (!s.ok()) break;
    tasks::LoglikelihoodResult result;
    result.num_tokens = static_cast<int64_t>(cont.size());
    result.logprob = LogSoftmaxAt(last_logits, cont[0]);
    result.is_greedy = ArgMax(last_logits) == cont[0];
    if (cont.size() > 1) {
      std::vector<float> logits;
      s = model.TruncateSequence(0, static_cast<int64_t>(prefilled.size()));
      if (s.ok()) s = model.Prefill(0, {cont.data(), cont.size() - 1}, LogitsMode::kAll, &logits);
      if (!s.ok()) break;
      for (size_t i = 1; i < cont.size(); ++i) {
        const std::span<const float> row(logits.data() + (i - 1) * vocab, vocab);
        result.logprob += LogSoftmaxAt(row, cont[i]);
        result.is_greedy = result.is_greedy && ArgMax(row) == cont[i];
      }
    }
    item.response.loglikelihoods.push_back(result);
    item.timing.new_tokens += result.num_tokens;
  }
  if (!s.ok()) {
    item.response.loglikelihoods.clear();
    item.response.error = s.ToString();
  }
  item.timing.total_ms = Ms(start, Clock::now());
  item.timing.kv_bytes = static_cast<int64_t>(model.kv_bytes_per_token()) * model.SequenceLength(0);
}

void EngineBackend::RunRolling(BackendItem& item) {
  slots_[0].Forget();  // its windows go into slot 0
  const auto start = Clock::now();
  ForwardModel& model = lm_->model();
  const Tokenizer& tok = *lm_->tokenizer();
  const tasks::Request& req = *item.request;
  const std::string& text = RollingText(req);
  // The first token is predicted from the prefix token (lm-eval's prefix_token_id).
  const int32_t prefix = PrefixToken(tok);
  if (prefix < 0) {
    item.response.error =
        "loglikelihood_rolling: the tokenizer has no BOS or EOS token to start from";
    return;
  }
  std::vector<int32_t> tokens = {prefix};
  const std::vector<int32_t> body = EncodeText(tok, text, /*add_special=*/true);
  tokens.insert(tokens.end(), body.begin(), body.end());
  tasks::LoglikelihoodResult result;
  result.is_greedy = true;
  result.num_tokens = static_cast<int64_t>(body.size());
  const auto vocab = static_cast<size_t>(model.vocab_size());
  Status s;
  for (const RollingWindow& w : RollingWindows(result.num_tokens, model.capacity())) {
    std::vector<float> logits;
    s = model.TruncateSequence(0, 0);
    if (s.ok()) {
      s = model.Prefill(0, {tokens.data() + w.begin, static_cast<size_t>(w.end - w.begin)},
                        LogitsMode::kAll, &logits);
    }
    if (!s.ok()) break;
    for (int64_t i = w.end - w.scored; i < w.end; ++i) {
      const std::span<const float> row(logits.data() + static_cast<size_t>(i - w.begin) * vocab,
                                       vocab);
      const int32_t next = tokens[static_cast<size_t>(i + 1)];
      result.logprob += LogSoftmaxAt(row, next);
      result.is_greedy = result.is_greedy && ArgMax(row) == next;
    }
  }
  if (s.ok()) {
    item.response.loglikelihoods.push_back(result);
  } else {
    item.response.error = s.ToString();
  }
  item.timing.prompt_tokens = static_cast<int64_t>(tokens.size());
  item.timing.total_ms = item.timing.prefill_ms = Ms(start, Clock::now());
}

}  // namespace sigma::harness
