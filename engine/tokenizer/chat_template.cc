#include "engine/tokenizer/chat_template.h"

#include <ctime>
#include <utility>

namespace sigma {
namespace {

// transformers' strftime_now: datetime.now().strftime(format), the local time.
StatusOr<jinja::Value> StrftimeNow(const jinja::Args& args) {
  const jinja::Value* format = args.Get(0, "format");
  if (format == nullptr || !format->is_string()) {
    return InvalidArgumentError("strftime_now: expected a format string");
  }
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  localtime_r(&now, &local);
  char buf[256];
  const size_t n = std::strftime(buf, sizeof(buf), format->string().c_str(), &local);
  if (n == 0 && !format->string().empty()) {
    return InvalidArgumentError("strftime_now: format '", format->string(), "' gave nothing");
  }
  return jinja::Value::String(std::string(buf, n));
}

}  // namespace

StatusOr<ChatTemplate> ChatTemplate::FromTemplateText(std::string_view jinja, std::string bos_token,
                                                      std::string eos_token) {
  StatusOr<jinja::Template> parsed = jinja::Template::Parse(jinja);
  if (!parsed.ok()) return parsed.status().WithContext("chat template");
  ChatTemplate t;
  t.template_ = *std::move(parsed);
  t.source_ = std::string(jinja);
  t.bos_token_ = std::move(bos_token);
  t.eos_token_ = std::move(eos_token);
  return t;
}

StatusOr<std::string> ChatTemplate::Render(std::span<const ChatMessage> messages,
                                           bool add_generation_prompt) const {
  jinja::List list;
  for (const ChatMessage& m : messages) {
    jinja::Dict message;
    message.Set("role", jinja::Value::String(m.role));
    message.Set("content", jinja::Value::String(m.content));
    list.push_back(jinja::Value::DictOf(std::move(message)));
  }
  jinja::Dict variables;
  variables.Set("messages", jinja::Value::ListOf(std::move(list)));
  variables.Set("add_generation_prompt", jinja::Value::Bool(add_generation_prompt));
  variables.Set("bos_token", jinja::Value::String(bos_token_));
  variables.Set("eos_token", jinja::Value::String(eos_token_));
  variables.Set("strftime_now", jinja::Value::FunctionOf(StrftimeNow));
  StatusOr<std::string> out = template_.Render(variables);
  if (!out.ok()) return out.status().WithContext("chat template");
  return out;
}

Status NoChatTemplateError(std::string_view model, std::string_view unusable) {
  if (unusable.empty()) {
    return FailedPreconditionError(model, ": this model has no chat template this engine renders");
  }
  return FailedPreconditionError(
      model, ": this model's chat template is outside the Jinja this engine renders: ", unusable);
}

}  // namespace sigma
