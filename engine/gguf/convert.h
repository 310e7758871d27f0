// Checkpoint conversion between Hugging Face folders and GGUF files (`sigma-eval convert`).
//
// Folder -> GGUF: config.json becomes metadata (AddModelConfigToGguf: llama.* / qwen2.* keys, Sigma
// keys in the sigma. namespace), every tensor goes under its GGUF name (HfToGgufTensorName) with
// the llama Q/K row permutation applied as llama.cpp's converter does (AddHfTensorToGguf). Matrices
// take the requested type (f32, f16, bf16, or a block type quantized by engine/gguf/quantize.h;
// default: as stored; a matrix whose rows are not whole blocks of it falls back to q8_0 or f16);
// 1-D tensors (norms, biases) are always f32, as llama.cpp keeps them. A tokenizer.json next to the
// weights is embedded whole (kGgufHfTokenizerKey, and its tokenizer_config.json under
// kGgufHfTokenizerConfigKey), which Tokenizer::FromGguf reads back.
//
// GGUF -> folder: config.json (ModelConfig::ToJson) + model.safetensors with HF names, the
// permutation undone, quantized tensors dequantized to f32 (or the requested float type); float
// tensors keep their type unless one is requested. An embedded tokenizer.json (and
// tokenizer_config.json) is written back as it was; a tokenizer.ggml.* vocabulary is written as
// those files (Tokenizer::ToHfFiles: byte-level BPE, or SentencePiece with merges from its token
// scores).
//
// Memory: the GGUF side is assembled in memory (GgufWriter), so a conversion needs about twice the
// output size in RAM; the folder side streams tensor by tensor.
// Thread safety: free functions without shared state.
#ifndef SIGMA_ENGINE_GGUF_CONVERT_H_
#define SIGMA_ENGINE_GGUF_CONVERT_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/dtype.h"
#include "engine/gguf/quant_mix.h"

namespace sigma {

struct ConvertOptions {
  // f32, f16, bf16, or (GGUF output only) q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k,
  // q6_k, iq4_nl, iq4_xs (every matrix that type), or mxfp4 (a mixture's experts only, the rest as
  // stored); empty: as stored.
  std::optional<DType> type;
  // (GGUF output only) llama-quantize's mix of K-quants instead of one type (engine/gguf/
  // quant_mix.h); `type` is then its base type.
  std::optional<QuantMix> mix;
};

// "f32" / "f16" / "bf16" / "q8_0" / "q4_0" / "q4_1" / "q5_0" / "q5_1" / "q2_k" ... "q6_k" /
// "iq4_nl" / "iq4_xs" / "mxfp4", or a mix "q3_k_s" ... "q5_k_m" (QuantMixFromName) -> the options
// that write it; INVALID_ARGUMENT naming `flag` otherwise.
StatusOr<ConvertOptions> ParseConvertType(std::string_view text, std::string_view flag);

// Hugging Face checkpoint folder -> one .gguf file.
Status ConvertCheckpointToGguf(const std::string& in_dir, const std::string& out_path,
                               const ConvertOptions& options);

// .gguf file -> checkpoint folder (created when missing). `notes`, when not null, receives a line
// for each part of the GGUF the folder could not hold (a vocabulary without a tokenizer.json form).
Status ConvertGgufToCheckpoint(const std::string& in_path, const std::string& out_dir,
                               const ConvertOptions& options,
                               std::vector<std::string>* notes = nullptr);

// Picks the direction from `in`: a folder converts to GGUF, a file to a folder (`notes` as there).
Status Convert(const std::string& in, const std::string& out, const ConvertOptions& options,
               std::vector<std::string>* notes = nullptr);

// Encodes n floats as f32, f16 or bf16 little-endian bytes appended to *out.
void EncodeFloats(DType dtype, const float* x, int64_t n, std::string* out);

}  // namespace sigma

#endif  // SIGMA_ENGINE_GGUF_CONVERT_H_
