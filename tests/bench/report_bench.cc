// Report rendering speed and size: a results database of 10 runs x 10 tasks x 1,000 samples
// (realistic few-shot prompts of ~1.5 KB, outputs of ~300 B, some hostile bytes, per-sample
// timings, aggregates, speed rows), rendered to HTML with the default cap of 50 samples shown per
// (run, task). Targets: under 2 s and under 20 MB of HTML. Counters: html_mb, samples_shown.
// The database is written once (through ResultsStore, one transaction per sample as the runner
// does) into $TMPDIR and reused by every benchmark in the process.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "harness/store/results_store.h"
#include "harness/store/sqlite.h"
#include "reports/compare.h"
#include "reports/report.h"

namespace {

constexpr int kRuns = 10, kTasks = 10, kDocs = 1000;

std::string Prompt(int t, int d) {
  std::string p;
  for (int shot = 0; shot < 5; ++shot) {
    p += "Question: In task " + std::to_string(t) + ", example " + std::to_string(shot) +
         ", a system administrator needs to list every file larger than 100 MB under /var/log and "
         "compress those older than a week. Which command does this?\nAnswer: find /var/log -size "
         "+100M -mtime +7 -exec gzip {} \\;\n\n";
  }
  return p + "Question: document " + std::to_string(d) + " asks for the same on /srv/data.\nAnswer:";
}

sigma::Status Build(const std::string& path) {
  using namespace sigma;
  SIGMA_ASSIGN_OR_RETURN(auto db, store::ResultsStore::Open(path));
  SIGMA_RETURN_IF_ERROR(store::Exec(db->raw_db(), "PRAGMA synchronous=OFF", "bench"));
  for (int r = 0; r < kRuns; ++r) {
    store::RunSpec spec{"fp" + std::to_string(r), "{}", r == 9 ? "replay:gpt4.jsonl" : (r % 2 ? "gqa16" : "sigma-1.5b"),
                        "bench", "host"};
    SIGMA_ASSIGN_OR_RETURN(store::RunSession run, db->CreateRun(spec));
    for (int t = 0; t < kTasks; ++t) {
      const std::string task = "task_" + std::to_string(t);
      SIGMA_RETURN_IF_ERROR(db->SetTaskPlan(run.run.id, task, "1", kDocs));
      double sum = 0;
      for (int d = 0; d < kDocs; ++d) {
        store::SampleRecord s;
        s.run_id = run.run.id;
        s.task = task;
        s.doc_id = "doc-" + std::to_string(d);
        s.doc_index = d;
        s.prompt = Prompt(t, d);
        const bool ok = (d * 7 + r * 3 + t) % 10 < 6;
        sum += ok;
        s.raw_output = std::string(" find /srv/data -size +100M -mtime +7 -exec gzip {} \\;") +
                       (d % 50 == 0 ? "<script>alert(1)</script>\x1b[0m\xff" : "") + std::string(220, ' ') + "\n";
        s.extracted = "find /srv/data -size +100M -mtime +7 -exec gzip {} \\;";
        s.target = s.extracted;
        s.metrics_json = std::string("{\"acc\":") + (ok ? "1" : "0") + ",\"cmd_score\":0.75}";
        s.verdict = d % 13 == 0 ? "TIMEOUT" : "OK";
        s.timings.prompt_tokens = 300 + d % 700;
        s.timings.new_tokens = 20;
        s.timings.ttft_ms = 40.0 + d % 700 * 0.1;
        s.timings.prefill_tok_s = 900.0 - d % 300;
        s.timings.decode_tok_s = 25.0 - r * 0.5 + (d % 10) * 0.1;
        s.timings.total_ms = 900;
        SIGMA_RETURN_IF_ERROR(db->InsertSample(s).status());
      }
      SIGMA_RETURN_IF_ERROR(db->WriteTaskResults(
          run.run.id, task, {{"acc", sum / kDocs, 0.015, std::nullopt, std::nullopt, kDocs}}));
    }
    SIGMA_RETURN_IF_ERROR(db->FinishRun(run.run.id, store::RunState::kComplete));
  }
  return Status::Ok();
}

// The path outlives static destruction (the atexit handler below runs after it).
const std::string& Database() {
  static const std::string* path = [] {
    auto* p = new std::string((std::filesystem::temp_directory_path() /
                               ("sigma_report_bench_" + std::to_string(::getpid()) + ".db")).string());
    const sigma::Status s = Build(*p);
    if (!s.ok()) {
      std::fprintf(stderr, "report_bench: %s\n", s.ToString().c_str());
      std::abort();
    }
    return p;
  }();
  static const bool cleanup_registered = [] {
    std::atexit([] {
      std::error_code ec;
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(*path + suffix, ec);
    });
    return true;
  }();
  (void)cleanup_registered;
  return *path;
}

void BM_RenderHtml(benchmark::State& state) {
  const std::string& db = Database();
  sigma::reports::ReportOptions options;
  options.max_samples = state.range(0);
  size_t bytes = 0, shown = 0;
  for (auto _ : state) {
    auto reader = sigma::reports::ResultsReader::Open(db);
    auto data = sigma::reports::BuildReportData(**reader, options);
    const std::string html = sigma::reports::RenderHtml(*data);
    bytes = html.size();
    shown = data->samples.size();
    benchmark::DoNotOptimize(html.data());
  }
  state.counters["html_mb"] = static_cast<double>(bytes) / 1e6;
  state.counters["samples_shown"] = static_cast<double>(shown);
}
BENCHMARK(BM_RenderHtml)->Arg(50)->Arg(100)->Arg(20)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_RenderMarkdownAndJson(benchmark::State& state) {
  const std::string& db = Database();
  sigma::reports::ReportOptions options;
  for (auto _ : state) {
    auto reader = sigma::reports::ResultsReader::Open(db);
    auto data = sigma::reports::BuildReportData(**reader, options);
    benchmark::DoNotOptimize(sigma::reports::RenderMarkdown(*data).size() +
                             sigma::reports::RenderJson(*data).size());
  }
}
BENCHMARK(BM_RenderMarkdownAndJson)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_Compare(benchmark::State& state) {
  const std::string& db = Database();
  sigma::reports::CompareOptions options;
  for (auto _ : state) {
    auto reader = sigma::reports::ResultsReader::Open(db);
    auto result = sigma::reports::CompareRuns(**reader, {false, 1}, {false, 2}, options);
    benchmark::DoNotOptimize(result->metrics.size());
  }
}
BENCHMARK(BM_Compare)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
