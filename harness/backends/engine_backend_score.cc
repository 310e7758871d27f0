// EngineBackend's per-request sampling and its scoring of whole token sequences, for the
// OpenAI-compatible server (harness/serve/openai_server.h).
#include <algorithm>
#include <cmath>

#include "harness/backends/engine_backend.h"

namespace sigma::harness {
namespace {

// log-softmax of a row at any id, with the rounding of LogSoftmaxAt (engine/generate.h), so a
// scored token's value equals the engine backend's.
class LogSoftmaxRow {
 public:
  explicit LogSoftmaxRow(std::span<const float> logits)
      : logits_(logits), max_(*std::max_element(logits.begin(), logits.end())) {
    double sum = 0.0;
    for (float l : logits) sum += std::exp(static_cast<double>(l) - max_);
    log_sum_ = std::log(sum);
  }
  double At(int32_t id) const {
    return static_cast<double>(logits_[static_cast<size_t>(id)]) - max_ - log_sum_;
  }

 private:
  std::span<const float> logits_;
  float max_;
  double log_sum_ = 0;
};

// The `n` largest logits' ids, largest first, ties to the lower id.
std::vector<int32_t> TopIds(std::span<const float> logits, int n) {
  std::vector<int32_t> top;  // kept sorted, at most n
  if (n <= 0) return top;
  const auto before = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  for (int32_t id = 0; id < static_cast<int32_t>(logits.size()); ++id) {
    if (static_cast<int>(top.size()) == n && !before(id, top.back())) continue;
    top.insert(std::upper_bound(top.begin(), top.end(), id, before), id);
    if (static_cast<int>(top.size()) > n) top.pop_back();
  }
  return top;
}

}  // namespace

TokenLogprob EngineBackend::ScoreRow(std::span<const float> row, int32_t token, int top_n) {
  const LogSoftmaxRow log_softmax(row);
  TokenLogprob score;
  score.token = token;
  score.logprob = log_softmax.At(token);
  for (int32_t id : TopIds(row, top_n)) score.top.emplace_back(id, log_softmax.At(id));
  return score;
}

Status EngineBackend::SetSampling(const SamplingParams& sampling) {
  SIGMA_RETURN_IF_ERROR(sampling.Validate());
  options_.sampling = sampling;
  return Status::Ok();
}

StatusOr<std::vector<TokenLogprob>> EngineBackend::ScoreTokens(std::span<const int32_t> tokens,
                                                               int top_n, bool next,
                                                               int64_t* reused) {
  ForwardModel& model = lm_->model();
  if (tokens.empty()) return InvalidArgumentError("nothing to score: the prompt has no tokens");
  // The last token is only scored, never in the cache (as the engine backend's continuations).
  if (static_cast<int64_t>(tokens.size()) - (next ? 0 : 1) > model.capacity()) {
    return InvalidArgumentError("a prompt of ", tokens.size(), " tokens is past the context of ",
                                model.capacity(), " tokens and one scored (--max-context)");
  }
  if (top_n < 0 || top_n > 20) return InvalidArgumentError("logprobs: ", top_n, " is not in 0..20");
  for (int32_t id : tokens) {
    if (id < 0 || id >= model.vocab_size()) {
      return InvalidArgumentError("token id ", id, " is outside the vocabulary of ",
                                  model.vocab_size());
    }
  }
  // Position i's logits score token i + 1 (or, past the last token, the most likely next one).
  const auto vocab = static_cast<size_t>(model.vocab_size());
  std::vector<TokenLogprob> scores(tokens.size() + (next ? 1 : 0));
  const auto score_row = [&](std::span<const float> row, size_t i) {
    if (i + 1 < tokens.size()) {
      scores[i + 1] = ScoreRow(row, tokens[i + 1], top_n);
    } else {  // the most likely next token: the first of the top ones
      TokenLogprob& next_score = scores[i + 1];
      next_score = ScoreRow(row, 0, std::max(top_n, 1));
      next_score.token = next_score.top[0].first;
      next_score.logprob = next_score.top[0].second;
    }
  };

  // Rows an earlier call left in a slot that this one can keep, computed by the same chunk calls a
  // fresh computation makes: all of them where it needs exactly those rows, or whole chunks. The
  // score of the token after the kept rows comes with them: the slot's, where that token agrees,
  // else from the slot's last row's logits (kept == all its rows).
  scored_.resize(slots_.size());
  const auto chunk = static_cast<size_t>(ScoreChunk(lm_->options().device));
  const size_t predictors = tokens.size() - (next ? 0 : 1);  // the rows this call needs
  struct Keep {
    size_t rows = 0;
    bool whole_slot = false;  // keeps every row of the slot (and may use its last logits)
  };
  const auto keepable = [&](const ScoredSlot& slot) {
    Keep keep;
    const size_t held = slot.tokens.size();
    if (slot.top_n != top_n || held == 0) return keep;
    size_t agree = 0;
    const size_t limit = std::min(held, tokens.size());
    while (agree < limit && slot.tokens[agree] == tokens[agree]) ++agree;
    if (agree == held && !slot.last_logits.empty() && (predictors == held || held % chunk == 0)) {
      return Keep{held, true};
    }
    if (agree > 0) keep.rows = (agree - 1) / chunk * chunk;  // the token after agrees too
    return keep;
  };
  // The slot to run in: one whose rows are all this call's (its own context, scored before with
  // another continuation), else the least recently used one, given the best other slot's chunks.
  size_t target = 0, donor = 0;
  Keep best, kept;
  bool own = false;
  for (size_t i = 0; i < scored_.size(); ++i) {
    const Keep k = keepable(scored_[i]);
    if (k.whole_slot && (!own || k.rows > kept.rows)) {
      own = true;
      target = donor = i;
      kept = k;
    }
    if (k.rows > best.rows) {
      best = k;
      donor = own ? donor : i;
    }
    if (!own && scored_[i].last_use < scored_[target].last_use) target = i;
  }
  if (!own) kept = Keep{best.rows, false};
  ScoredSlot& slot = scored_[target];
  const auto seq = static_cast<int>(target);
  slots_[target].Forget();  // the engine backend's own record of the slot is stale now
  if (!own && kept.rows > 0 && donor != target) {
    SIGMA_RETURN_IF_ERROR(
        model.CopySequence(static_cast<int>(donor), seq, static_cast<int64_t>(kept.rows)));
  } else {
    SIGMA_RETURN_IF_ERROR(model.TruncateSequence(seq, static_cast<int64_t>(kept.rows)));
  }
  const ScoredSlot& from = scored_[own ? target : donor];
  if (kept.rows > 0) {
    const size_t cached = kept.whole_slot ? kept.rows : kept.rows + 1;  // scores[0 .. cached)
    std::copy(from.scores.begin(), from.scores.begin() + static_cast<std::ptrdiff_t>(cached),
              scores.begin());
    if (kept.whole_slot && kept.rows < scores.size()) score_row(from.last_logits, kept.rows - 1);
  }
  slot.tokens.clear();  // until this call succeeds
  slot.last_use = ++score_calls_;
  std::vector<float> logits;
  for (size_t begin = kept.rows; begin < predictors; begin += chunk) {
    const size_t end = std::min(predictors, begin + chunk);
    SIGMA_RETURN_IF_ERROR(
        model.Prefill(seq, tokens.subspan(begin, end - begin), LogitsMode::kAll, &logits));
    for (size_t i = begin; i < end; ++i) {
      score_row({logits.data() + (i - begin) * vocab, vocab}, i);
    }
    if (end == predictors) {
      slot.last_logits.assign(logits.end() - static_cast<std::ptrdiff_t>(vocab), logits.end());
    }
  }
  if (kept.rows == predictors && !kept.whole_slot) slot.last_logits.clear();  // not computed here
  slot.tokens.assign(tokens.begin(), tokens.begin() + static_cast<std::ptrdiff_t>(predictors));
  slot.scores = scores;
  slot.top_n = top_n;
  if (reused != nullptr) *reused = static_cast<int64_t>(kept.rows);
  return scores;
}

}  // namespace sigma::harness
