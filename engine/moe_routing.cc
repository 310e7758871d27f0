#include "engine/moe_routing.h"

#include <algorithm>
#include <cmath>

#include "engine/cpu/ops.h"

namespace sigma {

void RouteToExperts(const MoeConfig& moe, const float* logits, int64_t rows,
                    std::vector<ExpertBatch>* batches) {
  const auto experts = static_cast<size_t>(moe.num_experts);
  const auto k = static_cast<size_t>(moe.experts_per_token);
  // [expert] -> its rows and weights, filled in row order.
  std::vector<ExpertBatch> by_expert(experts);
  std::vector<float> probs(experts);
  std::vector<size_t> order(experts);
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = logits + static_cast<size_t>(r) * experts;
    const float max = *std::max_element(x, x + experts);
    float sum = 0;
    for (size_t e = 0; e < experts; ++e) {
      probs[e] = std::exp(x[e] - max);
      sum += probs[e];
    }
    for (float& p : probs) p /= sum;
    for (size_t e = 0; e < experts; ++e) order[e] = e;
    // A NaN (a broken model's logits) sorts below every probability, so that the order stays a
    // strict weak one; its weight stays NaN, and so do the row's outputs.
    const auto key = [&](size_t e) { return std::isnan(probs[e]) ? -1.0f : probs[e]; };
    std::partial_sort(
        order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
        [&](size_t a, size_t b) { return key(a) > key(b) || (key(a) == key(b) && a < b); });
    float top_sum = 0;
    for (size_t i = 0; i < k; ++i) top_sum += probs[order[i]];
    for (size_t i = 0; i < k; ++i) {
      const size_t e = order[i];
      by_expert[e].rows.push_back(r);
      by_expert[e].weights.push_back(moe.norm_topk_prob ? probs[e] / top_sum : probs[e]);
    }
  }
  size_t used = 0;
  for (size_t e = 0; e < experts; ++e) {
    if (by_expert[e].rows.empty()) continue;
    if (batches->size() <= used) batches->emplace_back();
    ExpertBatch& b = (*batches)[used++];
    b.expert = static_cast<int64_t>(e);
    b.rows.swap(by_expert[e].rows);
    b.weights.swap(by_expert[e].weights);
  }
  batches->resize(used);
}

std::vector<int64_t> RoutedRowOffsets(const std::vector<ExpertBatch>& batches) {
  std::vector<int64_t> offsets(batches.size() + 1, 0);
  for (size_t j = 0; j < batches.size(); ++j) {
    offsets[j + 1] = offsets[j] + static_cast<int64_t>(batches[j].rows.size());
  }
  return offsets;
}

void GatherRows(const float* x, const ExpertBatch& batch, int64_t width, float* out) {
  for (size_t i = 0; i < batch.rows.size(); ++i) {
    std::copy_n(x + batch.rows[i] * width, width, out + static_cast<int64_t>(i) * width);
  }
}

void CombineExperts(const std::vector<ExpertBatch>& batches, const float* y, int64_t rows,
                    int64_t width, const float* shared_y, const float* shared_gate, float* out) {
  std::fill(out, out + rows * width, 0.0f);
  int64_t routed = 0;
  for (const ExpertBatch& b : batches) {
    for (size_t i = 0; i < b.rows.size(); ++i, ++routed) {
      AddScaledInPlace(out + b.rows[i] * width, y + routed * width, b.weights[i], width);
    }
  }
  if (shared_y == nullptr) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float gate = 1.0f / (1.0f + std::exp(-shared_gate[r]));
    AddScaledInPlace(out + r * width, shared_y + r * width, gate, width);
  }
}

}  // namespace sigma
