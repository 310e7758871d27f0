// Runs made in two results databases (GPT-4's recorded outputs scored on one machine, the model on
// another) merged into one with `sigma-eval merge`, then compared as if they had been made in
// one; merging again copies nothing; a run resumed in the source since is a conflict until
// --replace; bad input is refused and leaves the database as it was.
#include <sqlite3.h>

#include <fstream>
#include <string>

#include "aimicius/nl2kql/nl2kql.h"
#include "engine/base/json.h"
#include "tests/e2e/cli_util.h"

namespace sigma {
namespace {

using testing_util::QueryInt;
using testing_util::Refused;
using testing_util::RunSigmaEval;

// Scores `outputs(i)` for the first four NL2KQL documents by replay into `db`.
template <class Outputs>
void ScoreReplay(const std::string& dir, const std::string& name, const std::string& db,
                 Outputs outputs) {
  auto records = aimicius::LoadNl2KqlRecords(SIGMA_SOURCE_DIR "/aimicius/data/nl2kql/sample.jsonl");
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  {
    std::ofstream out(dir + "/" + name + ".jsonl");
    for (size_t i = 0; i < 4; ++i) {
      out << "{\"task\":\"nl2kql\",\"doc_id\":" << JsonQuote((*records)[i].id)
          << ",\"output\":" << JsonQuote(outputs((*records)[i], i)) << "}\n";
    }
  }
  auto run = RunSigmaEval("run --model replay:" + dir + "/" + name +
                          ".jsonl --tasks nl2kql --limit 4 --db " + db);
  ASSERT_EQ(run.exit_code, 0) << run.err;
}

void Execute(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(h);
  sqlite3_close(h);
}

TEST(MergeCliTest, RunsOfTwoDatabasesCompareAfterMerging) {
  const std::string dir = testing_util::MakeTempDir("merge");
  const std::string gpt4_db = dir + "/gpt4.db", db = dir + "/results.db";
  ScoreReplay(dir, "gpt4", gpt4_db,
              [](const aimicius::Nl2KqlRecord& r, size_t) { return r.gt_kql; });
  ScoreReplay(dir, "model", db, [](const aimicius::Nl2KqlRecord& r, size_t i) {
    return i % 2 == 0 ? r.gt_kql : std::string("no query");
  });

  auto dry = RunSigmaEval("merge " + gpt4_db + " --db " + db + " --dry-run");
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_NE(dry.out.find("dry run, nothing written: would merge"), std::string::npos) << dry.out;
  EXPECT_NE(dry.out.find("run 1 -> 2: would be merged, 4 samples"), std::string::npos) << dry.out;
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM runs"), 1);
  auto merged = RunSigmaEval("merge " + gpt4_db + " --db " + db);
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  EXPECT_NE(merged.out.find("run 1 -> 2: merged, 4 samples"), std::string::npos) << merged.out;
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM samples WHERE run_id = 2"), 4);
  auto table = RunSigmaEval("compare 2 1 --db " + db + " --names GPT-4,model");
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(
      table.out.find("| nl2kql | syntax\\_accuracy | 4 | 1.0000 | 0.5000 | -0.5000 | 50.0% |"),
      std::string::npos)
      << table.out;

  auto again = RunSigmaEval("merge " + gpt4_db + " --db " + db + " --json");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(
      again.out.find(R"({"kind":"run","source_id":1,"id":2,"outcome":"already here","rows":0})"),
      std::string::npos)
      << again.out;
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM runs"), 2);

  // The source's run resumed since (as `run --resume` would leave it): a conflict, kept as it is.
  Execute(gpt4_db, "UPDATE runs SET segments = 2, state = 'running', finished_at = NULL");
  auto conflict = RunSigmaEval("merge " + gpt4_db + " --db " + db);
  EXPECT_EQ(conflict.exit_code, 1) << conflict.out << conflict.err;
  EXPECT_NE(conflict.out.find("run 1: not merged; run 2 here is the same one at another stage"),
            std::string::npos)
      << conflict.out;
  EXPECT_NE(conflict.err.find("--replace"), std::string::npos) << conflict.err;
  EXPECT_EQ(QueryInt(db, "SELECT segments FROM runs WHERE id = 2"), 1);
  auto replaced = RunSigmaEval("merge " + gpt4_db + " --db " + db + " --replace");
  ASSERT_EQ(replaced.exit_code, 0) << replaced.err;
  EXPECT_NE(replaced.out.find("run 1 -> 2: replaced the copy here"), std::string::npos)
      << replaced.out;
  EXPECT_EQ(QueryInt(db, "SELECT segments FROM runs WHERE id = 2"), 2);

  // Refusals (exit 2), none of which changes the database.
  EXPECT_TRUE(Refused("merge " + dir + "/absent.db --db " + db, "no such results database"));
  { std::ofstream(dir + "/notes.txt") << "not a database, just some notes\n"; }
  EXPECT_TRUE(
      Refused("merge " + dir + "/notes.txt --db " + db, "not a sigma-eval results database"));
  EXPECT_TRUE(
      Refused("merge " + gpt4_db + " --db " + db + " --runs 1,9", "the source has no run 9"));
  EXPECT_TRUE(Refused("merge " + gpt4_db + " --db " + db + " --runs x", "--runs"));
  EXPECT_TRUE(Refused("merge " + db + " --db " + db, "into itself"));
  EXPECT_TRUE(Refused("merge --db " + db, "expected one FROM.db"));
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM runs"), 2);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM samples"), 8);
  testing_util::RemoveTree(dir);
}

}  // namespace
}  // namespace sigma
