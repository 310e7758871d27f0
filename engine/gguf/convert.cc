#include "engine/gguf/convert.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/file.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/thread_pool.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_model.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/gguf/quantize.h"
#include "engine/loader/checkpoint_layout.h"
#include "engine/loader/model_weights.h"
#include "engine/loader/safetensors.h"
#include "engine/tokenizer/tokenizer.h"

namespace sigma {
namespace {

// The type a tensor is written in, GGUF side: matrices take the requested type (a mix's choice for
// each) where their rows are whole blocks of it; else, as llama.cpp's quantizer falls back, Q2_K
// and Q3_K to Q4_0, Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0 and IQ4_XS to IQ4_NL where they are
// whole blocks of 32, any type to f16 where not. 1-D tensors (norms, biases) are always f32, as
// llama.cpp's converter writes them: its CPU backend multiplies by a bf16 norm weight nowhere (it
// aborts).
DType GgufTargetType(const ModelConfig& config, const TensorView& view,
                     const ConvertOptions& options) {
  if (view.shape.size() < 2) return DType::kF32;
  if (!options.type.has_value()) return view.dtype;
  DType type = *options.type;
  // MXFP4 is gpt-oss's experts' type (llama.cpp's MXFP4_MOE): the experts' matrices take it, the
  // other tensors keep theirs.
  if (type == DType::kMXFP4) {
    const bool expert = view.name.find(".experts.") != std::string::npos;
    return expert && view.cols() % DTypeBlockSize(type) == 0 ? type : view.dtype;
  }
  // A mixture's routers choose experts by small margins: kept in f32 under a quantized type, as
  // llama.cpp keeps its ffn_gate_inp.
  const bool router = view.name.ends_with(".gate.weight") ||
                      view.name.ends_with(".shared_expert_gate.weight") ||
                      view.name.ends_with(".mlp.router.weight");
  if (router && DTypeIsQuantized(type)) return DType::kF32;
  if (options.mix.has_value()) {
    type = QuantMixType(*options.mix, config, GgufTensorNameOf(config, view.name));
  }
  if (view.cols() % DTypeBlockSize(type) == 0) return type;
  if (view.cols() % 32 != 0) return DType::kF16;
  switch (type) {
    case DType::kQ2_K:
    case DType::kQ3_K: return DType::kQ4_0;
    case DType::kQ4_K: return DType::kQ5_0;
    case DType::kQ5_K: return DType::kQ5_1;
    case DType::kIQ4_XS: return DType::kIQ4_NL;
    default: return DType::kQ8_0;
  }
}

// Folder side: the requested float type, else quantized -> f32 and float types unchanged.
DType FolderTargetType(const TensorView& view, const ConvertOptions& options) {
  if (options.type.has_value()) return *options.type;
  return DTypeIsQuantized(view.dtype) ? DType::kF32 : view.dtype;
}

// The bytes of `view` in `target`, row by row through f32, each value plus `add` (a plain copy
// when the type is kept and nothing added). Pieces of rows on every core, joined in order: IQ4's
// scale search takes ~70 ns a weight (SmolLM2-135M to IQ4_XS: 10 s on one core).
std::string Recode(const TensorView& view, DType target, float add = 0.0f) {
  if (target == view.dtype && add == 0.0f) {
    return std::string(static_cast<const char*>(view.data), view.nbytes);
  }
  static ThreadPool pool;
  const int64_t rows = view.rows();
  const int64_t cols = view.cols();
  const int64_t pieces = std::min<int64_t>(rows, 8 * pool.size());
  std::vector<std::string> encoded(static_cast<size_t>(pieces));
  pool.ParallelFor(pieces, [&](int64_t p, int) {
    std::vector<float> row(static_cast<size_t>(cols));
    std::string& out = encoded[static_cast<size_t>(p)];
    for (int64_t r = rows * p / pieces; r < rows * (p + 1) / pieces; ++r) {
      DequantizeRow(view, r, row.data());
      if (add != 0.0f) {
        for (float& v : row) v += add;
      }
      if (DTypeIsQuantized(target)) {
        QuantizeRow(target, row.data(), cols, &out);
      } else {
        EncodeFloats(target, row.data(), cols, &out);
      }
    }
  });
  std::string out;
  size_t bytes = 0;
  for (const std::string& piece : encoded) bytes += piece.size();
  out.reserve(bytes);
  for (const std::string& piece : encoded) out += piece;
  return out;
}

std::string BaseName(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.rfind('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

// The tokenizer files of a folder converted from `file`: its embedded tokenizer.json and
// tokenizer_config.json as they were, else its tokenizer.ggml.* vocabulary written as those files
// (Tokenizer::ToHfFiles); none for a file without a tokenizer, and none where the vocabulary has
// no tokenizer.json form, which adds a line to `notes` saying so.
StatusOr<Tokenizer::HfFiles> FolderTokenizer(const GgufFile& file,
                                             std::vector<std::string>* notes) {
  Tokenizer::HfFiles files;
  if (file.Find(kGgufHfTokenizerKey) != nullptr) {
    SIGMA_ASSIGN_OR_RETURN(std::string_view json, file.GetString(kGgufHfTokenizerKey));
    files.tokenizer_json = std::string(json);
    if (file.Find(kGgufHfTokenizerConfigKey) != nullptr) {
      SIGMA_ASSIGN_OR_RETURN(std::string_view config, file.GetString(kGgufHfTokenizerConfigKey));
      files.tokenizer_config_json = std::string(config);
    }
    return files;
  }
  if (!GgufHasTokenizer(file)) return files;
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<Tokenizer> tokenizer, Tokenizer::FromGguf(file));
  StatusOr<Tokenizer::HfFiles> exported = tokenizer->ToHfFiles();
  if (exported.ok() || exported.status().code() != StatusCode::kUnimplemented) return exported;
  if (notes != nullptr) {
    notes->push_back(StrCat("no tokenizer.json: ", exported.status().message(),
                            "; text commands can use the .gguf"));
  }
  return files;
}

// A tensor to convert, and what its values gain on the way (ModelConfig::norm_weight_offset:
// Gemma's norms hold w in a checkpoint folder and 1 + w in a GGUF file, as llama.cpp's).
struct TensorToConvert {
  const TensorView* view;
  float add;
};

// Every tensor the config expects, from `tensors` (BindWeights has checked they exist); the norms
// gain `norm_add`.
StatusOr<std::vector<TensorToConvert>> OrderedTensors(
    const ModelConfig& config, const std::map<std::string, TensorView>& tensors,
    const std::string& source, float norm_add) {
  std::vector<TensorToConvert> out;
  for (const ExpectedTensor& e : ExpectedTensors(config)) {
    auto it = tensors.find(e.name);
    if (it == tensors.end()) return NotFoundError(source, ": tensor '", e.name, "' is missing");
    out.push_back({&it->second, e.kind == TensorKind::kNorm ? norm_add : 0.0f});
  }
  return out;
}

}  // namespace

StatusOr<ConvertOptions> ParseConvertType(std::string_view text, std::string_view flag) {
  ConvertOptions options;
  if (const std::optional<QuantMix> mix = QuantMixFromName(text)) {
    options.mix = mix;
    options.type = QuantMixBaseType(*mix);
    return options;
  }
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                  DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K,
                  DType::kQ5_K, DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS, DType::kMXFP4}) {
    if (text != DTypeName(t)) continue;
    options.type = t;
    return options;
  }
  return InvalidArgumentError("--", flag, ": '", text,
                              "' (expected f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, "
                              "q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs, mxfp4, or a mix: q3_k_s, "
                              "q3_k_m, q3_k_l, q4_k_s, q4_k_m, q5_k_s, q5_k_m)");
}

void EncodeFloats(DType dtype, const float* x, int64_t n, std::string* out) {
  if (dtype == DType::kF32) {
    out->append(reinterpret_cast<const char*>(x), static_cast<size_t>(n) * 4);
    return;
  }
  SIGMA_CHECK(dtype == DType::kF16 || dtype == DType::kBF16, "EncodeFloats: ", DTypeName(dtype));
  const size_t start = out->size();
  out->resize(start + static_cast<size_t>(n) * 2);
  char* dst = out->data() + start;
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t bits = dtype == DType::kF16 ? F32ToF16(x[i]) : F32ToBf16(x[i]);
    std::memcpy(dst + 2 * i, &bits, 2);
  }
}

Status ConvertCheckpointToGguf(const std::string& in_dir, const std::string& out_path,
                               const ConvertOptions& options) {
  SIGMA_ASSIGN_OR_RETURN(ModelWeights weights, LoadCheckpoint(in_dir));
  const ModelConfig& config = weights.config;
  GgufWriter writer;
  SIGMA_RETURN_IF_ERROR(AddModelConfigToGguf(config, &writer).WithContext(in_dir));
  writer.SetString("general.name", BaseName(in_dir));
  const std::string tokenizer_path = in_dir + "/tokenizer.json";
  if (FileExists(tokenizer_path)) {
    SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(tokenizer_path));
    writer.SetString(kGgufHfTokenizerKey, text);
    const std::string config_path = in_dir + "/tokenizer_config.json";
    if (FileExists(config_path)) {
      SIGMA_ASSIGN_OR_RETURN(std::string config_text, ReadFile(config_path));
      writer.SetString(kGgufHfTokenizerConfigKey, config_text);
    }
  }
  SIGMA_ASSIGN_OR_RETURN(
      std::vector<TensorToConvert> tensors,
      OrderedTensors(config, weights.source->tensors(), in_dir, config.norm_weight_offset()));
  for (const auto& [view, add] : tensors) {
    const DType target = GgufTargetType(config, *view, options);
    const std::string bytes = Recode(*view, target, add);
    TensorView recoded = *view;
    recoded.dtype = target;
    recoded.data = bytes.data();
    recoded.nbytes = bytes.size();
    Status s = AddHfTensorToGguf(config, recoded, &writer);
    if (!s.ok()) return s.WithContext(in_dir);
  }
  return writer.WriteFile(out_path);
}

Status ConvertGgufToCheckpoint(const std::string& in_path, const std::string& out_dir,
                               const ConvertOptions& options, std::vector<std::string>* notes) {
  if (options.type.has_value() && DTypeIsQuantized(*options.type)) {
    return InvalidArgumentError("--type ", DTypeName(*options.type),
                                ": a checkpoint folder holds f32, f16 or bf16 only");
  }
  SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<GgufFile> opened, GgufFile::Open(in_path));
  std::shared_ptr<const GgufFile> file = std::move(opened);
  SIGMA_ASSIGN_OR_RETURN(ModelConfig config, ModelConfigFromGguf(*file));
  if (!config.rope_freq_factors.empty() && config.rope_scaling.type != "llama3") {
    return UnimplementedError(in_path,
                              ": tensor 'rope_freqs.weight' holds frequency divisors that no "
                              "llama3 rope_scaling makes, which config.json cannot express");
  }
  SIGMA_ASSIGN_OR_RETURN(std::shared_ptr<GgufWeightSource> source,
                         GgufWeightSource::Create(file, config));
  // Binding checks every expected tensor's presence, shape and type before anything is written.
  StatusOr<ModelWeights> bound = BindWeights(config, source);
  if (!bound.ok()) return bound.status().WithContext(in_path);
  SIGMA_ASSIGN_OR_RETURN(
      std::vector<TensorToConvert> tensors,
      OrderedTensors(config, source->tensors(), in_path, -config.norm_weight_offset()));
  // The folder's tensors (CheckpointLayout: Granite MoE stacks its experts), each in one type:
  // its pieces' (FolderTargetType), or f32 where they differ.
  std::map<std::string, const TensorToConvert*> by_name;
  for (const TensorToConvert& t : tensors) by_name[t.view->name] = &t;
  struct FolderTensor {
    const FileTensor* file;
    DType type;
  };
  const std::vector<FileTensor> layout = CheckpointLayout(config);
  std::vector<FolderTensor> folder;
  std::vector<SafetensorsTensorInfo> infos;
  bool mxfp4_written = false;
  for (const FileTensor& f : layout) {
    // gpt-oss's MXFP4 experts stay MXFP4, in transformers' form (checkpoint_layout.h).
    std::vector<int64_t> block_shape, scale_shape;
    const bool mxfp4 =
        !options.type.has_value() && Mxfp4StackShapes(f, &block_shape, &scale_shape) &&
        std::all_of(f.pieces.begin(), f.pieces.end(), [&](const ExpectedTensor& piece) {
          return by_name.at(piece.name)->view->dtype == DType::kMXFP4;
        });
    if (mxfp4) {
      folder.push_back({&f, DType::kMXFP4});
      infos.push_back({f.name + "_blocks", "U8", block_shape});
      infos.push_back({f.name + "_scales", "U8", scale_shape});
      mxfp4_written = true;
      continue;
    }
    DType type = FolderTargetType(*by_name.at(f.pieces[0].name)->view, options);
    for (const ExpectedTensor& piece : f.pieces) {
      if (FolderTargetType(*by_name.at(piece.name)->view, options) != type) type = DType::kF32;
    }
    folder.push_back({&f, type});
    infos.push_back({f.name, std::string(SafetensorsDTypeName(type)), f.shape});
  }
  SIGMA_ASSIGN_OR_RETURN(Tokenizer::HfFiles tokenizer, FolderTokenizer(*file, notes));
  // The weights first and config.json last, as make-model writes a folder: a folder with a
  // config.json holds a whole checkpoint.
  return WriteIntoFolder(
      out_dir,
      {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json",
       "config.json"},
      [&] {
        SIGMA_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsWriter> writer,
                               SafetensorsWriter::Create(out_dir + "/model.safetensors", infos));
        for (const auto& [file, type] : folder) {
          if (type == DType::kMXFP4) {
            std::vector<int64_t> block_shape, scale_shape;
            Mxfp4StackShapes(*file, &block_shape, &scale_shape);
            std::string blocks(
                static_cast<size_t>(scale_shape[0] * scale_shape[1] * scale_shape[2] * 16), '\0');
            std::string scales(blocks.size() / 16, '\0');
            for (size_t i = 0; i < file->pieces.size(); ++i) {
              const TensorView& piece = *by_name.at(file->pieces[i].name)->view;
              Mxfp4PieceIn(*file, i, static_cast<const uint8_t*>(piece.data),
                           reinterpret_cast<uint8_t*>(blocks.data()),
                           reinterpret_cast<uint8_t*>(scales.data()));
            }
            SIGMA_RETURN_IF_ERROR(writer->Write(blocks));
            SIGMA_RETURN_IF_ERROR(writer->Write(scales));
            continue;
          }
          if (file->transposed) {  // the pieces laid out in the stack (gpt-oss's experts)
            const auto elem = static_cast<size_t>(DTypeBlockBytes(type));
            int64_t numel = 1;
            for (const int64_t d : file->shape) numel *= d;
            std::string stack(static_cast<size_t>(numel) * elem, '\0');
            for (size_t i = 0; i < file->pieces.size(); ++i) {
              const TensorToConvert& t = *by_name.at(file->pieces[i].name);
              const std::string piece = Recode(*t.view, type, t.add);
              CopyPieceIn(*file, i, elem, reinterpret_cast<const uint8_t*>(piece.data()),
                          reinterpret_cast<uint8_t*>(stack.data()));
            }
            SIGMA_RETURN_IF_ERROR(writer->Write(stack));
            continue;
          }
          for (const ExpectedTensor& piece : file->pieces) {
            const TensorToConvert& t = *by_name.at(piece.name);
            SIGMA_RETURN_IF_ERROR(writer->Write(Recode(*t.view, type, t.add)));
          }
        }
        SIGMA_RETURN_IF_ERROR(writer->Finish());
        // A tokenizer file this model lacks is removed (from a folder --force reuses), so that
        // another model's does not pass for its own; so is a generation_config.json, whose stop
        // ids would join this model's (its own are in config.json).
        const std::string none;
        for (const auto& [name, text] :
             {std::pair<const char*, const std::string*>{"/tokenizer.json",
                                                         &tokenizer.tokenizer_json},
              {"/tokenizer_config.json", &tokenizer.tokenizer_config_json},
              {"/generation_config.json", &none}}) {
          if (!text->empty()) {
            SIGMA_RETURN_IF_ERROR(WriteFileAtomic(out_dir + name, *text));
          } else {
            std::error_code ignored;
            std::filesystem::remove(out_dir + name, ignored);
          }
        }
        // transformers' mxfp4 quantizer reads the MXFP4 stacks; the rest as the released
        // gpt-oss checkpoints leave it.
        const std::vector<std::pair<std::string, std::string>> quantization = {
            {"quantization_config",
             R"({"quant_method": "mxfp4", "modules_to_not_convert": ["model.layers.*.self_attn", )"
             R"("model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]})"}};
        return WriteFileAtomic(
            out_dir + "/config.json",
            config.ToJson(mxfp4_written ? quantization : decltype(quantization){}));
      });
}

Status Convert(const std::string& in, const std::string& out, const ConvertOptions& options,
               std::vector<std::string>* notes) {
  if (in.empty()) return InvalidArgumentError("--in: required (a checkpoint folder or a .gguf file)");
  if (out.empty()) return InvalidArgumentError("--out: required");
  // Each output is named for what it holds (IsGgufPath): a GGUF written as "model.bin" could not be
  // loaded, and a GGUF input's "out.gguf" would be a folder.
  const bool gguf_name = IsGgufPath(out);
  if (IsDirectory(in)) {
    if (!gguf_name) {
      return InvalidArgumentError("--out: '", out,
                                  "': a checkpoint folder converts to one GGUF file, which the "
                                  "engine knows by its .gguf name");
    }
    return ConvertCheckpointToGguf(in, out, options);
  }
  if (!FileExists(in)) return NotFoundError("--in: ", in, " does not exist");
  if (gguf_name) {
    return InvalidArgumentError("--out: '", out,
                                "' names a .gguf file, but a .gguf input converts to a checkpoint "
                                "folder (there is no GGUF-to-GGUF conversion)");
  }
  return ConvertGgufToCheckpoint(in, out, options, notes);
}

}  // namespace sigma
