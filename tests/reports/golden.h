// Golden-file comparison for the reports tests: tests/golden/reports/<name>. Set
// SIGMA_UPDATE_GOLDENS=1 to rewrite the files from the current output (then review the diff).
#ifndef SIGMA_TESTS_REPORTS_GOLDEN_H_
#define SIGMA_TESTS_REPORTS_GOLDEN_H_

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>

#include "engine/base/file.h"

namespace sigma::reports::testing {

inline void ExpectGolden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(SIGMA_SOURCE_DIR) + "/tests/golden/reports/" + name;
  const char* update = std::getenv("SIGMA_UPDATE_GOLDENS");
  if (update != nullptr && std::string(update) == "1") {
    ASSERT_TRUE(WriteFileAtomic(path, actual).ok()) << path;
    return;
  }
  auto expected = ReadFile(path);
  ASSERT_TRUE(expected.ok()) << path << " missing; run with SIGMA_UPDATE_GOLDENS=1";
  EXPECT_EQ(*expected, actual) << "output differs from " << path
                               << " (SIGMA_UPDATE_GOLDENS=1 rewrites it; review the diff)";
}

// Replaces every occurrence of `from` with `to`.
inline std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

}  // namespace sigma::reports::testing

#endif  // SIGMA_TESTS_REPORTS_GOLDEN_H_
