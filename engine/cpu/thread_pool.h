// ThreadPool: a fixed set of workers for data-parallel loops in the forward pass.
//
// ParallelFor(n, fn) runs fn(task, worker) for task in [0, n) across the caller and the workers and
// returns when all are done. Tasks are claimed dynamically (atomic counter), so uneven tasks balance.
// Workers spin briefly before sleeping, because a decode step issues hundreds of short loops.
// The calling thread takes part as worker 0, so a pool of size 1 has no extra threads.
// Threads are not pinned to CPUs: pinning worker w to CPU w (2-core VM, SmolLM2 decode at 512
// positions, fast minutes, alternating with unpinned over 10 rounds) ran 0.994x as fast.
// Thread safety: ParallelFor must not be called concurrently or recursively on one pool.
#ifndef SIGMA_ENGINE_CPU_THREAD_POOL_H_
#define SIGMA_ENGINE_CPU_THREAD_POOL_H_

#include <cstdint>
#include <functional>

namespace sigma {

class ThreadPool {
 public:
  // num_threads <= 0 means all online cores.
  explicit ThreadPool(int num_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;

  // fn(task_index, worker_index), worker_index in [0, size()).
  void ParallelFor(int64_t num_tasks, const std::function<void(int64_t, int)>& fn);

 private:
  struct Impl;
  Impl* impl_;
};

// CPUs this process may run on (its affinity mask; at least 1).
int AvailableCpus();

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_THREAD_POOL_H_
