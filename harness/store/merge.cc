#include "harness/store/merge.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "harness/store/sqlite.h"

namespace sigma::store {
namespace {

// A read transaction on the source: every SELECT of the merge sees one state of the file.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(sqlite3* db) : db_(db) {}
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;
  ~ReadSnapshot() {
    if (open_) (void)Exec(db_, "ROLLBACK", "end the source's read snapshot");
  }
  Status Begin() {
    SIGMA_RETURN_IF_ERROR(Exec(db_, "BEGIN", "read snapshot of the source"));
    open_ = true;
    return Status::Ok();
  }

 private:
  sqlite3* db_;
  bool open_ = false;
};

Status CheckDistinctFiles(sqlite3* into, sqlite3* from) {
  const char* a = sqlite3_db_filename(into, "main");
  const char* b = sqlite3_db_filename(from, "main");
  if (a == nullptr || b == nullptr || *a == '\0' || *b == '\0') return Status::Ok();  // in memory
  std::error_code ec;
  if (std::filesystem::equivalent(a, b, ec)) {
    return InvalidArgumentError("cannot merge ", b, " into itself");
  }
  return Status::Ok();
}

std::string QuotedName(std::string_view name) {
  std::string quoted = "\"";
  for (char c : name) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// The columns of `table` in `db`, in table order (none where the table is missing).
StatusOr<std::vector<std::string>> ColumnsOf(sqlite3* db, std::string_view table) {
  SIGMA_ASSIGN_OR_RETURN(Statement stmt,
                         Statement::Prepare(db, "SELECT name FROM pragma_table_info(?1)"));
  SIGMA_RETURN_IF_ERROR(stmt.BindText(1, table));
  std::vector<std::string> names;
  while (true) {
    SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return names;
    names.push_back(stmt.ColumnBytes(0));
  }
}

// A column given its value here rather than copied: a row's new id, its run or bench session.
struct SetColumn {
  std::string name;
  std::optional<int64_t> value;  // nullopt: NULL
};

// Copies the source's rows of `table` where `where` (SQL, ?1 = `match`) holds, in rowid order:
// the `set` columns take their given values, every other column both schemas have but "id" is
// copied. Returns the number of rows copied; `last_id`, where given, gets the last one's rowid.
StatusOr<int64_t> CopyRows(sqlite3* from, sqlite3* into, std::string_view table,
                           std::string_view where, int64_t match, const std::vector<SetColumn>& set,
                           int64_t* last_id = nullptr) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> source_columns, ColumnsOf(from, table));
  SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> columns_here, ColumnsOf(into, table));
  const auto is_set = [&](const std::string& name) {
    return std::any_of(set.begin(), set.end(), [&](const SetColumn& s) { return s.name == name; });
  };
  std::vector<std::string> copied;
  for (const std::string& name : columns_here) {
    const bool in_source =
        std::find(source_columns.begin(), source_columns.end(), name) != source_columns.end();
    if (name != "id" && in_source && !is_set(name)) copied.push_back(name);
  }
  std::string select = "SELECT ", insert = StrCat("INSERT INTO ", table, " ("), values;
  int parameters = 0;
  const auto add_parameter = [&](const std::string& name) {
    const char* comma = parameters == 0 ? "" : ", ";
    ++parameters;
    insert += StrCat(comma, QuotedName(name));
    values += StrCat(comma, "?", parameters);
  };
  for (const std::string& name : copied) {
    select += StrCat(parameters == 0 ? "" : ", ", QuotedName(name));
    add_parameter(name);
  }
  for (const SetColumn& s : set) add_parameter(s.name);
  if (copied.empty()) select += "1";  // a table of set columns only
  SIGMA_ASSIGN_OR_RETURN(Statement rows,
                         Statement::Prepare(from, StrCat(select, " FROM ", table, " WHERE ", where,
                                                         " ORDER BY rowid")));
  SIGMA_RETURN_IF_ERROR(rows.BindInt(1, match));
  SIGMA_ASSIGN_OR_RETURN(Statement add,
                         Statement::Prepare(into, StrCat(insert, ") VALUES (", values, ")")));
  int64_t count = 0;
  while (true) {
    SIGMA_ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) break;
    int index = 0;
    for (size_t c = 0; c < copied.size(); ++c) {
      SIGMA_RETURN_IF_ERROR(add.BindColumnOf(++index, rows, static_cast<int>(c)));
    }
    for (const SetColumn& s : set) SIGMA_RETURN_IF_ERROR(add.BindOptionalInt(++index, s.value));
    SIGMA_RETURN_IF_ERROR(add.Run());
    SIGMA_RETURN_IF_ERROR(add.Reset());
    if (last_id != nullptr) *last_id = sqlite3_last_insert_rowid(into);
    ++count;
  }
  return count;
}

// The ids of `table` that `selected` names (all of them for nullopt), ascending; NOT_FOUND
// naming the first the source lacks.
StatusOr<std::vector<int64_t>> SelectIds(sqlite3* from, std::string_view table,
                                         const std::optional<std::vector<int64_t>>& selected,
                                         std::string_view what) {
  SIGMA_ASSIGN_OR_RETURN(
      Statement stmt, Statement::Prepare(from, StrCat("SELECT id FROM ", table, " ORDER BY id")));
  std::vector<int64_t> ids;
  while (true) {
    SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) break;
    ids.push_back(stmt.ColumnInt(0));
  }
  if (!selected.has_value()) return ids;
  std::vector<int64_t> chosen = *selected;
  std::sort(chosen.begin(), chosen.end());
  chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
  for (int64_t id : chosen) {
    if (!std::binary_search(ids.begin(), ids.end(), id)) {
      return NotFoundError("the source has no ", what, " ", id,
                           ids.empty() ? std::string(" (it has none)")
                                       : StrCat(" (its ids: ", ids.front(), "-", ids.back(), ")"));
    }
  }
  return chosen;
}

// What identifies a run or bench session across files, and how far it got.
struct Kind {
  bool bench;                  // a bench session; else a run
  std::string_view table;      // "runs" or "bench_runs"
  std::string_view identity;   // SQL: the three columns that identify one
  std::string_view stage;      // SQL: state, finish time, segments (runs), rows
  std::string_view rows_name;  // what its rows are called
};
constexpr Kind kRun{false, "runs", "fingerprint, started_at, host",
                    "state, finished_at, segments, "
                    "(SELECT count(*) FROM samples WHERE run_id = runs.id)",
                    "samples"};
constexpr Kind kBench{true, "bench_runs", "config_json, started_at, host",
                      "state, finished_at, NULL, "
                      "(SELECT count(*) FROM speed WHERE bench_id = bench_runs.id)",
                      "speed rows"};

// The id here of the copy of the source's row `source_id`, if there is one.
StatusOr<std::optional<int64_t>> FindHere(sqlite3* from, sqlite3* into, const Kind& kind,
                                          int64_t source_id) {
  SIGMA_ASSIGN_OR_RETURN(Statement source,
                         Statement::Prepare(from, StrCat("SELECT ", kind.identity, " FROM ",
                                                         kind.table, " WHERE id = ?1")));
  SIGMA_RETURN_IF_ERROR(source.BindInt(1, source_id));
  SIGMA_ASSIGN_OR_RETURN(bool found, source.Step());
  if (!found) return std::optional<int64_t>();
  SIGMA_ASSIGN_OR_RETURN(
      Statement here,
      Statement::Prepare(into, StrCat("SELECT id FROM ", kind.table, " WHERE (", kind.identity,
                                      ") = (?1, ?2, ?3) ORDER BY id LIMIT 1")));
  for (int c = 0; c < 3; ++c) SIGMA_RETURN_IF_ERROR(here.BindColumnOf(c + 1, source, c));
  SIGMA_ASSIGN_OR_RETURN(bool row, here.Step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(here.ColumnInt(0));
}

// "complete, finished 2026-12-06T10:00:00.000Z, 2 segments, 45 samples"
StatusOr<std::string> StageOf(sqlite3* db, const Kind& kind, int64_t id) {
  SIGMA_ASSIGN_OR_RETURN(Statement stmt,
                         Statement::Prepare(db, StrCat("SELECT ", kind.stage, " FROM ", kind.table,
                                                       " WHERE id = ?1")));
  SIGMA_RETURN_IF_ERROR(stmt.BindInt(1, id));
  SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
  if (!row) return InternalError(kind.table, " ", id, " vanished during the merge");
  std::string stage = stmt.ColumnBytes(0);
  if (!stmt.IsNull(1)) stage += StrCat(", finished ", stmt.ColumnBytes(1));
  if (!kind.bench) {
    const int64_t segments = stmt.ColumnInt(2);
    stage += StrCat(", ", segments, segments == 1 ? " segment" : " segments");
  }
  return StrCat(stage, ", ", stmt.ColumnInt(3), " ", kind.rows_name);
}

// Copies the source's run `source_id` here, with its id set to `id` where given.
StatusOr<int64_t> CopyRun(sqlite3* from, sqlite3* into, int64_t source_id,
                          std::optional<int64_t> id, int64_t* samples) {
  std::vector<SetColumn> set;
  if (id.has_value()) set.push_back({"id", id});
  int64_t new_id = 0;
  SIGMA_RETURN_IF_ERROR(CopyRows(from, into, "runs", "id = ?1", source_id, set, &new_id).status());
  const std::vector<SetColumn> parent = {{"run_id", new_id}};
  SIGMA_ASSIGN_OR_RETURN(*samples,
                         CopyRows(from, into, "samples", "run_id = ?1", source_id, parent));
  for (std::string_view table : {"run_tasks", "task_results"}) {
    SIGMA_RETURN_IF_ERROR(CopyRows(from, into, table, "run_id = ?1", source_id, parent).status());
  }
  // The run's own speed rows (their bench_id is NULL: a speed row belongs to one of the two).
  SIGMA_RETURN_IF_ERROR(CopyRows(from, into, "speed", "run_id = ?1", source_id, parent).status());
  return new_id;
}

// Copies the source's bench session `source_id` here, linked to its run where that run is here.
StatusOr<int64_t> CopyBench(sqlite3* from, sqlite3* into, int64_t source_id,
                            std::optional<int64_t> id, int64_t* rows) {
  SIGMA_ASSIGN_OR_RETURN(Statement link,
                         Statement::Prepare(from, "SELECT run_id FROM bench_runs WHERE id = ?1"));
  SIGMA_RETURN_IF_ERROR(link.BindInt(1, source_id));
  SIGMA_ASSIGN_OR_RETURN(bool found, link.Step());
  std::optional<int64_t> run_here;
  if (found && !link.IsNull(0)) {
    SIGMA_ASSIGN_OR_RETURN(run_here, FindHere(from, into, kRun, link.ColumnInt(0)));
  }
  std::vector<SetColumn> set = {{"run_id", run_here}};
  if (id.has_value()) set.push_back({"id", id});
  int64_t new_id = 0;
  SIGMA_RETURN_IF_ERROR(
      CopyRows(from, into, "bench_runs", "id = ?1", source_id, set, &new_id).status());
  SIGMA_ASSIGN_OR_RETURN(
      *rows, CopyRows(from, into, "speed", "bench_id = ?1", source_id, {{"bench_id", new_id}}));
  return new_id;
}

StatusOr<std::vector<int64_t>> BenchesOfRun(sqlite3* into, int64_t run_id) {
  SIGMA_ASSIGN_OR_RETURN(Statement stmt,
                         Statement::Prepare(into, "SELECT id FROM bench_runs WHERE run_id = ?1"));
  SIGMA_RETURN_IF_ERROR(stmt.BindInt(1, run_id));
  std::vector<int64_t> ids;
  while (true) {
    SIGMA_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (!row) return ids;
    ids.push_back(stmt.ColumnInt(0));
  }
}

StatusOr<MergedItem> MergeOne(sqlite3* from, sqlite3* into, const Kind& kind, int64_t source_id,
                              bool replace) {
  MergedItem item;
  item.bench = kind.bench;
  item.source_id = source_id;
  const auto copy = [&](std::optional<int64_t> id) {
    return item.bench ? CopyBench(from, into, source_id, id, &item.rows)
                      : CopyRun(from, into, source_id, id, &item.rows);
  };
  SIGMA_ASSIGN_OR_RETURN(std::optional<int64_t> here, FindHere(from, into, kind, source_id));
  if (!here.has_value()) {
    SIGMA_ASSIGN_OR_RETURN(item.id, copy(std::nullopt));
    return item;
  }
  item.id = *here;
  SIGMA_ASSIGN_OR_RETURN(std::string source_stage, StageOf(from, kind, source_id));
  SIGMA_ASSIGN_OR_RETURN(std::string stage_here, StageOf(into, kind, *here));
  if (source_stage == stage_here) {
    item.outcome = MergeOutcome::kAlreadyHere;
    return item;
  }
  item.difference = StrCat("here: ", stage_here, "; source: ", source_stage);
  if (!replace) {
    item.outcome = MergeOutcome::kConflict;
    return item;
  }
  // Deleting a run sets its bench sessions' link to NULL: they get it back after the copy.
  std::vector<int64_t> linked;
  if (!item.bench) {
    SIGMA_ASSIGN_OR_RETURN(linked, BenchesOfRun(into, *here));
  }
  SIGMA_ASSIGN_OR_RETURN(Statement drop, Statement::Prepare(into, StrCat("DELETE FROM ", kind.table,
                                                                         " WHERE id = ?1")));
  SIGMA_RETURN_IF_ERROR(drop.BindInt(1, *here));
  SIGMA_RETURN_IF_ERROR(drop.Run());
  SIGMA_RETURN_IF_ERROR(copy(*here).status());
  SIGMA_ASSIGN_OR_RETURN(
      Statement relink,
      Statement::Prepare(into, "UPDATE bench_runs SET run_id = ?1 WHERE id = ?2"));
  for (int64_t bench : linked) {
    SIGMA_RETURN_IF_ERROR(relink.BindAll(*here, bench));
    SIGMA_RETURN_IF_ERROR(relink.Run());
    SIGMA_RETURN_IF_ERROR(relink.Reset());
  }
  item.outcome = MergeOutcome::kReplaced;
  return item;
}

}  // namespace

std::string_view MergeOutcomeName(MergeOutcome outcome) {
  switch (outcome) {
    case MergeOutcome::kMerged: return "merged";
    case MergeOutcome::kAlreadyHere: return "already here";
    case MergeOutcome::kReplaced: return "replaced";
    case MergeOutcome::kConflict: return "conflict";
  }
  return "unknown";
}

int64_t MergeReport::Count(MergeOutcome outcome) const {
  return std::count_if(items.begin(), items.end(),
                       [&](const MergedItem& item) { return item.outcome == outcome; });
}

StatusOr<MergeReport> MergeResults(ResultsStore& into, ResultsStore& from,
                                   const MergeOptions& options) {
  sqlite3* here = into.raw_db();
  sqlite3* source = from.raw_db();
  SIGMA_RETURN_IF_ERROR(CheckDistinctFiles(here, source));
  ReadSnapshot snapshot(source);
  SIGMA_RETURN_IF_ERROR(snapshot.Begin());
  for (const char* table :
       {"runs", "samples", "run_tasks", "task_results", "bench_runs", "speed"}) {
    SIGMA_ASSIGN_OR_RETURN(std::vector<std::string> columns, ColumnsOf(source, table));
    if (columns.empty()) {
      return FailedPreconditionError(sqlite3_db_filename(source, "main"), ": table ", table,
                                     " is missing: not a whole sigma-eval results database");
    }
  }
  SIGMA_ASSIGN_OR_RETURN(std::vector<int64_t> runs,
                         SelectIds(source, "runs", options.run_ids, "run"));
  SIGMA_ASSIGN_OR_RETURN(std::vector<int64_t> benches,
                         SelectIds(source, "bench_runs", options.bench_ids, "bench session"));
  Transaction txn(here);
  SIGMA_RETURN_IF_ERROR(txn.Begin());
  MergeReport report;
  for (int64_t id : runs) {
    SIGMA_ASSIGN_OR_RETURN(MergedItem item, MergeOne(source, here, kRun, id, options.replace));
    report.items.push_back(std::move(item));
  }
  for (int64_t id : benches) {
    SIGMA_ASSIGN_OR_RETURN(MergedItem item, MergeOne(source, here, kBench, id, options.replace));
    report.items.push_back(std::move(item));
  }
  if (!options.dry_run) SIGMA_RETURN_IF_ERROR(txn.Commit());  // else rolled back on return
  return report;
}

}  // namespace sigma::store
