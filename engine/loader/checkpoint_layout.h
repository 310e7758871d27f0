// How a checkpoint folder's safetensors hold the tensors BindWeights expects (ExpectedTensors): one
// file tensor each, under the same name, except where a family stacks a layer's experts:
// - Granite MoE:
//     block_sparse_moe.input_linear   [experts, 2 * width, hidden]  each expert's gate rows, then
//                                                                   its up rows
//     block_sparse_moe.output_linear  [experts, hidden, width]      each expert's down matrix
//     block_sparse_moe.router.layer   the router
//   which BindWeights sees as block_sparse_moe.experts.E.gate_proj / up_proj / down_proj and
//   block_sparse_moe.gate (Mixtral's names, as its GGUF's experts read back);
// - gpt-oss, each expert's matrices transposed (transformers multiplies x by them) and its gate
//   and up interleaved (gate in the even columns, up in the odd ones):
//     mlp.experts.gate_up_proj       [experts, hidden, 2 * width]
//     mlp.experts.gate_up_proj_bias  [experts, 2 * width]
//     mlp.experts.down_proj          [experts, width, hidden]
//     mlp.experts.down_proj_bias     [experts, hidden]
//   seen as mlp.experts.E.gate_proj / up_proj / down_proj (.weight and .bias). gpt-oss's released
//   checkpoints (config.json's quantization_config quant_method "mxfp4") hold the two matrix
//   stacks in MXFP4 instead, untransposed, as transformers' mxfp4 quantizer reads them:
//     mlp.experts.gate_up_proj_blocks  [experts, 2 * width, hidden / 32, 16]  U8, gate and up
//     mlp.experts.gate_up_proj_scales  [experts, 2 * width, hidden / 32]      U8  rows interleaved
//     mlp.experts.down_proj_blocks     [experts, hidden, width / 32, 16]
//     mlp.experts.down_proj_scales     [experts, hidden, width / 32]
//   a block's 32 E2M1 values two a byte (element 2j in the low nibble of byte j, 2j + 1 in the
//   high one) and its E8M0 exponent: GGUF's MXFP4 values (quant_blocks.h), in another order.
// Readers show the stacked tensors as those pieces (SafetensorsWeightSource::ApplyLayout: views of
// row runs, copies of transposed ones); writers (make-model, convert to a folder) lay the pieces
// out in a file tensor's order.
// Thread safety: free functions without shared state.
#ifndef SIGMA_ENGINE_LOADER_CHECKPOINT_LAYOUT_H_
#define SIGMA_ENGINE_LOADER_CHECKPOINT_LAYOUT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/loader/model_config.h"
#include "engine/loader/model_weights.h"

namespace sigma {

// One tensor of the file: the expected tensors it holds, in order, each a run of its rows (all
// of them along its first dimensions; one piece of the same name and shape for most). Where
// `transposed`, the file holds shape[0] experts' blocks one after another, each of the P =
// pieces / experts pieces of one expert (all of one shape, [rows, cols], or [rows] as cols 1):
// [cols, rows * P], element (c, r * P + p) being piece p's element (r, c).
struct FileTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<ExpectedTensor> pieces;
  bool transposed = false;
  bool stacked() const { return pieces.size() != 1 || pieces[0].name != name; }
};

// The file tensors of a checkpoint of `config`, in ExpectedTensors' order of their first pieces.
std::vector<FileTensor> CheckpointLayout(const ModelConfig& config);

// For a transposed file tensor whose elements are `elem` bytes: piece `index` of f.pieces,
// row-major, out of the file tensor's bytes `file` into `piece`, or into `file` from `piece`.
void CopyPieceOut(const FileTensor& f, size_t index, size_t elem, const uint8_t* file,
                  uint8_t* piece);
void CopyPieceIn(const FileTensor& f, size_t index, size_t elem, const uint8_t* piece,
                 uint8_t* file);

// The shapes of a transposed matrix stack's MXFP4 form (above): *blocks [experts, rows of an
// expert, cols / 32, 16], *scales [experts, rows of an expert, cols / 32]; false where the pieces'
// cols are not whole blocks of 32.
bool Mxfp4StackShapes(const FileTensor& f, std::vector<int64_t>* blocks,
                      std::vector<int64_t>* scales);

// Piece `index` of f.pieces as GGUF MXFP4 rows ([rows][cols / 32 blocks of 17 bytes]) out of the
// MXFP4 form's `blocks` and `scales`, or into them.
void Mxfp4PieceOut(const FileTensor& f, size_t index, const uint8_t* blocks, const uint8_t* scales,
                   uint8_t* piece);
void Mxfp4PieceIn(const FileTensor& f, size_t index, const uint8_t* piece, uint8_t* blocks,
                  uint8_t* scales);

}  // namespace sigma

#endif  // SIGMA_ENGINE_LOADER_CHECKPOINT_LAYOUT_H_
