// DiffQKV decode attention on the device: independent numbers of query, key and value heads,
// split-KV (flash-decoding) with a combine step, optional selective V (per query head top-k).
//
// Every token row is one query position attending to the first row_ctx[r] positions of its
// sequence's cache (its own K/V row already appended), so the same kernels serve batched decode
// (one row per sequence) and prefill (consecutive rows of one sequence, each with its causal
// window; K/V are re-read per row, mostly from L2).
//
// Split kernel: one CTA per (split, K head x head block, row) serves up to max_group query heads
// sharing that K head: K is read once for all of them, and each V head once for the query heads
// that map to it. Cache rows are read with 16-byte loads (8 bf16 per lane, head_dim/8 lanes per
// row, 32/(head_dim/8) rows per warp load); q is pre-scaled by scale*log2(e) and softmax runs in
// f32 with exp2 (online: each lane group keeps a running max, sum and accumulator, merged by warp
// shuffles, then across warps in shared memory). With one split the CTA writes the normalised
// output; otherwise it writes (max, sum, unnormalised accumulator) and the combine kernel merges.
//
// Selective V (top_k > 0 and row_ctx > top_k): the split kernel in scores mode writes every score;
// then one CTA per (row, query head) finds the top_k by radix select (ties keep the later
// position, as the CPU), renormalises their probabilities and gathers only those V rows. Rows with
// row_ctx <= top_k take the dense path, so top_k >= context equals dense attention exactly. The
// choice is made on the device from row_ctx, so a captured CUDA graph serves every length.
//
// Dense rows of head_dim 64 and 128 with automatic grouping run on the tensor-core split kernel
// (decode_attention_mma.cuh: 16 query heads per CTA, mma.sync); the rest on the CUDA-core one
// described above. Instances: head_dim 16, 64, 128; bf16 cache; max_group 2, 4, 8.
// Thread safety: launches on the given stream; the workspace belongs to one launch at a time.
#ifndef SIGMA_ENGINE_CUDA_DECODE_ATTENTION_CUH_
#define SIGMA_ENGINE_CUDA_DECODE_ATTENTION_CUH_

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/base/status.h"
#include "engine/cuda/act_type.cuh"

namespace sigma::cuda {

struct AttentionParams {
  const float* q = nullptr;        // [rows][q_stride], head h at h * head_dim, RoPE applied
  int64_t q_stride = 0;
  const int32_t* row_seq = nullptr;  // [rows] cache slot
  const int32_t* row_ctx = nullptr;  // [rows] positions attended, >= 1
  const __nv_bfloat16* k_cache = nullptr;  // [seqs][n_k][capacity][head_dim] (one layer)
  const __nv_bfloat16* v_cache = nullptr;  // [seqs][n_v][capacity][head_dim]
  int64_t capacity = 0;
  int rows = 0;
  int n_q = 0;
  int n_k = 0;
  int n_v = 0;
  int head_dim = 0;
  float scale = 0.0f;     // usually 1/sqrt(head_dim)
  int num_splits = 1;     // CTAs along the context; 1 = no combine step
  int max_group = 0;      // query heads per CTA (2, 4 or 8); 0 = smallest that holds n_q/n_k
  int top_k = 0;          // selective V; 0 = dense
  void* out = nullptr;    // [rows][n_q * head_dim] of out_type
  ActType out_type = ActType::kF32;
  float* part_acc = nullptr;  // num_splits > 1: [rows][n_q][num_splits][head_dim]
  float* part_ml = nullptr;   // num_splits > 1: [rows][n_q][num_splits][2] (max, sum)
  float* scores = nullptr;    // top_k > 0: [rows][n_q][scores_stride] (log2 domain)
  int64_t scores_stride = 0;  // >= max row_ctx
  int32_t* sel_idx = nullptr;  // top_k > 0: [rows][n_q][top_k]
};

// Whether head_dim has kernels.
bool DecodeAttentionSupports(int head_dim);

// The max_group the CUDA-core kernel uses for these params (resolves 0).
int ResolveMaxGroup(int n_q, int n_k, int max_group);

// Whether dense rows of this layout run on the tensor-core kernel (decode_attention_mma.cuh):
// max_group 0 (automatic), head_dim 64 or 128, and its ring fits in shared memory. Otherwise,
// and for the scores of selective rows, the CUDA-core kernel.
bool AttentionUsesMma(int n_q, int n_k, int n_v, int head_dim, int max_group);

// Query heads per CTA of the dense split kernel (16 on the tensor cores, else max_group).
int AttentionHeadsPerCta(int n_q, int n_k, int n_v, int head_dim, int max_group);

// CTAs of the dense split kernel resident on the whole device at once (occupancy per
// multiprocessor, asked once per head layout, times sm_count).
int AttentionResidentCtas(int n_q, int n_k, int n_v, int head_dim, int max_group, int sm_count);

// Splits for a grid of ctas_per_split CTAs per split and a longest context of max_ctx: the count
// that minimises waves x (positions per CTA + a fixed overhead) over resident_ctas slots, at
// least kMinSplitPositions positions each, capped by max_splits. Depends on max_ctx only through
// its power-of-two bucket, so graphs captured for one length serve the bucket.
int ChooseSplits(int64_t ctas_per_split, int64_t max_ctx, int resident_ctas, int max_splits);

// ChooseSplits for `rows` rows of this layout on a device of sm_count multiprocessors.
int AttentionSplits(int rows, int n_q, int n_k, int n_v, int head_dim, int max_group, int64_t max_ctx,
                    int sm_count, int max_splits);

// Floats of part_acc + part_ml for these params.
int64_t AttentionPartialFloats(int rows, int n_q, int num_splits, int head_dim);

Status LaunchDecodeAttention(const AttentionParams& p, cudaStream_t stream);

// The split kernel in scores mode only (selective rows): scores[r][h][j] for j < row_ctx[r].
Status LaunchAttentionScores(const AttentionParams& p, cudaStream_t stream);

}  // namespace sigma::cuda

#endif  // SIGMA_ENGINE_CUDA_DECODE_ATTENTION_CUH_
