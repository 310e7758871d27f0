#include "tasks/template.h"

#include <gtest/gtest.h>

#include "tasks/jsonl.h"

namespace sigma::tasks {
namespace {

std::unique_ptr<rapidjson::Document> Doc(const char* json) {
  auto doc = ParseJsonStrict(json, "doc");
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  return std::move(doc).value();
}

std::string Render(const char* text, const rapidjson::Value& doc) {
  auto t = Template::Parse(text, "t");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  auto out = t->Render(doc);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : "<error>";
}

TEST(TemplateTest, SubstitutesFieldsNestedPathsAndIndexes) {
  auto doc = Doc(R"({"q": "Why?", "n": 3, "x": 0.25, "ok": true, "none": null,
                     "choices": {"text": ["red", "green"], "label": ["A", "B"]},
                     "rows": [{"v": "first"}, {"v": "second"}]})");
  EXPECT_EQ(Render("Q: {{q}} ({{ n }}, {{x}}, {{ok}}, [{{none}}])", *doc),
            "Q: Why? (3, 0.25, true, [])");
  EXPECT_EQ(Render("{{choices.text[1]}}/{{choices.label[0]}}", *doc), "green/A");
  EXPECT_EQ(Render("{{rows[1].v}}", *doc), "second");
  EXPECT_EQ(Render("no fields at all", *doc), "no fields at all");
}

TEST(TemplateTest, PipesFormatChoicesAndAnswers) {
  auto doc = Doc(R"({"choices": ["Paris", "Rome", "Oslo"], "answer": 2,
                     "subject": "high_school_physics", "sol": "  Work.\n#### 42 ",
                     "word": "MiXeD"})");
  EXPECT_EQ(Render("{{choices | lettered}}", *doc), "A. Paris\nB. Rome\nC. Oslo");
  EXPECT_EQ(Render("{{choices | join:, }}", *doc), "Paris, Rome, Oslo");
  EXPECT_EQ(Render("{{choices | join}}", *doc), "Paris\nRome\nOslo");
  EXPECT_EQ(Render("{{ answer | letter }}", *doc), "C");
  EXPECT_EQ(Render("{{subject | humanize}}", *doc), "high school physics");
  EXPECT_EQ(Render("{{sol | after:####| strip}}", *doc), "42");
  EXPECT_EQ(Render("{{sol | before:####|strip}}", *doc), "Work.");
  EXPECT_EQ(Render("{{sol | strip | first_line}}", *doc), "Work.");
  EXPECT_EQ(Render("{{word|lower}}{{word|upper}}", *doc), "mixedMIXED");
  EXPECT_EQ(Render("{{choices | upper | join:+}}", *doc), "PARIS+ROME+OSLO");

  auto list = Template::Parse("{{choices}}", "t");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list->RenderList(*doc), (std::vector<std::string>{"Paris", "Rome", "Oslo"}));
}

TEST(TemplateTest, ErrorsNameTheFieldAndTemplate) {
  auto doc = Doc(R"({"q": "x", "list": [1, 2], "obj": {"a": 1}})");
  auto t = Template::Parse("{{missing}}", "cfg.json: prompt.template");
  ASSERT_TRUE(t.ok());
  auto out = t->Render(*doc);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(),
            "cfg.json: prompt.template: field 'missing' not found in the document");
  EXPECT_NE(Template::Parse("{{list}}", "t")->Render(*doc).status().message().find("is a list"),
            std::string::npos);
  EXPECT_FALSE(Template::Parse("{{obj}}", "t")->Render(*doc).ok());
  EXPECT_FALSE(Template::Parse("{{list[5]}}", "t")->Render(*doc).ok());
  EXPECT_FALSE(Template::Parse("{{q | letter}}", "t")->Render(*doc).ok());
  auto unclosed = Template::Parse("Q: {{q", "t");
  ASSERT_FALSE(unclosed.ok());
  EXPECT_NE(unclosed.status().message().find("never closed"), std::string::npos);
  auto bad_pipe = Template::Parse("{{q | shout}}", "t");
  ASSERT_FALSE(bad_pipe.ok());
  EXPECT_NE(bad_pipe.status().message().find("unknown pipe 'shout'"), std::string::npos);
  EXPECT_FALSE(Template::Parse("{{}}", "t").ok());
  EXPECT_FALSE(Template::Parse("{{a[x]}}", "t").ok());
}

}  // namespace
}  // namespace sigma::tasks
