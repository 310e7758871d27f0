#include "engine/cpu/thread_pool.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/base/check.h"

namespace sigma {

// Workers wait on a generation counter: ParallelFor publishes the job, bumps the generation and
// works on it too; each worker spins for a short while on the counter before sleeping on the
// condition variable, so back-to-back loops of a decode step don't pay a futex wake each time.
struct ThreadPool::Impl {
  int num_threads = 1;
  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake;
  std::atomic<uint64_t> generation{0};
  std::atomic<bool> stop{false};

  const std::function<void(int64_t, int)>* fn = nullptr;
  int64_t num_tasks = 0;
  std::atomic<int64_t> next_task{0};
  std::atomic<int> active{0};

  void Work(int worker) {
    for (;;) {
      const int64_t task = next_task.fetch_add(1, std::memory_order_relaxed);
      if (task >= num_tasks) break;
      (*fn)(task, worker);
    }
  }

  void WorkerLoop(int worker) {
    uint64_t seen = 0;
    for (;;) {
      uint64_t gen = generation.load(std::memory_order_acquire);
      for (int spin = 0; gen == seen && spin < 20000; ++spin) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
        gen = generation.load(std::memory_order_acquire);
      }
      if (gen == seen) {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] {
          return stop.load() || generation.load(std::memory_order_acquire) != seen;
        });
        gen = generation.load(std::memory_order_acquire);
      }
      if (stop.load()) return;
      seen = gen;
      Work(worker);
      active.fetch_sub(1, std::memory_order_acq_rel);
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
    impl_->generation.fetch_add(1, std::memory_order_acq_rel);
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
  SIGMA_CHECK(impl_->active.load() == 0, "ParallelFor called concurrently or recursively");
  impl_->fn = &fn;
  impl_->num_tasks = num_tasks;
  impl_->next_task.store(0, std::memory_order_relaxed);
  impl_->active.store(impl_->num_threads - 1, std::memory_order_relaxed);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->generation.fetch_add(1, std::memory_order_acq_rel);
  }
  impl_->wake.notify_all();
  impl_->Work(0);
  while (impl_->active.load(std::memory_order_acquire) != 0) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  impl_->fn = nullptr;
}

}  // namespace sigma
