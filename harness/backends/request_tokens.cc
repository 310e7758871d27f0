#include "harness/backends/request_tokens.h"

#include <algorithm>
#include <span>
#include <string>

#include "tasks/py_str.h"

namespace sigma::harness {

std::vector<int32_t> EncodeText(const Tokenizer& tok, std::string_view text, bool add_special) {
  if (add_special && tok.bos_id() >= 0) {
    const int32_t bos = tok.bos_id();
    if (text.starts_with(tok.Decode(std::span<const int32_t>(&bos, 1)))) add_special = false;
  }
  return tok.Encode(text, add_special);
}

StatusOr<EncodedPair> EncodePair(const Tokenizer& tok, std::string_view context,
                                 std::string_view continuation, bool add_special) {
  EncodedPair pair;
  if (context.empty()) {
    const int32_t prefix = tok.bos_id() >= 0       ? tok.bos_id()
                           : tok.eos_ids().empty() ? -1
                                                   : tok.eos_ids()[0];
    if (prefix < 0) {
      return InvalidArgumentError(
          "loglikelihood: an empty context needs a BOS or EOS token, which this tokenizer lacks");
    }
    pair.continuation = tok.Encode(continuation, /*add_special=*/false);
    if (!pair.continuation.empty() && pair.continuation[0] == prefix) {
      pair.continuation.erase(pair.continuation.begin());
    }
    pair.context = {prefix};
  } else {
    const std::string_view kept = tasks::py::RStrip(context);
    const std::string whole = std::string(context) + std::string(continuation);
    pair.context = EncodeText(tok, kept, add_special);
    if (pair.context.empty()) {
      return InvalidArgumentError(
          "loglikelihood: the context is only whitespace and encodes to no tokens");
    }
    std::vector<int32_t> all = EncodeText(tok, whole, add_special);
    if (all.size() > pair.context.size()) {
      pair.continuation.assign(all.begin() + static_cast<std::ptrdiff_t>(pair.context.size()),
                               all.end());
    }
  }
  if (pair.continuation.empty()) {
    return InvalidArgumentError("loglikelihood: the continuation adds no tokens to the context");
  }
  return pair;
}

std::vector<RollingWindow> RollingWindows(int64_t tokens, int64_t max_length) {
  std::vector<RollingWindow> windows;
  if (tokens <= 0) return windows;
  const int64_t first = std::min(max_length, tokens);
  windows.push_back({0, first, first});
  for (int64_t predicted = first; predicted < tokens;) {
    const int64_t scored = std::min(tokens - predicted, max_length);
    predicted += scored;  // S[predicted] is the last token this window scores
    windows.push_back({predicted - max_length, predicted, scored});
  }
  return windows;
}

}  // namespace sigma::harness
