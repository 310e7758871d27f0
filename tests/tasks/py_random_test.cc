// Python's random.Random (tasks/py_random.h) against what CPython gives for the same seeds and
// calls (tests/data/tasks/python_random.json, from tests/oracle/python_random_reference.py).
#include "tasks/py_random.h"

#include <gtest/gtest.h>

#include <string>

#include "engine/base/file.h"
#include "engine/base/json.h"

namespace sigma::tasks::py {
namespace {

TEST(PyRandomTest, SameDrawsAsCPython) {
  const std::string path = std::string(SIGMA_SOURCE_DIR) + "/tests/data/tasks/python_random.json";
  auto text = ReadFile(path);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  rapidjson::Document doc;
  doc.Parse(text->data(), text->size());
  ASSERT_FALSE(doc.HasParseError());
  int ops = 0;
  for (const auto& c : doc["cases"].GetArray()) {
    const uint64_t seed = c["seed"].GetUint64();
    SCOPED_TRACE("seed " + std::to_string(seed));
    PyRandom rnd(seed);
    for (const auto& op : c["ops"].GetArray()) {
      const std::string name = op["op"].GetString();
      const auto& arg = op["arg"].GetArray();
      SCOPED_TRACE(name + " " + std::to_string(arg[0].GetUint64()));
      if (name == "getrandbits") {
        EXPECT_EQ(rnd.GetRandBits(arg[0].GetInt()), op["value"].GetUint64());
      } else if (name == "randbelow") {
        EXPECT_EQ(rnd.RandBelow(static_cast<uint32_t>(arg[0].GetUint64())),
                  op["value"].GetUint64());
      } else {
        ASSERT_EQ(name, "sample");
        std::vector<size_t> want;
        for (const auto& v : op["value"].GetArray()) want.push_back(v.GetUint64());
        EXPECT_EQ(rnd.Sample(arg[0].GetUint64(), arg[1].GetUint64()), want);
      }
      ++ops;
    }
  }
  EXPECT_GE(ops, 250);
}

}  // namespace
}  // namespace sigma::tasks::py
