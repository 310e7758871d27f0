#include "tasks/filters.h"

#include <gtest/gtest.h>

#include "tasks/jsonl.h"

namespace sigma::tasks {
namespace {

FilterPipeline Pipeline(const std::string& json) {
  auto doc = ParseJsonStrict(json, "filter");
  EXPECT_TRUE(doc.ok()) << doc.status().ToString();
  auto p = FilterPipeline::FromJson(**doc, "cfg.json: filters[0]");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

std::string ApplyOne(const FilterPipeline& p, const std::string& text) {
  auto out = p.Apply({text});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() && !out->empty() ? (*out)[0] : "<none>";
}

TEST(FiltersTest, RegexGroupSelectAndFallback) {
  auto strict = Pipeline(R"j({"name": "strict", "steps": [
      {"type": "regex", "pattern": "#### (\\-?[0-9\\.\\,]+)", "group": 1},
      {"type": "take_first"}]})j");
  EXPECT_EQ(strict.name(), "strict");
  EXPECT_EQ(ApplyOne(strict, "3 + 4 = 7\n#### 7"), "7");
  EXPECT_EQ(ApplyOne(strict, "no marker 12"), "[invalid]");
  auto last = Pipeline(R"j({"name": "flex", "steps": [
      {"type": "regex", "pattern": "(-?[$0-9.,]{2,})|(-?[0-9]+)", "select": "last"}]})j");
  // The first non-empty group of the last match: group 2 here.
  EXPECT_EQ(ApplyOne(last, "2 apples and 13 pears make 5"), "5");
  EXPECT_EQ(ApplyOne(last, "costs $1,200 in total"), "$1,200");
  auto whole = Pipeline(R"j({"name": "w", "steps": [{"type": "regex", "pattern": "[A-D]",
      "fallback": "none"}]})j");
  EXPECT_EQ(ApplyOne(whole, "the answer is (C)"), "C");
  EXPECT_EQ(ApplyOne(whole, "unsure"), "none");
  auto ci = Pipeline(R"j({"name": "ci", "steps": [{"type": "regex", "pattern": "answer: (\\w+)",
      "ignore_case": true}]})j");
  EXPECT_EQ(ApplyOne(ci, "ANSWER: yes"), "yes");
  // As lm-eval: one group is kept even when empty; all groups empty gives the fallback; the
  // kept text is stripped.
  auto one = Pipeline(R"j({"name": "one", "steps": [
      {"type": "regex", "pattern": "(?<=the answer is )(.*)(?=.)"}]})j");
  EXPECT_EQ(ApplyOne(one, "So the answer is  (B) ."), "(B)");
  EXPECT_EQ(ApplyOne(one, "So the answer is ."), "");
  auto two = Pipeline(R"j({"name": "two", "steps": [{"type": "regex", "pattern": "x(a?)(b?)"}]})j");
  EXPECT_EQ(ApplyOne(two, "x"), "[invalid]");
  EXPECT_EQ(ApplyOne(two, "xb"), "b");
}

TEST(FiltersTest, TextStepsAndMap) {
  auto p = Pipeline(R"j({"name": "p", "steps": [{"type": "strip"}, {"type": "first_line"},
      {"type": "lowercase"}, {"type": "remove", "pattern": "[.!]"},
      {"type": "map", "values": {"yes": "true", "no": "false"}, "default": "unknown"}]})j");
  EXPECT_EQ(ApplyOne(p, "  Yes.\nbecause..."), "true");
  EXPECT_EQ(ApplyOne(p, "NO!"), "false");
  EXPECT_EQ(ApplyOne(p, "maybe"), "unknown");
  auto upper = Pipeline(R"j({"name": "u", "steps": [{"type": "uppercase"},
      {"type": "map", "values": {"A": "1"}}]})j");
  EXPECT_EQ(ApplyOne(upper, "b"), "B");  // no default: unchanged
  auto code = Pipeline(R"j({"name": "c", "steps": [{"type": "code_block"}]})j");
  EXPECT_EQ(ApplyOne(code, "Here:\n```bash\nls -la\n```\nDone"), "ls -la\n");
  EXPECT_EQ(ApplyOne(code, "ls -la"), "ls -la");
  auto first = Pipeline(R"j({"name": "f", "steps": [{"type": "take_first"}]})j");
  auto out = first.Apply({"a", "b", "c"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, std::vector<std::string>{"a"});
  auto none = Pipeline(R"j({"name": "none"})j");
  EXPECT_EQ(*none.Apply({"x", "y"}), (std::vector<std::string>{"x", "y"}));
}

TEST(FiltersTest, HostileOutputDoesNotBreakMatching) {
  auto p = Pipeline(R"j({"name": "p", "steps": [{"type": "regex", "pattern": "(\\d+)"}]})j");
  const char kHostile[] = "\xff\xfe garbage \0 bytes 42 \xc3";
  const std::string hostile(kHostile, sizeof(kHostile) - 1);
  EXPECT_EQ(ApplyOne(p, hostile), "42");
  std::string huge(5 << 20, 'x');
  huge += "7";
  EXPECT_EQ(ApplyOne(p, huge), "7");
}

TEST(FiltersTest, BadFilterConfigsNameTheKey) {
  auto check = [](const std::string& json, const std::string& expected) {
    auto doc = ParseJsonStrict(json, "filter");
    ASSERT_TRUE(doc.ok());
    auto p = FilterPipeline::FromJson(**doc, "cfg.json: filters[0]");
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.status().message().find(expected), std::string::npos) << p.status().message();
  };
  check(R"j({"name": "x", "steps": [{"type": "regexp", "pattern": "a"}]})j",
        "cfg.json: filters[0].steps[0]: type: unknown filter 'regexp'");
  check(R"j({"name": "x", "steps": [{"type": "regex", "pattern": "("}]})j", "invalid regex");
  check(R"j({"name": "x", "steps": [{"type": "regex", "pattern": "(a)", "group": 3}]})j",
        "group: 3 is not a group");
  check(R"j({"name": "x", "steps": [{"type": "strip", "colour": 1}]})j", "unknown key 'colour'");
  check(R"j({"name": "x", "steps": [{"type": "map", "values": {"a": 1}}]})j",
        "values: expected an object of strings");
  check(R"j({"name": "x", "steps": {}})j", "steps: expected an array");
  check(R"j({"steps": []})j", "missing required string field 'name'");
}

}  // namespace
}  // namespace sigma::tasks
