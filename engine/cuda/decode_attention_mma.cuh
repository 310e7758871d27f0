// The tensor-core decode attention kernel (split kernel of LaunchDecodeAttention for dense rows,
// head_dim 64 and 128, automatic head grouping). Internal to engine/cuda: decode_attention.cu
// chooses it and launches the combine step after it.
//
// One CTA of 4 warps per (split, K head x block of up to 16 query heads, row; MmaBlockHeads).
// The CTA streams tiles of 64 positions (32 where the warps split the block's V heads in two
// groups) -- the K rows and the rows of every V head its query heads use -- through a 3-stage
// cp.async ring in shared memory (16-byte chunks, XOR-swizzled per row so ldmatrix is
// conflict-free); each warp takes 16 positions of a tile: S = Q K^T and O += P V on mma.sync
// m16n8k16 (bf16 operands, f32 accumulation), query heads as the 16 rows of A. Operands that are
// not bf16 in the cache are split in two bf16 halves (q = q_hi + q_lo, p = p_hi + p_lo; two
// products each), so scores and outputs keep about f32 accuracy (relative error ~2^-16) rather
// than bf16's 2^-8: the CPU parity tests hold it to NMSE 1e-9. P V masks P's rows per V head, so
// one accumulator serves every V head of the block. Online softmax per warp; warps merged in
// shared memory; results written as the CUDA-core kernel writes them (WriteResult).
#ifndef SIGMA_ENGINE_CUDA_DECODE_ATTENTION_MMA_CUH_
#define SIGMA_ENGINE_CUDA_DECODE_ATTENTION_MMA_CUH_

#include <cuda_runtime.h>

#include "engine/base/status.h"
#include "engine/cuda/decode_attention.cuh"

namespace sigma::cuda::attention {

// Query heads per CTA of the tensor-core kernel (the 16 rows of an mma A operand).
constexpr int kMmaHeads = 16;

// Query heads per CTA: the group (n_q / n_k, up to kMmaHeads), halved until the ring of 3 tiles
// of K and the block's V heads fits three CTAs per multiprocessor (else, the largest that fits
// one); 0 where the kernel does not serve the layout (head_dim other than 64 or 128, or no ring
// fits in shared memory).
int MmaBlockHeads(int n_q, int n_k, int n_v, int head_dim);

// Whether the tensor-core kernel serves this layout (MmaBlockHeads > 0).
bool MmaSupports(int n_q, int n_k, int n_v, int head_dim);

// Resident CTAs per multiprocessor (1 if the runtime cannot say).
int MmaResidentPerSm(int n_q, int n_k, int n_v, int head_dim);

// Launches the split kernel (dense rows; selective rows return at once).
Status LaunchMmaSplit(const AttentionParams& p, cudaStream_t stream);

}  // namespace sigma::cuda::attention

#endif  // SIGMA_ENGINE_CUDA_DECODE_ATTENTION_MMA_CUH_
