#include "engine/cpu/thread_pool.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/base/check.h"

namespace sigma {
namespace {

// Spin-wait body. No PAUSE: under a hypervisor with pause-loop exiting (the 2-core EPYC VMs we
// measure on), PAUSE in a tight loop makes the vCPU exit and get descheduled, which turned a
// 240 us bf16 GEMV into 2 ms with two threads. A compiler barrier keeps the loop honest.
inline void CpuRelax() { asm volatile("" ::: "memory"); }

}  // namespace

// Jobs are published in one 64-bit word, state = generation << 32 | next task index. Anyone (the
// caller or a worker) claims a task with a compare-and-swap that also checks the generation, so a
// worker that wakes late can never take a task of a newer job, and the caller waits only for
// claimed tasks to finish (`done`), never for every worker to check in: on a loaded or virtualised
// machine a worker may not get a CPU for a while, and the caller then simply runs the tasks itself.
// Workers spin (without PAUSE, see CpuRelax) for about 200 us before sleeping on the condvar.
struct ThreadPool::Impl {
  int num_threads = 1;
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<bool> stop{false};
  std::atomic<int> sleepers{0};

  std::atomic<uint64_t> state{0};
  const std::function<void(int64_t, int)>* fn = nullptr;
  std::atomic<int64_t> num_tasks{0};
  std::atomic<int64_t> done{0};

  static uint32_t Generation(uint64_t s) { return static_cast<uint32_t>(s >> 32); }
  // A task index no job reaches (num_tasks < 2^32 - 1): a generation no task may be claimed of.
  static constexpr uint64_t kClosed = 0xffffffffu;

  // Runs tasks of generation `gen` until none is left to claim.
  void Work(uint32_t gen, int worker) {
    uint64_t s = state.load(std::memory_order_acquire);
    for (;;) {
      if (Generation(s) != gen) return;
      const int64_t task = static_cast<int64_t>(s & 0xffffffffu);
      if (task >= num_tasks.load(std::memory_order_acquire)) return;
      if (!state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        continue;
      }
      (*fn)(task, worker);
      done.fetch_add(1, std::memory_order_acq_rel);
      s = state.load(std::memory_order_acquire);
    }
  }

  // Waits for a generation other than `seen`; returns it, or nothing when stopping.
  bool WaitForJob(uint32_t seen, uint32_t* gen) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
    for (int spin = 0;; ++spin) {
      if (stop.load(std::memory_order_acquire)) return false;
      *gen = Generation(state.load(std::memory_order_acquire));
      if (*gen != seen) return true;
      CpuRelax();
      if ((spin & 1023) == 1023 && std::chrono::steady_clock::now() > deadline) break;
    }
    std::unique_lock<std::mutex> lock(mutex);
    sleepers.fetch_add(1);  // seq_cst: pairs with the caller's store of state
    wake.wait(lock, [&] {
      return stop.load() || Generation(state.load()) != seen;
    });
    sleepers.fetch_sub(1, std::memory_order_acq_rel);
    *gen = Generation(state.load(std::memory_order_acquire));
    return !stop.load();
  }

  void WorkerLoop(int worker) {
    uint32_t seen = 0;
    uint32_t gen = 0;
    while (WaitForJob(seen, &gen)) {
      seen = gen;
      Work(gen, worker);
    }
  }
};

ThreadPool::ThreadPool(int num_threads) : impl_(new Impl) {
  if (num_threads <= 0) {
    num_threads = static_cast<int>(std::thread::hardware_concurrency());
    if (num_threads <= 0) num_threads = 1;
  }
  impl_->num_threads = num_threads;
  for (int i = 1; i < num_threads; ++i) {
    impl_->workers.emplace_back([this, i] { impl_->WorkerLoop(i); });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop.store(true);
  }
  impl_->wake.notify_all();
  for (std::thread& t : impl_->workers) t.join();
  delete impl_;
}

int ThreadPool::size() const { return impl_->num_threads; }

void ThreadPool::ParallelFor(int64_t num_tasks, const std::function<void(int64_t, int)>& fn) {
  if (num_tasks <= 0) return;
  if (impl_->num_threads == 1 || num_tasks == 1) {
    for (int64_t t = 0; t < num_tasks; ++t) fn(t, 0);
    return;
  }
  SIGMA_CHECK(num_tasks < static_cast<int64_t>(Impl::kClosed), "ParallelFor: too many tasks ",
              num_tasks);
  SIGMA_CHECK(impl_->fn == nullptr, "ParallelFor called concurrently or recursively");
  // The previous job is complete (every claimed task finished), but a worker may still be in
  // Work() for it, between reading the state and reading num_tasks: its claim must fail whatever
  // num_tasks it then reads. Its generation's next index is made kClosed first (the release store
  // of num_tasks below orders it before anything read there), so a stale state never compares equal
  // and the closed index is past any count. (Without it, a late worker that read the new, larger
  // count could claim index old_count of the old generation, run that task of the new job, and
  // count one finish too many: the caller then waited forever. Seen once, as a decode A/B run
  // that hung after ~15 minutes; ShortLoopsOfChangingSizesRunEachTaskOnce hits it in seconds.)
  const uint32_t old_gen = Impl::Generation(impl_->state.load(std::memory_order_relaxed));
  impl_->state.store(static_cast<uint64_t>(old_gen) << 32 | Impl::kClosed);
  impl_->fn = &fn;
  impl_->done.store(0, std::memory_order_relaxed);
  impl_->num_tasks.store(num_tasks, std::memory_order_release);
  const uint32_t gen = old_gen + 1;
  // seq_cst store then load: either the worker sees the new state before it sleeps, or we see it
  // counted as a sleeper and wake it.
  impl_->state.store(static_cast<uint64_t>(gen) << 32);
  if (impl_->sleepers.load() > 0) {
    { std::lock_guard<std::mutex> lock(impl_->mutex); }
    impl_->wake.notify_all();
  }
  impl_->Work(gen, 0);
  while (impl_->done.load(std::memory_order_acquire) != num_tasks) CpuRelax();
  impl_->fn = nullptr;
}

int AvailableCpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  }
  return std::max(1, CPU_COUNT(&set));
}

}  // namespace sigma
