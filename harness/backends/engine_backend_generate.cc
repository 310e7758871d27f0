// EngineBackend::RunGenerate: continuous batching of generate_until requests.
#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <vector>

#include "engine/generate.h"
#include "harness/backends/engine_backend.h"

namespace sigma::harness {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// One request in the decode batch.
struct Active {
  BackendItem* item = nullptr;
  int seq = 0;
  Sampler sampler;
  std::vector<int32_t> tokens;
  std::string text;
  std::vector<size_t> starts;  // where each token_logprobs entry's text starts in `text`
  // Where the item adjusts its logits (LogitAdjustments): the adjusted row, how often the answer
  // holds each token, and (with a repetition penalty) the tokens of the prompt and the answer.
  std::vector<float> adjusted;
  std::unordered_map<int32_t, int> counts;
  std::vector<int32_t> seen;   // sorted
  size_t streamed = 0;         // bytes of `text` handed to item->on_text
  size_t streamed_tokens = 0;  // token_logprobs entries handed to it
  int32_t last = 0;
  int64_t max_tokens = kDefaultMaxNewTokens;
  size_t max_stop = 0;  // longest stop string
  Clock::time_point admitted, first_token;
  double decode_ms = 0;  // time of the batched decode steps this request took part in
  const char* stop_reason = nullptr;  // set when it ends (tasks::Response::stop_reason)
};

// The row a draw is made from: the model's `row`, adjusted as the item asks (LogitAdjustments).
std::span<const float> Adjusted(Active& a, std::span<const float> row) {
  const LogitAdjustments& adjust = a.item->adjust;
  if (adjust.none()) return row;
  a.adjusted.assign(row.begin(), row.end());
  const float p = adjust.repetition_penalty;
  if (p != 1) {
    for (int32_t id : a.seen) {
      float& logit = a.adjusted[static_cast<size_t>(id)];
      logit = logit > 0 ? logit / p : logit * p;
    }
  }
  for (const auto& [id, count] : a.counts) {
    a.adjusted[static_cast<size_t>(id)] -=
        adjust.presence_penalty + adjust.frequency_penalty * static_cast<float>(count);
  }
  for (const auto& [id, bias] : adjust.bias) a.adjusted[static_cast<size_t>(id)] += bias;
  return a.adjusted;
}

// With a repetition penalty, the prompt's tokens are penalized from the first draw.
void SeePrompt(Active& a, const std::vector<int32_t>& prompt) {
  if (a.item->adjust.repetition_penalty == 1) return;
  a.seen = prompt;
  std::sort(a.seen.begin(), a.seen.end());
  a.seen.erase(std::unique(a.seen.begin(), a.seen.end()), a.seen.end());
}

// Notes a token the answer now holds, for the penalties.
void Count(Active& a, int32_t token) {
  if (a.item->adjust.none()) return;
  ++a.counts[token];
  if (a.item->adjust.repetition_penalty == 1) return;
  const auto at = std::lower_bound(a.seen.begin(), a.seen.end(), token);
  if (at == a.seen.end() || *at != token) a.seen.insert(at, token);
}

// Position of the earliest stop string in `text` that ends within its last `tail` bytes.
size_t FindStop(const std::string& text, size_t tail, const std::vector<std::string>& stops,
                size_t max_stop) {
  const size_t from = text.size() > tail + max_stop ? text.size() - tail - max_stop : 0;
  size_t best = std::string::npos;
  for (const std::string& stop : stops) {
    if (!stop.empty()) best = std::min(best, text.find(stop, from));
  }
  return best;
}

// Where a UTF-8 character that `text` ends in the middle of starts (text.size() where none does).
size_t CompleteUtf8(const std::string& text) {
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return length > back ? n - back : n;
  }
  return n;
}

// Hands a streaming request the text it can no longer take back, and the logprob entries of its
// tokens: all of them once it ended; before that, all but what a stop string could still start in
// (its longest's length - 1 bytes) and a UTF-8 character not yet whole, and the entries of the
// tokens that start before that (a stop string cuts none of them). A false from the client
// cancels the request.
void Stream(Active& a) {
  if (!a.item->on_text) return;
  size_t end = a.text.size();
  if (a.stop_reason == nullptr) {
    end = a.max_stop > 1 ? (end > a.max_stop - 1 ? end - (a.max_stop - 1) : 0) : end;
    end = std::min(end, CompleteUtf8(a.text));
  }
  end = std::max(end, a.streamed);
  const std::vector<TokenLogprob>& entries = a.item->token_logprobs;
  size_t tokens_end = a.streamed_tokens;
  while (tokens_end < entries.size() && (a.stop_reason != nullptr || a.starts[tokens_end] < end)) {
    ++tokens_end;
  }
  if (end == a.streamed && tokens_end == a.streamed_tokens) return;
  const std::string_view piece = std::string_view(a.text).substr(a.streamed, end - a.streamed);
  const std::span<const TokenLogprob> tokens(entries.data() + a.streamed_tokens,
                                             tokens_end - a.streamed_tokens);
  a.streamed = end;
  a.streamed_tokens = tokens_end;
  if (!a.item->on_text(piece, tokens) && a.stop_reason == nullptr) a.stop_reason = "cancelled";
}

}  // namespace

Status EngineBackend::RunGenerate(std::span<BackendItem*> items) {
  ForwardModel& model = lm_->model();
  const std::vector<int32_t> stop_tokens = lm_->StopTokens();
  const auto vocab = static_cast<size_t>(model.vocab_size());
  const auto run_start = Clock::now();
  std::vector<int> free_slots;
  for (int s = model.num_sequences() - 1; s >= 0; --s) free_slots.push_back(s);
  std::vector<Active> active;
  std::vector<float> logits;

  // Samples a token from its logits `row` and takes it: stop token, stop string, max tokens or
  // full context end the request (the first of them that holds names why).
  auto accept = [&](Active& a, std::span<const float> row) {
    const int32_t token = a.sampler.Sample(Adjusted(a, row));
    if (std::find(stop_tokens.begin(), stop_tokens.end(), token) != stop_tokens.end()) {
      a.stop_reason = "stop_token";
      Stream(a);
      return;
    }
    a.tokens.push_back(token);
    a.last = token;
    Count(a, token);
    const std::string piece = lm_->TokenPiece(token);
    if (a.item->top_logprobs >= 0) {
      a.item->token_logprobs.push_back(ScoreRow(row, token, a.item->top_logprobs));
      a.starts.push_back(a.text.size());
    }
    a.text += piece;
    const size_t cut = FindStop(a.text, piece.size(), a.item->request->stop, a.max_stop);
    if (cut != std::string::npos) {
      a.text.resize(cut);
      a.stop_reason = "stop_string";
      while (!a.starts.empty() && a.starts.back() >= cut) {
        a.starts.pop_back();
        a.item->token_logprobs.pop_back();
      }
    } else if (static_cast<int64_t>(a.tokens.size()) >= a.max_tokens) {
      a.stop_reason = "max_tokens";
    } else if (model.SequenceLength(a.seq) >= model.capacity()) {
      a.stop_reason = "context_full";
    }
    Stream(a);
  };
  auto finish = [&](Active& a) {
    const auto now = Clock::now();
    RequestTiming& t = a.item->timing;
    t.new_tokens = static_cast<int64_t>(a.tokens.size());
    t.decode_ms = a.decode_ms;
    t.total_ms = Ms(a.admitted, now);
    t.kv_bytes = static_cast<int64_t>(model.kv_bytes_per_token()) * model.SequenceLength(a.seq);
    a.item->response.text = std::move(a.text);
    a.item->response.stop_reason = a.stop_reason;
    free_slots.push_back(a.seq);
  };
  // Prefills one request into the free slot that holds the most of its prompt (the last one
  // freed on a tie), first copying the rows of any slot that holds more, and samples its first
  // token.
  auto admit = [&](BackendItem* item) -> Status {
    Active a;
    a.item = item;
    a.admitted = Clock::now();
    item->token_logprobs.clear();
    item->timing.queue_ms = Ms(run_start, a.admitted);
    const tasks::Request& req = *item->request;
    a.max_tokens = req.max_tokens > 0 ? req.max_tokens : kDefaultMaxNewTokens;
    for (const std::string& stop : req.stop) a.max_stop = std::max(a.max_stop, stop.size());
    SamplingParams sampling = options_.sampling;
    sampling.seed = RequestSeed(*item, sampling.seed);
    a.sampler = Sampler(sampling);
    StatusOr<std::vector<int32_t>> prompt =
        item->prompt_tokens.empty() ? PromptTokens(req) : item->prompt_tokens;
    if (!prompt.ok()) {
      item->response.error = prompt.status().ToString();
      return Status::Ok();
    }
    for (const auto& [id, bias] : item->adjust.bias) {
      if (id < 0 || static_cast<size_t>(id) >= vocab) {
        item->response.error =
            StrCat("logit_bias: token id ", id, " is outside the vocabulary of ", vocab);
        return Status::Ok();
      }
    }
    if (prompt->empty() || static_cast<int64_t>(prompt->size()) >= model.capacity()) {
      item->response.error = StrCat("prompt of ", prompt->size(), " tokens does not fit the context of ",
                                    model.capacity(), " tokens (raise --max-context)");
      return Status::Ok();
    }
    std::vector<int64_t> reusable;  // per slot
    for (const PrefixBlocks& s : slots_) reusable.push_back(s.Reusable(*prompt));
    auto slot = free_slots.end() - 1;
    for (auto it = free_slots.begin(); it != free_slots.end(); ++it) {
      if (reusable[*it] > reusable[*slot]) slot = it;
    }
    a.seq = *slot;
    const auto donor = std::max_element(reusable.begin(), reusable.end()) - reusable.begin();
    if (reusable[donor] > reusable[a.seq]) {
      SIGMA_RETURN_IF_ERROR(slots_[a.seq].CopyFrom(model, slots_[donor], reusable[donor]));
    }
    SIGMA_ASSIGN_OR_RETURN(const int64_t computed, slots_[a.seq].Fill(model, *prompt, &logits));
    a.first_token = Clock::now();
    item->timing.prompt_tokens = static_cast<int64_t>(prompt->size());
    item->timing.reused_tokens = item->timing.prompt_tokens - computed;
    item->timing.prefill_ms = Ms(a.admitted, a.first_token);
    item->timing.ttft_ms = item->timing.prefill_ms;
    free_slots.erase(slot);
    SeePrompt(a, *prompt);
    accept(a, logits);
    if (a.stop_reason != nullptr) {
      finish(a);
    } else {
      active.push_back(std::move(a));
    }
    return Status::Ok();
  };

  size_t next = 0;
  while (next < items.size() || !active.empty()) {
    while (!free_slots.empty() && next < items.size()) SIGMA_RETURN_IF_ERROR(admit(items[next++]));
    if (active.empty()) continue;
    std::vector<TokenRow> rows;
    for (const Active& a : active) rows.push_back({a.seq, a.last});
    const auto step_start = Clock::now();
    SIGMA_RETURN_IF_ERROR(model.Forward(rows, LogitsMode::kAll, &logits));
    const double step_ms = Ms(step_start, Clock::now());
    for (size_t i = 0; i < active.size(); ++i) {
      active[i].decode_ms += step_ms;
      accept(active[i], {logits.data() + i * vocab, vocab});
      if (active[i].stop_reason != nullptr) finish(active[i]);
    }
    std::erase_if(active, [](const Active& a) { return a.stop_reason != nullptr; });
  }
  return Status::Ok();
}

}  // namespace sigma::harness
