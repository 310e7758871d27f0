#include "engine/loader/checkpoint_layout.h"

#include <cstring>
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

// The same for gpt-oss (after "model.layers.N.mlp."): "" for the router.
std::string GptOssFileTensor(const std::string& rest) {
  if (!rest.starts_with("experts.")) return "";
  const bool down = rest.find(".down_proj.") != std::string::npos;
  const bool bias = rest.ends_with(".bias");
  return StrCat("experts.", down ? "down_proj" : "gate_up_proj", bias ? "_bias" : "");
}

// Where piece p's element (r, c) lies in a transposed file tensor, in elements.
struct TransposedIndex {
  TransposedIndex(const FileTensor& f, size_t index) {
    const auto experts = static_cast<size_t>(f.shape[0]);
    per_expert = static_cast<int64_t>(f.pieces.size() / experts);
    const std::vector<int64_t>& shape = f.pieces[index].shape;
    rows = shape[0];
    cols = shape.size() > 1 ? shape[1] : 1;
    block = static_cast<int64_t>(index) / per_expert * rows * cols * per_expert;
    p = static_cast<int64_t>(index) % per_expert;
  }
  int64_t operator()(int64_t r, int64_t c) const {
    return block + c * rows * per_expert + r * per_expert + p;
  }
  int64_t per_expert, rows, cols, block, p;
};

}  // namespace

std::vector<FileTensor> CheckpointLayout(const ModelConfig& config) {
  std::vector<FileTensor> out;
  const bool granite_moe = config.arch == Architecture::kGraniteMoe;
  const bool gpt_oss = config.arch == Architecture::kGptOss;
  const std::string block_name = granite_moe ? ".block_sparse_moe." : ".mlp.";
  // Each expected tensor joins its file tensor's pieces in ExpectedTensors' order.
  std::map<std::string, size_t> stacks;  // file tensor name -> index in out
  for (ExpectedTensor& e : ExpectedTensors(config)) {
    const size_t block = e.name.find(block_name);
    std::string file;
    if ((granite_moe || gpt_oss) && block != std::string::npos) {
      const std::string prefix = e.name.substr(0, block + block_name.size());
      const std::string rest = e.name.substr(prefix.size());
      const std::string stack = granite_moe ? GraniteMoeFileTensor(rest) : GptOssFileTensor(rest);
      if (!stack.empty()) file = prefix + stack;
    }
    if (file.empty()) {
      out.push_back({e.name, e.shape, {e}});
      continue;
    }
    auto [it, added] = stacks.emplace(file, out.size());
    if (added) out.push_back({file, {}, {}, gpt_oss});
    out[it->second].pieces.push_back(std::move(e));
  }
  // Shapes: a router keeps its own; Granite's stack is [experts, rows of an expert's pieces,
  // cols] (ExpectedTensors lists an expert's gate, up and down together, which is input_linear's
  // order); gpt-oss's [experts, cols, rows of an expert's pieces], or [experts, rows ...] for
  // vectors.
  for (FileTensor& f : out) {
    if (!f.shape.empty()) continue;
    if (f.pieces.size() == 1) {  // a tensor under another name (Granite MoE's router)
      f.shape = f.pieces[0].shape;
      continue;
    }
    const int64_t experts = config.moe.num_experts;
    const auto per_expert = static_cast<int64_t>(f.pieces.size()) / experts;
    const std::vector<int64_t>& piece = f.pieces[0].shape;
    if (piece.size() == 1) {
      f.shape = {experts, piece[0] * per_expert};
    } else if (f.transposed) {
      f.shape = {experts, piece[1], piece[0] * per_expert};
    } else {
      f.shape = {experts, piece[0] * per_expert, piece[1]};
    }
  }
  return out;
}

bool Mxfp4StackShapes(const FileTensor& f, std::vector<int64_t>* blocks,
                      std::vector<int64_t>* scales) {
  if (!f.transposed || f.shape.size() != 3 || f.shape[1] % 32 != 0) return false;
  *scales = {f.shape[0], f.shape[2], f.shape[1] / 32};
  *blocks = {f.shape[0], f.shape[2], f.shape[1] / 32, 16};
  return true;
}

namespace {

// Where piece `index`'s row r lies among its stack's rows (experts' rows one after another).
int64_t Mxfp4StackRow(const FileTensor& f, size_t index, int64_t r) {
  const auto experts = static_cast<size_t>(f.shape[0]);
  const auto per_expert = static_cast<int64_t>(f.pieces.size() / experts);
  const int64_t e = static_cast<int64_t>(index) / per_expert;
  const int64_t p = static_cast<int64_t>(index) % per_expert;
  return e * f.shape[2] + r * per_expert + p;
}

}  // namespace

void Mxfp4PieceOut(const FileTensor& f, size_t index, const uint8_t* blocks, const uint8_t* scales,
                   uint8_t* piece) {
  const int64_t rows = f.pieces[index].shape[0], k = f.pieces[index].shape[1] / 32;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t at = Mxfp4StackRow(f, index, r) * k;
    for (int64_t b = 0; b < k; ++b) {
      uint8_t* out = piece + (r * k + b) * 17;
      const uint8_t* in = blocks + (at + b) * 16;
      out[0] = scales[at + b];
      const auto nibble = [&](int i) { return (in[i / 2] >> (4 * (i % 2))) & 15; };
      for (int j = 0; j < 16; ++j)
        out[1 + j] = static_cast<uint8_t>(nibble(j) | nibble(j + 16) << 4);
    }
  }
}

void Mxfp4PieceIn(const FileTensor& f, size_t index, const uint8_t* piece, uint8_t* blocks,
                  uint8_t* scales) {
  const int64_t rows = f.pieces[index].shape[0], k = f.pieces[index].shape[1] / 32;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t at = Mxfp4StackRow(f, index, r) * k;
    for (int64_t b = 0; b < k; ++b) {
      const uint8_t* in = piece + (r * k + b) * 17;
      uint8_t* out = blocks + (at + b) * 16;
      scales[at + b] = in[0];
      const auto nibble = [&](int i) { return (in[1 + i % 16] >> (4 * (i / 16))) & 15; };
      for (int j = 0; j < 16; ++j) {
        out[j] = static_cast<uint8_t>(nibble(2 * j) | nibble(2 * j + 1) << 4);
      }
    }
  }
}

void CopyPieceOut(const FileTensor& f, size_t index, size_t elem, const uint8_t* file,
                  uint8_t* piece) {
  const TransposedIndex at(f, index);
  for (int64_t r = 0; r < at.rows; ++r) {
    for (int64_t c = 0; c < at.cols; ++c) {
      std::memcpy(piece + static_cast<size_t>(r * at.cols + c) * elem,
                  file + static_cast<size_t>(at(r, c)) * elem, elem);
    }
  }
}

void CopyPieceIn(const FileTensor& f, size_t index, size_t elem, const uint8_t* piece,
                 uint8_t* file) {
  const TransposedIndex at(f, index);
  for (int64_t r = 0; r < at.rows; ++r) {
    for (int64_t c = 0; c < at.cols; ++c) {
      std::memcpy(file + static_cast<size_t>(at(r, c)) * elem,
                  piece + static_cast<size_t>(r * at.cols + c) * elem, elem);
    }
  }
}

}  // namespace sigma
