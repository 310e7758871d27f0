#include "tasks/jsonl.h"

#include <gtest/gtest.h>

namespace sigma::tasks {
namespace {

TEST(JsonlTest, ReadsRecordsWithBomCrlfBlankLinesAndNoFinalNewline) {
  auto docs = ParseJsonl("\xEF\xBB\xBF{\"id\":\"a\",\"x\":1}\r\n\r\n  \n{\"id\":7,\"x\":2}", "d.jsonl",
                         "id");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 2u);
  EXPECT_EQ((*docs)[0].id, "a");
  EXPECT_EQ((*docs)[1].id, "7");
  EXPECT_EQ((*docs)[1].index, 1);
  EXPECT_EQ((*(*docs)[1].fields)["x"].GetInt(), 2);
  auto by_index = ParseJsonl("{\"x\":1}\n{\"x\":2}\n", "d.jsonl", "");
  ASSERT_TRUE(by_index.ok());
  EXPECT_EQ((*by_index)[1].id, "1");
}

TEST(JsonlTest, MalformedLinesAreErrorsNamingFileAndLine) {
  auto bad = ParseJsonl("{\"x\":1}\n{\"x\": }\n", "data/test.jsonl", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("data/test.jsonl:2: invalid JSON"), std::string::npos)
      << bad.status().message();
  auto not_object = ParseJsonl("{\"x\":1}\n\n[1,2]\n", "t.jsonl", "");
  ASSERT_FALSE(not_object.ok());
  EXPECT_NE(not_object.status().message().find("t.jsonl:3: expected a JSON object"),
            std::string::npos);
  auto trailing = ParseJsonl("{\"x\":1} junk\n", "t.jsonl", "");
  EXPECT_FALSE(trailing.ok());
  auto dup_key = ParseJsonl("{\"answer\":\"A\",\"answer\":\"B\"}\n", "t.jsonl", "");
  ASSERT_FALSE(dup_key.ok());
  EXPECT_NE(dup_key.status().message().find("t.jsonl:1: duplicate key 'answer'"),
            std::string::npos);
  auto dup_id = ParseJsonl("{\"id\":1}\n{\"id\":1}\n", "t.jsonl", "id");
  ASSERT_FALSE(dup_id.ok());
  EXPECT_NE(dup_id.status().message().find("t.jsonl:2: duplicate document id '1'"),
            std::string::npos);
  auto missing_id = ParseJsonl("{\"x\":1}\n", "t.jsonl", "id");
  EXPECT_FALSE(missing_id.ok());
  auto bad_utf8 = ParseJsonl("{\"x\":\"\xff\"}\n", "t.jsonl", "");
  EXPECT_FALSE(bad_utf8.ok());
  auto nan = ParseJsonl("{\"x\":NaN}\n", "t.jsonl", "");
  EXPECT_FALSE(nan.ok());
}

TEST(JsonlTest, DeepNestingIsRejectedWithoutCrashing) {
  std::string deep = "{\"x\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  auto docs = ParseJsonl(deep, "deep.jsonl", "");
  ASSERT_FALSE(docs.ok());
  EXPECT_NE(docs.status().message().find("nesting deeper than 64"), std::string::npos);
  JsonLimits small;
  small.max_line_bytes = 8;
  auto big = ParseJsonStrict("{\"x\":\"0123456789\"}", "big", small);
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
}

// A dataset or task config with a number that RapidJSON 1.1.0's full-precision path reads out of
// bounds on (found by tests/fuzz/input_files_fuzz) parses; see kJsonParseFlags.
TEST(JsonlTest, LongAndFarExponentNumbersParse) {
  auto docs = ParseJsonl(
      "{\"x\": 128.74836467836484838364836483643636483648e-336, \"y\": 0.25}\n", "n.jsonl", "");
  ASSERT_TRUE(docs.ok()) << docs.status().ToString();
  ASSERT_EQ(docs->size(), 1u);
  auto strict = ParseJsonStrict("[9990000000000000000000000000000000000000000048938.0e-330]", "n");
  EXPECT_TRUE(strict.ok()) << strict.status().ToString();
}

TEST(JsonlTest, MissingFileIsNotFound) {
  auto docs = LoadJsonl("/nonexistent/x.jsonl", "");
  ASSERT_FALSE(docs.ok());
  EXPECT_EQ(docs.status().code(), StatusCode::kNotFound);
  EXPECT_NE(docs.status().message().find("/nonexistent/x.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace sigma::tasks
