// ChatTemplate: renders chat messages into a prompt string in the format of a model family.
//
// We do not run Jinja. The family is recognised from the template text a model ships
// (tokenizer.chat_template in GGUF, chat_template in tokenizer_config.json):
//   ChatML   (contains "<|im_start|>": SmolLM2, Qwen2)
//            "<|im_start|>{role}\n{content}<|im_end|>\n" per message, then
//            "<|im_start|>assistant\n" as the generation prompt. When the template inserts a
//            default system message if the first message is not a system one (SmolLM2: "You are a
//            helpful AI assistant named SmolLM, trained by Hugging Face"; Qwen2.5 likewise), that
//            literal text is extracted from the template and inserted the same way.
//   Llama-3  (contains "<|start_header_id|>")
//            "<|begin_of_text|>" then "<|start_header_id|>{role}<|end_header_id|>\n\n{content
//            trimmed}<|eot_id|>" per message, then "<|start_header_id|>assistant<|end_header_id|>
//            \n\n". (Llama-3.1's extra date/tool system preamble is not reproduced.)
// Anything else is UNIMPLEMENTED, quoting the start of the template.
// Thread safety: a value type.
#ifndef SIGMA_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_
#define SIGMA_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_

#include <span>
#include <string>
#include <string_view>

#include "engine/base/status.h"

namespace sigma {

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

class ChatTemplate {
 public:
  enum class Format { kChatMl, kLlama3 };

  static StatusOr<ChatTemplate> FromTemplateText(std::string_view jinja);
  static ChatTemplate ChatMl(std::string default_system = "");
  static ChatTemplate Llama3();

  std::string Render(std::span<const ChatMessage> messages, bool add_generation_prompt) const;

  Format format() const { return format_; }
  const std::string& default_system() const { return default_system_; }

 private:
  Format format_ = Format::kChatMl;
  std::string default_system_;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_TOKENIZER_CHAT_TEMPLATE_H_
