// LargeBuffer: an anonymous, zero-filled mapping for data the kernels stream every step (the GEMV
// tile copies of the weights, the KV cache, the read-bandwidth probe), optionally on transparent
// huge pages.
//
// Why huge pages: on the 2-core KVM guest the project is measured on, each 4 KiB page a stream
// enters costs a two-level page walk, and the hardware prefetchers stop at page boundaries. With
// 2 MiB pages (in-process A/B, medians of paired rounds) the probe read 10% faster, the Q4_1 decode
// GEMV over 110 MB of cold tiles 7%, and SmolLM2 decode steps took 0.87-0.90x the time at 512
// positions (tile copies) and 0.92x at 4K positions (the KV cache on top). The start of the buffer
// is 2 MiB aligned either way. Huge pages are advice (madvise MADV_HUGEPAGE): where the kernel does
// not grant them (THP "never", no free 2 MiB page) the buffer is 4 KiB pages and works the same.
//
// Memory is committed as it is first touched: 4 KiB at a time, or 2 MiB with huge pages, which is
// why a sparsely touched reservation (a KV cache far larger than its sequences) should not ask for
// them. Move-only; the bytes stay in place until it is destroyed.
#ifndef SIGMA_ENGINE_BASE_LARGE_BUFFER_H_
#define SIGMA_ENGINE_BASE_LARGE_BUFFER_H_

#include <cstddef>
#include <cstdint>

#include "engine/base/status.h"

namespace sigma {

class LargeBuffer {
 public:
  static constexpr size_t kHugePageBytes = size_t{2} << 20;

  // `bytes` zero-filled bytes, reserved (not committed); 0 gives an empty buffer (null data()).
  static StatusOr<LargeBuffer> Allocate(size_t bytes, bool huge_pages);

  LargeBuffer() = default;
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;
  ~LargeBuffer();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

  // Commits bytes [offset, offset + bytes) now, from this thread (MADV_POPULATE_WRITE, whole pages
  // around the range; where the kernel lacks it, a write of the zero already there to each 4 KiB
  // page). The contents stay as they were.
  void Commit(size_t offset, size_t bytes);

 private:
  void Reset();

  uint8_t* data_ = nullptr;  // 2 MiB aligned
  size_t size_ = 0;
  void* mapping_ = nullptr;  // what munmap gets back
  size_t mapping_bytes_ = 0;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_BASE_LARGE_BUFFER_H_
