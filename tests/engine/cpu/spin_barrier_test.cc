#include "engine/cpu/spin_barrier.h"

#include <gtest/gtest.h>

#include <atomic>
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

}  // namespace
}  // namespace sigma
