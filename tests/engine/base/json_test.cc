#include "engine/base/json.h"

#include <gtest/gtest.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

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

TEST(JsonTest, PresentCountsNullHasDoesNot) {
  auto doc = ParseJson(R"({"none": null, "one": 1})", "c.json");
  ASSERT_TRUE(doc.ok());
  JsonFields f(**doc, "c.json");
  EXPECT_TRUE(f.Present("none"));
  EXPECT_FALSE(f.Has("none"));
  EXPECT_TRUE(f.Present("one"));
  EXPECT_TRUE(f.Has("one"));
  EXPECT_FALSE(f.Present("absent"));
}

TEST(JsonTest, AppendJsonStringEscapesControlAndInvalidBytes) {
  std::string out;
  AppendJsonString(std::string("a\"\\\n\x01\xff\xc3\xa9", 8), &out);
  EXPECT_EQ(out, "\"a\\\"\\\\\\n\\u0001\\u00ff\xc3\xa9\"");
  auto doc = ParseJson(out, "roundtrip");
  ASSERT_TRUE(doc.ok());
}

TEST(JsonTest, JsonQuoteIsAppendJsonStringsLiteral) {
  EXPECT_EQ(JsonQuote(std::string("a\0\xff", 3)), "\"a\\u0000\\u00ff\"");
  EXPECT_EQ(JsonQuote(""), "\"\"");
}

TEST(JsonTest, AppendJsonDoubleReadsBackTheSameDouble) {
  std::string out;
  AppendJsonDouble(-11.541991538781009, &out);
  EXPECT_EQ(out, "-11.541991538781009");
  EXPECT_EQ(std::stod(out), -11.541991538781009);
  out.clear();
  AppendJsonDouble(std::numeric_limits<double>::infinity(), &out);
  EXPECT_EQ(out, "null");
}

// Numbers that send RapidJSON 1.1.0's full-precision path out of bounds (upstream issues 1251 and
// 1259; the first found again by tests/fuzz/input_files_fuzz) parse, as do nearby ordinary ones.
// Under ASan + UBSan the old flags stopped this test (an overflowed power-of-ten index).
TEST(JsonTest, LongAndFarExponentNumbersParseSafely) {
  const std::string long_mantissa(300, '8');
  auto doc = ParseJson(R"({"a": 128.74836467836484838364836483643636483648e-336, "b": )" +
                           long_mantissa + R"(E66, "c": 0.1, "d": 1e-05, "e": 500000.0})",
                       "n.json");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ((**doc)["a"].GetDouble(), 0.0);
  EXPECT_TRUE(std::isinf((**doc)["b"].GetDouble()));
  EXPECT_EQ((**doc)["c"].GetDouble(), 0.1);
  EXPECT_EQ((**doc)["d"].GetDouble(), 1e-05);
  EXPECT_EQ((**doc)["e"].GetDouble(), 500000.0);
}

// A literal just beyond the double range (exponent 308) reads as infinity in RapidJSON (a larger
// exponent is a parse error); a typed field rejects it.
TEST(JsonTest, NumbersBeyondTheDoubleRangeAreRejectedByFields) {
  auto doc = ParseJson(R"({"rope_theta": 2e308, "eps": -1.8e308, "ok": 1e308})", "c.json");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  JsonFields f(**doc, "c.json");
  double x = 0;
  EXPECT_EQ(f.RequireDouble("rope_theta", &x).message(),
            "c.json: rope_theta: number out of the double range");
  EXPECT_FALSE(f.OptionalDouble("eps", &x).ok());
  EXPECT_TRUE(f.RequireDouble("ok", &x).ok());
  EXPECT_EQ(x, 1e308);
}

// The parser is iterative: nesting far deeper than a thread's stack allows is just JSON.
TEST(JsonTest, DeepNestingDoesNotOverflowTheStack) {
  const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
  auto doc = ParseJson(deep, "deep.json");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_TRUE((**doc).IsArray());
}

// JsonToString writes what RapidJSON's own Accept() writes, without recursing.
TEST(JsonTest, JsonToStringMatchesRapidJsonsWriter) {
  const char* text = R"({"a": [1, -2, 3.5, 1e300, -0.0, 4294967295, 9223372036854775807,
      18446744073709551615, -9223372036854775808], "b": {"c": {}, "d": [], "e": [[], [{}]]},
      "s": "quote \" backslash \\ tab \t nul \u0000 \u00e9 \ud83d\ude00",
      "t": true, "f": false, "n": null, "": ""})";
  auto doc = ParseJson(text, "t.json");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  (**doc).Accept(writer);
  EXPECT_EQ(JsonToString(**doc), std::string(buffer.GetString(), buffer.GetSize()));
  for (const char* scalar : {"7", "-1.25", "\"x\"", "null", "[]", "{}"}) {
    auto one = ParseJson(scalar, "s.json");
    ASSERT_TRUE(one.ok()) << scalar;
    EXPECT_EQ(JsonToString(**one), scalar);
  }
}

// Found with a tokenizer.json whose unknown normalizer held a million nested arrays: quoting it in
// the error message overflowed the stack.
TEST(JsonTest, JsonToStringOfDeepNestingDoesNotOverflowTheStack) {
  const std::string deep = "{\"x\":" + std::string(1000000, '[') + std::string(1000000, ']') + "}";
  auto doc = ParseJson(deep, "deep.json");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(JsonToString(**doc), deep);
}

TEST(JsonTest, JsonDifferencesNamesEachChangeByItsPath) {
  auto before = ParseJson(R"({"limit":2,"backend":{"model":"a.gguf","seed":0},
      "tasks":[{"name":"mmlu","hash":"h1"},{"name":"gsm8k","hash":"h2"}],"gone":true,"same":[1,2]})",
                          "a");
  auto after = ParseJson(R"({"limit":3,"backend":{"model":"b.gguf","seed":0},
      "tasks":[{"name":"mmlu","hash":"h1"},{"name":"gsm8k","hash":"h3"},7],"same":[1,2],"new":{}})",
                         "b");
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(
      JsonDifferences(**before, **after, 10),
      (std::vector<std::string>{"limit: 2 -> 3", "backend.model: \"a.gguf\" -> \"b.gguf\"",
                                "tasks[gsm8k].hash: \"h2\" -> \"h3\"", "tasks[2]: (absent) -> 7",
                                "gone: true -> (absent)", "new: (absent) -> {}"}));
  EXPECT_TRUE(JsonDifferences(**before, **before, 10).empty());
  // A type change is one difference; past max_lines, a count of the rest.
  auto scalar = ParseJson("[1]", "s");
  EXPECT_EQ(JsonDifferences(**before, **scalar, 10).size(), 1u);
  EXPECT_EQ(JsonDifferences(**before, **after, 2),
            (std::vector<std::string>{"limit: 2 -> 3", "backend.model: \"a.gguf\" -> \"b.gguf\"",
                                      "... and 4 more"}));
  // Items with distinct names are matched by name: a reordering is no difference, an item on one
  // side only is named; repeated names (or unnamed items) fall back to the index.
  auto order_a = ParseJson(R"({"tasks":[{"name":"mmlu","v":1},{"name":"gsm8k","v":2}]})", "o");
  auto order_b = ParseJson(R"({"tasks":[{"name":"bbh","v":3},{"name":"gsm8k","v":2},)"
                           R"({"name":"mmlu","v":1}]})",
                           "o");
  ASSERT_TRUE(order_a.ok() && order_b.ok());
  const std::vector<JsonDifference> moved = ListJsonDifferences(**order_a, **order_b);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].path, "tasks[bbh]");
  EXPECT_EQ(moved[0].before, "(absent)");
  EXPECT_EQ(moved[0].after, R"({"name":"bbh","v":3})");
  auto twice = ParseJson(R"({"tasks":[{"name":"x","v":1},{"name":"x","v":2}]})", "t");
  auto once = ParseJson(R"({"tasks":[{"name":"x","v":2}]})", "t");
  ASSERT_TRUE(twice.ok() && once.ok());
  EXPECT_EQ(JsonDifferences(**twice, **once, 10),
            (std::vector<std::string>{"tasks[x].v: 1 -> 2",
                                      "tasks[x]: {\"name\":\"x\",\"v\":2} -> "
                                      "(absent)"}));
  // Long values are cut; deep nesting is compared whole past 64 levels, without recursing.
  auto long_a = ParseJson("{\"x\":\"" + std::string(200, 'a') + "\"}", "l");
  auto long_b = ParseJson("{\"x\":1}", "l");
  const std::vector<std::string> cut = JsonDifferences(**long_a, **long_b, 10);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_LT(cut[0].size(), 100u);
  EXPECT_NE(cut[0].find("aaa... -> 1"), std::string::npos) << cut[0];  // cut inside the string
  const std::string deep_a = std::string(200000, '[') + "1" + std::string(200000, ']');
  const std::string deep_b = std::string(200000, '[') + "2" + std::string(200000, ']');
  auto da = ParseJson(deep_a, "d");
  auto db = ParseJson(deep_b, "d");
  ASSERT_TRUE(da.ok() && db.ok());
  EXPECT_EQ(JsonDifferences(**da, **db, 10).size(), 1u);
  EXPECT_TRUE(JsonDifferences(**da, **da, 10).empty());
}

}  // namespace
}  // namespace sigma
