// Statement's binding: BindAll binds each value by its type to parameters 1, 2, ... in turn;
// WriteInTransaction commits one statement or, failing, leaves the database as it was; errors
// say what the user can do (a full disk, a path that cannot hold a database).
#include "harness/store/sqlite.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include "engine/base/check.h"

namespace sigma::store {
namespace {

class StatementTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK); }
  void TearDown() override { sqlite3_close(db_); }
  sqlite3* db_ = nullptr;
};

TEST_F(StatementTest, BindAllBindsEachValueByItsTypeInOrder) {
  auto stmt = Statement::Prepare(
      db_, "SELECT typeof(?1), ?1, typeof(?2), ?2, typeof(?3), ?3, typeof(?4), typeof(?5), ?5, "
           "typeof(?6), ?6, typeof(?7), ?7, typeof(?8)");
  ASSERT_TRUE(stmt.ok()) << stmt.status().ToString();
  const std::string text("a\0b", 3);  // byte-exact, NUL included
  const std::optional<int64_t> none, seven = 7;
  const std::optional<double> half = 0.5, no_double;
  ASSERT_TRUE(stmt->BindAll(text, int64_t{1} << 40, 2.25, none, seven, half, "plain", no_double)
                  .ok());
  ASSERT_TRUE(*stmt->Step());
  EXPECT_EQ(stmt->ColumnBytes(0), "text");
  EXPECT_EQ(stmt->ColumnBytes(1), text);
  EXPECT_EQ(stmt->ColumnBytes(2), "integer");
  EXPECT_EQ(stmt->ColumnInt(3), int64_t{1} << 40);
  EXPECT_EQ(stmt->ColumnBytes(4), "real");
  EXPECT_EQ(stmt->ColumnDouble(5), 2.25);
  EXPECT_EQ(stmt->ColumnBytes(6), "null");
  EXPECT_EQ(stmt->ColumnBytes(7), "integer");
  EXPECT_EQ(stmt->ColumnInt(8), 7);
  EXPECT_EQ(stmt->ColumnBytes(9), "real");
  EXPECT_EQ(stmt->ColumnDouble(10), 0.5);
  EXPECT_EQ(stmt->ColumnBytes(11), "text");
  EXPECT_EQ(stmt->ColumnBytes(12), "plain");
  EXPECT_EQ(stmt->ColumnBytes(13), "null");
}

TEST_F(StatementTest, BindAllPastTheLastParameterNamesIt) {
  auto stmt = Statement::Prepare(db_, "SELECT ?1, ?2");
  ASSERT_TRUE(stmt.ok());
  const Status s = stmt->BindAll(1, 2, 3, 4);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("bind 3"), std::string::npos) << s.ToString();
}

int64_t Count(sqlite3* db) {
  auto stmt = Statement::Prepare(db, "SELECT count(*) FROM t");
  SIGMA_CHECK(stmt.ok() && *stmt->Step(), "count");
  return stmt->ColumnInt(0);
}

TEST_F(StatementTest, WriteInTransactionReportsChangesAndTheInsertedRowid) {
  ASSERT_TRUE(Exec(db_, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)", "t").ok());
  for (const char* name : {"a", "b", "c"}) {
    auto insert = WriteInTransaction(db_, "INSERT INTO t (name) VALUES (?1)", name);
    ASSERT_TRUE(insert.ok()) << insert.status().ToString();
    EXPECT_EQ(insert->changes, 1);
    EXPECT_EQ(insert->last_rowid, Count(db_));
  }
  auto update = WriteInTransaction(db_, "UPDATE t SET name = name || ?1 WHERE id > ?2", "!", 1);
  ASSERT_TRUE(update.ok()) << update.status().ToString();
  EXPECT_EQ(update->changes, 2);
  auto none = WriteInTransaction(db_, "UPDATE t SET name = ?1 WHERE id = ?2", "z", 99);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->changes, 0);
  EXPECT_TRUE(sqlite3_get_autocommit(db_)) << "each write commits";
}

TEST_F(StatementTest, WriteInTransactionThatFailsRollsBackAndNamesTheStatement) {
  ASSERT_TRUE(Exec(db_, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)", "t").ok());
  ASSERT_TRUE(WriteInTransaction(db_, "INSERT INTO t (name) VALUES (?1)", "a").ok());
  // A statement that inserts a row and then fails on the second: neither stays.
  auto dup = WriteInTransaction(db_, "INSERT INTO t (name) VALUES (?1), (?2)", "b", "a");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().ToString().find("INSERT"), std::string::npos) << dup.status().ToString();
  EXPECT_EQ(Count(db_), 1);
  EXPECT_TRUE(sqlite3_get_autocommit(db_)) << "no transaction left open";
  // Too many values: refused before the statement runs.
  EXPECT_FALSE(WriteInTransaction(db_, "INSERT INTO t (name) VALUES (?1)", "c", "d").ok());
  EXPECT_EQ(Count(db_), 1);
}

TEST(SqliteErrorTest, AFullDatabaseNamesItsFileAndTheRoomLeftAndKeepsWhatWasCommitted) {
  const std::string path =
      (std::filesystem::path(testing::TempDir()) / ("full_" + std::to_string(::getpid()) + ".db"))
          .string();
  std::remove(path.c_str());
  auto db = OpenDatabase(path, /*create=*/true);
  ASSERT_TRUE(db.ok()) << db.status().ToString();
  // SQLite's own ceiling on the file: writes past it fail as on a full disk (SQLITE_FULL).
  ASSERT_TRUE(Exec(db->get(), "CREATE TABLE t (x BLOB); PRAGMA max_page_count = 8", "setup").ok());
  int64_t stored = 0;
  Status full;
  for (int i = 0; i < 100 && full.ok(); ++i) {
    StatusOr<WriteResult> w =
        WriteInTransaction(db->get(), "INSERT INTO t (x) VALUES (zeroblob(?1))", 1000);
    if (w.ok()) ++stored;
    full = w.status();
  }
  ASSERT_FALSE(full.ok()) << "8 pages cannot hold 100 KB";
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("database or disk is full"), std::string::npos) << full.message();
  EXPECT_NE(full.message().find("; the file system holding " + path + " has "), std::string::npos)
      << full.message();
  EXPECT_GT(stored, 0);
  auto count = Statement::Prepare(db->get(), "SELECT count(*) FROM t");
  ASSERT_TRUE(count.ok() && *count->Step());
  EXPECT_EQ(count->ColumnInt(0), stored);
  db->reset();
  std::remove(path.c_str());
}

TEST(SqliteErrorTest, ADatabaseThatCannotBeOpenedSaysWhatIsWrongWithItsPath) {
  const std::string dir = std::filesystem::path(testing::TempDir()).string();
  auto missing =
      OpenDatabase(dir + "/no_such_folder_" + std::to_string(::getpid()) + "/r.db", true);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no_such_folder_" + std::to_string(::getpid()) +
                                            ": no such folder"),
            std::string::npos)
      << missing.status().ToString();
  auto folder = OpenDatabase(dir, true);
  ASSERT_FALSE(folder.ok());
  EXPECT_NE(folder.status().message().find("; " + dir + " is a folder"), std::string::npos)
      << folder.status().ToString();
}

}  // namespace
}  // namespace sigma::store
