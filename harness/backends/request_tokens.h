// How a request's text becomes the tokens the model reads and scores, as lm-evaluation-harness
// makes them, so that a score compares with lm-eval's on the same model.
//
// EncodePairs: a log-likelihood request's context and each continuation (TemplateLM.loglikelihood
// and _encode_pair, HFLM.tok_encode); the context is encoded once for all of them:
// - an empty context is the prefix token alone (PrefixToken), and the continuation is encoded
// without special tokens; where that encoding starts with
//   the prefix token, that token is the context instead;
// - otherwise the context's trailing whitespace (what Python's str.rstrip() removes) moves to the
//   front of the continuation; the context and the whole text (context + continuation) are
//   encoded, and the continuation's tokens are the whole's after as many tokens as the context's
//   encoding has, whether or not the context's tokens are a prefix of the whole's (where a merge
//   crosses the boundary, the model reads the context's tokens and scores the whole's rest);
// - `add_special`: whether Encode adds the tokenizer's special tokens (BOS); never to a text that
//   already starts with the BOS token's text. A chat-rendered context passes false.
// Errors (INVALID_ARGUMENT): a context that encodes to no tokens (whitespace only, with a
// tokenizer that adds no BOS); a continuation that adds no tokens (lm-eval scores nothing there:
// a log-likelihood of 0, greedy).
//
// RollingWindows: loglikelihood_rolling's forward passes (HFLM: get_rolling_token_windows with
// context_len 1, then make_disjoint_window).
// Thread safety: pure functions of their arguments.
#ifndef SIGMA_HARNESS_BACKENDS_REQUEST_TOKENS_H_
#define SIGMA_HARNESS_BACKENDS_REQUEST_TOKENS_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "tasks/types.h"

namespace sigma::harness {

// What the model reads of a request, before tokens: its context, or a chat request's messages
// rendered by the model's chat template with the generation prompt. A rendering carries its own
// special tokens, so only a plain context has the tokenizer's added (`add_special`).
// FAILED_PRECONDITION naming `model` for a chat request where it has no template this engine
// renders (NoChatTemplateError, with `unusable`: why its template does not render).
struct PromptText {
  std::string text;
  bool add_special = true;
};
StatusOr<PromptText> RequestPromptText(const tasks::Request& request,
                                       const std::optional<ChatTemplate>& chat_template,
                                       std::string_view model, std::string_view unusable = {});

// The tokens a generation request's prompt is (EncodeText of its PromptText).
StatusOr<std::vector<int32_t>> RequestPromptTokens(const Tokenizer& tokenizer,
                                                   const tasks::Request& request,
                                                   const std::optional<ChatTemplate>& chat_template,
                                                   std::string_view model,
                                                   std::string_view unusable = {});

// The text a loglikelihood_rolling request scores: its continuation, or its context where it has
// none.
const std::string& RollingText(const tasks::Request& request);

struct EncodedPair {
  std::vector<int32_t> context;       // what the model reads before the continuation
  std::vector<int32_t> continuation;  // the tokens scored
};

// One pair per continuation, in order; the first continuation's error fails the request.
StatusOr<std::vector<EncodedPair>> EncodePairs(const Tokenizer& tokenizer, std::string_view context,
                                               std::span<const std::string> continuations,
                                               bool add_special);

// What an empty context conditions on, as lm-eval's prefix_token_id: BOS where the tokenizer has
// one, else its first EOS; -1 when it has neither.
int32_t PrefixToken(const Tokenizer& tokenizer);

// HFLM's encoding of a prompt (tok_encode, tok_batch_encode): the tokenizer's special tokens when
// `add_special`, except where the text already starts with the BOS token's text.
std::vector<int32_t> EncodeText(const Tokenizer& tokenizer, std::string_view text,
                                bool add_special);

// One forward pass of a rolling log-likelihood over S = [prefix token] + a document's tokens
// (EncodeText with add_special: a tokenizer that adds BOS has its BOS scored after the prefix, as
// in lm-eval): it reads S[begin, end) and scores its last `scored` logits, each against the token
// of S after it. The first window starts at the prefix and scores all it reads; each later one
// reads the max_length tokens before the end of what it scores, so a full window after the first
// is conditioned on one token of the window before it and only a last, partial one on more.
struct RollingWindow {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t scored = 0;
};
// `tokens`: the document's (S has one more); max_length >= 1.
std::vector<RollingWindow> RollingWindows(int64_t tokens, int64_t max_length);

}  // namespace sigma::harness

#endif  // SIGMA_HARNESS_BACKENDS_REQUEST_TOKENS_H_
