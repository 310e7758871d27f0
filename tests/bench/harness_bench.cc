// The harness's own overhead per sample: everything but the backend (prompt building with 5-shot
// examples, scoring with two filter pipelines, the SQLite transaction per sample, aggregation with
// bootstrap intervals). The backend is a replay of recorded outputs, which costs a map lookup.
// Target: under 1 ms per sample.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "engine/base/file.h"
#include "harness/backends/replay_backend.h"
#include "harness/runner/runner.h"
#include "harness/runner/task_loader.h"

namespace sigma {
namespace {

// A gsm8k-shaped task with `n` documents and replay outputs for all of them.
std::string MakeFixture(int n) {
  const std::string dir = "/tmp/sigma-harness-bench-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir + "/tasks/synthetic_math");
  auto config = ReadFile(std::string(SIGMA_SOURCE_DIR) + "/tasks/benchmarks/gsm8k/config.json");
  SIGMA_CHECK(config.ok(), config.status().ToString());
  std::string text = *config;
  text.replace(text.find("\"gsm8k\""), 7, "\"synthetic_math\"");
  SIGMA_CHECK(WriteFileAtomic(dir + "/tasks/synthetic_math/config.json", text).ok());
  std::string data, replay;
  for (int i = 0; i < n; ++i) {
    data += "{\"question\": \"Sam has " + std::to_string(i) + " apples and buys 3 more. How many now?\", "
            "\"answer\": \"He has " + std::to_string(i) + " + 3 = " + std::to_string(i + 3) + ".\\n#### " +
            std::to_string(i + 3) + "\"}\n";
    replay += "{\"task\": \"synthetic_math\", \"doc_id\": \"" + std::to_string(i) +
              "\", \"output\": \" He has " + std::to_string(i) + " + 3 apples.\\n#### " +
              std::to_string(i % 7 == 0 ? i : i + 3) + "\"}\n";
  }
  SIGMA_CHECK(WriteFileAtomic(dir + "/tasks/synthetic_math/test.jsonl", data).ok());
  SIGMA_CHECK(WriteFileAtomic(dir + "/replay.jsonl", replay).ok());
  return dir;
}

void BM_HarnessOverheadPerSample(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const std::string dir = MakeFixture(n);
  int iteration = 0;
  double run_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto backend = harness::ReplayBackend::Open(dir + "/replay.jsonl");
    SIGMA_CHECK(backend.ok());
    auto tasks = harness::LoadEvalTasks({"synthetic_math", dir + "/tasks", ""});
    SIGMA_CHECK(tasks.ok(), tasks.status().ToString());
    auto store = store::ResultsStore::Open(dir + "/results-" + std::to_string(iteration++) + ".db");
    SIGMA_CHECK(store.ok());
    harness::RunOptions options;
    options.batch = 8;
    harness::Runner runner(**backend, std::move(tasks->tasks), **store, options);
    state.ResumeTiming();
    const auto start = std::chrono::steady_clock::now();
    auto summary = runner.Run({}, nullptr);
    run_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    SIGMA_CHECK(summary.ok(), summary.status().ToString());
    SIGMA_CHECK(summary->new_samples == n);
  }
  state.counters["ms_per_sample"] = 1e3 * run_seconds / static_cast<double>(state.iterations() * n);
  state.SetItemsProcessed(state.iterations() * n);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_HarnessOverheadPerSample)->Arg(1000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sigma

BENCHMARK_MAIN();
