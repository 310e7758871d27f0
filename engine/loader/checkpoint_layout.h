// How a checkpoint folder's safetensors hold the tensors BindWeights expects (ExpectedTensors): one
// file tensor each, under the same name, except Granite MoE's, which stacks a layer's experts:
//   block_sparse_moe.input_linear   [experts, 2 * width, hidden]  each expert's gate rows, then
//                                                                 its up rows
//   block_sparse_moe.output_linear  [experts, hidden, width]      each expert's down matrix
//   block_sparse_moe.router.layer   the router
// which BindWeights sees as block_sparse_moe.experts.E.gate_proj / up_proj / down_proj and
// block_sparse_moe.gate (Mixtral's names, as its GGUF's experts read back). Readers split the
// stacked tensors into those views (SafetensorsWeightSource::ApplyLayout); writers (make-model,
// convert to a folder) write the pieces in a file tensor's order.
// Thread safety: free functions without shared state.
#ifndef SIGMA_ENGINE_LOADER_CHECKPOINT_LAYOUT_H_
#define SIGMA_ENGINE_LOADER_CHECKPOINT_LAYOUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/loader/model_config.h"
#include "engine/loader/model_weights.h"

namespace sigma {

// One tensor of the file: the expected tensors it holds, in order, each a run of its rows (all
// of them along its first dimensions; one piece of the same name and shape for most).
struct FileTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<ExpectedTensor> pieces;
  bool stacked() const { return pieces.size() != 1 || pieces[0].name != name; }
};

// The file tensors of a checkpoint of `config`, in ExpectedTensors' order of their first pieces.
std::vector<FileTensor> CheckpointLayout(const ModelConfig& config);

}  // namespace sigma

#endif  // SIGMA_ENGINE_LOADER_CHECKPOINT_LAYOUT_H_
