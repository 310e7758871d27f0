// `sigma-eval run` end to end on the embedded default model: the database it fills, replay of
// recorded outputs scoring identically, SIGKILL-and-resume equal to an uninterrupted run, the same
// bits whatever the batches and threads, and clear errors for bad input. Skips (with the reason)
// when the default model was not fetched.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "engine/base/file.h"
#include "engine/language_model.h"
#include "tests/e2e/cli_util.h"

namespace sigma {
namespace {

using testing_util::QueryInt;
using testing_util::Refused;
using testing_util::RunSigmaEval;

// (task, doc_id) -> "metrics_json|raw_output|extracted" of a run.
using Samples = std::map<std::pair<std::string, std::string>, std::string>;

Samples ReadSamples(const std::string& db, int64_t run) {
  Samples out;
  sqlite3* h = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  const std::string sql = "SELECT task, doc_id, metrics_json, raw_output, extracted FROM samples WHERE run_id = " +
                          std::to_string(run);
  EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    auto text = [&](int i) {
      const void* p = sqlite3_column_blob(st, i);
      return p == nullptr ? std::string() : std::string(static_cast<const char*>(p), sqlite3_column_bytes(st, i));
    };
    out[{text(0), text(1)}] = text(2) + "|" + text(3) + "|" + text(4);
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

class RunTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!FileExists(DefaultModelPath())) {
      GTEST_SKIP() << "default model missing at " << DefaultModelPath() << " (run scripts/setup.sh)";
    }
    dir_ = testing_util::MakeTempDir("run");
  }
  void TearDown() override {
    if (!dir_.empty()) testing_util::RemoveTree(dir_);
  }
  std::string dir_;
};

TEST_F(RunTest, FillsDatabaseAndReplayScoresIdentically) {
  const std::string db = dir_ + "/a.db";
  auto r = RunSigmaEval("run --tasks mmlu,gsm8k,hellaswag --limit 2 --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM samples WHERE run_id = 1 AND error IS NULL"), 6);
  EXPECT_EQ(QueryInt(db, "SELECT state = 'complete' FROM runs WHERE id = 1"), 1);
  EXPECT_GE(QueryInt(db, "SELECT count(*) FROM task_results WHERE run_id = 1 AND stderr IS NOT NULL"), 4);
  EXPECT_GE(QueryInt(db, "SELECT count(*) FROM speed WHERE run_id = 1 AND phase IN ('prefill','decode','end_to_end')"), 3);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM samples WHERE run_id = 1 AND task = 'gsm8k' AND decode_tok_s > 0"), 2);
  // mmlu's second question reuses the whole blocks of its subject's 5-shot prefix (~250 tokens).
  EXPECT_EQ(QueryInt(db, "SELECT reused_tokens FROM samples WHERE task = 'mmlu' AND doc_index = 0"),
            0);
  EXPECT_GE(QueryInt(db, "SELECT reused_tokens FROM samples WHERE task = 'mmlu' AND doc_index = 1"),
            192);
  EXPECT_EQ(
      QueryInt(db, "SELECT reused_tokens % 64 FROM samples WHERE task = 'mmlu' AND doc_index = 1"),
      0);

  auto exported = RunSigmaEval("export --db " + db + " --run 1 --task gsm8k --out " + dir_ + "/gsm8k.jsonl");
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  auto replay = RunSigmaEval("run --model replay:" + dir_ + "/gsm8k.jsonl --tasks gsm8k --limit 2 --db " + db);
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  Samples live = ReadSamples(db, 1), replayed = ReadSamples(db, 2);
  ASSERT_EQ(replayed.size(), 2u);
  // The same scores; only the engine knows why each generation ended.
  const auto without_stop_reasons = [](std::string v) {
    const size_t at = v.find(",\"_stop_reasons\":[");
    if (at != std::string::npos) v.erase(at, v.find(']', at) + 1 - at);
    return v;
  };
  for (const auto& [key, value] : replayed) {
    EXPECT_EQ(value.find("_stop_reasons"), std::string::npos) << value;
    EXPECT_NE(live.at(key).find("\"_stop_reasons\":[\""), std::string::npos) << live.at(key);
    EXPECT_EQ(value, without_stop_reasons(live.at(key))) << key.second;
  }

  // To stdout (it wrote a file named "-"), the same records.
  auto to_stdout = RunSigmaEval("export --db " + db + " --run 1 --task gsm8k --out -");
  ASSERT_EQ(to_stdout.exit_code, 0) << to_stdout.err;
  EXPECT_EQ(to_stdout.out, *ReadFile(dir_ + "/gsm8k.jsonl"));
  // A task the run does not have (it exported nothing, quietly).
  EXPECT_TRUE(Refused("export --db " + db + " --run 1 --task gsm8 --out " + dir_ + "/x.jsonl",
                      "run 1 has no samples of task 'gsm8' (its tasks: gsm8k, hellaswag, mmlu)"));
  // A results database as --out (it replaced the database read with the export).
  const std::string before = *ReadFile(db);
  for (const std::string command : {"export --run 1", "report", "compare 1 2"}) {
    EXPECT_TRUE(Refused(command + " --db " + db + " --out " + db,
                        "--out: " + db + " is an SQLite database; not replacing it"));
  }
  EXPECT_EQ(*ReadFile(db), before);
}

// mmlu's few-shot prefix is reused from document to document (PrefixBlocks): a resumed segment
// starts with nothing reused, and its scores are still the same bits.
TEST_F(RunTest, SigkillAndResumeEqualsUninterruptedRun) {
  const std::string flags = " --tasks arc_easy,boolq,mmlu --limit 10 --batch 2 --threads 2";
  const std::string reference = dir_ + "/reference.db";
  auto full = RunSigmaEval("run" + flags + " --db " + reference);
  ASSERT_EQ(full.exit_code, 0) << full.err;

  const std::string db = dir_ + "/killed.db";
  const std::string binary = std::string(SIGMA_BINARY_DIR) + "/harness/sigma-eval";
  int kills = 0;
  for (int64_t threshold : {4, 14, 24}) {  // one of them inside mmlu's ten, whatever the order
    std::string args = "run" + flags + " --db " + db + (kills > 0 ? " --resume 1" : "");
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
      execl("/bin/sh", "sh", "-c", ("exec " + binary + " " + args).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Kill as soon as the run has stored `threshold` samples (or it finished by itself).
    bool exited = false;
    for (int i = 0; i < 6000 && !exited; ++i) {
      if (QueryInt(db, "SELECT count(*) FROM samples") >= threshold) break;
      exited = waitpid(pid, nullptr, WNOHANG) == pid;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      ++kills;
    }
    // Another terminal can read the live database meanwhile.
    auto status = RunSigmaEval("status 1 --db " + db);
    EXPECT_EQ(status.exit_code, 0) << status.err;
    // A killed run stays 'running'; the heartbeat's age is what tells it from a live one.
    if (status.out.find("run 1: running") != std::string::npos) {
      EXPECT_NE(status.out.find(" s ago)"), std::string::npos) << status.out;
      EXPECT_NE(RunSigmaEval("status 1 --json --db " + db).out.find("\"heartbeat_age_s\":"),
                std::string::npos);
    }
    // ... and names the build that is writing it.
    const std::string version = RunSigmaEval("--version").out;
    EXPECT_NE(status.out.find("\nbuild " + version.substr(0, version.find('\n')) + ", host "),
              std::string::npos)
        << status.out;
  }
  EXPECT_GE(kills, 2);
  auto resumed = RunSigmaEval("run" + flags + " --db " + db + " --resume 1");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.out.find("(resumed)"), std::string::npos);
  EXPECT_GE(QueryInt(db, "SELECT count(DISTINCT segment) FROM samples WHERE task = 'mmlu'"), 2);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM samples"), 30);
  EXPECT_EQ(QueryInt(db, "SELECT count(DISTINCT task || '/' || doc_id) FROM samples"), 30);
  EXPECT_EQ(QueryInt(db, "SELECT state = 'complete' FROM runs WHERE id = 1"), 1);
  EXPECT_EQ(ReadSamples(db, 1), ReadSamples(reference, 1));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM task_results WHERE run_id = 1"),
            QueryInt(reference, "SELECT count(*) FROM task_results WHERE run_id = 1"));
  EXPECT_EQ(QueryInt(db, "SELECT integrity_check = 'ok' FROM pragma_integrity_check"), 1);
}

// Outputs and scores do not depend on how the run was cut into batches or threads: a generation
// task, a log-likelihood one and CMDGen (its scores from the sentence encoder and the sandbox),
// one document a batch on one thread against three a batch on two (decode team) and on two with
// parallel loops. Equal bits, not a tolerance: a regression seen between two runs is the model's.
TEST_F(RunTest, SameScoresWhateverTheBatchesAndThreads) {
  const std::string tasks = " --tasks gsm8k,mmlu,cmdgen_amd --limit 4 --max-gen-toks 64";
  const std::string db = dir_ + "/batches.db";
  for (const std::string shape : {" --batch 1 --threads 1", " --batch 3 --threads 2",
                                  " --batch 2 --threads 2 --decode-team never"}) {
    auto r = RunSigmaEval("run" + tasks + shape + " --db " + db);
    ASSERT_EQ(r.exit_code, 0) << shape << ": " << r.err;
  }
  const Samples one = ReadSamples(db, 1);
  ASSERT_EQ(one.size(), 12u);
  EXPECT_EQ(ReadSamples(db, 2), one);
  EXPECT_EQ(ReadSamples(db, 3), one);
}

// Starts `sigma-eval run <args>` with stderr to `err`, waits until `db` holds `samples` samples,
// sends SIGINT `times` times (each after the run has answered the one before), and returns the
// wait status.
int InterruptRun(const std::string& args, const std::string& db, const std::string& err,
                 int samples, int times) {
  const std::string binary = std::string(SIGMA_BINARY_DIR) + "/harness/sigma-eval";
  const pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen(err.c_str(), "w", stderr);
    execl("/bin/sh", "sh", "-c", ("exec " + binary + " run " + args).c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  for (int i = 0; i < 6000 && QueryInt(db, "SELECT count(*) FROM samples") < samples; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int i = 0; i < times; ++i) {
    // A signal sent while the same one is still pending is lost: wait until the run has
    // answered the first before sending the next.
    if (i > 0) {
      for (int j = 0; j < 3000; ++j) {
        const StatusOr<std::string> text = ReadFile(err);
        if (text.ok() && text->find("stopping after this batch") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    kill(pid, SIGINT);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// Ctrl-C stops a run after the batch being scored (exit code 130, state 'interrupted'); a second
// Ctrl-C stops it at once. Either way --resume completes it with every document scored once.
TEST_F(RunTest, CtrlCStopsBetweenBatchesAndASecondStopsAtOnce) {
  const std::string flags = " --tasks gsm8k --limit 6 --batch 1 --threads 2";
  for (const int times : {1, 2}) {
    const std::string db = dir_ + "/ctrl_c_" + std::to_string(times) + ".db";
    const std::string err = dir_ + "/ctrl_c.err";
    const int status = InterruptRun(flags + " --db " + db, db, err, 2, times);
    const int total = QueryInt(db, "SELECT count(*) FROM samples");
    if (times == 1) {
      ASSERT_TRUE(WIFEXITED(status)) << status;
      EXPECT_EQ(WEXITSTATUS(status), 130);
      EXPECT_EQ(QueryInt(db, "SELECT state = 'interrupted' FROM runs WHERE id = 1"), 1);
      const std::string text = *ReadFile(err);
      EXPECT_NE(text.find("stopping after this batch (Ctrl-C again: at once)"), std::string::npos)
          << text;
      EXPECT_NE(text.find("interrupted; continue with --resume 1"), std::string::npos) << text;
    } else {
      ASSERT_TRUE(WIFSIGNALED(status)) << status;
      EXPECT_EQ(WTERMSIG(status), SIGINT);
    }
    EXPECT_LT(total, 6) << "the run finished before the interrupt";
    auto resumed = RunSigmaEval("run" + flags + " --db " + db + " --resume 1");
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    EXPECT_EQ(QueryInt(db, "SELECT count(DISTINCT doc_id) FROM samples WHERE run_id = 1"), 6);
    EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM samples WHERE run_id = 1"), 6);
    EXPECT_EQ(QueryInt(db, "SELECT state = 'complete' FROM runs WHERE id = 1"), 1);
  }
}

// --tasks all: every task of the three families (general benchmarks, AIMICIUS, code) in one run
// (answers cut at 48 tokens: BBH's 27 chain-of-thought tasks would run to 1024 each).
TEST_F(RunTest, AllRunsEveryTaskFamily) {
  const std::string db = dir_ + "/all.db";
  const auto r = RunSigmaEval("run --tasks all --limit 1 --max-gen-toks 48 --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* task :
       {"mmlu", "gsm8k", "boolq", "winogrande", "lambada_openai", "mmlu_pro", "hendrycks_math",
        "bbh_navigate", "nl2kql", "optiflow", "cmdgen_amd", "humaneval", "mbpp"}) {
    EXPECT_EQ(QueryInt(db, std::string("SELECT count(*) FROM samples WHERE task = '") + task + "'"),
              1)
        << task;
  }
  // 41 general benchmarks (27 of them BBH's), 5 AIMICIUS tasks, 2 code benchmarks.
  EXPECT_EQ(QueryInt(db, "SELECT count(DISTINCT task) FROM samples"), 48);
  // BBH is scored as one benchmark too: its 27 samples pooled, in the summary and in `show`.
  EXPECT_NE(r.out.find("bbh (group)"), std::string::npos) << r.out;
  const auto show = RunSigmaEval("show 1 --json --db " + db);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_NE(show.out.find(R"({"group":"bbh","metric":"exact_match",)"), std::string::npos)
      << show.out;
  EXPECT_NE(show.out.find(R"("n":27})"), std::string::npos) << show.out;
  // The run's settings, read back from its stored configuration, in show, status and ls.
  EXPECT_NE(show.out.find(R"("settings":"kv bf16, batch 4, limit 1, max 48 new tokens")"),
            std::string::npos)
      << show.out;
  const auto status = RunSigmaEval("status 1 --db " + db);
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("\nsettings kv bf16, batch 4, limit 1, max 48 new tokens\n"),
            std::string::npos)
      << status.out;
  const auto ls = RunSigmaEval("ls --db " + db);
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("  kv bf16, batch 4, limit 1, max 48 new tokens  "), std::string::npos)
      << ls.out;
}

TEST_F(RunTest, RequestsPastTheContextFailClearlyAndAnswersItCutOffAreCounted) {
  const std::string db = dir_ + "/short.db";
  const auto r =
      RunSigmaEval("run --tasks mmlu,hellaswag,gsm8k --limit 1 --max-context 24 --db " + db);
  EXPECT_EQ(r.exit_code, 1) << r.err;  // stored with their errors
  const auto error_of = [&](const char* task) {
    const std::string sql = std::string("SELECT error FROM samples WHERE task = '") + task + "'";
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    std::string error;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
      error = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return error;
  };
  // 5-shot MMLU: the context alone; HellaSwag: a short context, but with an ending it does not fit.
  EXPECT_NE(error_of("mmlu").find(" positions for the context, past the context of 24 tokens "
                                  "(raise --max-context)"),
            std::string::npos)
      << error_of("mmlu");
  EXPECT_NE(error_of("hellaswag")
                .find(" positions for the context and a continuation, past the "
                      "context of 24 tokens"),
            std::string::npos)
      << error_of("hellaswag");
  EXPECT_NE(error_of("gsm8k").find("does not fit the context of 24 tokens (raise --max-context)"),
            std::string::npos)
      << error_of("gsm8k");

  // A prompt that fits with little room to spare: its answer is cut off by the context, which the
  // sample records and the report counts.
  const std::string tight = dir_ + "/tight.db";
  const int64_t prompt = [&] {
    const auto probe = RunSigmaEval("run --tasks gsm8k --limit 1 --db " + tight);
    EXPECT_EQ(probe.exit_code, 0) << probe.err;
    return QueryInt(tight, "SELECT prompt_tokens FROM samples");
  }();
  std::filesystem::remove(tight);
  const auto cut = RunSigmaEval("run --tasks gsm8k --limit 1 --max-context " +
                                std::to_string(prompt + 4) + " --db " + tight);
  ASSERT_EQ(cut.exit_code, 0) << cut.err;
  EXPECT_NE(cut.err.find("note: gsm8k: 1 of 1 samples had a generation cut off by its token limit "
                         "or the context"),
            std::string::npos)
      << cut.err;
  EXPECT_EQ(QueryInt(tight,
                     "SELECT count(*) FROM samples WHERE metrics_json LIKE "
                     "'%\"_stop_reasons\":[\"context_full\"]%'"),
            1);
  const auto report = RunSigmaEval("report --format json --out - --db " + tight);
  EXPECT_NE(report.out.find("\"ungraded\":0,\"cut_off\":1,"), std::string::npos) << report.out;
}

TEST_F(RunTest, MaxGenToksCapsEveryAnswerAndIsPartOfTheFingerprint) {
  const std::string db = dir_ + "/cap.db";
  const auto r = RunSigmaEval("run --tasks gsm8k,mmlu --limit 2 --max-gen-toks 3 --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(QueryInt(db, "SELECT max(new_tokens) FROM samples WHERE task = 'gsm8k'"), 3);
  EXPECT_EQ(QueryInt(db,
                     "SELECT count(*) FROM samples WHERE task = 'gsm8k' AND metrics_json "
                     "LIKE '%\"_stop_reasons\":[\"max_tokens\"]%'"),
            2);
  EXPECT_NE(r.err.find("note: gsm8k: 2 of 2 samples had a generation cut off"), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("note: mmlu"), std::string::npos) << r.err;  // no generations there
  // Another limit is another configuration: not resumed into the same run.
  EXPECT_TRUE(Refused("run --tasks gsm8k,mmlu --limit 2 --max-gen-toks 4 --resume 1 --db " + db,
                      "max_gen_tokens: 3 -> 4"));
  EXPECT_TRUE(Refused("run --tasks gsm8k --max-gen-toks -1 --db " + db,
                      "--max-gen-toks: expected 0..1000000 (0: each task's own), got -1"));
}

TEST_F(RunTest, NumFewshotChangesTheBenchmarksPromptsAndIsPartOfTheFingerprint) {
  const std::string five = dir_ + "/five.db", zero = dir_ + "/zero.db";
  ASSERT_EQ(RunSigmaEval("run --tasks mmlu --limit 1 --db " + five).exit_code, 0);
  const auto r = RunSigmaEval("run --tasks mmlu,nl2kql --limit 1 --num-fewshot 0 --db " + zero);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: --num-fewshot does not change nl2kql"), std::string::npos) << r.err;
  // MMLU's five examples are gone from its prompt.
  const int64_t five_shot = QueryInt(five, "SELECT prompt_tokens FROM samples");
  const int64_t zero_shot = QueryInt(zero, "SELECT prompt_tokens FROM samples WHERE task = 'mmlu'");
  EXPECT_LT(zero_shot * 3, five_shot) << zero_shot << " vs " << five_shot;
  EXPECT_TRUE(Refused("run --tasks mmlu,nl2kql --limit 1 --num-fewshot 1 --resume 1 --db " + zero,
                      "num_fewshot: 0 -> 1"));
  EXPECT_TRUE(Refused("run --tasks mmlu --num-fewshot 65 --db " + zero,
                      "--num-fewshot: expected 0..64 (or -1: each task's own), got 65"));
}

TEST_F(RunTest, ApplyChatTemplateSendsTheBenchmarksAsChatsAndIsPartOfTheFingerprint) {
  const std::string plain = dir_ + "/plain.db", chat = dir_ + "/chat.db";
  ASSERT_EQ(RunSigmaEval("run --tasks arc_easy --limit 2 --db " + plain).exit_code, 0);
  const auto r = RunSigmaEval(
      "run --tasks arc_easy,nl2kql --limit 2 --apply-chat-template "
      "--system-instruction 'Answer briefly.' --db " +
      chat);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("note: --apply-chat-template, --system-instruction do not change nl2kql"),
            std::string::npos)
      << r.err;
  // The template's system and user turns around the same question: more tokens than the plain
  // prompt, and the run's configuration says why.
  const int64_t plain_tokens = QueryInt(plain, "SELECT prompt_tokens FROM samples LIMIT 1");
  const int64_t chat_tokens =
      QueryInt(chat, "SELECT prompt_tokens FROM samples WHERE task = 'arc_easy' LIMIT 1");
  EXPECT_GT(chat_tokens, plain_tokens + 10) << chat_tokens << " vs " << plain_tokens;
  EXPECT_EQ(
      QueryInt(chat, "SELECT json_extract(config_json, '$.cli.apply_chat_template') FROM runs"), 1);
  EXPECT_TRUE(
      Refused("run --tasks arc_easy,nl2kql --limit 2 --apply-chat-template --resume 1 "
              "--db " +
                  chat,
              "system_instruction"));
  EXPECT_TRUE(Refused("run --tasks arc_easy --system-instruction x --db " + chat,
                      "--system-instruction: the chat's system message; give "
                      "--apply-chat-template too"));
  EXPECT_TRUE(Refused("run --tasks arc_easy --fewshot-as-multiturn --db " + chat,
                      "--fewshot-as-multiturn: turns of the chat; give --apply-chat-template too"));
}

TEST_F(RunTest, BadInputIsRefusedClearly) {
  const std::string db = dir_ + "/bad.db";
  auto r = RunSigmaEval("run --tasks no_such_task --db " + db);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no_such_task"), std::string::npos) << r.err;
  // The error lists every task --tasks takes: benchmarks, AIMICIUS, code tasks and groups.
  for (const char* known : {"boolq", "nl2kql", "cmdgen_amd", "humaneval_chat", "aimicius (group)",
                            "code (group)", "reasoning (group)"}) {
    EXPECT_NE(r.err.find(known), std::string::npos) << known << " not in: " << r.err;
  }
  EXPECT_TRUE(Refused("run --tasks boolq --limit -1 --db " + db, "--limit"));
  r = RunSigmaEval("run --tasks boolq --resume -4 --db " + db);  // once ignored: a new run
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--resume: expected a run id (see sigma-eval ls), got -4"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(Refused("run --tasks boolq --threads 5000 --db " + db,
                      "--threads: expected 0..1024, got 5000"));
  EXPECT_TRUE(Refused("run --tasks boolq --temperature -1 --db " + db,
                      "--temperature: expected a finite value >= 0, got -1"));
  r = RunSigmaEval("run --tasks boolq --limit 1 --db " + db);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* run : {"-3", "1,2", "abc"}) {
    EXPECT_TRUE(Refused(std::string("show ") + run + " --db " + db,
                        std::string("RUN: expected one run id (see sigma-eval ls), got '") + run));
  }
  // A second run id (or any for ls) was once ignored, the reader showing only the first.
  EXPECT_TRUE(Refused("show 1 2 --db " + db, "unexpected argument '2' (usage: sigma-eval show"));
  EXPECT_TRUE(Refused("status 1 1 --db " + db, "unexpected argument '1'"));
  EXPECT_TRUE(Refused("ls 1 --db " + db, "unexpected argument '1' (usage: sigma-eval ls"));
  // Two AIMICIUS records with one id (from --data-dir) were scored as one sample.
  ASSERT_TRUE(MakeDirectories(dir_ + "/data/nl2kql").ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/data/nl2kql/test.jsonl",
                              "{\"id\": \"a\", \"question\": \"q\", \"gt_kql\": \"T\"}\n"
                              "{\"id\": \"a\", \"question\": \"r\", \"gt_kql\": \"T\"}\n")
                  .ok());
  EXPECT_TRUE(Refused("run --tasks nl2kql --data-dir " + dir_ + "/data --db " + db,
                      "task nl2kql: documents 0 and 1 have the same id 'a'"));
  // A task list split by a space once ran only the first task.
  EXPECT_TRUE(Refused("run --tasks boolq gsm8k --limit 1 --db " + db,
                      "unexpected argument 'gsm8k' (usage: sigma-eval run"));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM runs"), 1);
  // Resuming with another configuration is refused, and the stored run stays as it was.
  EXPECT_TRUE(Refused("run --tasks boolq --limit 2 --resume 1 --db " + db, "fingerprint"));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM samples WHERE run_id = 1"), 1);
  EXPECT_TRUE(Refused("run --tasks boolq --model replay:/nonexistent.jsonl --db " + db,
                      "/nonexistent.jsonl"));
}

}  // namespace
}  // namespace sigma
