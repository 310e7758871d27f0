// DeviceBuffer<T>: an owning, move-only cudaMalloc allocation of `size` elements of T.
// Never zero-initialised (kernels write before they read; tests poison buffers on purpose).
// Thread safety: thread-compatible; the memory is read and written by kernels on any stream.
#ifndef SIGMA_ENGINE_CUDA_DEVICE_BUFFER_CUH_
#define SIGMA_ENGINE_CUDA_DEVICE_BUFFER_CUH_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <utility>

#include "engine/cuda/cuda_check.cuh"

namespace sigma::cuda {

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      Release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { Release(); }

  // Frees any previous allocation; size 0 leaves the buffer empty.
  Status Allocate(size_t size) {
    Release();
    if (size == 0) return Status::Ok();
    void* p = nullptr;
    SIGMA_CUDA_RETURN_IF_ERROR(cudaMalloc(&p, size * sizeof(T)));
    data_ = static_cast<T*>(p);
    size_ = size;
    return Status::Ok();
  }
  // Allocates only when the current buffer is smaller than `size`.
  Status Reserve(size_t size) { return size <= size_ ? Status::Ok() : Allocate(size); }

  Status CopyFromHost(const T* host, size_t count, size_t offset = 0) {
    SIGMA_CHECK(offset + count <= size_, "DeviceBuffer: copy past the end");
    SIGMA_CUDA_RETURN_IF_ERROR(
        cudaMemcpy(data_ + offset, host, count * sizeof(T), cudaMemcpyHostToDevice));
    return Status::Ok();
  }
  Status CopyToHost(T* host, size_t count, size_t offset = 0) const {
    SIGMA_CHECK(offset + count <= size_, "DeviceBuffer: copy past the end");
    SIGMA_CUDA_RETURN_IF_ERROR(
        cudaMemcpy(host, data_ + offset, count * sizeof(T), cudaMemcpyDeviceToHost));
    return Status::Ok();
  }

  T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }
  bool empty() const { return size_ == 0; }

 private:
  void Release() {
    if (data_ != nullptr) SIGMA_CUDA_WARN(cudaFree(data_));
    data_ = nullptr;
    size_ = 0;
  }
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_DEVICE_BUFFER_CUH_
