#include "engine/base/large_buffer.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/base/check.h"

namespace sigma {

StatusOr<LargeBuffer> LargeBuffer::Allocate(size_t bytes, bool huge_pages) {
  LargeBuffer buffer;
  if (bytes == 0) return buffer;
  // Whole huge pages, plus one to align the start within.
  const size_t rounded = (bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  const size_t mapping_bytes = rounded + kHugePageBytes;
  if (rounded < bytes || mapping_bytes < rounded) {
    return ResourceExhaustedError("cannot reserve ", bytes, " bytes: too large");
  }
  void* p = ::mmap(nullptr, mapping_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return ResourceExhaustedError("cannot reserve ", bytes >> 20, " MiB: ", std::strerror(errno));
  }
  const uintptr_t start = reinterpret_cast<uintptr_t>(p);
  buffer.mapping_ = p;
  buffer.mapping_bytes_ = mapping_bytes;
  const uintptr_t aligned = (start + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
  buffer.data_ = reinterpret_cast<uint8_t*>(aligned);
  buffer.size_ = bytes;
  // Advice: refused (EINVAL without THP in the kernel), the pages are 4 KiB and all else the same.
  if (huge_pages) (void)::madvise(buffer.data_, rounded, MADV_HUGEPAGE);
  return buffer;
}

void LargeBuffer::Commit(size_t offset, size_t bytes) {
  if (bytes == 0) return;
  SIGMA_CHECK(offset <= size_ && bytes <= size_ - offset, "LargeBuffer::Commit: [", offset, ", +",
              bytes, ") past ", size_, " bytes");
  constexpr uintptr_t kPage = 4096;
  const uintptr_t first = reinterpret_cast<uintptr_t>(data_ + offset) / kPage * kPage;
  const uintptr_t end = reinterpret_cast<uintptr_t>(data_ + offset + bytes);
#ifdef MADV_POPULATE_WRITE
  if (::madvise(reinterpret_cast<void*>(first), end - first, MADV_POPULATE_WRITE) == 0) return;
#endif
  // An atomic no-op write per page: it commits the page and loses no other thread's write.
  for (uintptr_t page = first; page < end; page += kPage) {
    __atomic_fetch_or(reinterpret_cast<uint8_t*>(page), uint8_t{0}, __ATOMIC_RELAXED);
  }
}

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept { *this = std::move(other); }

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_bytes_ = std::exchange(other.mapping_bytes_, 0);
  }
  return *this;
}

LargeBuffer::~LargeBuffer() { Reset(); }

void LargeBuffer::Reset() {
  if (mapping_ != nullptr) ::munmap(mapping_, mapping_bytes_);
  mapping_ = nullptr;
  mapping_bytes_ = 0;
  data_ = nullptr;
  size_ = 0;
}

}  // namespace sigma
