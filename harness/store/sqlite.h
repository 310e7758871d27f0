// Thin RAII layer over the SQLite C API, used by the results store (harness/store/results_store.h).
//
// Ownership: DbHandle and StmtHandle are unique_ptrs whose deleters call sqlite3_close_v2 and
// sqlite3_finalize, so a connection or statement is released on every path out of a function.
// Statement wraps one prepared statement: Bind* take explicit lengths (text and blobs round-trip
// byte-exact, NUL and invalid UTF-8 included), Step() reports a row or done, Column* read the
// current row. Every error message carries the SQL text's first words and sqlite3_errmsg.
// Transaction is a scope guard: BEGIN IMMEDIATE on Begin(), ROLLBACK in the destructor unless
// Commit() succeeded. WriteInTransaction is the one-statement write in a transaction of its own.
// Thread safety: a connection must be used by one thread at a time; never carry a connection
// across fork() (open a new one in the child).
#ifndef SIGMA_HARNESS_STORE_SQLITE_H_
#define SIGMA_HARNESS_STORE_SQLITE_H_

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <sqlite3.h>

#include "engine/base/status.h"

namespace sigma::store {

struct DbDeleter {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbHandle = std::unique_ptr<sqlite3, DbDeleter>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// Opens (creating if needed) a database file with the extended result codes on.
StatusOr<DbHandle> OpenDatabase(const std::string& path, bool create);

// Runs one or more SQL statements that return no rows we need. `what` names the step in errors.
Status Exec(sqlite3* db, std::string_view sql, std::string_view what);

// A Status for the last error on `db` (or for `rc` when the connection has no message).
Status SqliteError(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  static StatusOr<Statement> Prepare(sqlite3* db, std::string_view sql);

  // Parameters are 1-based, as in SQLite.
  Status BindInt(int index, int64_t value);
  Status BindDouble(int index, double value);
  Status BindText(int index, std::string_view value);  // explicit length; bytes kept as given
  Status BindBlob(int index, std::string_view bytes);   // explicit length; empty is a 0-byte blob
  Status BindNull(int index);
  Status BindOptionalInt(int index, const std::optional<int64_t>& value);
  Status BindOptionalDouble(int index, const std::optional<double>& value);
  // Binds the value in `column` of `row`'s current row, of whatever type it is stored as (blob,
  // text, integer, real or NULL), byte-exact; `row` may be a statement of another connection.
  Status BindColumnOf(int index, const Statement& row, int column);
  // Binds `values` to parameters 1, 2, ... in turn, each by its type: text (std::string,
  // std::string_view, const char*), an integer, a double, or an optional integer or double (empty:
  // NULL). Stops at the first error. Blobs go through BindBlob.
  template <class... T>
  Status BindAll(const T&... values) {
    int index = 0;
    Status status;
    ((status = status.ok() ? BindValue(++index, values) : status), ...);
    return status;
  }

  // true: a row is ready; false: done. Errors name the statement.
  StatusOr<bool> Step();
  // Steps to completion, expecting no rows.
  Status Run();
  Status Reset();

  bool IsNull(int column) const;
  int64_t ColumnInt(int column) const;
  double ColumnDouble(int column) const;
  // Text or blob bytes, length-exact.
  std::string ColumnBytes(int column) const;
  std::optional<int64_t> ColumnOptionalInt(int column) const;
  std::optional<double> ColumnOptionalDouble(int column) const;

 private:
  Statement(sqlite3* db, StmtHandle stmt, std::string label)
      : db_(db), stmt_(std::move(stmt)), label_(std::move(label)) {}
  Status Check(int rc, std::string_view what) const;
  Status BindValue(int index, std::string_view value) { return BindText(index, value); }
  Status BindValue(int index, double value) { return BindDouble(index, value); }
  template <std::integral I>
  Status BindValue(int index, I value) {
    return BindInt(index, static_cast<int64_t>(value));
  }
  Status BindValue(int index, const std::optional<int64_t>& value) {
    return BindOptionalInt(index, value);
  }
  Status BindValue(int index, const std::optional<double>& value) {
    return BindOptionalDouble(index, value);
  }

  sqlite3* db_ = nullptr;  // not owned
  StmtHandle stmt_;
  std::string label_;  // first words of the SQL, for messages
};

class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status Begin();  // BEGIN IMMEDIATE: takes the write lock now (busy_timeout applies)
  Status Commit();

 private:
  sqlite3* db_;
  bool open_ = false;
};

// What one write statement did: the rows it changed and the rowid of the row it inserted last.
struct WriteResult {
  int64_t changes = 0;
  int64_t last_rowid = 0;
};

// Runs one write statement with `values` bound to ?1, ?2, ... in its own BEGIN IMMEDIATE
// transaction, committed before it returns (rolled back on any error).
template <class... T>
StatusOr<WriteResult> WriteInTransaction(sqlite3* db, std::string_view sql, const T&... values) {
  Transaction txn(db);
  SIGMA_RETURN_IF_ERROR(txn.Begin());
  SIGMA_ASSIGN_OR_RETURN(Statement stmt, Statement::Prepare(db, sql));
  SIGMA_RETURN_IF_ERROR(stmt.BindAll(values...));
  SIGMA_RETURN_IF_ERROR(stmt.Run());
  const WriteResult result{sqlite3_changes(db), sqlite3_last_insert_rowid(db)};
  SIGMA_RETURN_IF_ERROR(txn.Commit());
  return result;
}

}  // namespace sigma::store

#endif  // SIGMA_HARNESS_STORE_SQLITE_H_
