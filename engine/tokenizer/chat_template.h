// ChatTemplate: a model's own chat template (tokenizer.chat_template in GGUF, chat_template in
// tokenizer_config.json) rendered as Hugging Face transformers' apply_chat_template renders it:
// the Jinja source run by the interpreter of engine/tokenizer/jinja (jinja2's rules, checked on
// 25 real templates in tests/engine/tokenizer/jinja_conformance_test.cc) with the variables
// messages (role and content each), add_generation_prompt, bos_token and eos_token (the
// tokenizer's texts of its BOS and first EOS token, "" where it has none) and the function
// strftime_now (the local time, as transformers gives it). A template that refuses a
// conversation (raise_exception: say, Gemma's "System role not supported") is an error with its
// message.
// Thread safety: a value type; a const ChatTemplate may render from many threads.
#ifndef SIGMA_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_
#define SIGMA_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_

#include <span>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/tokenizer/jinja/jinja.h"

namespace sigma {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

class ChatTemplate {
 public:
  // The error of jinja::Template::Parse for source outside the interpreter's Jinja subset.
  static StatusOr<ChatTemplate> FromTemplateText(std::string_view jinja, std::string bos_token = "",
                                                 std::string eos_token = "");

  StatusOr<std::string> Render(std::span<const ChatMessage> messages,
                               bool add_generation_prompt) const;

  const std::string& source() const { return source_; }

 private:
  jinja::Template template_;
  std::string source_;
  std::string bos_token_;
  std::string eos_token_;
};

// FAILED_PRECONDITION for a chat prompt to `model`, which has no chat template this engine renders:
// none at all, or one outside the Jinja the engine renders, `unusable` saying why
// (FromTemplateText's error).
Status NoChatTemplateError(std::string_view model, std::string_view unusable);

}  // namespace sigma

#endif  // SIGMA_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_
