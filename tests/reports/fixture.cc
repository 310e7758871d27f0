#include "tests/reports/fixture.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "harness/store/results_store.h"
#include "harness/store/sqlite.h"
#include "reports/results_reader.h"

namespace sigma::reports::testing {
namespace {

// Deterministic hash in [0, 1).
double Unit(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t z = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull) * 0xBF58476D1CE4E5B9ull ^ c * 0x94D049BB133111EBull;
  z = (z ^ (z >> 31)) * 0xD6E8FEB86659FD93ull;
  z ^= z >> 32;
  return static_cast<double>(z % 1000003) / 1000003.0;
}

std::string TaskName(int t) {
  static const char* kNames[] = {"arc_easy", "gsm8k", "cmdgen"};
  return t < 3 ? kNames[t] : "task_" + std::to_string(t);
}

std::string ModelName(int r) {
  if (r == 1) return "gqa16";
  if (r == 2) return "replay:gpt4.jsonl";
  return "sigma-1.5b";
}

store::SampleRecord MakeSample(int64_t run_id, int r, int t, int d, bool replay) {
  store::SampleRecord s;
  s.run_id = run_id;
  s.task = TaskName(t);
  s.doc_id = "doc-" + std::to_string(d);
  s.doc_index = d;
  s.prompt = "Question " + std::to_string(d) + " of " + s.task + ": what is " + std::to_string(d) + "+1?\nAnswer:";
  s.target = std::to_string(d + 1);
  const double skill = replay ? 0.85 : (r == 1 ? 0.55 : 0.7);
  const bool right = Unit(t, d, 7) < skill;  // same draw per doc: runs mostly agree
  const bool flip = !replay && Unit(r, t * 100 + d, 3) < 0.15;
  const bool correct = right != flip;
  s.raw_output = correct ? " " + *s.target + "\n" : " " + std::to_string(d + 2) + " (I think)\n";
  s.extracted = correct ? *s.target : std::to_string(d + 2);
  if (t == 2) {
    const double score = std::round((correct ? 0.8 : 0.3) * 1000 + Unit(r, d, 9) * 100) / 1000;
    s.metrics_json = "{\"cmd_score\":" + std::to_string(score) + ",\"_stats\":{\"len\":3}}";
    s.verdict = d % 7 == 0 ? "TIMEOUT" : "OK";
  } else if (t == 1) {
    s.metrics_json = std::string("{\"exact_match,strict-match\":") + (correct ? "1" : "0") +
                     ",\"exact_match,flexible-extract\":" + (correct || d % 3 == 0 ? "1" : "0");
    // The engine says why each generation ended; every fifth ran into the token limit.
    if (!replay) {
      s.metrics_json += d % 5 == 4 ? ",\"_stop_reasons\":[\"max_tokens\"]"
                                   : ",\"_stop_reasons\":[\"stop_string\"]";
    }
    s.metrics_json += "}";
  } else {
    s.metrics_json = std::string("{\"acc\":") + (correct ? "1" : "0") + ",\"acc_norm\":" +
                     (correct || d % 4 == 0 ? "1" : "0") + "}";
  }
  if (t == 1 && d == 3 && !replay) {
    s.raw_output = HostileOutput();
    s.extracted = std::string("\x1b[2J<b>", 7);
  }
  if (!replay) {
    const int64_t prompt_tokens = 40 + (d * 97 + t * 31) % 900;
    const double speed = r == 1 ? 20.0 : 26.0;
    s.timings.prompt_tokens = prompt_tokens;
    s.timings.reused_tokens = d == 0 ? 0 : prompt_tokens / 64 * 64 / 2;  // half a shared prefix
    s.timings.new_tokens = 4 + d % 5;
    s.timings.ttft_ms = 5.0 + prompt_tokens * (r == 1 ? 0.12 : 0.09) + Unit(r, d, 1);
    s.timings.prefill_tok_s = 900.0 - prompt_tokens * 0.2 + Unit(r, d, 2) * 10;
    s.timings.decode_tok_s = speed - prompt_tokens * 0.004 + Unit(r, d, 4);
    s.timings.total_ms = *s.timings.ttft_ms + 1000.0 * *s.timings.new_tokens / *s.timings.decode_tok_s;
  }
  if (r == 1 && t == 0 && d == 5) s.error = "backend: out of memory (KV cache)";
  return s;
}

Status WriteAggregates(store::ResultsStore& db, int64_t run_id, const std::string& task) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<store::SampleRecord> samples, db.ReadSamples(run_id, task));
  std::map<std::string, std::vector<double>> values;
  for (const store::SampleRecord& s : samples) {
    if (s.error) continue;
    SIGMA_ASSIGN_OR_RETURN(auto metrics, ParseSampleMetrics(s.metrics_json));
    for (const auto& [metric, value] : metrics) values[metric].push_back(value);
  }
  std::vector<store::TaskResultRow> rows;
  for (const auto& [metric, xs] : values) {
    double mean = 0, ss = 0;
    for (double x : xs) mean += x / xs.size();
    for (double x : xs) ss += (x - mean) * (x - mean);
    const double se = xs.size() > 1 ? std::sqrt(ss / (xs.size() - 1) / xs.size()) : 0;
    rows.push_back({metric, mean, se, std::nullopt, std::nullopt, static_cast<int64_t>(xs.size())});
  }
  return db.WriteTaskResults(run_id, task, rows);
}

Status WriteSpeed(store::ResultsStore& db, const std::vector<int64_t>& run_ids) {
  store::BenchRunSpec spec;
  spec.model = "sigma-1.5b,gqa16";
  spec.config_json = R"({"models":"sigma-1.5b,gqa16"})";
  spec.engine_build = "sigma-eval 0.1.0 (test)";
  spec.host = "testhost";
  spec.device = "cpu";
  SIGMA_ASSIGN_OR_RETURN(int64_t bench, db.CreateBenchRun(spec));
  for (const char* model : {"sigma-1.5b", "gqa16"}) {
    const bool sigma = std::string(model) == "sigma-1.5b";
    for (int64_t ctx : {1024, 4096, 16384}) {
      for (const char* phase : {"decode", "prefill"}) {
        store::SpeedRow row;
        row.bench_id = bench;
        row.config_json = std::string("{\"model\":\"") + model + "\",\"kv_dtype\":\"bf16\",\"selective_v\":0}";
        row.context_length = std::string(phase) == "prefill" ? 512 : ctx;
        row.phase = phase;
        row.repetitions = 5;
        const double base = std::string(phase) == "decode" ? 30.0 * 1024 / (1024 + ctx / (sigma ? 8 : 2)) : 800;
        row.tokens_per_s_mean = std::round(base * (sigma ? 1.0 : 0.9) * 100) / 100;
        row.tokens_per_s_std = std::round(row.tokens_per_s_mean * 3) / 100;
        row.ms_per_token = 1000.0 / row.tokens_per_s_mean;
        row.device = "cpu";
        if (std::string(phase) == "prefill" && ctx != 1024) continue;
        SIGMA_RETURN_IF_ERROR(db.InsertSpeed(row).status());
      }
    }
  }
  SIGMA_RETURN_IF_ERROR(db.FinishBenchRun(bench, store::RunState::kComplete));
  for (size_t i = 0; i < run_ids.size() && i < 2; ++i) {
    store::SpeedRow row;
    row.run_id = run_ids[i];
    row.config_json = R"({"source":"per-sample means"})";
    row.context_length = 460;
    row.phase = "decode";
    row.repetitions = 20;
    row.tokens_per_s_mean = i == 0 ? 24.5 : 18.25;
    row.tokens_per_s_std = 0.5;
    row.ms_per_token = 1000.0 / row.tokens_per_s_mean;
    row.device = "cpu";
    SIGMA_RETURN_IF_ERROR(db.InsertSpeed(row).status());
  }
  return Status::Ok();
}

// A configuration shaped as `sigma-eval run` stores it. The gqa16 run (r = 1) keeps its KV cache
// in f32 and scores a newer gsm8k (another version and hash).
std::string RunConfigJson(int r, const FixtureShape& shape) {
  const bool replay = r == 2;
  std::string tasks;
  for (int t = 0; t < shape.tasks; ++t) {
    if (replay && t == 0) continue;
    const std::string name = TaskName(t);
    const bool newer = r == 1 && name == "gsm8k";
    const std::string hash = StrCat(newer ? "9f2c" : "41ab", t);
    tasks += StrCat(tasks.empty() ? "" : ",", R"({"name":")", name, R"(","version":")",
                    newer ? "2-" : "1-", hash, R"(","hash":")", hash, R"(","settings":{}})");
  }
  const std::string backend =
      replay ? R"({"backend":"replay","model":"replay:gpt4.jsonl"})"
             : StrCat(R"({"backend":"engine","model":")", ModelName(r), R"(","kv_dtype":")",
                      r == 1 ? "f32" : "bf16",
                      R"(","selective_v":0,"max_context":4096,"temperature":0})");
  return StrCat(R"({"backend":)", backend, R"(,"tasks":[)", tasks, R"(],"limit":)",
                shape.docs_per_task,
                R"j(,"batch":4,"engine_build":"sigma-eval 0.1.0 (test)","cli":{"data_dir":""}})j");
}

// Fixed timestamps so rendered outputs do not change between test runs.
Status FixTimes(store::ResultsStore& db) {
  return store::Exec(db.raw_db(),
                     "UPDATE runs SET started_at = '2026-01-02T03:04:05.000Z', "
                     "finished_at = '2026-01-02T04:05:06.000Z', heartbeat_at = '2026-01-02T04:05:06.000Z';"
                     "UPDATE samples SET created_at = '2026-01-02T03:30:00.000Z';"
                     "UPDATE bench_runs SET started_at = '2026-01-03T00:00:00.000Z', "
                     "finished_at = '2026-01-03T00:10:00.000Z';"
                     "UPDATE speed SET created_at = '2026-01-03T00:05:00.000Z';",
                     "fixture times");
}

}  // namespace

std::string HostileOutput() {
  static const char kBytes[] =
      "</pre></td><script>console.error('pwned')</script><img src=x onerror=\"console.error(1)\">"
      "\x1b[31mred\x1b[0m \0nul \xff\xfe bad utf8 \xe2\x80\xae reversed & \"quoted\" 'single' | pipe `tick`";
  return std::string(kBytes, sizeof(kBytes) - 1);
}

Status BuildFixtureDb(const std::string& path, const FixtureShape& shape) {
  SIGMA_ASSIGN_OR_RETURN(auto db, store::ResultsStore::Open(path));
  std::vector<int64_t> run_ids;
  for (int r = 0; r < shape.runs; ++r) {
    const bool replay = r == 2;
    store::RunSpec spec{"fingerprint-" + std::to_string(r), RunConfigJson(r, shape), ModelName(r),
                        "sigma-eval 0.1.0 (test)", "testhost"};
    SIGMA_ASSIGN_OR_RETURN(store::RunSession run, db->CreateRun(spec));
    for (int t = 0; t < shape.tasks; ++t) {
      const std::string task = TaskName(t);
      if (replay && t == 0) continue;  // the recorded outputs cover gsm8k and cmdgen only
      SIGMA_RETURN_IF_ERROR(db->SetTaskPlan(run.run.id, task, "1", shape.docs_per_task));
      for (int d = 0; d < shape.docs_per_task; ++d) {
        SIGMA_RETURN_IF_ERROR(db->InsertSample(MakeSample(run.run.id, r, t, d, replay)).status());
      }
      SIGMA_RETURN_IF_ERROR(WriteAggregates(*db, run.run.id, task));
    }
    SIGMA_RETURN_IF_ERROR(db->FinishRun(run.run.id, store::RunState::kComplete));
    run_ids.push_back(run.run.id);
  }
  if (shape.speed) SIGMA_RETURN_IF_ERROR(WriteSpeed(*db, run_ids));
  return FixTimes(*db);
}

ScratchDir::ScratchDir() {
  std::string templ = (std::filesystem::temp_directory_path() / "sigma_reports_XXXXXX").string();
  char* made = mkdtemp(templ.data());
  path_ = made != nullptr ? made : "";
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace sigma::reports::testing
