// Helpers for end-to-end tests that drive the sigma-eval binary as a user would.
#ifndef SIGMA_TESTS_E2E_CLI_UTIL_H_
#define SIGMA_TESTS_E2E_CLI_UTIL_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace sigma::testing_util {

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `sigma-eval <args>` (args already shell-quoted as needed) in `cwd` (empty: current dir).
CommandResult RunSigmaEval(const std::string& args, const std::string& cwd = "");

// Runs `sigma-eval <args>` and checks that it was refused as bad input: exit code 2 and `message`
// in its stderr. EXPECT_TRUE(Refused(...)) shows the command, its exit code and stderr otherwise.
::testing::AssertionResult Refused(const std::string& args, const std::string& message);

// A fresh temporary folder for one test, removed by the caller with RemoveTree.
std::string MakeTempDir(const std::string& prefix);
void RemoveTree(const std::string& path);

// The first column of the first row of `sql` on the SQLite file `db` (read-only), or -1 where the
// file, the query or the row is missing.
int64_t QueryInt(const std::string& db, const std::string& sql);

}  // namespace sigma::testing_util

#endif  // SIGMA_TESTS_E2E_CLI_UTIL_H_
