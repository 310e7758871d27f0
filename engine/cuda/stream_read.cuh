// Read-bandwidth probe: every thread streams 16-byte words of a large buffer (persistent grid,
// several loads in flight per thread) and folds them into one word per CTA, so the kernel moves
// only the bytes it reads. Used by the benchmarks as the denominator of "% of bandwidth".
// Thread safety: launches on the given stream.
#ifndef SIGMA_ENGINE_CUDA_STREAM_READ_CUH_
#define SIGMA_ENGINE_CUDA_STREAM_READ_CUH_

#include <cuda_runtime.h>

#include <cstdint>

#include "engine/base/status.h"

namespace sigma::cuda {

// src: n16 16-byte words; sink: one uint32 per CTA (grid = blocks).
Status LaunchStreamRead(const void* src, int64_t n16, uint32_t* sink, int blocks,
                        cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_STREAM_READ_CUH_
