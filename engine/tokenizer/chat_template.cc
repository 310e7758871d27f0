#include "engine/tokenizer/chat_template.h"

namespace sigma {
namespace {

// The literal default system prompt a ChatML template inserts, or "". Looks for the string
// literal "<|im_start|>system\n...<|im_end|>" (with \n escaped or not) inside the template.
std::string ExtractDefaultSystem(std::string_view t) {
  if (t.find("!= 'system'") == std::string_view::npos &&
      t.find("!= \"system\"") == std::string_view::npos) {
    return {};
  }
  for (std::string_view open :
       {std::string_view("<|im_start|>system\\n"), std::string_view("<|im_start|>system\n")}) {
    for (size_t start = t.find(open); start != std::string_view::npos;
         start = t.find(open, start + 1)) {
      const size_t body = start + open.size();
      const size_t end = t.find("<|im_end|>", body);
      if (end == std::string_view::npos) break;
      std::string_view text = t.substr(body, end - body);
      // A literal that concatenates message content has no fixed default; try the next one.
      if (text.find('+') != std::string_view::npos || text.find("{{") != std::string_view::npos ||
          text.find('\'') != std::string_view::npos) {
        continue;
      }
      return std::string(text);
    }
  }
  return {};
}

std::string_view Trim(std::string_view s) {
  const char* ws = " \t\n\r\v\f";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

}  // namespace

StatusOr<ChatTemplate> ChatTemplate::FromTemplateText(std::string_view jinja) {
  if (jinja.find("<|im_start|>") != std::string_view::npos) {
    return ChatMl(ExtractDefaultSystem(jinja));
  }
  if (jinja.find("<|start_header_id|>") != std::string_view::npos) return Llama3();
  return UnimplementedError("chat template not recognised (ChatML or Llama-3 expected): '",
                            jinja.substr(0, 80), "...'");
}

ChatTemplate ChatTemplate::ChatMl(std::string default_system) {
  ChatTemplate t;
  t.format_ = Format::kChatMl;
  t.default_system_ = std::move(default_system);
  return t;
}

ChatTemplate ChatTemplate::Llama3() {
  ChatTemplate t;
  t.format_ = Format::kLlama3;
  return t;
}

std::string ChatTemplate::Render(std::span<const ChatMessage> messages,
                                 bool add_generation_prompt) const {
  std::string out;
  if (format_ == Format::kChatMl) {
    if (!default_system_.empty() && (messages.empty() || messages[0].role != "system")) {
      out += "<|im_start|>system\n" + default_system_ + "<|im_end|>\n";
    }
    for (const ChatMessage& m : messages) {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }
  out = "<|begin_of_text|>";
  for (const ChatMessage& m : messages) {
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
    out += Trim(m.content);
    out += "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

}  // namespace sigma
