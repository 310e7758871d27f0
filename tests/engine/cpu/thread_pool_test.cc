#include "engine/cpu/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace sigma {
namespace {

TEST(ThreadPoolTest, EveryTaskRunsExactlyOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {1, 2, 7, 100, 1000}) {
      for (int repeat = 0; repeat < 50; ++repeat) {
        std::vector<std::atomic<int>> hits(n);
        std::atomic<bool> bad_worker{false};
        pool.ParallelFor(n, [&](int64_t t, int w) {
          hits[t].fetch_add(1);
          if (w < 0 || w >= threads) bad_worker = true;
        });
        for (int64_t t = 0; t < n; ++t) ASSERT_EQ(hits[t].load(), 1) << "task " << t;
        ASSERT_FALSE(bad_worker.load());
      }
    }
  }
}

TEST(ThreadPoolTest, WorkersWakeAfterSleeping) {
  ThreadPool pool(2);
  for (int i = 0; i < 5; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(3));  // past the spin window
    std::atomic<int> sum{0};
    pool.ParallelFor(64, [&](int64_t t, int) { sum += static_cast<int>(t); });
    EXPECT_EQ(sum.load(), 64 * 63 / 2);
  }
}

TEST(ThreadPoolTest, BothThreadsTakePartInLongLoops) {
  ThreadPool pool(2);
  std::atomic<int> by_worker[2] = {0, 0};
  pool.ParallelFor(64, [&](int64_t, int w) {
    by_worker[w]++;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  });
  EXPECT_EQ(by_worker[0] + by_worker[1], 64);
  EXPECT_GT(by_worker[1].load(), 0);
}

// Many short loops whose task counts alternate between smaller and larger: a worker still
// finishing one loop must never take a task of the next (once it ran a task twice, the caller
// counted one finish too many and waited forever). A hang fails the test after a minute instead of
// stalling the run.
TEST(ThreadPoolTest, ShortLoopsOfChangingSizesRunEachTaskOnce) {
  auto stress = std::async(std::launch::async, [] {
    for (int threads : {2, 3}) {
      ThreadPool pool(threads);
      std::atomic<int> hits[8];
      for (int call = 0; call < 400000; ++call) {
        const int64_t n = 2 + call % 3 * 3;  // 2, 5, 8
        for (auto& h : hits) h.store(0, std::memory_order_relaxed);
        pool.ParallelFor(n, [&](int64_t t, int) {
          hits[t].fetch_add(1, std::memory_order_relaxed);
        });
        for (int64_t t = 0; t < n; ++t) {
          if (hits[t].load() != 1) return "call " + std::to_string(call) + " ran task " +
                                         std::to_string(t) + " " + std::to_string(hits[t].load()) +
                                         " times";
        }
      }
    }
    return std::string();
  });
  if (stress.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    std::fprintf(stderr, "ParallelFor hung\n");
    std::_Exit(1);  // the stuck thread cannot be joined
  }
  EXPECT_EQ(stress.get(), "");
}

}  // namespace
}  // namespace sigma
