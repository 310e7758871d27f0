// Sandbox start-to-exit overhead: one `true` per iteration through BwrapSandbox::Run (bwrap spawn,
// namespaces, mounts, cgroups, supervision, teardown). Target: median under 20 ms.
//   build-*/tests/bench/sandbox_bench --benchmark_filter=True
// The "median_ms" counter is the median of the per-run wall times of the measured iterations.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <benchmark/benchmark.h>

#include "harness/sandbox/bwrap_sandbox.h"

namespace sigma::sandbox {
namespace {

void RunTrue(benchmark::State& state, bool use_cgroups) {
  SandboxOptions options;
  options.use_cgroups = use_cgroups;
  auto sandbox = BwrapSandbox::Create(options);
  if (!sandbox.ok()) {
    state.SkipWithError(sandbox.status().ToString().c_str());
    return;
  }
  tasks::ExecRequest request;
  request.argv = {"true"};
  std::vector<double> wall_ms;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    StatusOr<tasks::ExecResult> result = (*sandbox)->Run(request);
    wall_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (!result.ok() || result->verdict != tasks::Verdict::kOk) {
      state.SkipWithError("run failed");
      return;
    }
  }
  std::sort(wall_ms.begin(), wall_ms.end());
  state.counters["median_ms"] = wall_ms.empty() ? 0 : wall_ms[wall_ms.size() / 2];
  state.counters["p90_ms"] = wall_ms.empty() ? 0 : wall_ms[wall_ms.size() * 9 / 10];
  state.SetLabel((*sandbox)->Describe().substr(0, 60));
}

void BM_SandboxTrue(benchmark::State& state) { RunTrue(state, true); }
void BM_SandboxTrueRlimitsOnly(benchmark::State& state) { RunTrue(state, false); }

BENCHMARK(BM_SandboxTrue)->Iterations(100)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SandboxTrueRlimitsOnly)->Iterations(100)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sigma::sandbox

BENCHMARK_MAIN();
