#include "engine/base/json.h"

#include <gtest/gtest.h>

namespace sigma {
namespace {

TEST(JsonTest, ParseErrorNamesSourceAndLine) {
  auto doc = ParseJson("{\n  \"a\": 1,\n  \"b\": }", "task.json");
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.status().message().find("task.json: invalid JSON"), std::string::npos);
  EXPECT_NE(doc.status().message().find("line 3"), std::string::npos);
}

TEST(JsonTest, FieldsAreTypeCheckedAndUnknownKeysRejected) {
  auto doc = ParseJson(R"({"n": 3, "x": 1.5, "s": "hi", "flag": true, "big": 1e6, "junk": 1})",
                       "c.json");
  ASSERT_TRUE(doc.ok());
  JsonFields f(**doc, "c.json");
  int64_t n = 0, big = 0;
  double x = 0;
  std::string s;
  bool flag = false;
  EXPECT_TRUE(f.RequireInt("n", &n).ok());
  EXPECT_TRUE(f.OptionalInt("big", &big).ok());
  EXPECT_TRUE(f.RequireDouble("x", &x).ok());
  EXPECT_TRUE(f.RequireString("s", &s).ok());
  EXPECT_TRUE(f.OptionalBool("flag", &flag).ok());
  EXPECT_EQ(n, 3);
  EXPECT_EQ(big, 1000000);
  EXPECT_EQ(x, 1.5);
  EXPECT_EQ(s, "hi");
  EXPECT_TRUE(flag);
  Status unknown = f.RejectUnknownKeys();
  EXPECT_EQ(unknown.message(), "c.json: unknown key 'junk'");

  Status wrong = f.RequireInt("s", &n);
  EXPECT_EQ(wrong.message(), "c.json: s: expected an integer, got a string");
  Status missing = f.RequireInt("absent", &n);
  EXPECT_EQ(missing.message(), "c.json: missing required integer field 'absent'");
  Status fractional = f.RequireInt("x", &n);
  EXPECT_FALSE(fractional.ok());
}

TEST(JsonTest, AppendJsonStringEscapesControlAndInvalidBytes) {
  std::string out;
  AppendJsonString(std::string("a\"\\\n\x01\xff\xc3\xa9", 8), &out);
  EXPECT_EQ(out, "\"a\\\"\\\\\\n\\u0001\\u00ff\xc3\xa9\"");
  auto doc = ParseJson(out, "roundtrip");
  ASSERT_TRUE(doc.ok());
}

}  // namespace
}  // namespace sigma
