// Wall time of a benchmark's timed loop. Google Benchmark divides kIsRate counters by the run's
// time but prints every one of them with a "/s" suffix ("pct_bw=56/s", "tok/s=188/s"), so the
// benchmarks compute their rates and shares of a bound from this clock and set plain counters.
#ifndef SIGMA_TESTS_BENCH_LOOP_CLOCK_H_
#define SIGMA_TESTS_BENCH_LOOP_CLOCK_H_

#include <chrono>

namespace sigma::bench {

// Started where it is declared, just before `for (auto _ : state)`.
class LoopClock {
 public:
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace sigma::bench

#endif  // SIGMA_TESTS_BENCH_LOOP_CLOCK_H_
