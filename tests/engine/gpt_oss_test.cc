// gpt-oss (model_type gpt_oss) against Hugging Face transformers' logits of a small random model of
// its own (tests/data/moe/gpt_oss.json, tests/oracle/transformers_reference.py): 4 layers, 4 Q and
// 2 KV heads of 32, biases on q, k, v and o, attention sinks, a 7-position window in layers 0 and
// 2, YaRN (factor 4 over 128 positions, not truncated), 6 experts of width 40 with biases, 2 a
// token, and a clamped SwiGLU whose limit (0.25) the activations reach. Its GGUF against llama.cpp
// (tests/oracle/llama3_rope_reference.py) on gpt_oss_gguf.json, the same model with what
// llama.cpp fixes (the limit 7, YaRN's range truncated). Also: the configs as transformers reads
// them, the checkpoint's transposed expert stacks, decode steps against the full forward, and what
// is refused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/gguf/convert.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_model.h"
#include "engine/gguf/gguf_writer.h"
#include "engine/loader/checkpoint_layout.h"
#include "engine/loader/model_config.h"
#include "engine/loader/model_weights.h"
#include "engine/loader/moe_config.h"
#include "engine/loader/safetensors.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

using testing_util::AllLogits;
using testing_util::DifferenceFrom;
using testing_util::EveryNthRowAndLast;
using testing_util::IdsFromOne;
using testing_util::ReadF32File;
using testing_util::Reference;
using testing_util::WorstRowDifference;

constexpr testing_util::FamilyFixture kFixture("moe");

ModelConfig Config() { return kFixture.Config("gpt_oss.json"); }
std::string Checkpoint(const std::string& name = "gpt_oss") {
  return kFixture.Checkpoint(name + ".json");
}

// What a GGUF round trip keeps of a gpt-oss config (its eps passes through f32).
void ExpectSameModel(const ModelConfig& got, const ModelConfig& want) {
  EXPECT_EQ(got.arch, want.arch);
  EXPECT_EQ(MoeConfigJson(got), MoeConfigJson(want));
  EXPECT_EQ(got.moe.biases, want.moe.biases);
  EXPECT_EQ(got.swiglu_limit, want.swiglu_limit);
  EXPECT_EQ(got.swiglu_alpha, want.swiglu_alpha);
  EXPECT_EQ(got.rope_scaling.truncate, want.rope_scaling.truncate);
  EXPECT_EQ(got.RopeScalingFactor(), want.RopeScalingFactor());
  EXPECT_EQ(got.sliding_window, want.sliding_window);
  EXPECT_EQ(got.sliding_layers, want.sliding_layers);
  EXPECT_TRUE(got.o_bias());
}

TEST(GptOssTest, ConfigAsTransformersReadsIt) {
  const ModelConfig c = Config();
  EXPECT_EQ(c.arch, Architecture::kGptOss);
  EXPECT_EQ(ArchitectureName(c.arch), "gpt_oss");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_TRUE(c.o_bias());
  EXPECT_TRUE(c.attention_sinks());
  EXPECT_EQ(c.swiglu_limit, 0.25);
  EXPECT_EQ(c.swiglu_alpha, 1.702);
  EXPECT_EQ(c.AttentionWindow(0), 7);
  EXPECT_EQ(c.AttentionWindow(1), 0);
  EXPECT_EQ(c.AttentionWindow(2), 7);
  EXPECT_EQ(c.rope_scaling.type, "yarn");
  EXPECT_FALSE(c.rope_scaling.truncate);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 128);
  EXPECT_EQ(c.moe.num_experts, 6);
  EXPECT_EQ(c.moe.experts_per_token, 2);
  EXPECT_EQ(c.moe.expert_intermediate_size, 40);
  EXPECT_TRUE(c.moe.norm_topk_prob);  // a softmax over the top logits
  EXPECT_TRUE(c.moe.biases);
  std::vector<std::string> names;
  for (const ExpectedTensor& t : ExpectedTensors(c)) {
    if (t.name.starts_with("model.layers.3.")) names.push_back(t.name.substr(15));
  }
  for (const char* name : {"self_attn.o_proj.bias", "self_attn.sinks", "mlp.router.weight",
                           "mlp.router.bias", "mlp.experts.5.gate_proj.bias",
                           "mlp.experts.5.down_proj.bias", "post_attention_layernorm.weight"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  const auto back = ParseModelConfig(c.ToJson(), "config.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c.ToJson());

  // GptOssConfig's defaults where config.json leaves fields out.
  const auto defaults = ParseModelConfig(
      R"({"model_type": "gpt_oss", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
          "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
          "head_dim": 8})",
      "config.json");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->rope_theta, 150000);
  EXPECT_EQ(defaults->rope_scaling.type, "yarn");
  EXPECT_EQ(defaults->rope_scaling.factor, 32);
  EXPECT_EQ(defaults->rope_scaling.original_max_position_embeddings, 4096);
  EXPECT_FALSE(defaults->rope_scaling.truncate);
  EXPECT_EQ(defaults->rms_norm_eps, 1e-5);
  EXPECT_EQ(defaults->swiglu_limit, 7);
  EXPECT_EQ(defaults->moe.num_experts, 128);
  EXPECT_EQ(defaults->moe.experts_per_token, 4);
  EXPECT_TRUE(defaults->qkv_bias);
  EXPECT_EQ(defaults->AttentionWindow(0), 128);  // even layers slide
  EXPECT_EQ(defaults->AttentionWindow(1), 0);
  EXPECT_EQ(defaults->AttentionWindow(2), 128);
  // A rope_scaling dict given reads as given: yarn's truncate defaults to true there, as
  // transformers reads it.
  const auto given = ParseModelConfig(
      R"({"model_type": "gpt_oss", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
          "num_hidden_layers": 2, "num_attention_heads": 4, "head_dim": 8,
          "rope_scaling": {"rope_type": "yarn", "factor": 8.0,
                           "original_max_position_embeddings": 256}})",
      "config.json");
  ASSERT_TRUE(given.ok()) << given.status().ToString();
  EXPECT_TRUE(given->rope_scaling.truncate);
  EXPECT_EQ(given->rope_scaling.factor, 8);
}

TEST(GptOssTest, MatchesTransformers) {
  // Measured 3.3e-7.
  EXPECT_LT(DifferenceFrom(AllLogits(Checkpoint()), kFixture.Data("gpt_oss_transformers.f32"),
                           Reference::kTransformers),
            1e-5f);
}

// The match checks what it should: the same weights with the clamp out of reach, or a llama's
// attention without the sinks' share, are far from transformers.
TEST(GptOssTest, TheClampAndTheSinksMatter) {
  const std::vector<float> reference = ReadF32File(kFixture.Data("gpt_oss_transformers.f32"));
  const auto distance = [&](double limit, bool sinks) {
    ModelWeights weights = testing_util::LoadWeights(Checkpoint());
    weights.config.swiglu_limit = limit;
    if (!sinks) {
      for (LayerWeights& l : weights.layers) l.sinks = TensorView{};
    }
    return WorstRowDifference(testing_util::AllLogitsOf(std::move(weights)),
                              EveryNthRowAndLast(70, 5), reference, 384);
  };
  EXPECT_LT(distance(0.25, true), 1e-5f);
  EXPECT_GT(distance(7.0, true), 1e-3f);
  EXPECT_GT(distance(0.25, false), 1e-3f);
}

// The checkpoint's experts: gate_up_proj [E, hidden, 2 * width] with gate and up interleaved in
// its columns, down_proj [E, width, hidden], their biases [E, 2 * width] and [E, hidden]; the
// reader shows each expert's matrices as copies ([width, hidden] ...), the writer lays them out
// again.
TEST(GptOssTest, TransposedExpertStacks) {
  const ModelConfig c = Config();
  std::vector<std::pair<std::string, std::vector<int64_t>>> stacks;
  for (const FileTensor& f : CheckpointLayout(c)) {
    if (f.name.starts_with("model.layers.0.") && f.stacked()) {
      EXPECT_TRUE(f.transposed) << f.name;
      stacks.push_back({f.name, f.shape});
    }
  }
  EXPECT_EQ(stacks, (std::vector<std::pair<std::string, std::vector<int64_t>>>{
                        {"model.layers.0.mlp.experts.gate_up_proj", {6, 96, 80}},
                        {"model.layers.0.mlp.experts.down_proj", {6, 40, 96}},
                        {"model.layers.0.mlp.experts.gate_up_proj_bias", {6, 80}},
                        {"model.layers.0.mlp.experts.down_proj_bias", {6, 96}}}));
  auto source = SafetensorsWeightSource::Open(Checkpoint());
  ASSERT_TRUE(source.ok());
  const auto element = [](const TensorView& t, int64_t i) {
    uint16_t bits;
    std::memcpy(&bits, static_cast<const uint8_t*>(t.data) + 2 * i, 2);
    return bits;
  };
  const TensorView gate_up = (*source)->tensors().at("model.layers.1.mlp.experts.gate_up_proj");
  const TensorView down = (*source)->tensors().at("model.layers.1.mlp.experts.down_proj");
  const TensorView bias = (*source)->tensors().at("model.layers.1.mlp.experts.gate_up_proj_bias");
  ASSERT_TRUE((*source)->ApplyLayout(CheckpointLayout(c)).ok());
  const auto& pieces = (*source)->tensors();
  EXPECT_EQ(pieces.count("model.layers.1.mlp.experts.gate_up_proj"), 0u);
  const TensorView up = pieces.at("model.layers.1.mlp.experts.4.up_proj.weight");
  const TensorView gate = pieces.at("model.layers.1.mlp.experts.4.gate_proj.weight");
  const TensorView expert_down = pieces.at("model.layers.1.mlp.experts.4.down_proj.weight");
  const TensorView up_bias = pieces.at("model.layers.1.mlp.experts.4.up_proj.bias");
  EXPECT_EQ(up.shape, (std::vector<int64_t>{40, 96}));
  EXPECT_EQ(expert_down.shape, (std::vector<int64_t>{96, 40}));
  for (const auto& [r, col] : {std::pair<int64_t, int64_t>{0, 0}, {7, 95}, {39, 13}}) {
    // up (r, col) is gate_up[4][col][2r + 1]; gate's [2r]; down (col, r) is down[4][r][col].
    EXPECT_EQ(element(up, r * 96 + col), element(gate_up, (4 * 96 + col) * 80 + 2 * r + 1));
    EXPECT_EQ(element(gate, r * 96 + col), element(gate_up, (4 * 96 + col) * 80 + 2 * r));
    EXPECT_EQ(element(expert_down, col * 40 + r), element(down, (4 * 40 + r) * 96 + col));
    EXPECT_EQ(element(up_bias, r), element(bias, 4 * 80 + 2 * r + 1));
  }
}

// llama.cpp's gpt-oss files: post_attention_norm, attn_sinks, ffn_gate_inp with its bias, the
// experts' stacks with theirs. Its constants (SwiGLU limit 7, YaRN's range rounded outwards) are
// the second fixture's, whose GGUF llama.cpp reads as the engine does.
TEST(GptOssTest, GgufMatchesLlamaCppAndConvertsBack) {
  // Measured 1.5e-7.
  const auto [gguf, back] =
      testing_util::ConvertThroughF32Gguf(Checkpoint("gpt_oss_gguf"), "gpt_oss_gguf");
  EXPECT_LT(DifferenceFrom(AllLogits(gguf), kFixture.Data("gpt_oss_gguf_llama_cpp.f32"),
                           Reference::kLlamaCpp),
            1e-5f);
  ExpectSameModel(testing_util::ReadModelConfig(back + "/config.json"),
                  kFixture.Config("gpt_oss_gguf.json"));
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
  auto file = GgufFile::Open(gguf);
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->Find("sigma.swiglu_limit"), nullptr);  // llama.cpp's constants: no keys
  EXPECT_EQ((*file)->Find("sigma.rope.scaling.yarn_truncate"), nullptr);
  for (const char* name : {"blk.3.attn_sinks.weight", "blk.3.post_attention_norm.weight",
                           "blk.3.ffn_gate_inp.bias", "blk.3.ffn_down_exps.bias"}) {
    EXPECT_NE((*file)->FindTensor(name), nullptr) << name;
  }
}

// What llama.cpp fixes travels under sigma. keys: the first fixture (limit 0.25, YaRN not
// truncated) through its GGUF is still transformers' model.
TEST(GptOssTest, GgufKeepsWhatLlamaCppFixes) {
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(Checkpoint(), "gpt_oss");
  auto file = GgufFile::Open(gguf);
  ASSERT_TRUE(file.ok());
  EXPECT_NE((*file)->Find("sigma.swiglu_limit"), nullptr);
  EXPECT_NE((*file)->Find("sigma.rope.scaling.yarn_truncate"), nullptr);
  EXPECT_LT(DifferenceFrom(AllLogits(gguf), kFixture.Data("gpt_oss_transformers.f32"),
                           Reference::kTransformers),
            1e-5f);
  ExpectSameModel(testing_util::ReadModelConfig(back + "/config.json"), Config());
  // A quantized file keeps the router, the sinks and the biases in f32.
  const std::string q8 = testing_util::ConvertToGguf(Checkpoint(), "gpt_oss_q8_0", DType::kQ8_0);
  const ModelWeights weights = testing_util::LoadWeights(q8);
  const LayerWeights& l = weights.layers[1];
  EXPECT_EQ(l.router.dtype, DType::kF32);
  EXPECT_EQ(l.experts[2].up_proj.dtype, DType::kQ8_0);
  EXPECT_EQ(l.experts[2].up_bias.dtype, DType::kF32);
  EXPECT_EQ(l.sinks.dtype, DType::kF32);
  for (const float v : AllLogits(q8)) ASSERT_TRUE(std::isfinite(v));
  // Sliding layers other than llama.cpp's pattern have no GGUF form.
  ModelConfig odd = Config();
  odd.SetSlidingLayers(7, {false, true, false, true});
  GgufWriter writer;
  const Status refused = AddModelConfigToGguf(odd, &writer);
  EXPECT_EQ(refused.code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.message().find("every other layer"), std::string::npos) << refused.ToString();
}

// Every position's logits of ids 1..70 with the weights read from the file mapping (no decode
// copies, so no tiles: the float kernels, f32 activations).
std::vector<float> AllLogitsFromTheMapping(const std::string& path) {
  return testing_util::AllLogitsOf(testing_util::LoadWeights(path), /*copy_weights=*/false);
}

// gpt-oss's released form: MXFP4 experts (convert --type mxfp4; the other tensors as stored),
// against llama.cpp's logits of the same file with every tensor dequantized to f32 by the gguf
// package (tests/oracle/dequantize_gguf.py): on the float kernels (f32 activations) exactly the
// file's values; on the integer tile kernels a decode copy makes (activations rounded to int16 per
// block of 32, 2^-15 of the block's largest) within that rounding.
TEST(GptOssTest, Mxfp4ExpertsMatchLlamaCppAndTransformers) {
  const std::string gguf =
      testing_util::ConvertToGguf(Checkpoint("gpt_oss_gguf"), "gpt_oss_mxfp4", DType::kMXFP4);
  for (const LayerWeights& l : testing_util::LoadWeights(gguf).layers) {
    EXPECT_EQ(l.experts[4].gate_proj.dtype, DType::kMXFP4);
    EXPECT_EQ(l.experts[4].down_proj.dtype, DType::kMXFP4);
    EXPECT_EQ(l.q_proj.dtype, DType::kBF16);
    EXPECT_EQ(l.router.dtype, DType::kBF16);
  }
  const std::string llama_cpp = kFixture.Data("gpt_oss_gguf_mxfp4_llama_cpp.f32");
  // Measured 1.8e-7 (float kernels) and 7.3e-6 (tiles); the quantization itself moves the logits
  // by 0.12.
  const std::vector<float> exact = AllLogitsFromTheMapping(gguf);
  EXPECT_LT(DifferenceFrom(exact, llama_cpp, Reference::kLlamaCpp), 1e-5f);
  const std::vector<float> tiled = AllLogits(gguf);
  EXPECT_LT(DifferenceFrom(tiled, llama_cpp, Reference::kLlamaCpp), 5e-5f);
  EXPECT_GT(
      DifferenceFrom(exact, kFixture.Data("gpt_oss_gguf_llama_cpp.f32"), Reference::kLlamaCpp),
      1e-2f);
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(gguf, IdsFromOne(30), 5, 5e-5f);

  // Back to a checkpoint folder, the MXFP4 experts stay MXFP4 in the released checkpoints' form
  // (mlp.experts.gate_up_proj_blocks / _scales ..., quantization_config mxfp4), which transformers
  // reads (dequantizing them on a CPU): measured 2.7e-7 (float kernels) and 6.7e-6 (tiles) from
  // its logits, the GGUF's bit for bit.
  const std::string folder = testing_util::CheckpointRoot() + "/gpt_oss_mxfp4_folder";
  std::filesystem::remove_all(folder);
  ASSERT_TRUE(Convert(gguf, folder, ConvertOptions{}).ok());
  auto source = SafetensorsWeightSource::Open(folder);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ((*source)->UnsupportedDType("model.layers.2.mlp.experts.gate_up_proj_blocks"), "U8");
  EXPECT_EQ((*source)->UnsupportedDType("model.layers.2.mlp.experts.down_proj_scales"), "U8");
  const std::string transformers = kFixture.Data("gpt_oss_gguf_mxfp4_transformers.f32");
  const std::vector<float> folder_exact = AllLogitsFromTheMapping(folder);
  EXPECT_EQ(folder_exact, exact);
  EXPECT_LT(DifferenceFrom(folder_exact, transformers, Reference::kTransformers), 1e-5f);
  const std::vector<float> folder_tiled = AllLogits(folder);
  EXPECT_EQ(folder_tiled, tiled);
  EXPECT_LT(DifferenceFrom(folder_tiled, transformers, Reference::kTransformers), 5e-5f);
  // Stacks of another shape than the config's are refused by name.
  ModelConfig narrower = kFixture.Config("gpt_oss_gguf.json");
  narrower.moe.expert_intermediate_size = 32;
  testing_util::ExpectLayoutRefused(folder, narrower,
                                    "gate_up_proj_blocks': expected U8 [6, 64, 3, 16] (MXFP4 from "
                                    "the config), got U8 [6, 128, 3, 16]");
}

TEST(GptOssTest, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(Checkpoint(), IdsFromOne(40), 5);
}

TEST(GptOssTest, WhatIsNotDefinedIsRefused) {
  EngineOptions selective;
  selective.selective_v_top_k = 4;
  const auto model = Model::Load(Checkpoint(), selective);
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("attention sinks (gpt_oss)"), std::string::npos)
      << model.status().ToString();
  testing_util::ExpectSmallConfigRefused(R"("model_type": "gpt_oss", "swiglu_limit": 0)",
                                         "swiglu_limit");
  // A llama's weights with sinks are refused by name.
  ModelConfig llama = Config();
  llama.arch = Architecture::kLlama;
  llama.moe = MoeConfig{};
  llama.swiglu_limit = 0;
  llama.SetSlidingLayers(0, {});
  auto source = SafetensorsWeightSource::Open(Checkpoint());
  ASSERT_TRUE(source.ok());
  const auto bound = BindWeights(llama, *source);
  ASSERT_FALSE(bound.ok());
  EXPECT_NE(bound.status().message().find("self_attn.sinks"), std::string::npos)
      << bound.status().ToString();
}

}  // namespace
}  // namespace sigma
