#include "harness/store/sqlite.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "engine/base/file.h"

namespace sigma::store {
namespace {

// "INSERT INTO samples" from a long statement, for error messages.
std::string Label(std::string_view sql) {
  size_t start = sql.find_first_not_of(" \n\t");
  if (start == std::string_view::npos) return "";
  std::string_view rest = sql.substr(start);
  size_t end = 0;
  int words = 0;
  while (end < rest.size() && words < 3) {
    size_t space = rest.find_first_of(" \n\t(", end);
    if (space == std::string_view::npos) {
      end = rest.size();
      break;
    }
    end = space + 1;
    ++words;
  }
  std::string label(rest.substr(0, end));
  while (!label.empty() && (label.back() == ' ' || label.back() == '(' || label.back() == '\n')) {
    label.pop_back();
  }
  return label;
}

StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StatusCode::kUnavailable;
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return StatusCode::kResourceExhausted;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StatusCode::kDataLoss;
    case SQLITE_CANTOPEN:
      return StatusCode::kNotFound;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return StatusCode::kInvalidArgument;
    default:
      return StatusCode::kInternal;
  }
}

// Below this much free space, an I/O error is likely the disk filling (WAL mode grows the -wal
// and -shm files beside the database even to read it).
constexpr uint64_t kLowFreeBytes = uint64_t{16} << 20;

// Why the folder of `file` takes no new files ("" where it does): SQLite in WAL mode writes a
// -wal and a -shm file beside the database, even to read it.
std::string FolderProblem(const std::string& file) {
  const std::string dir = FolderOf(file);
  if (::access(dir.c_str(), W_OK) == 0) return "";
  const int error = errno;
  if (error == ENOENT || error == ENOTDIR) return StrCat("; ", dir, ": no such folder");
  return StrCat("; ", dir, ": ", std::strerror(error),
                " (the database needs its -wal and -shm files beside it)");
}

// What the user can do about `rc`, or "": past the connection's busy timeout, who is in the way;
// a full disk (or an I/O error on a nearly full one), where the database is and how much room is
// left (either way the failed write's transaction rolls back and what was committed stays); a
// database that cannot be opened or written, what is wrong with its folder.
std::string Hint(const std::string& file, int rc) {
  const int code = rc & 0xff;
  if (code == SQLITE_BUSY) return "; another process kept the database locked past the wait for it";
  if (file.empty()) return "";
  if (code == SQLITE_CANTOPEN && IsDirectory(file)) return StrCat("; ", file, " is a folder");
  if (code == SQLITE_CANTOPEN || code == SQLITE_READONLY) return FolderProblem(file);
  if (code != SQLITE_FULL && code != SQLITE_IOERR) return "";
  const std::optional<uint64_t> free = FreeBytes(file);
  if (!free.has_value() || (code == SQLITE_IOERR && *free >= kLowFreeBytes)) return "";
  return StrCat("; the file system holding ", file, " has ", FormatBytes(*free), " free");
}

// The file of `db`'s main database ("" for none, or an in-memory one).
std::string FileOf(sqlite3* db) {
  const char* name = db != nullptr ? sqlite3_db_filename(db, "main") : nullptr;
  return name != nullptr ? name : "";
}

// "sqlite: <what>: <detail> (code N)<hint>", the one form of every SQLite error.
Status ErrorWithCode(int rc, std::string_view what, std::string_view detail,
                     const std::string& hint) {
  return Status(CodeFor(rc), StrCat("sqlite: ", what, ": ", detail, " (code ", rc, ")", hint));
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  return ErrorWithCode(rc, what, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc),
                       Hint(FileOf(db), rc));
}

StatusOr<DbHandle> OpenDatabase(const std::string& path, bool create) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (create) flags |= SQLITE_OPEN_CREATE;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  DbHandle db(raw);  // owns the handle even when open failed
  if (rc != SQLITE_OK) {
    return ErrorWithCode(rc, StrCat("cannot open database '", path, "'"),
                         db != nullptr ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc),
                         Hint(path, rc));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  return db;
}

Status Exec(sqlite3* db, std::string_view sql, std::string_view what) {
  std::string text(sql);
  char* error = nullptr;
  const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    const std::string message = error != nullptr ? error : sqlite3_errstr(rc);
    sqlite3_free(error);
    return ErrorWithCode(rc, what, message, Hint(FileOf(db), rc));
  }
  return Status::Ok();
}

StatusOr<Statement> Statement::Prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  StmtHandle stmt(raw);
  if (rc != SQLITE_OK) return SqliteError(db, rc, StrCat("prepare '", Label(sql), "'"));
  return Statement(db, std::move(stmt), Label(sql));
}

Status Statement::Check(int rc, std::string_view what) const {
  if (rc == SQLITE_OK) return Status::Ok();
  return SqliteError(db_, rc, StrCat(label_, ": ", what));
}

Status Statement::BindInt(int index, int64_t value) {
  return Check(sqlite3_bind_int64(stmt_.get(), index, value), StrCat("bind ", index));
}

Status Statement::BindDouble(int index, double value) {
  return Check(sqlite3_bind_double(stmt_.get(), index, value), StrCat("bind ", index));
}

Status Statement::BindText(int index, std::string_view value) {
  // SQLITE_TRANSIENT copies, so the view need not outlive the statement step.
  return Check(sqlite3_bind_text64(stmt_.get(), index, value.data(), value.size(),
                                   SQLITE_TRANSIENT, SQLITE_UTF8),
               StrCat("bind ", index));
}

Status Statement::BindBlob(int index, std::string_view bytes) {
  if (bytes.empty()) {
    return Check(sqlite3_bind_zeroblob(stmt_.get(), index, 0), StrCat("bind ", index));
  }
  return Check(sqlite3_bind_blob64(stmt_.get(), index, bytes.data(), bytes.size(),
                                   SQLITE_TRANSIENT),
               StrCat("bind ", index));
}

Status Statement::BindNull(int index) {
  return Check(sqlite3_bind_null(stmt_.get(), index), StrCat("bind ", index));
}

Status Statement::BindOptionalInt(int index, const std::optional<int64_t>& value) {
  return value.has_value() ? BindInt(index, *value) : BindNull(index);
}

Status Statement::BindOptionalDouble(int index, const std::optional<double>& value) {
  return value.has_value() ? BindDouble(index, *value) : BindNull(index);
}

Status Statement::BindColumnOf(int index, const Statement& row, int column) {
  // sqlite3_bind_value copies the value, so `row` may step on afterwards.
  return Check(
      sqlite3_bind_value(stmt_.get(), index, sqlite3_column_value(row.stmt_.get(), column)),
      StrCat("bind ", index));
}

StatusOr<bool> Statement::Step() {
  const int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return SqliteError(db_, rc, StrCat(label_, ": step"));
}

Status Statement::Run() {
  SIGMA_ASSIGN_OR_RETURN(bool row, Step());
  while (row) {
    SIGMA_ASSIGN_OR_RETURN(row, Step());
  }
  return Status::Ok();
}

Status Statement::Reset() {
  sqlite3_reset(stmt_.get());
  return Check(sqlite3_clear_bindings(stmt_.get()), "clear bindings");
}

bool Statement::IsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

int64_t Statement::ColumnInt(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

double Statement::ColumnDouble(int column) const {
  return sqlite3_column_double(stmt_.get(), column);
}

std::string Statement::ColumnBytes(int column) const {
  // sqlite3_column_blob then _bytes (that order) returns the stored bytes without conversion.
  const void* data = sqlite3_column_blob(stmt_.get(), column);
  const int size = sqlite3_column_bytes(stmt_.get(), column);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::optional<int64_t> Statement::ColumnOptionalInt(int column) const {
  if (IsNull(column)) return std::nullopt;
  return ColumnInt(column);
}

std::optional<double> Statement::ColumnOptionalDouble(int column) const {
  if (IsNull(column)) return std::nullopt;
  return ColumnDouble(column);
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

Status Transaction::Begin() {
  SIGMA_CHECK(!open_, "Transaction::Begin called twice");
  SIGMA_RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE", "begin write transaction"));
  open_ = true;
  return Status::Ok();
}

Status Transaction::Commit() {
  SIGMA_CHECK(open_, "Transaction::Commit without Begin");
  SIGMA_RETURN_IF_ERROR(Exec(db_, "COMMIT", "commit"));
  open_ = false;
  return Status::Ok();
}

}  // namespace sigma::store
