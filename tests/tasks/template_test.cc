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

TEST(TemplateTest, SplitPipesTakeTheFirstOrLastSeparatorAndKeepSpacesInTheArgument) {
  // LAMBADA's context and last word; Winogrande's blank; SciQ's support with leading space.
  auto doc = Doc(R"({"text": "he opened the old door", "s": "Ann told _ that _ won",
                     "support": " \n Facts here. ", "none": "no separator"})");
  EXPECT_EQ(Render("[{{text | before_last: }}]", *doc), "[he opened the old]");
  EXPECT_EQ(Render("[{{text | after: }}]", *doc), "[door]");
  EXPECT_EQ(Render("[{{text | before: }}]", *doc), "[he]");
  EXPECT_EQ(Render("[{{text | after_first: }}]", *doc), "[opened the old door]");
  EXPECT_EQ(Render("[{{s | after_first:_}}]", *doc), "[ that _ won]");
  EXPECT_EQ(Render("[{{s | after:_}}]", *doc), "[ won]");
  EXPECT_EQ(Render("[{{s | before_last:_}}]", *doc), "[Ann told _ that ]");
  EXPECT_EQ(Render("[{{support | lstrip}}]", *doc), "[Facts here. ]");
  EXPECT_EQ(Render("[{{s | remove:_ }}]", *doc), "[Ann told that won]");  // every occurrence
  EXPECT_EQ(Render("[{{none | before_last: ;}}|{{none | after_first: ;}}]", *doc),
            "[no separator|no separator]");
}

TEST(TemplateTest, HellaswagCleanIsLmEvalsPreprocessAndWholePipesApplyToTheRenderedText) {
  // Python: text.strip(); .replace(" [title]", ". "); re.sub(r"\[.*?\]", ""); .replace("  ", " ")
  auto doc = Doc(R"({"a": " [header] How to dig [title] Pick a spot [step] Dig.  ",
                     "b": "x [open\nline] y [z", "c": "a   b", "label": "Cars", "ctx": "then, Bob",
                     "e": ""})");
  EXPECT_EQ(Render("[{{a | hellaswag_clean}}]", *doc), "[ How to dig. Pick a spot Dig.]");
  EXPECT_EQ(Render("[{{b | hellaswag_clean}}]", *doc), "[x [open\nline] y [z]");  // no match
  EXPECT_EQ(Render("[{{c | hellaswag_clean}}]", *doc), "[a  b]");    // one pass, as str.replace
  EXPECT_EQ(Render("[{{ctx | capitalize}}]", *doc), "[Then, bob]");  // Python's capitalize
  EXPECT_EQ(Render("[{{e | capitalize}}]", *doc), "[]");

  auto t = Template::Parse("{{label}}: {{a}} {{e | capitalize}}", "t");
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE(t->SetWholePipes("hellaswag_clean").ok());
  // Cleaned as one text (Python's result): the empty last part's space goes with the strip, and
  // the three spaces left where "[header]" was become two.
  EXPECT_EQ(*t->Render(*doc), "Cars:  How to dig. Pick a spot Dig.");
  auto list = Template::Parse("{{items}}", "t");
  ASSERT_TRUE(list.ok());
  ASSERT_TRUE(list->SetWholePipes("upper | strip").ok());
  EXPECT_EQ(*list->RenderList(*Doc(R"({"items": [" a ", "b"]})")),
            (std::vector<std::string>{"A", "B"}));
  EXPECT_NE(t->SetWholePipes("hellaswag_clean | shout").message().find("unknown pipe 'shout'"),
            std::string::npos);
  EXPECT_NE(
      t->SetWholePipes("join").message().find("pipe 'join' does not apply to the whole template"),
      std::string::npos);
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
