#include "reports/results_reader.h"

#include <sqlite3.h>

#include <utility>

#include "engine/base/file.h"
#include "engine/base/json.h"

namespace sigma::reports {
namespace {

// One prepared statement, finalised on every path out.
class Query {
 public:
  Query(sqlite3* db, const std::string& sql) : db_(db), sql_(sql) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt_, nullptr);
  }
  ~Query() { sqlite3_finalize(stmt_); }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Status status() const {
    if (rc_ == SQLITE_OK) return Status::Ok();
    return InternalError("results database: ", sqlite3_errmsg(db_), " (in: ", sql_.substr(0, 60),
                         ")");
  }
  void BindInt(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void BindText(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  // true: a row; false: done or error (check status()).
  bool Step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) rc_ = rc;
    return false;
  }
  bool IsNull(int c) const { return sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  int64_t Int(int c) const { return sqlite3_column_int64(stmt_, c); }
  double Double(int c) const { return sqlite3_column_double(stmt_, c); }
  std::string Bytes(int c) const {
    const void* p = sqlite3_column_blob(stmt_, c);
    const int n = sqlite3_column_bytes(stmt_, c);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  std::optional<int64_t> OptInt(int c) const {
    return IsNull(c) ? std::nullopt : std::optional<int64_t>(Int(c));
  }
  std::optional<double> OptDouble(int c) const {
    return IsNull(c) ? std::nullopt : std::optional<double>(Double(c));
  }
  std::optional<std::string> OptBytes(int c) const {
    return IsNull(c) ? std::nullopt : std::optional<std::string>(Bytes(c));
  }

 private:
  sqlite3* db_;
  std::string sql_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

StatusOr<int64_t> PragmaInt(sqlite3* db, const std::string& path, const char* pragma) {
  Query q(db, std::string("PRAGMA ") + pragma);
  SIGMA_RETURN_IF_ERROR(q.status());
  if (!q.Step()) {
    // SQLITE_NOTADB surfaces here for a file that is not SQLite at all.
    return FailedPreconditionError(path, ": not a sigma-eval results database (",
                                   sqlite3_errmsg(db), ")");
  }
  return q.Int(0);
}

std::string IdList(const std::vector<int64_t>& ids) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  return out;
}

// "SELECT" and the columns ReadSampleRow reads, in a file of schema `version` (the columns it
// lacks as their values before they existed).
std::string SelectSampleColumns(int version) {
  return StrCat(
      "SELECT id, run_id, task, doc_id, doc_index, prompt, raw_output, extracted, target, "
      "metrics_json, verdict, error, prompt_tokens, new_tokens, ttft_ms, prefill_tok_s, "
      "decode_tok_s, kv_bytes, total_ms, ",
      version >= 2 ? "segment" : "1", ", ", version >= 3 ? "reused_tokens" : "NULL");
}

SampleRecord ReadSampleRow(const Query& q) {
  SampleRecord s;
  s.id = q.Int(0);
  s.run_id = q.Int(1);
  s.task = q.Bytes(2);
  s.doc_id = q.Bytes(3);
  s.doc_index = q.OptInt(4);
  s.prompt = q.Bytes(5);
  s.raw_output = q.Bytes(6);
  s.extracted = q.Bytes(7);
  s.target = q.OptBytes(8);
  s.metrics_json = q.Bytes(9);
  s.verdict = q.OptBytes(10);
  s.error = q.OptBytes(11);
  s.prompt_tokens = q.OptInt(12);
  s.new_tokens = q.OptInt(13);
  s.ttft_ms = q.OptDouble(14);
  s.prefill_tok_s = q.OptDouble(15);
  s.decode_tok_s = q.OptDouble(16);
  s.kv_bytes = q.OptInt(17);
  s.total_ms = q.OptDouble(18);
  s.segment = q.Int(19);
  s.reused_tokens = q.OptInt(20);
  return s;
}

}  // namespace

SpeedRowConfig ParseSpeedRowConfig(const std::string& config_json) {
  SpeedRowConfig c;
  rapidjson::Document doc;
  doc.Parse(config_json.data(), config_json.size());
  if (doc.HasParseError() || !doc.IsObject()) return c;
  const auto text = [&](const char* key, std::string* out) {
    if (doc.HasMember(key) && doc[key].IsString()) {
      out->assign(doc[key].GetString(), doc[key].GetStringLength());
    }
  };
  const auto number = [&](const char* key, std::optional<double>* out) {
    if (doc.HasMember(key) && doc[key].IsNumber()) *out = doc[key].GetDouble();
  };
  text("model", &c.model);
  text("kv_dtype", &c.kv_dtype);
  if (doc.HasMember("selective_v") && doc["selective_v"].IsInt64()) {
    c.selective_v = doc["selective_v"].GetInt64();
  }
  number("read_gbps", &c.read_gbps);
  number("read_share", &c.read_share);
  number("read_share_mean", &c.read_share_mean);
  number("read_share_std", &c.read_share_std);
  return c;
}

std::string RunSettings(const std::string& config_json) {
  rapidjson::Document doc;
  doc.Parse(config_json.data(), config_json.size());
  if (doc.HasParseError() || !doc.IsObject()) return "";
  std::vector<std::string> parts;
  const auto number = [](const rapidjson::Value& object, const char* key) -> std::optional<double> {
    if (!object.IsObject() || !object.HasMember(key) || !object[key].IsNumber())
      return std::nullopt;
    return object[key].GetDouble();
  };
  const auto integer = [](const rapidjson::Value& object,
                          const char* key) -> std::optional<int64_t> {
    if (!object.IsObject() || !object.HasMember(key) || !object[key].IsInt64()) return std::nullopt;
    return object[key].GetInt64();
  };
  const auto text = [](const rapidjson::Value& object, const char* key) -> std::string {
    if (!object.IsObject() || !object.HasMember(key) || !object[key].IsString()) return "";
    return object[key].GetString();
  };
  const rapidjson::Value null_value;
  const rapidjson::Value& backend = doc.HasMember("backend") ? doc["backend"] : null_value;
  if (text(backend, "backend") == "replay") parts.push_back("replay");
  if (text(backend, "backend") == "openai") {  // a server's API; scored by its tokens or by text
    parts.push_back(text(backend, "tokenizer_sha256").empty() ? "api, text offsets" : "api");
  }
  if (const std::string kv = text(backend, "kv_dtype"); !kv.empty()) parts.push_back("kv " + kv);
  if (const auto batch = integer(doc, "batch")) parts.push_back(StrCat("batch ", *batch));
  if (const auto limit = integer(doc, "limit"); limit && *limit > 0) {
    parts.push_back(StrCat("limit ", *limit));
  }
  if (const auto top_k = integer(backend, "selective_v"); top_k && *top_k > 0) {
    parts.push_back(StrCat("selective V ", *top_k));
  }
  if (const auto temperature = number(backend, "temperature"); temperature && *temperature > 0) {
    std::string sampling = StrCat("temperature ", *temperature);
    if (const auto p = number(backend, "top_p"); p && *p < 1) sampling += StrCat(", top-p ", *p);
    if (const auto k = integer(backend, "top_k"); k && *k > 0) sampling += StrCat(", top-k ", *k);
    if (const auto seed = integer(backend, "seed")) sampling += StrCat(", seed ", *seed);
    parts.push_back(sampling);
  }
  if (const std::string device = text(backend, "device"); !device.empty() && device != "cpu") {
    parts.push_back("device " + device);
  }
  // The run's prompt flags (run --num-fewshot, --apply-chat-template, ...), where given.
  const rapidjson::Value& cli = doc.HasMember("cli") ? doc["cli"] : null_value;
  if (const auto shots = integer(cli, "num_fewshot")) parts.push_back(StrCat(*shots, "-shot"));
  const auto flag = [&](const char* key) {
    return cli.IsObject() && cli.HasMember(key) && cli[key].IsBool() && cli[key].GetBool();
  };
  if (flag("apply_chat_template")) {
    std::string chat = "chat template";
    if (flag("fewshot_as_multiturn")) chat += ", multiturn";
    if (!text(cli, "system_instruction").empty()) chat += ", system instruction";
    parts.push_back(chat);
  }
  if (const auto tokens = integer(cli, "max_gen_tokens")) {
    parts.push_back(StrCat("max ", *tokens, " new tokens"));
  }
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : ", ") + part;
  return out;
}

StatusOr<std::map<std::string, double>> ParseSampleMetrics(const std::string& metrics_json,
                                                           bool* cut_off) {
  std::map<std::string, double> out;
  rapidjson::Document doc;
  doc.Parse(metrics_json.data(), metrics_json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return InvalidArgumentError("samples.metrics_json: expected a JSON object, got '",
                                metrics_json.substr(0, 40), "'");
  }
  if (cut_off != nullptr) *cut_off = false;
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    const std::string key(it->name.GetString(), it->name.GetStringLength());
    if (key == "_stop_reasons" && cut_off != nullptr && it->value.IsArray()) {
      for (const rapidjson::Value& reason : it->value.GetArray()) {
        if (!reason.IsString()) continue;
        const std::string_view r(reason.GetString(), reason.GetStringLength());
        *cut_off = *cut_off || r == "max_tokens" || r == "context_full";
      }
    }
    if (key.empty() || key[0] == '_') continue;
    if (it->value.IsNumber()) out[key] = it->value.GetDouble();
    if (it->value.IsBool()) out[key] = it->value.GetBool() ? 1.0 : 0.0;
  }
  return out;
}

StatusOr<std::unique_ptr<ResultsReader>> ResultsReader::Open(const std::string& path) {
  if (!FileExists(path)) return NotFoundError(path, ": no results database here (see --db)");
  if (IsDirectory(path)) return InvalidArgumentError(path, ": is a folder, expected a database");
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return FailedPreconditionError(path, ": cannot open as SQLite (", message, ")");
  }
  sqlite3_busy_timeout(db, 10'000);
  auto close_with = [&](Status status) {
    sqlite3_close_v2(db);
    return status;
  };
  StatusOr<int64_t> app_id = PragmaInt(db, path, "application_id");
  if (!app_id.ok()) return close_with(app_id.status());
  StatusOr<int64_t> version = PragmaInt(db, path, "user_version");
  if (!version.ok()) return close_with(version.status());
  if (*app_id != kSigmaApplicationId || *version <= 0) {
    return close_with(FailedPreconditionError(
        path, ": not a sigma-eval results database (application_id ", *app_id,
        ", user_version ", *version, "; expected application_id ", kSigmaApplicationId, ")"));
  }
  if (*version > kMaxSchemaVersion) {
    return close_with(FailedPreconditionError(
        path, ": schema version ", *version, " is newer than this sigma-eval reads (",
        kMaxSchemaVersion, "); use a newer sigma-eval"));
  }
  return std::unique_ptr<ResultsReader>(new ResultsReader(db, path, static_cast<int>(*version)));
}

ResultsReader::~ResultsReader() { sqlite3_close_v2(db_); }

StatusOr<std::vector<RunRecord>> ResultsReader::ReadRuns(const std::vector<int64_t>& ids) {
  std::string sql = schema_version_ >= 2
      ? "SELECT id, fingerprint, config_json, model, engine_build, host, started_at, "
        "finished_at, state, segments FROM runs"
      : "SELECT id, fingerprint, config_json, model, engine_build, host, started_at, "
        "finished_at, state, 1 FROM runs";
  if (!ids.empty()) sql += " WHERE id IN (" + IdList(ids) + ")";
  sql += " ORDER BY id";
  Query q(db_, sql);
  SIGMA_RETURN_IF_ERROR(q.status());
  std::vector<RunRecord> runs;
  while (q.Step()) {
    RunRecord r;
    r.id = q.Int(0);
    r.fingerprint = q.Bytes(1);
    r.config_json = q.Bytes(2);
    r.model = q.Bytes(3);
    r.engine_build = q.Bytes(4);
    r.host = q.Bytes(5);
    r.started_at = q.Bytes(6);
    r.finished_at = q.Bytes(7);
    r.state = q.Bytes(8);
    r.segments = q.Int(9);
    runs.push_back(std::move(r));
  }
  SIGMA_RETURN_IF_ERROR(q.status());
  for (int64_t id : ids) {
    bool found = false;
    for (const RunRecord& r : runs) found = found || r.id == id;
    if (!found) return NotFoundError(path_, ": no run ", id);
  }
  return runs;
}

StatusOr<std::vector<TaskResultRecord>> ResultsReader::ReadTaskResults(int64_t run_id) {
  Query q(db_, "SELECT task, metric, value, stderr, ci_low, ci_high, n FROM task_results "
               "WHERE run_id = ? ORDER BY task, metric");
  SIGMA_RETURN_IF_ERROR(q.status());
  q.BindInt(1, run_id);
  std::vector<TaskResultRecord> rows;
  while (q.Step()) {
    TaskResultRecord r;
    r.run_id = run_id;
    r.task = q.Bytes(0);
    r.metric = q.Bytes(1);
    r.value = q.OptDouble(2);
    r.stderr_value = q.OptDouble(3);
    r.ci_low = q.OptDouble(4);
    r.ci_high = q.OptDouble(5);
    r.n = q.Int(6);
    rows.push_back(std::move(r));
  }
  SIGMA_RETURN_IF_ERROR(q.status());
  return rows;
}

StatusOr<std::vector<TaskProgressRecord>> ResultsReader::ReadTaskProgress(int64_t run_id) {
  const std::string sql = schema_version_ >= 2
      ? "SELECT task, version, total, done, errors FROM run_tasks WHERE run_id = ? ORDER BY task"
      : "SELECT task, '', NULL, count(*), count(error) FROM samples WHERE run_id = ? "
        "GROUP BY task ORDER BY task";
  Query q(db_, sql);
  SIGMA_RETURN_IF_ERROR(q.status());
  q.BindInt(1, run_id);
  std::vector<TaskProgressRecord> rows;
  while (q.Step()) {
    rows.push_back({run_id, q.Bytes(0), q.Bytes(1), q.OptInt(2), q.Int(3), q.Int(4)});
  }
  SIGMA_RETURN_IF_ERROR(q.status());
  return rows;
}

StatusOr<std::vector<std::string>> ResultsReader::ReadSampleTasks(int64_t run_id) {
  Query q(db_, "SELECT DISTINCT task FROM samples WHERE run_id = ? ORDER BY task");
  SIGMA_RETURN_IF_ERROR(q.status());
  q.BindInt(1, run_id);
  std::vector<std::string> tasks;
  while (q.Step()) tasks.push_back(q.Bytes(0));
  SIGMA_RETURN_IF_ERROR(q.status());
  return tasks;
}

StatusOr<int64_t> ResultsReader::CountSamples(int64_t run_id, const std::string& task) {
  Query q(db_, "SELECT count(*) FROM samples WHERE run_id = ? AND task = ?");
  SIGMA_RETURN_IF_ERROR(q.status());
  q.BindInt(1, run_id);
  q.BindText(2, task);
  const int64_t n = q.Step() ? q.Int(0) : 0;
  SIGMA_RETURN_IF_ERROR(q.status());
  return n;
}

StatusOr<std::vector<SampleRecord>> ResultsReader::ReadSamples(int64_t run_id,
                                                               const std::string& task,
                                                               int64_t offset, int64_t limit) {
  Query q(db_, SelectSampleColumns(schema_version_) +
                   " FROM samples WHERE run_id = ? AND task = ? "
                   "ORDER BY doc_index IS NULL, doc_index, doc_id LIMIT ? OFFSET ?");
  SIGMA_RETURN_IF_ERROR(q.status());
  q.BindInt(1, run_id);
  q.BindText(2, task);
  q.BindInt(3, limit < 0 ? -1 : limit);
  q.BindInt(4, offset < 0 ? 0 : offset);
  std::vector<SampleRecord> rows;
  while (q.Step()) rows.push_back(ReadSampleRow(q));
  SIGMA_RETURN_IF_ERROR(q.status());
  return rows;
}

StatusOr<std::optional<SampleRecord>> ResultsReader::ReadSample(int64_t run_id,
                                                                const std::string& task,
                                                                const std::string& doc_id) {
  Query q(db_, SelectSampleColumns(schema_version_) +
                   " FROM samples WHERE run_id = ? AND task = ? AND doc_id = ?");
  SIGMA_RETURN_IF_ERROR(q.status());
  q.BindInt(1, run_id);
  q.BindText(2, task);
  q.BindText(3, doc_id);
  std::optional<SampleRecord> out;
  if (q.Step()) out = ReadSampleRow(q);
  SIGMA_RETURN_IF_ERROR(q.status());
  return out;
}

StatusOr<std::vector<SampleScores>> ResultsReader::ReadSampleScores(int64_t run_id) {
  Query q(db_, std::string("SELECT task, doc_id, error IS NOT NULL, verdict, metrics_json, "
                           "prompt_tokens, ttft_ms, prefill_tok_s, decode_tok_s, ") +
                   (schema_version_ >= 2 ? "segment" : "1") +
                   " FROM samples WHERE run_id = ? "
                   "ORDER BY task, doc_index IS NULL, doc_index, doc_id");
  SIGMA_RETURN_IF_ERROR(q.status());
  q.BindInt(1, run_id);
  std::vector<SampleScores> rows;
  while (q.Step()) {
    SampleScores s;
    s.task = q.Bytes(0);
    s.doc_id = q.Bytes(1);
    s.has_error = q.Int(2) != 0;
    s.verdict = q.OptBytes(3);
    StatusOr<std::map<std::string, double>> metrics = ParseSampleMetrics(q.Bytes(4), &s.cut_off);
    if (!metrics.ok()) {
      return metrics.status().WithContext(StrCat(path_, ": run ", run_id, " task ", s.task,
                                                 " doc ", s.doc_id));
    }
    s.metrics = std::move(*metrics);
    s.prompt_tokens = q.OptInt(5);
    s.ttft_ms = q.OptDouble(6);
    s.prefill_tok_s = q.OptDouble(7);
    s.decode_tok_s = q.OptDouble(8);
    s.segment = q.Int(9);
    rows.push_back(std::move(s));
  }
  SIGMA_RETURN_IF_ERROR(q.status());
  return rows;
}

StatusOr<std::vector<BenchRunRecord>> ResultsReader::ReadBenchRuns(const std::vector<int64_t>& ids) {
  std::vector<BenchRunRecord> rows;
  if (schema_version_ < 2) return rows;
  std::string sql = "SELECT id, run_id, config_json, model, engine_build, host, device, "
                    "started_at, finished_at, state FROM bench_runs";
  if (!ids.empty()) sql += " WHERE id IN (" + IdList(ids) + ")";
  Query q(db_, sql + " ORDER BY id");
  SIGMA_RETURN_IF_ERROR(q.status());
  while (q.Step()) {
    rows.push_back({q.Int(0), q.OptInt(1), q.Bytes(2), q.Bytes(3), q.Bytes(4), q.Bytes(5),
                    q.Bytes(6), q.Bytes(7), q.Bytes(8), q.Bytes(9)});
  }
  SIGMA_RETURN_IF_ERROR(q.status());
  for (int64_t id : ids) {
    bool found = false;
    for (const BenchRunRecord& r : rows) found = found || r.id == id;
    if (!found) return NotFoundError(path_, ": no bench run ", id);
  }
  return rows;
}

StatusOr<std::vector<SpeedRecord>> ResultsReader::ReadSpeed(const std::vector<int64_t>& run_ids,
                                                            const std::vector<int64_t>& bench_ids) {
  std::vector<SpeedRecord> rows;
  if (schema_version_ < 2 || (run_ids.empty() && bench_ids.empty())) return rows;
  std::string where;
  if (!run_ids.empty()) where += "run_id IN (" + IdList(run_ids) + ")";
  if (!bench_ids.empty()) {
    where += (where.empty() ? "" : " OR ") + ("bench_id IN (" + IdList(bench_ids) + ")");
  }
  Query q(db_, "SELECT id, run_id, bench_id, config_json, context_length, batch, phase, "
               "repetitions, tokens_per_s_mean, tokens_per_s_std, ms_per_token, bytes_moved, "
               "device, created_at FROM speed WHERE " + where +
               " ORDER BY bench_id IS NULL, bench_id, run_id, phase, batch, context_length, id");
  SIGMA_RETURN_IF_ERROR(q.status());
  while (q.Step()) {
    SpeedRecord r;
    r.id = q.Int(0);
    r.run_id = q.OptInt(1);
    r.bench_id = q.OptInt(2);
    r.config_json = q.Bytes(3);
    r.context_length = q.Int(4);
    r.batch = q.Int(5);
    r.phase = q.Bytes(6);
    r.repetitions = q.Int(7);
    r.tokens_per_s_mean = q.Double(8);
    r.tokens_per_s_std = q.OptDouble(9);
    r.ms_per_token = q.OptDouble(10);
    r.bytes_moved = q.OptDouble(11);
    r.device = q.Bytes(12);
    r.created_at = q.Bytes(13);
    rows.push_back(std::move(r));
  }
  SIGMA_RETURN_IF_ERROR(q.status());
  return rows;
}

}  // namespace sigma::reports
