// Routing a batch of token rows to the experts of a mixture-of-experts layer (ModelConfig::moe),
// as transformers' routers do: a softmax over each row's router logits (in f32), the
// experts_per_token most probable experts (ties to the lower index), their probabilities
// renormalised to sum 1 where norm_topk_prob. The rows are then grouped by expert, experts in
// ascending order, so that each expert's FFN runs once on all its rows and every row's output sums
// its experts' contributions in the same order, whatever else is in the batch.
// Thread safety: free functions without shared state.
#ifndef SIGMA_ENGINE_MOE_ROUTING_H_
#define SIGMA_ENGINE_MOE_ROUTING_H_

#include <cstdint>
#include <vector>

#include "engine/loader/model_config.h"

namespace sigma {

// The rows one expert runs (indices into the batch, ascending) and each row's weight.
struct ExpertBatch {
  int64_t expert = 0;
  std::vector<int64_t> rows;
  std::vector<float> weights;
};

// `logits`: [rows, moe.num_experts]. *batches: the experts at least one row chose, ascending,
// each with its rows.
void RouteToExperts(const MoeConfig& moe, const float* logits, int64_t rows,
                    std::vector<ExpertBatch>* batches);

// Where each batch's rows lie in a buffer of all the routed rows, batch after batch: batch j's
// first row is offsets[j]; offsets[batches.size()] is the total (then `extra` rows more, say a
// shared expert's, begin there).
std::vector<int64_t> RoutedRowOffsets(const std::vector<ExpertBatch>& batches);

// The rows of `x` ([.., width]) that `batch` holds, one after another into `out` ([rows, width]):
// an expert's input.
void GatherRows(const float* x, const ExpertBatch& batch, int64_t width, float* out);

// out[r] = sum over the batches that hold row r, in their order, of weight * y[that batch's row]
// ([rows, width] each; y laid out as RoutedRowOffsets has it); then, where shared_y is not null,
// plus sigmoid(shared_gate[r]) * shared_y[r] (Qwen2-MoE's shared expert).
void CombineExperts(const std::vector<ExpertBatch>& batches, const float* y, int64_t rows,
                    int64_t width, const float* shared_y, const float* shared_gate, float* out);

}  // namespace sigma

#endif  // SIGMA_ENGINE_MOE_ROUTING_H_
