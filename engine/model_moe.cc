// Model's FFN in the loops (RunLayer's) form: the dense gated FFN, or a layer of experts
// (ModelConfig::moe) run expert by expert on the rows routed to each (engine/moe_routing.h). The
// decode team runs the same experts on the same rows with the same kernels
// (model_decode_team.cc), so that both give the same bits.
#include <algorithm>

#include "engine/cpu/matmul.h"
#include "engine/model.h"
#include "engine/model_internal.h"

namespace sigma {

using internal::BiasOrNull;
using internal::FfnActivation;

void Model::Ffn(int64_t layer, int64_t rows) {
  const ModelConfig& c = config();
  const LayerWeights& w = weights_.layers[static_cast<size_t>(layer)];
  if (c.MoeLayer(layer)) return MoeFfn(w, rows);
  const Projection gate_up[] = {{&w.gate_proj, nullptr, ffn_g_.data()},
                                {&w.up_proj, nullptr, ffn_u_.data()}};
  MatMulShared(gate_up, h_.data(), rows, *pool_);
  FfnActivation(c, ffn_g_.data(), ffn_u_.data(), rows * c.intermediate_size);
  MatMul(w.down_proj, ffn_g_.data(), rows, nullptr, h_.data(), *pool_);
}

void Model::MoeFfn(const LayerWeights& w, int64_t rows) {
  const ModelConfig& c = config();
  const MoeConfig& moe = c.moe;
  const int64_t hidden = c.hidden_size;
  ThreadPool& pool = *pool_;
  MatMul(w.router, h_.data(), rows, BiasOrNull(w.router_bias), router_logits_.data(), pool);
  RouteToExperts(moe, router_logits_.data(), rows, &expert_batches_);
  const std::vector<int64_t> offsets = RoutedRowOffsets(expert_batches_);
  // One expert's gated FFN on `m` rows of `x`, its outputs from row `first` of the routed rows.
  const auto run = [&](const FfnWeights& f, int64_t width, const float* x, int64_t m,
                       int64_t first) {
    float* g = &moe_g_[static_cast<size_t>(first * width)];
    float* u = &moe_u_[static_cast<size_t>(first * width)];
    const Projection gate_up[] = {{&f.gate_proj, BiasOrNull(f.gate_bias), g},
                                  {&f.up_proj, BiasOrNull(f.up_bias), u}};
    MatMulShared(gate_up, x, m, pool);
    FfnActivation(c, g, u, m * width);
    MatMul(f.down_proj, g, m, BiasOrNull(f.down_bias), &moe_y_[static_cast<size_t>(first * hidden)],
           pool);
  };
  for (size_t j = 0; j < expert_batches_.size(); ++j) {
    const ExpertBatch& b = expert_batches_[j];
    GatherRows(h_.data(), b, hidden, moe_x_.data());
    run(w.experts[static_cast<size_t>(b.expert)], moe.expert_intermediate_size, moe_x_.data(),
        static_cast<int64_t>(b.rows.size()), offsets[j]);
  }
  const float* shared_y = nullptr;
  if (moe.shared_expert_intermediate_size > 0) {
    run(w.shared_expert, moe.shared_expert_intermediate_size, h_.data(), rows, offsets.back());
    MatMul(w.shared_expert_gate, h_.data(), rows, nullptr, shared_gate_.data(), pool);
    shared_y = &moe_y_[static_cast<size_t>(offsets.back() * hidden)];
  }
  CombineExperts(expert_batches_, moe_y_.data(), rows, hidden, shared_y, shared_gate_.data(),
                 h_.data());
}

}  // namespace sigma
