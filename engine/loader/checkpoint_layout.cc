#include "engine/loader/checkpoint_layout.h"

#include <map>

namespace sigma {
namespace {

// The file tensor (after "model.layers.N.block_sparse_moe.") that holds Granite MoE's expected
// tensor `rest` (after the same).
std::string GraniteMoeFileTensor(const std::string& rest) {
  if (rest == "gate.weight") return "router.layer.weight";
  if (!rest.starts_with("experts.")) return "";
  if (rest.ends_with(".down_proj.weight")) return "output_linear.weight";
  return "input_linear.weight";
}

}  // namespace

std::vector<FileTensor> CheckpointLayout(const ModelConfig& config) {
  std::vector<FileTensor> out;
  const bool granite_moe = config.arch == Architecture::kGraniteMoe;
  // Each expected tensor joins its file tensor's pieces in ExpectedTensors' order.
  std::map<std::string, size_t> stacks;  // file tensor name -> index in out
  for (ExpectedTensor& e : ExpectedTensors(config)) {
    const size_t block = e.name.find(".block_sparse_moe.");
    if (!granite_moe || block == std::string::npos) {
      out.push_back({e.name, e.shape, {e}});
      continue;
    }
    const std::string prefix = e.name.substr(0, block + 18);  // "model.layers.N.block_sparse_moe."
    const std::string file = prefix + GraniteMoeFileTensor(e.name.substr(prefix.size()));
    auto [it, added] = stacks.emplace(file, out.size());
    if (added) out.push_back({file, {}, {}});
    out[it->second].pieces.push_back(std::move(e));
  }
  // Shapes: a router keeps its own; a stack is [experts, rows of an expert's pieces, cols], and
  // ExpectedTensors lists an expert's gate, up and down together, which is input_linear's order.
  for (FileTensor& f : out) {
    if (!f.shape.empty()) continue;
    if (f.pieces.size() == 1) {
      f.shape = f.pieces[0].shape;
      continue;
    }
    const int64_t experts = config.moe.num_experts;
    const auto per_expert = static_cast<int64_t>(f.pieces.size()) / experts;
    f.shape = {experts, f.pieces[0].shape[0] * per_expert, f.pieces[0].shape[1]};
  }
  return out;
}

}  // namespace sigma
