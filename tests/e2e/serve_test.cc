// `sigma-eval serve` and `sigma-eval run --model http://...` end to end: a run through the
// OpenAI-compatible API of the embedded model scores what the embedded run scores (the same
// generations; log-likelihoods to the sums' rounding), with and without a client-side tokenizer;
// the server stops cleanly on SIGTERM; a server that is not there stops the run as an environment
// failure naming the URL, and the run resumes from the server started again elsewhere. Skips (with
// the reason) when the default model was not fetched.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <utility>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/language_model.h"
#include "tests/e2e/cli_util.h"

namespace sigma {
namespace {

using testing_util::RunSigmaEval;

// (task, doc_id) -> raw_output of a run's samples.
std::map<std::pair<std::string, std::string>, std::string> RawOutputs(const std::string& db) {
  std::map<std::pair<std::string, std::string>, std::string> out;
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(
      sqlite3_prepare_v2(h, "SELECT task, doc_id, raw_output FROM samples WHERE error IS NULL", -1,
                         &st, nullptr),
      SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    const auto text = [&](int i) {
      const unsigned char* p = sqlite3_column_text(st, i);
      return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p));
    };
    out[{text(0), text(1)}] = text(2);
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

// A log-likelihood sample's raw output is a JSON array of {ll, greedy, tokens}; a generation's
// is its text. The same, with log-likelihoods within `tolerance`.
::testing::AssertionResult SameOutput(const std::string& a, const std::string& b,
                                      double tolerance) {
  if (a.empty() || a[0] != '[') {
    return a == b ? ::testing::AssertionSuccess()
                  : ::testing::AssertionFailure() << a << " vs " << b;
  }
  auto x = ParseJson(a, "a");
  auto y = ParseJson(b, "b");
  if (!x.ok() || !y.ok() || !(*x)->IsArray() || !(*y)->IsArray() || (*x)->Size() != (*y)->Size()) {
    return ::testing::AssertionFailure() << a << " vs " << b;
  }
  for (rapidjson::SizeType i = 0; i < (*x)->Size(); ++i) {
    const rapidjson::Value& u = (**x)[i];
    const rapidjson::Value& v = (**y)[i];
    if (std::abs(u["ll"].GetDouble() - v["ll"].GetDouble()) > tolerance ||
        u["greedy"].GetBool() != v["greedy"].GetBool() ||
        u["tokens"].GetInt() != v["tokens"].GetInt()) {
      return ::testing::AssertionFailure() << a << " vs " << b;
    }
  }
  return ::testing::AssertionSuccess();
}

class ServeTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!FileExists(DefaultModelPath())) {
      GTEST_SKIP() << "default model missing at " << DefaultModelPath()
                   << " (run scripts/setup.sh)";
    }
    dir_ = testing_util::MakeTempDir("serve");
  }
  void TearDown() override {
    StopServer();
    if (!dir_.empty()) testing_util::RemoveTree(dir_);
  }

  // Starts `sigma-eval serve --port 0` and returns its base URL, read from its first line; its
  // stderr (the access log) goes to ServerLog().
  std::string StartServer() {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    const std::string binary = std::string(SIGMA_BINARY_DIR) + "/harness/sigma-eval";
    const std::string log = dir_ + "/serve.err";
    server_ = fork();
    if (server_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      if (freopen(log.c_str(), "w", stderr) == nullptr) _exit(126);
      execl(binary.c_str(), binary.c_str(), "serve", "--port", "0", "--name", "smollm2",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(fds[1]);
    FILE* out = fdopen(fds[0], "r");
    char line[256] = {};
    const bool read = std::fgets(line, sizeof line, out) != nullptr;
    std::fclose(out);
    EXPECT_TRUE(read) << "serve printed nothing";
    const std::string text(line);  // "serving smollm2 at http://127.0.0.1:PORT/v1\n"
    const size_t at = text.find("http://");
    EXPECT_NE(at, std::string::npos) << text;
    return at == std::string::npos ? "" : text.substr(at, text.find('\n') - at);
  }

  // SIGTERM, as a service manager stops it: it answers the request in hand and exits 0.
  int StopServer() {
    if (server_ <= 0) return -1;
    kill(server_, SIGTERM);
    int status = 0;
    waitpid(server_, &status, 0);
    server_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string ServerLog() const {
    StatusOr<std::string> log = ReadFile(dir_ + "/serve.err");
    EXPECT_TRUE(log.ok()) << log.status().ToString();
    return log.ok() ? *log : "";
  }

  std::string dir_;
  pid_t server_ = -1;
};

TEST_F(ServeTest, ARunThroughTheApiScoresWhatTheEmbeddedRunScores) {
  const std::string url = StartServer();
  ASSERT_FALSE(url.empty());
  const std::string tasks = " --tasks hellaswag,mmlu,gsm8k,lambada_openai --limit 2";
  auto embedded = RunSigmaEval("run" + tasks + " --db " + dir_ + "/embedded.db");
  ASSERT_EQ(embedded.exit_code, 0) << embedded.err;
  auto api = RunSigmaEval("run" + tasks + " --model " + url + " --tokenizer " + DefaultModelPath() +
                          " --db " + dir_ + "/api.db");
  ASSERT_EQ(api.exit_code, 0) << api.err;
  auto text_only = RunSigmaEval("run --tasks hellaswag,mmlu --limit 2 --model " + url + " --db " +
                                dir_ + "/text.db");
  ASSERT_EQ(text_only.exit_code, 0) << text_only.err;

  const auto want = RawOutputs(dir_ + "/embedded.db");
  const auto got = RawOutputs(dir_ + "/api.db");
  ASSERT_EQ(want.size(), 8u);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [key, output] : want) {
    EXPECT_TRUE(SameOutput(output, got.at(key), 1e-9)) << key.first << " " << key.second;
  }
  for (const auto& [key, output] : RawOutputs(dir_ + "/text.db")) {
    EXPECT_TRUE(SameOutput(want.at(key), output, 1e-9)) << key.first << " " << key.second;
  }
  // The run names the model by the API's address of it, and `show` and `ls` read it back.
  EXPECT_EQ(testing_util::QueryInt(dir_ + "/api.db",
                                   "SELECT model = '" + url + "/models/smollm2' FROM runs"),
            1);
  auto ls = RunSigmaEval("ls --db " + dir_ + "/api.db");
  EXPECT_NE(ls.out.find("smollm2"), std::string::npos) << ls.out;
  EXPECT_EQ(StopServer(), 0);
  // The access log has a line for each request: the runs asked for the model, then completions.
  const std::string log = ServerLog();
  EXPECT_NE(log.find("Z GET /v1/models 200 "), std::string::npos) << log;
  EXPECT_NE(log.find("Z POST /v1/completions 200 "), std::string::npos) << log;
  EXPECT_NE(log.find(", batch of "), std::string::npos) << log;
}

TEST_F(ServeTest, AServerThatIsNotThereStopsTheRunNamingIt) {
  const std::string url = StartServer();
  ASSERT_FALSE(url.empty());
  ASSERT_EQ(StopServer(), 0);
  auto r = RunSigmaEval("run --tasks hellaswag --limit 1 --api-model m --request-tries 2 --model " +
                        url + " --db " + dir_ + "/a.db");
  EXPECT_EQ(r.exit_code, 3) << r.err;  // an environment failure
  EXPECT_NE(r.err.find(url), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(2 tries)"), std::string::npos) << r.err;
  // The run stopped resumable: from a server started again (at another port), it completes.
  const std::string again = StartServer();
  ASSERT_FALSE(again.empty());
  auto resumed = RunSigmaEval("run --tasks hellaswag --limit 1 --api-model m --model " + again +
                              " --resume 1 --db " + dir_ + "/a.db");
  EXPECT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(
      testing_util::QueryInt(dir_ + "/a.db", "SELECT count(*) FROM samples WHERE error IS NULL"),
      1);
  EXPECT_TRUE(testing_util::Refused("run --tasks hellaswag --tokenizer x --db " + dir_ + "/b.db",
                                    "--tokenizer go with --model http"));
  EXPECT_TRUE(
      testing_util::Refused("run --tasks hellaswag --model http://127.0.0.1:1/v1 "
                            "--kv-dtype f32 --db " +
                                dir_ + "/d.db",
                            "--kv-dtype does not apply to --model http(s)://"));
  EXPECT_TRUE(testing_util::Refused("serve --batch 0", "--batch: 0 is not 1..64"));
  EXPECT_TRUE(testing_util::Refused("serve --port 70000", "--port: 70000 is not 0..65535"));
  EXPECT_TRUE(
      testing_util::Refused("run --tasks hellaswag --model http://127.0.0.1:1/v1 "
                            "--request-tries 0 --db " +
                                dir_ + "/c.db",
                            "--request-tries: 0 is not 1..100"));
}

}  // namespace
}  // namespace sigma
