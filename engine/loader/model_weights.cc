#include "engine/loader/model_weights.h"

#include <array>
#include <cstring>
#include <utility>

#include "engine/base/file.h"
#include "engine/loader/safetensors.h"

namespace sigma {
namespace {

// An expected tensor and the field of ModelWeights it binds to; or, for a fused matrix, the
// fields its consecutive row ranges bind to (rows, field).
struct Slot {
  ExpectedTensor spec;
  TensorView* target;
  std::vector<std::pair<int64_t, TensorView*>> parts;
};

class SlotBuilder {
 public:
  SlotBuilder(const ModelConfig& config, ModelWeights* weights) : c_(config), w_(weights) {}

  std::vector<Slot> Build() {
    const std::string q = "num_attention_heads*head_dim";
    const std::string k =
        c_.arch == Architecture::kSigma ? "num_key_heads*head_dim" : "num_key_value_heads*head_dim";
    const std::string v = c_.arch == Architecture::kSigma ? "num_value_heads*head_dim"
                                                          : "num_key_value_heads*head_dim";
    Matrix("model.embed_tokens.weight", c_.vocab_size, "vocab_size", c_.hidden_size, "hidden_size",
           &w_->embed_tokens);
    w_->layers.resize(static_cast<size_t>(c_.num_layers));
    for (int64_t i = 0; i < c_.num_layers; ++i) {
      LayerWeights& l = w_->layers[static_cast<size_t>(i)];
      const std::string p = "model.layers." + std::to_string(i) + ".";
      if (c_.pre_norms()) {
        Vector(p + "input_layernorm.weight", c_.hidden_size, "hidden_size", TensorKind::kNorm,
               &l.attn_norm);
      }
      if (c_.fused_projections()) {
        Fused(p + "self_attn.qkv_proj.weight",
              {{c_.q_dim(), &l.q_proj}, {c_.k_dim(), &l.k_proj}, {c_.v_dim(), &l.v_proj}},
              q + "+2*" + k, c_.hidden_size, "hidden_size");
      } else {
        Matrix(p + "self_attn.q_proj.weight", c_.q_dim(), q, c_.hidden_size, "hidden_size",
               &l.q_proj);
        Matrix(p + "self_attn.k_proj.weight", c_.k_dim(), k, c_.hidden_size, "hidden_size",
               &l.k_proj);
        Matrix(p + "self_attn.v_proj.weight", c_.v_dim(), v, c_.hidden_size, "hidden_size",
               &l.v_proj);
      }
      if (c_.qkv_bias) {
        Vector(p + "self_attn.q_proj.bias", c_.q_dim(), q, TensorKind::kBias, &l.q_bias);
        Vector(p + "self_attn.k_proj.bias", c_.k_dim(), k, TensorKind::kBias, &l.k_bias);
        Vector(p + "self_attn.v_proj.bias", c_.v_dim(), v, TensorKind::kBias, &l.v_bias);
      }
      if (c_.qk_norm() && c_.qk_norm_per_head()) {
        Vector(p + "self_attn.q_norm.weight", c_.head_dim, "head_dim", TensorKind::kNorm,
               &l.q_norm);
        Vector(p + "self_attn.k_norm.weight", c_.head_dim, "head_dim", TensorKind::kNorm,
               &l.k_norm);
      } else if (c_.qk_norm()) {
        Vector(p + "self_attn.q_norm.weight", c_.q_dim(), q, TensorKind::kNorm, &l.q_norm);
        Vector(p + "self_attn.k_norm.weight", c_.k_dim(), k, TensorKind::kNorm, &l.k_norm);
      }
      if (c_.aug_q_intermediate_size > 0) {
        const int64_t aug = c_.aug_q_intermediate_size;
        Matrix(p + "self_attn.q_gate_proj.weight", aug, "aug_q_intermediate_size", c_.q_dim(), q,
               &l.q_gate);
        Matrix(p + "self_attn.q_up_proj.weight", aug, "aug_q_intermediate_size", c_.q_dim(), q,
               &l.q_up);
        Matrix(p + "self_attn.q_down_proj.weight", c_.q_dim(), q, aug, "aug_q_intermediate_size",
               &l.q_down);
      }
      Matrix(p + "self_attn.o_proj.weight", c_.hidden_size, "hidden_size", c_.q_dim(), q,
             &l.o_proj);
      if (c_.o_bias()) {
        Vector(p + "self_attn.o_proj.bias", c_.hidden_size, "hidden_size", TensorKind::kBias,
               &l.o_bias);
      }
      if (c_.attention_sinks()) {
        Vector(p + "self_attn.sinks", c_.n_q_heads, "num_attention_heads", TensorKind::kBias,
               &l.sinks);
      }
      // Gemma 2 / 3 and OLMo name the norm after the attention's output
      // post_attention_layernorm, which elsewhere is the FFN's input norm.
      if (c_.post_norms()) {
        Vector(p + "post_attention_layernorm.weight", c_.hidden_size, "hidden_size",
               TensorKind::kNorm, &l.attn_post_norm);
      }
      if (c_.pre_norms()) {
        Vector(p + (c_.post_norms() ? "pre_feedforward_layernorm.weight"
                                    : "post_attention_layernorm.weight"),
               c_.hidden_size, "hidden_size", TensorKind::kNorm, &l.ffn_norm);
      }
      if (c_.MoeLayer(i)) {
        Experts(p, &l);
      } else if (c_.fused_projections()) {
        const int64_t ffn = c_.intermediate_size;
        Fused(p + "mlp.gate_up_proj.weight", {{ffn, &l.gate_proj}, {ffn, &l.up_proj}},
              "2*intermediate_size", c_.hidden_size, "hidden_size");
        Matrix(p + "mlp.down_proj.weight", c_.hidden_size, "hidden_size", ffn, "intermediate_size",
               &l.down_proj);
      } else {
        Ffn(p + "mlp.", {"gate_proj", "up_proj", "down_proj"}, c_.intermediate_size,
            "intermediate_size", &l.gate_proj, &l.up_proj, &l.down_proj);
      }
      if (c_.post_norms()) {
        Vector(p + "post_feedforward_layernorm.weight", c_.hidden_size, "hidden_size",
               TensorKind::kNorm, &l.ffn_post_norm);
      }
    }
    Vector("model.norm.weight", c_.hidden_size, "hidden_size", TensorKind::kNorm, &w_->final_norm);
    if (!c_.tie_word_embeddings) {
      Matrix("lm_head.weight", c_.vocab_size, "vocab_size", c_.hidden_size, "hidden_size",
             &w_->lm_head);
    }
    return std::move(slots_);
  }

 private:
  // A gated FFN `width` wide: prefix + names[0..2] + ".weight" for gate, up and down, and
  // ".bias" for each where `f` is an expert of a model whose experts have biases (gpt-oss).
  void Ffn(const std::string& prefix, const std::array<const char*, 3>& names, int64_t width,
           const std::string& width_dim, TensorView* gate, TensorView* up, TensorView* down,
           FfnWeights* f = nullptr) {
    const int64_t hidden = c_.hidden_size;
    Matrix(prefix + names[0] + ".weight", width, width_dim, hidden, "hidden_size", gate);
    Matrix(prefix + names[1] + ".weight", width, width_dim, hidden, "hidden_size", up);
    Matrix(prefix + names[2] + ".weight", hidden, "hidden_size", width, width_dim, down);
    if (f == nullptr || !c_.moe.biases) return;
    Vector(prefix + names[0] + ".bias", width, width_dim, TensorKind::kBias, &f->gate_bias);
    Vector(prefix + names[1] + ".bias", width, width_dim, TensorKind::kBias, &f->up_bias);
    Vector(prefix + names[2] + ".bias", hidden, "hidden_size", TensorKind::kBias, &f->down_bias);
  }

  // A layer of experts under `p` ("model.layers.N."): the router <block>.gate and
  // <block>.experts.E.<gate, up, down> (ExpertBlock, ExpertMatrixNames: Mixtral's
  // block_sparse_moe.experts.E.w1 / w3 / w2), Qwen2-MoE's mlp.shared_expert.* and
  // mlp.shared_expert_gate.
  void Experts(const std::string& p, LayerWeights* l) {
    const MoeConfig& moe = c_.moe;
    const std::string block = StrCat(p, ExpertBlock(c_), ".");
    const char* width_dim = c_.arch == Architecture::kQwen2Moe || c_.arch == Architecture::kQwen3Moe
                                ? "moe_intermediate_size"
                                : "intermediate_size";
    const std::string router = block + RouterName(c_);
    Matrix(router + ".weight", moe.num_experts, "num_experts", c_.hidden_size, "hidden_size",
           &l->router);
    if (moe.biases) {
      Vector(router + ".bias", moe.num_experts, "num_experts", TensorKind::kBias, &l->router_bias);
    }
    l->experts.resize(static_cast<size_t>(moe.num_experts));
    for (int64_t e = 0; e < moe.num_experts; ++e) {
      FfnWeights& x = l->experts[static_cast<size_t>(e)];
      Ffn(StrCat(block, "experts.", e, "."), ExpertMatrixNames(c_), moe.expert_intermediate_size,
          width_dim, &x.gate_proj, &x.up_proj, &x.down_proj, &x);
    }
    if (moe.shared_expert_intermediate_size > 0) {
      FfnWeights& x = l->shared_expert;
      Ffn(block + "shared_expert.", {"gate_proj", "up_proj", "down_proj"},
          moe.shared_expert_intermediate_size, "shared_expert_intermediate_size", &x.gate_proj,
          &x.up_proj, &x.down_proj);
      Matrix(block + "shared_expert_gate.weight", 1, "1", c_.hidden_size, "hidden_size",
             &l->shared_expert_gate);
    }
  }

  void Matrix(std::string name, int64_t rows, const std::string& row_dim, int64_t cols,
              const std::string& col_dim, TensorView* target) {
    slots_.push_back(
        {{std::move(name), {rows, cols}, TensorKind::kMatrix, "[" + row_dim + ", " + col_dim + "]"},
         target,
         {}});
  }
  void Vector(std::string name, int64_t len, const std::string& dim, TensorKind kind,
              TensorView* target) {
    slots_.push_back({{std::move(name), {len}, kind, "[" + dim + "]"}, target, {}});
  }
  // One checkpoint matrix whose row ranges are several of the forward pass's.
  void Fused(std::string name, std::vector<std::pair<int64_t, TensorView*>> parts,
             const std::string& row_dim, int64_t cols, const std::string& col_dim) {
    int64_t rows = 0;
    for (const auto& [n, target] : parts) rows += n;
    slots_.push_back(
        {{std::move(name), {rows, cols}, TensorKind::kMatrix, "[" + row_dim + ", " + col_dim + "]"},
         nullptr,
         std::move(parts)});
  }

  const ModelConfig& c_;
  ModelWeights* w_;
  std::vector<Slot> slots_;
};

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string FilesText(const WeightSource& source) {
  std::string out;
  for (const std::string& f : source.files()) out += (out.empty() ? "" : ", ") + f;
  return out.empty() ? "no files" : out;
}

StatusOr<const TensorView*> FindTensor(const WeightSource& source, const ExpectedTensor& spec) {
  auto it = source.tensors().find(spec.name);
  if (it != source.tensors().end()) return &it->second;
  const std::string dtype = source.UnsupportedDType(spec.name);
  if (!dtype.empty()) {
    return UnimplementedError("tensor '", spec.name, "' has dtype ", dtype,
                              "; the engine reads F32, F16 and BF16 (", FilesText(source), ")");
  }
  return NotFoundError("tensor '", spec.name, "' not found in ", FilesText(source));
}

Status CheckView(const TensorView& view, const ExpectedTensor& spec) {
  if (view.shape != spec.shape) {
    return InvalidArgumentError("tensor '", spec.name, "': expected shape ", ShapeText(spec.shape),
                                " ", spec.dims, " from the config, got ", ShapeText(view.shape));
  }
  if (view.data == nullptr) return InvalidArgumentError("tensor '", spec.name, "': no data");
  const int64_t block = DTypeBlockSize(view.dtype);
  if (view.cols() % block != 0) {
    return InvalidArgumentError("tensor '", spec.name, "': ", view.cols(),
                                " columns are not whole ", DTypeName(view.dtype), " blocks of ",
                                block);
  }
  const uint64_t expected = static_cast<uint64_t>(view.rows()) * view.row_bytes();
  if (view.nbytes != expected) {
    return InvalidArgumentError("tensor '", spec.name, "': holds ", view.nbytes, " bytes, ",
                                DTypeName(view.dtype), " ", ShapeText(view.shape), " needs ",
                                expected);
  }
  return Status::Ok();
}

// Rows [first, first + rows) of a matrix (whole rows, so quantized blocks stay whole), named for
// messages after the matrix and its rows.
TensorView RowRange(const TensorView& view, int64_t first, int64_t rows) {
  TensorView part = view;
  part.name = StrCat(view.name, "[", first, ":", first + rows, "]");
  part.shape = {rows, view.cols()};
  part.data = static_cast<const uint8_t*>(view.data) + first * view.row_bytes();
  part.nbytes = static_cast<uint64_t>(rows) * view.row_bytes();
  return part;
}

// Norm and bias vectors are handed to the forward pass as f32, plus `offset` (a norm's
// ModelConfig::norm_weight_offset, added in f32 as transformers' Gemma adds it).
StatusOr<TensorView> VectorAsF32(const TensorView& view, float offset, ModelWeights* weights) {
  if (view.dtype == DType::kF32 && offset == 0) return view;
  if (view.dtype != DType::kF32 && view.dtype != DType::kF16 && view.dtype != DType::kBF16) {
    return UnimplementedError("tensor '", view.name, "': a ", DTypeName(view.dtype),
                              " norm or bias vector is not supported (F32, F16, BF16 only)");
  }
  std::vector<float> values(static_cast<size_t>(view.numel()));
  if (view.dtype == DType::kF32) {
    std::memcpy(values.data(), view.data, values.size() * sizeof(float));
  } else {
    const auto* bits = static_cast<const uint16_t*>(view.data);
    for (size_t i = 0; i < values.size(); ++i) {
      values[i] = view.dtype == DType::kF16 ? F16ToF32(bits[i]) : Bf16ToF32(bits[i]);
    }
  }
  for (float& v : values) v += offset;
  TensorView out = view;
  out.dtype = DType::kF32;
  out.nbytes = values.size() * sizeof(float);
  out.data = values.data();  // the vector's buffer survives the moves below
  weights->owned_f32.push_back(std::move(values));
  return out;
}

// Tensors that the config does not use but whose presence means the config is wrong for these
// weights (biases or augmented Q the forward pass would silently skip, extra layers).
Status RejectUnusedMeaningfulTensors(const ModelConfig& config, const WeightSource& source) {
  const auto& tensors = source.tensors();
  auto present = [&](const std::string& name) {
    return tensors.count(name) != 0 || !source.UnsupportedDType(name).empty();
  };
  const std::string extra_layer =
      "model.layers." + std::to_string(config.num_layers) + ".input_layernorm.weight";
  if (present(extra_layer)) {
    return InvalidArgumentError("checkpoint holds '", extra_layer, "' but num_hidden_layers is ",
                                config.num_layers);
  }
  for (int64_t i = 0; i < config.num_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    for (const char* t : {"self_attn.o_proj.bias", "mlp.gate_proj.bias", "mlp.up_proj.bias",
                          "mlp.down_proj.bias"}) {
      if (present(p + t) && !(config.o_bias() && std::string_view(t) == "self_attn.o_proj.bias")) {
        return UnimplementedError("tensor '", p, t, "' is not supported by this engine");
      }
    }
    if (!config.attention_sinks() && present(p + "self_attn.sinks")) {
      return UnimplementedError("tensor '", p,
                                "self_attn.sinks' (attention sinks) is present but "
                                "model_type ",
                                ArchitectureName(config.arch),
                                " has none (model_type gpt_oss has)");
    }
    for (const char* t : {"mlp.gate.weight", "block_sparse_moe.gate.weight",
                          "block_sparse_moe.router.layer.weight", "mlp.router.weight"}) {
      if (!config.MoeLayer(i) && present(p + t)) {
        return InvalidArgumentError("tensor '", p, t,
                                    "' (a router of experts) is present but the config has no "
                                    "experts in layer ",
                                    i);
      }
    }
    if (config.MoeLayer(i) && present(p + "mlp.down_proj.weight")) {
      return InvalidArgumentError("tensor '", p,
                                  "mlp.down_proj.weight' (a dense FFN) is present but the config "
                                  "has experts in layer ",
                                  i);
    }
    if (config.MoeLayer(i) &&
        present(StrCat(p, ExpertBlock(config), ".experts.", config.moe.num_experts, ".",
                       ExpertMatrixNames(config)[0], ".weight"))) {
      return InvalidArgumentError("checkpoint holds an expert ", config.moe.num_experts,
                                  " in layer ", i, " but num_experts is ", config.moe.num_experts,
                                  " (experts 0 to ", config.moe.num_experts - 1, ")");
    }
    if (config.moe.shared_expert_intermediate_size == 0 &&
        present(p + "mlp.shared_expert_gate.weight")) {
      return InvalidArgumentError("tensor '", p,
                                  "mlp.shared_expert_gate.weight' is present but the config has "
                                  "no shared expert (shared_expert_intermediate_size 0)");
    }
    if (!config.qk_norm() && present(p + "self_attn.q_norm.weight")) {
      return UnimplementedError("tensor '", p,
                                "self_attn.q_norm.weight' is present but model_type ",
                                ArchitectureName(config.arch),
                                " has no q/k norms (model_types qwen3 and gemma3_text have)");
    }
    if (!config.post_norms() && present(p + "post_feedforward_layernorm.weight")) {
      return UnimplementedError("tensor '", p,
                                "post_feedforward_layernorm.weight' is present but model_type ",
                                ArchitectureName(config.arch),
                                " has no norms after the attention and the FFN (model_types "
                                "gemma2, gemma3_text and olmo2 have)");
    }
    if (!config.qkv_bias && present(p + "self_attn.q_proj.bias")) {
      return InvalidArgumentError("tensor '", p,
                                  "self_attn.q_proj.bias' is present but the config has no "
                                  "attention biases (attention_bias false)");
    }
    if (config.aug_q_intermediate_size == 0 && present(p + "self_attn.q_gate_proj.weight")) {
      return InvalidArgumentError("tensor '", p,
                                  "self_attn.q_gate_proj.weight' is present but the config has "
                                  "no augmented Q (aug_q_intermediate_size 0)");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string ExpertBlock(const ModelConfig& config) {
  return config.arch == Architecture::kMixtral || config.arch == Architecture::kGraniteMoe
             ? "block_sparse_moe"
             : "mlp";
}

const char* RouterName(const ModelConfig& config) {
  return config.arch == Architecture::kGptOss ? "router" : "gate";
}

std::array<const char*, 3> ExpertMatrixNames(const ModelConfig& config) {
  if (config.arch == Architecture::kMixtral) return {"w1", "w3", "w2"};
  return {"gate_proj", "up_proj", "down_proj"};
}

std::vector<ExpectedTensor> ExpectedTensors(const ModelConfig& config) {
  ModelWeights scratch;
  std::vector<ExpectedTensor> out;
  for (Slot& slot : SlotBuilder(config, &scratch).Build()) out.push_back(std::move(slot.spec));
  return out;
}

StatusOr<ModelWeights> BindWeights(const ModelConfig& config,
                                   std::shared_ptr<WeightSource> source) {
  SIGMA_CHECK(source != nullptr, "BindWeights needs a source");
  SIGMA_RETURN_IF_ERROR(config.Validate().WithContext("model config"));
  SIGMA_RETURN_IF_ERROR(RejectUnusedMeaningfulTensors(config, *source));
  ModelWeights weights;
  weights.config = config;
  for (const Slot& slot : SlotBuilder(config, &weights).Build()) {
    SIGMA_ASSIGN_OR_RETURN(const TensorView* view, FindTensor(*source, slot.spec));
    SIGMA_RETURN_IF_ERROR(CheckView(*view, slot.spec));
    if (!slot.parts.empty()) {
      int64_t row = 0;
      for (const auto& [rows, target] : slot.parts) {
        *target = RowRange(*view, row, rows);
        row += rows;
      }
    } else if (slot.spec.kind == TensorKind::kMatrix) {
      *slot.target = *view;
    } else {
      const float offset = slot.spec.kind == TensorKind::kNorm && !source->NormsIncludeOffset()
                               ? config.norm_weight_offset()
                               : 0.0f;
      SIGMA_ASSIGN_OR_RETURN(*slot.target, VectorAsF32(*view, offset, &weights));
    }
  }
  if (config.tie_word_embeddings) weights.lm_head = weights.embed_tokens;
  weights.source = std::move(source);
  return weights;
}

StatusOr<ModelWeights> LoadCheckpoint(const std::string& dir) {
  if (!IsDirectory(dir)) return NotFoundError(dir, ": not a checkpoint folder");
  const std::string config_path = dir + "/config.json";
  SIGMA_ASSIGN_OR_RETURN(std::string text, ReadFile(config_path));
  SIGMA_ASSIGN_OR_RETURN(ModelConfig config, ParseModelConfig(text, config_path));
  if (const std::string generation = dir + "/generation_config.json"; FileExists(generation)) {
    SIGMA_ASSIGN_OR_RETURN(std::string generation_text, ReadFile(generation));
    SIGMA_RETURN_IF_ERROR(AddGenerationConfigStopIds(generation_text, generation, &config));
  }
  SIGMA_ASSIGN_OR_RETURN(std::shared_ptr<SafetensorsWeightSource> source,
                         SafetensorsWeightSource::Open(dir));
  if (Status selected = source->SelectLanguageModel(); !selected.ok()) {
    return selected.WithContext(dir);
  }
  if (Status split = source->ApplyLayout(CheckpointLayout(config)); !split.ok()) {
    return split.WithContext(dir);
  }
  StatusOr<ModelWeights> weights = BindWeights(config, source);
  if (!weights.ok()) return weights.status().WithContext(dir);
  return weights;
}

}  // namespace sigma
