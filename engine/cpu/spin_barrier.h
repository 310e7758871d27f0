// SpinBarrier: the threads of a team wait for each other between the phases of a job they run
// together (Model's decode team: one ParallelFor task per pool thread, each blocking here).
//
// Each member counts its arrivals in a cache line of its own and spins until every other member's
// count has reached its own, so a phase boundary moves one line per member between the cores; a
// ParallelFor per phase also moves its job description, the task counter and a completion count,
// a chain of cache-line transfers that costs microseconds between the two dies of a chiplet CPU.
// Spinning without PAUSE (see thread_pool.cc: pause-loop exits under a hypervisor; with one in the
// loop SmolLM2's decode step took 0.997-1.008x as long, medians of 100-300 rounds alternating in
// one process at 512 and 4K positions, either host regime); a waiter
// yields its core after kYieldAfter, for when members outnumber the free cores, and a wait longer
// than kStallAfter marks the barrier stalled(): a member lost its core (another process, more
// threads than cores), which a team pays for at every phase until it gets it back.
//
// Thread safety: Wait(m) is called by member m only; all members call it equally often.
#ifndef SIGMA_ENGINE_CPU_SPIN_BARRIER_H_
#define SIGMA_ENGINE_CPU_SPIN_BARRIER_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

#include "engine/base/check.h"

namespace sigma {

class SpinBarrier {
 public:
  explicit SpinBarrier(int members) : members_(members), counts_(new Count[members]) {
    SIGMA_CHECK(members >= 1, "SpinBarrier: ", members, " members");
  }

  int members() const { return members_; }

  // Returns once every member has called Wait as often as member m now has. Writes a member made
  // before its call are visible to every member after theirs. watch = false: a wait past
  // kStallAfter does not mark the barrier stalled (a team's first wait, which includes waking
  // members that slept: on a VM that alone took over 2 ms in 1 of ~30 steps after a 20 ms pause).
  void Wait(int m, bool watch = true) {
    SIGMA_DCHECK(m >= 0 && m < members_);
    const uint64_t phase = counts_[m].value.load(std::memory_order_relaxed) + 1;
    counts_[m].value.store(phase, std::memory_order_release);
    for (int other = 0; other < members_; ++other) {
      if (other == m) continue;
      if (counts_[other].value.load(std::memory_order_acquire) >= phase) continue;
      const auto start = std::chrono::steady_clock::now();
      for (int64_t spin = 1; counts_[other].value.load(std::memory_order_acquire) < phase;
           ++spin) {
        asm volatile("" ::: "memory");
        if (spin % 1024 != 0) continue;
        const auto waited = std::chrono::steady_clock::now() - start;
        if (watch && waited > kStallAfter) stalled_.store(true, std::memory_order_relaxed);
        if (waited > kYieldAfter) std::this_thread::yield();
      }
    }
  }

  // Whether a wait took longer than kStallAfter since construction.
  bool stalled() const { return stalled_.load(std::memory_order_relaxed); }

  static constexpr std::chrono::microseconds kYieldAfter{200};
  static constexpr std::chrono::microseconds kStallAfter{2000};

 private:
  struct alignas(64) Count {
    std::atomic<uint64_t> value{0};
  };
  int members_;
  std::unique_ptr<Count[]> counts_;
  alignas(64) std::atomic<bool> stalled_{false};
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_SPIN_BARRIER_H_
