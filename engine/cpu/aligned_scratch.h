// AlignedScratch: a growable per-call scratch buffer whose data starts on a 64-byte cache line.
//
// Vector loads from std::vector storage (16-byte aligned by malloc) split across cache lines half
// the time for 32-byte loads: SmolLM2's score pass (three heads' prepared queries read by every
// FMA) took 4.2 us per 512 rows with its queries at 16 mod 32 and 3.7 us at a line start.
// Get() does not keep the contents when it grows. Not thread-safe; meant as thread_local.
#ifndef SIGMA_ENGINE_CPU_ALIGNED_SCRATCH_H_
#define SIGMA_ENGINE_CPU_ALIGNED_SCRATCH_H_

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace sigma {

template <class T>
class AlignedScratch {
  static_assert(std::is_trivially_default_constructible_v<T> &&
                std::is_trivially_destructible_v<T>);

 public:
  static constexpr size_t kAlignment = 64;

  // At least n elements, uninitialised.
  T* Get(size_t n) {
    if (n > capacity_) {
      data_.reset(static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t{kAlignment})));
      capacity_ = n;
    }
    return data_.get();
  }

 private:
  struct Free {
    void operator()(T* p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
  };
  std::unique_ptr<T, Free> data_;
  size_t capacity_ = 0;
};

}  // namespace sigma

#endif  // SIGMA_ENGINE_CPU_ALIGNED_SCRATCH_H_
