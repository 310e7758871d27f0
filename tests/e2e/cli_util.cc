#include "tests/e2e/cli_util.h"

#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sigma::testing_util {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

CommandResult RunSigmaEval(const std::string& args, const std::string& cwd) {
  const std::string dir = MakeTempDir("cli");
  const std::string out = dir + "/out", err = dir + "/err";
  std::string command;
  if (!cwd.empty()) command += "cd '" + cwd + "' && ";
  command += std::string(SIGMA_BINARY_DIR) + "/harness/sigma-eval " + args + " >" + out + " 2>" + err +
             " </dev/null";
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = Slurp(out);
  result.err = Slurp(err);
  RemoveTree(dir);
  return result;
}

::testing::AssertionResult Refused(const std::string& args, const std::string& message) {
  const CommandResult r = RunSigmaEval(args);
  if (r.exit_code == 2 && r.err.find(message) != std::string::npos) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "sigma-eval " << args << "\n  exit code " << r.exit_code
         << " (want 2), stderr: " << r.err << "  want in it: " << message;
}

std::string MakeTempDir(const std::string& prefix) {
  std::string templ = (std::filesystem::temp_directory_path() / ("sigma-" + prefix + "-XXXXXX")).string();
  char* made = ::mkdtemp(templ.data());
  return made == nullptr ? std::string() : std::string(made);
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

int64_t QueryInt(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  int64_t value = -1;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(h, 5000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      value = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return value;
}

}  // namespace sigma::testing_util
