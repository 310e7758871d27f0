#include "engine/cpu/spin_barrier.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "engine/cpu/thread_pool.h"

namespace sigma {
namespace {

// A team (one ParallelFor task per pool thread) in phases: each member writes its slot, waits,
// checks every slot, waits again. Plain ints: the barrier alone orders the writes and the reads
// (ThreadSanitizer builds check that). 5 members on a 2-core machine wait by yielding.
TEST(SpinBarrierTest, EveryMemberSeesEveryWriteOfThePhase) {
  for (const auto& [members, phases] : {std::pair{2, 20000}, {3, 5000}, {5, 500}}) {
    ThreadPool pool(members);
    SpinBarrier barrier(members);
    EXPECT_EQ(barrier.members(), members);
    std::vector<int> slots(static_cast<size_t>(members), -1);
    std::atomic<int> wrong{0};
    std::atomic<int> ran{0};
    pool.ParallelFor(members, [&](int64_t task, int) {
      const int m = static_cast<int>(task);
      ran.fetch_add(1);
      for (int phase = 0; phase < phases; ++phase) {
        slots[static_cast<size_t>(m)] = phase;
        barrier.Wait(m);
        for (int other = 0; other < members; ++other) {
          if (slots[static_cast<size_t>(other)] != phase) wrong.fetch_add(1);
        }
        barrier.Wait(m);
      }
    });
    EXPECT_EQ(ran.load(), members);
    EXPECT_EQ(wrong.load(), 0) << members << " members";
  }
}

// stalled() stays false while the members keep pace and turns true once one waits past
// kStallAfter for another (here a member that sleeps 3x as long before its wait). A loaded
// machine may take a member's core for a while at any time, so a clean run of 1000 phases is
// required of one of 5 fresh barriers, not of each.
TEST(SpinBarrierTest, ALongWaitMarksTheBarrierStalled) {
  ThreadPool pool(2);
  bool clean = false;
  for (int attempt = 0; attempt < 5 && !clean; ++attempt) {
    SpinBarrier barrier(2);
    pool.ParallelFor(2, [&](int64_t task, int) {
      for (int phase = 0; phase < 1000; ++phase) barrier.Wait(static_cast<int>(task));
    });
    clean = !barrier.stalled();
  }
  EXPECT_TRUE(clean);
  // Unwatched waits (a team's first) are not stalls, however long.
  SpinBarrier barrier(2);
  pool.ParallelFor(2, [&](int64_t task, int) {
    if (task == 1) std::this_thread::sleep_for(3 * SpinBarrier::kStallAfter);
    barrier.Wait(static_cast<int>(task), /*watch=*/false);
  });
  EXPECT_FALSE(barrier.stalled());
  pool.ParallelFor(2, [&](int64_t task, int) {
    if (task == 1) std::this_thread::sleep_for(3 * SpinBarrier::kStallAfter);
    barrier.Wait(static_cast<int>(task));
  });
  EXPECT_TRUE(barrier.stalled());
}

}  // namespace
}  // namespace sigma
