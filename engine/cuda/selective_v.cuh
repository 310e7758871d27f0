// Selective V fetching on the device (paper App. B.2, DESIGN.md §3): for each token row whose
// context exceeds top_k and each query head, keep the top_k largest scores (radix select on the
// f32 bit pattern; ties keep the later position, as the CPU reference), renormalise their
// probabilities to sum 1 and gather only those V rows (16-byte loads). Expects the scores written
// by LaunchAttentionScores (log2 domain). One CTA of 256 threads per (row, query head); rows with
// row_ctx <= top_k are left to the dense kernels.
// Thread safety: launches on the given stream.
#ifndef SIGMA_ENGINE_CUDA_SELECTIVE_V_CUH_
#define SIGMA_ENGINE_CUDA_SELECTIVE_V_CUH_

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/cuda/decode_attention.cuh"

namespace sigma::cuda {

Status LaunchSelectiveV(const AttentionParams& p, cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_SELECTIVE_V_CUH_
