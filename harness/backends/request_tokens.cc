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

StatusOr<PromptText> RequestPromptText(const tasks::Request& request,
                                       const std::optional<ChatTemplate>& chat_template,
                                       std::string_view model, std::string_view unusable) {
  if (request.chat.empty()) return PromptText{request.context, true};
  if (!chat_template) return NoChatTemplateError(model, unusable);
  std::vector<ChatMessage> messages;
  for (const tasks::ChatMessage& m : request.chat) messages.push_back({m.role, m.content});
  SIGMA_ASSIGN_OR_RETURN(std::string text,
                         chat_template->Render(messages, /*add_generation_prompt=*/true));
  return PromptText{std::move(text), false};
}

StatusOr<std::vector<int32_t>> RequestPromptTokens(const Tokenizer& tok,
                                                   const tasks::Request& request,
                                                   const std::optional<ChatTemplate>& chat_template,
                                                   std::string_view model,
                                                   std::string_view unusable) {
  SIGMA_ASSIGN_OR_RETURN(PromptText prompt,
                         RequestPromptText(request, chat_template, model, unusable));
  return EncodeText(tok, prompt.text, prompt.add_special);
}

const std::string& RollingText(const tasks::Request& request) {
  return request.continuations.empty() ? request.context : request.continuations[0];
}

int32_t PrefixToken(const Tokenizer& tok) {
  if (tok.bos_id() >= 0) return tok.bos_id();
  return tok.eos_ids().empty() ? -1 : tok.eos_ids()[0];
}

StatusOr<std::vector<EncodedPair>> EncodePairs(const Tokenizer& tok, std::string_view context,
                                               std::span<const std::string> continuations,
                                               bool add_special) {
  std::vector<EncodedPair> pairs(continuations.size());
  const int32_t prefix = PrefixToken(tok);
  // The context without its trailing whitespace, encoded once (not used for an empty context).
  std::vector<int32_t> kept;
  if (context.empty()) {
    if (prefix < 0) {
      return InvalidArgumentError(
          "loglikelihood: an empty context needs a BOS or EOS token, which this tokenizer lacks");
    }
  } else {
    kept = EncodeText(tok, tasks::py::RStrip(context), add_special);
    if (kept.empty()) {
      return InvalidArgumentError(
          "loglikelihood: the context is only whitespace and encodes to no tokens");
    }
  }
  for (size_t i = 0; i < continuations.size(); ++i) {
    EncodedPair& pair = pairs[i];
    if (context.empty()) {
      pair.continuation = tok.Encode(continuations[i], /*add_special=*/false);
      if (!pair.continuation.empty() && pair.continuation[0] == prefix) {
        pair.continuation.erase(pair.continuation.begin());
      }
      pair.context = {prefix};
    } else {
      pair.context = kept;
      const std::vector<int32_t> all =
          EncodeText(tok, std::string(context) + continuations[i], add_special);
      if (all.size() > kept.size()) {
        pair.continuation.assign(all.begin() + static_cast<std::ptrdiff_t>(kept.size()), all.end());
      }
    }
    if (pair.continuation.empty()) {
      return InvalidArgumentError("loglikelihood: the continuation adds no tokens to the context");
    }
  }
  return pairs;
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
