#include "harness/backends/engine_backend.h"

#include <algorithm>
#include <chrono>

#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "engine/generate.h"

namespace sigma::harness {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

bool IsPrefix(const std::vector<int32_t>& prefix, const std::vector<int32_t>& whole) {
  return prefix.size() <= whole.size() && std::equal(prefix.begin(), prefix.end(), whole.begin());
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
  backend->lm_ = std::move(lm);
  backend->options_ = options;
  return backend;
}

StatusOr<std::vector<int32_t>> EngineBackend::PromptTokens(const tasks::Request& request) const {
  if (request.chat.empty()) return lm_->Encode(request.context);
  std::vector<ChatMessage> messages;
  for (const tasks::ChatMessage& m : request.chat) messages.push_back({m.role, m.content});
  return lm_->EncodeChat(messages);
}

Status EngineBackend::Run(std::span<BackendItem> items) {
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
  StatusOr<std::vector<int32_t>> context = PromptTokens(req);
  if (!context.ok()) {
    item.response.error = context.status().ToString();
    return;
  }
  if (context->empty()) {
    item.response.error = "loglikelihood: the context encodes to no tokens and the model has no BOS";
    return;
  }
  // Positions the context and a continuation take, all but its last token (which is only scored).
  const auto fits = [&](size_t tokens, const char* what) -> Status {
    if (static_cast<int64_t>(tokens) <= model.capacity()) return Status::Ok();
    return ResourceExhaustedError("loglikelihood: ", tokens, " positions for ", what,
                                  ", past the context of ", model.capacity(),
                                  " tokens (raise --max-context)");
  };
  std::vector<float> last_logits;
  Status s = fits(context->size(), "the context");
  if (s.ok()) s = model.TruncateSequence(0, 0);
  if (s.ok()) s = model.Prefill(0, *context, LogitsMode::kLast, &last_logits);
  item.timing.prefill_ms = Ms(start, Clock::now());
  item.timing.prompt_tokens = static_cast<int64_t>(context->size());
  const std::string rendered = req.chat.empty() ? req.context : std::string();
  const auto vocab = static_cast<size_t>(model.vocab_size());
  for (const std::string& continuation : req.continuations) {
    if (!s.ok()) break;
    std::vector<int32_t> cont;
    StatusOr<std::vector<int32_t>> whole = lm_->Encode(rendered + continuation);
    if (req.chat.empty() && whole.ok() && IsPrefix(*context, *whole) && whole->size() > context->size()) {
      cont.assign(whole->begin() + static_cast<long>(context->size()), whole->end());
    } else {
      cont = lm_->tokenizer()->Encode(continuation, /*add_special=*/false);
    }
    if (cont.empty()) {
      s = InvalidArgumentError("loglikelihood: a continuation encodes to no tokens");
      break;
    }
    s = fits(context->size() + cont.size() - 1, "the context and a continuation");
    if (!s.ok()) break;
    tasks::LoglikelihoodResult result;
    result.num_tokens = static_cast<int64_t>(cont.size());
    result.logprob = LogSoftmaxAt(last_logits, cont[0]);
    result.is_greedy = ArgMax(last_logits) == cont[0];
    if (cont.size() > 1) {
      std::vector<float> logits;
      s = model.TruncateSequence(0, static_cast<int64_t>(context->size()));
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
  const auto start = Clock::now();
  ForwardModel& model = lm_->model();
  const Tokenizer& tok = *lm_->tokenizer();
  const tasks::Request& req = *item.request;
  const std::string& text = req.continuations.empty() ? req.context : req.continuations[0];
  // The first token is predicted from BOS (or EOS for families without one), as lm-eval does.
  const int32_t prefix = tok.bos_id() >= 0 ? tok.bos_id() : (tok.eos_ids().empty() ? 0 : tok.eos_ids()[0]);
  std::vector<int32_t> tokens = {prefix};
  const std::vector<int32_t> body = tok.Encode(text, /*add_special=*/false);
  tokens.insert(tokens.end(), body.begin(), body.end());
  tasks::LoglikelihoodResult result;
  result.is_greedy = true;
  result.num_tokens = static_cast<int64_t>(body.size());
  const auto window = static_cast<size_t>(model.capacity());
  if (window < 2) {
    item.response.error = "loglikelihood_rolling: --max-context must be at least 2";
    return;
  }
  const size_t half = std::max<size_t>(1, window / 2);
  const auto vocab = static_cast<size_t>(model.vocab_size());
  // Window w predicts tokens [score_begin, score_end) from the tokens before them.
  size_t score_begin = 1;
  Status s;
  while (score_begin < tokens.size() && s.ok()) {
    const size_t ctx_begin = score_begin == 1 ? 0 : score_begin - half;
    const size_t score_end = std::min(tokens.size(), ctx_begin + window);
    std::vector<float> logits;
    s = model.TruncateSequence(0, 0);
    if (s.ok()) s = model.Prefill(0, {tokens.data() + ctx_begin, score_end - 1 - ctx_begin}, LogitsMode::kAll, &logits);
    for (size_t t = score_begin; s.ok() && t < score_end; ++t) {
      const std::span<const float> row(logits.data() + (t - 1 - ctx_begin) * vocab, vocab);
      result.logprob += LogSoftmaxAt(row, tokens[t]);
      result.is_greedy = result.is_greedy && ArgMax(row) == tokens[t];
    }
    score_begin = score_end;
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
