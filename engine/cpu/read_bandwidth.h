// ReadBandwidthProbe: the machine's streaming read bandwidth, measured the way the speed figures
// need it (sigma-eval bench, tests/bench): every thread of a pool sums contiguous 1 MiB pieces of a
// buffer far larger than the last-level cache, and a measurement is the best of a few passes. The
// buffer is on huge pages where the kernel grants them, as the GEMV tiles and the KV cache are
// (LargeBuffer), so a kernel is graded against a stream that pays the same page walks.
//
// The efficiency targets ("x% of the measured read bandwidth") compare a kernel against this. On
// a shared host the bandwidth drifts by tens of percent within minutes (2-core VM: 22.7-36 GB/s in
// one session), so a figure taken once per process can be minutes and a different load away from
// the kernel it grades; callers measure right before and right after what they time and use the
// mean (ReadBandwidthBracket).
// Thread safety: Measure must not run concurrently on one probe (it uses the pool).
#ifndef SIGMA_ENGINE_CPU_READ_BANDWIDTH_H_
#define SIGMA_ENGINE_CPU_READ_BANDWIDTH_H_

#include <cstddef>
#include <cstdint>

#include "engine/base/large_buffer.h"
#include "engine/cpu/thread_pool.h"

namespace sigma {

class ReadBandwidthProbe {
 public:
  static constexpr size_t kDefaultBytes = size_t{256} << 20;  // 8x a 32 MiB L3
  static constexpr size_t kPieceBytes = size_t{1} << 20;

  // Allocates and writes `bytes` (rounded up to whole pieces) once; the pages are resident after.
  explicit ReadBandwidthProbe(size_t bytes = kDefaultBytes);

  // GB/s (1e9 bytes/s) of the best of `passes` (>= 1) passes over the buffer with `pool`.
  double Measure(ThreadPool& pool, int passes = 3);

  size_t bytes() const { return bytes_; }

 private:
  LargeBuffer data_;
  size_t bytes_ = 0;
};

// The bandwidth around a timed section: one measurement when constructed (right before the
// section), another in End() (right after it); End() returns their mean in GB/s.
class ReadBandwidthBracket {
 public:
  ReadBandwidthBracket(ReadBandwidthProbe& probe, ThreadPool& pool, int passes = 2);
  double End();

 private:
  ReadBandwidthProbe& probe_;
  ThreadPool& pool_;
  int passes_;
  double before_;
};

// Sum of `bytes` (a multiple of 256, 64-byte aligned) read as floats with the widest vector loads
// the CPU has (AVX-512 or AVX); returned so the loads cannot be elided.
float SumAsFloats(const uint8_t* p, size_t bytes);

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_READ_BANDWIDTH_H_
