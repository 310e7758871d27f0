// The chat-template interpreter (engine/tokenizer/jinja) against jinja2 rendering as transformers
// does (tests/oracle/chat_template_reference.py -> tests/data/chat_templates/expected.json): the
// real templates of llama.cpp's collection (models/templates/, fetched by scripts/setup.sh) over
// five conversations, with and without the generation prompt, byte for byte; where jinja2 raised
// (a template refusing a system message, or roles that do not alternate), the interpreter fails
// too, with the template's message. Skipped with a message when models/templates is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/tokenizer/jinja/jinja.h"

namespace sigma::jinja {
namespace {

const std::filesystem::path kTemplates =
    std::filesystem::path(SIGMA_SOURCE_DIR) / "models/templates";

Value FromJson(const rapidjson::Value& v) {
  if (v.IsString()) return Value::String(std::string(v.GetString(), v.GetStringLength()));
  if (v.IsBool()) return Value::Bool(v.GetBool());
  if (v.IsInt64()) return Value::Int(v.GetInt64());
  if (v.IsNumber()) return Value::Float(v.GetDouble());
  if (v.IsArray()) {
    List items;
    for (const auto& item : v.GetArray()) items.push_back(FromJson(item));
    return Value::ListOf(std::move(items));
  }
  if (v.IsObject()) {
    Dict d;
    for (const auto& m : v.GetObject()) d.Set(m.name.GetString(), FromJson(m.value));
    return Value::DictOf(std::move(d));
  }
  return Value::None();
}

TEST(JinjaConformanceTest, RealTemplatesRenderAsJinja2Does) {
  if (!std::filesystem::is_directory(kTemplates)) {
    GTEST_SKIP() << "no chat templates in " << kTemplates << " (scripts/setup.sh)";
  }
  auto text = ReadFile(std::string(SIGMA_TEST_DATA) + "/chat_templates/expected.json");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto doc = ParseJson(*text, "expected.json");
  ASSERT_TRUE(doc.ok());
  const rapidjson::Document& d = **doc;
  // strftime_now of the reference's fixed moment (2024-07-26), for the formats templates use.
  const Value now = Value::FunctionOf([](const Args& args) -> StatusOr<Value> {
    const std::string format = args.positional.at(0).string();
    if (format == "%d %b %Y") return Value::String("26 Jul 2024");
    if (format == "%Y-%m-%d") return Value::String("2024-07-26");
    if (format == "%B %d, %Y") return Value::String("July 26, 2024");
    return InvalidArgumentError("strftime_now: format ", format, " not in the test");
  });
  std::map<std::string, StatusOr<Template>> templates;
  int rendered = 0, refused = 0;
  for (const auto& c : d["cases"].GetArray()) {
    const std::string name = c["template"].GetString();
    if (!std::filesystem::exists(kTemplates / name)) continue;
    auto it = templates.find(name);
    if (it == templates.end()) {
      auto source = ReadFile((kTemplates / name).string());
      ASSERT_TRUE(source.ok()) << source.status().ToString();
      it = templates.emplace(name, Template::Parse(*source)).first;
    }
    ASSERT_TRUE(it->second.ok()) << name << ": " << it->second.status().ToString();
    Dict variables;
    variables.Set("messages", FromJson(d["conversations"][c["conversation"].GetInt()]));
    variables.Set("add_generation_prompt", Value::Bool(c["add_generation_prompt"].GetBool()));
    variables.Set("bos_token", Value::String(d["bos_token"].GetString()));
    variables.Set("eos_token", Value::String(d["eos_token"].GetString()));
    variables.Set("strftime_now", now);
    const StatusOr<std::string> out = it->second->Render(variables);
    const std::string what = name + " conversation " + std::to_string(c["conversation"].GetInt()) +
                             (c["add_generation_prompt"].GetBool() ? " +prompt" : "");
    if (c.HasMember("error")) {
      const std::string error = c["error"].GetString();
      ASSERT_FALSE(out.ok()) << what << " rendered, but jinja2 raised: " << error;
      // raise_exception's message, or the undefined name jinja2 named.
      const std::string named = error.find(" is undefined") != std::string::npos
                                    ? error.substr(0, error.find(" is undefined"))
                                    : error;
      EXPECT_NE(out.status().message().find(named), std::string::npos)
          << what << ": " << out.status().ToString() << " against jinja2's " << error;
      ++refused;
      continue;
    }
    ASSERT_TRUE(out.ok()) << what << ": " << out.status().ToString();
    EXPECT_EQ(*out, c["output"].GetString()) << what;
    ++rendered;
  }
  EXPECT_GT(rendered, 0);
  std::printf("%zu templates: %d conversations rendered as jinja2 did, %d refused as it did\n",
              templates.size(), rendered, refused);
}

}  // namespace
}  // namespace sigma::jinja
