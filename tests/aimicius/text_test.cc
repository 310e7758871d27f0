// Shared helpers: fenced code blocks, lenient JSON extraction from model output, JSONL records.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "aimicius/common/text.h"

namespace sigma::aimicius {
namespace {

TEST(CodeBlocks, TagsBodiesAndTruncation) {
  auto blocks = ExtractCodeBlocks(
      "intro\n```Python extra\nx = 1\n```\ntext\n~~~\nraw\n~~~\n```bash\necho hi");
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].lang, "python");
  EXPECT_EQ(blocks[0].body, "x = 1\n");
  EXPECT_TRUE(blocks[0].terminated);
  EXPECT_EQ(blocks[1].lang, "");
  EXPECT_EQ(blocks[1].body, "raw\n");
  EXPECT_EQ(blocks[2].lang, "bash");
  EXPECT_EQ(blocks[2].body, "echo hi\n");
  EXPECT_FALSE(blocks[2].terminated);
  // A longer fence is only closed by a fence at least as long; ``` inside stays body.
  blocks = ExtractCodeBlocks("````md\n```\ninner\n```\n````\n");
  ASSERT_EQ(blocks.size(), 1u);
  EXPECT_EQ(blocks[0].body, "```\ninner\n```\n");
  EXPECT_TRUE(ExtractCodeBlocks("").empty());
  EXPECT_TRUE(ExtractCodeBlocks("no code `here`").empty());
}

TEST(CodeBlocks, PickPrefersTaggedThenUntagged) {
  auto blocks = ExtractCodeBlocks("```text\na\n```\n```\nb\n```\n```py\nc\n```\n");
  const CodeBlock* b = PickCodeBlock(blocks, {"python", "py"});
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->body, "c\n");
  b = PickCodeBlock(blocks, {"kql"});
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->body, "b\n");
}

TEST(ExtractJson, FencedProseTrailingCommasComments) {
  auto d = ExtractJson("Sure!\n```json\n{\"a\": 1, /* c */ \"b\": [1, 2,],}\n```\nDone.", '{');
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((**d)["a"].GetInt(), 1);
  d = ExtractJson("The answer is {\"a\": \"x}\"} as requested {not json}", '{');
  ASSERT_TRUE(d.ok());
  EXPECT_STREQ((**d)["a"].GetString(), "x}");
  // Prose braces before the JSON are skipped.
  d = ExtractJson("use {braces} carefully: {\"k\": {\"n\": 2}}", '{');
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((**d)["k"]["n"].GetInt(), 2);
  auto a = ExtractJson("steps: [[1, 2], [3]] end", '[');
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((**a).Size(), 2u);
}

TEST(ExtractJson, HostileInputsFailCleanly) {
  EXPECT_EQ(ExtractJson("", '{').status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ExtractJson("no json at all", '{').status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(ExtractJson("{\"a\": 1", '{').ok());  // truncated
  EXPECT_FALSE(ExtractJson(std::string(2'000'000, '{'), '{').ok());
  EXPECT_FALSE(ExtractJson(std::string(2'000'000, '['), '[').ok());
  std::string binary;
  for (int i = 0; i < 100000; ++i) binary.push_back(static_cast<char>(i * 131 % 256));
  EXPECT_FALSE(ExtractJson(binary, '{').ok());
  // Deep but valid nesting is parsed iteratively (no stack overflow).
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_TRUE(ParseLenientJson(deep).ok());
  // A number RapidJSON 1.1.0's full-precision path reads out of bounds on (kJsonParseFlags).
  EXPECT_TRUE(ParseLenientJson("{\"p\": 128.74836467836484838364836483643636483648e-336,}").ok());
}

TEST(Jsonl, ParsesObjectsAndNamesBadLines) {
  auto ok = ParseJsonlObjects("\xEF\xBB\xBF{\"a\":1}\r\n\n{\"b\":2}", "t.jsonl");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 2u);
  auto bad = ParseJsonlObjects("{\"a\":1}\n[1]\n", "t.jsonl");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), ::testing::HasSubstr("t.jsonl:2"));
  EXPECT_FALSE(ParseJsonlObjects("{\"a\":", "t.jsonl").ok());
}

TEST(Text, TrimSplitCollapse) {
  EXPECT_EQ(Trim("  a b \n"), "a b");
  EXPECT_EQ(CollapseWhitespace(" a \t b\n\nc "), "a b c");
  EXPECT_EQ(SplitWhitespace("  ").size(), 0u);
  EXPECT_EQ(ToLowerAscii("AbC-1"), "abc-1");
  EXPECT_EQ(ClipModelOutput(std::string(kMaxScoredBytes + 10, 'x')).size(), kMaxScoredBytes);
}

}  // namespace
}  // namespace sigma::aimicius
