// Mixtures of experts (ModelConfig::moe) against two independent implementations
// (tests/data/moe): Hugging Face transformers' logits of each checkpoint folder
// (tests/oracle/transformers_reference.py) and llama.cpp's of its f32 GGUF
// (tests/oracle/llama3_rope_reference.py), over token ids 1..70:
// - mixtral.json: 6 experts, 2 a token, their probabilities renormalised;
// - qwen2_moe.json: 6 experts of width 32, 2 a token, not renormalised, and a shared expert (80)
//   behind its sigmoid gate; q/k/v biases;
// - qwen3_moe.json: 8 experts of 40, 3 a token, renormalised (as the released Qwen3 MoE models);
//   q/k norms per head;
// - qwen3_moe_dense_layers.json: 4 layers, layer 1 a dense FFN (mlp_only_layers), not
//   renormalised (transformers only: llama.cpp's files have experts in every layer);
// - olmoe.json: 6 experts, 2 a token, not renormalised; q/k norms over whole rows;
// - granitemoe.json: Granite's scalars, 6 experts, 2 a token, stacked in the checkpoint
//   (CheckpointLayout), which the readers split and the writers stack again.
// And the engine's own consistency: decode steps (team and loops) give the full forward's logits,
// a batch of sequences routed to different experts gives each sequence's own logits, the team and
// the loops the same bits, and the GGUF converts back to the same config.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/gguf/convert.h"
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
using testing_util::ReadModelConfig;
using testing_util::Reference;
using testing_util::WorstRowDifference;

constexpr testing_util::FamilyFixture kFixture("moe");

ModelConfig Config(const std::string& name) { return kFixture.Config(name + ".json"); }

// make-model's checkpoint with seed 5, the one the references ran.
std::string Checkpoint(const std::string& name) { return kFixture.Checkpoint(name + ".json"); }

std::vector<std::string> LayerTensorNames(const ModelConfig& c, int layer) {
  const std::string prefix = StrCat("model.layers.", layer, ".");
  std::vector<std::string> names;
  for (const ExpectedTensor& t : ExpectedTensors(c)) {
    if (t.name.starts_with(prefix)) names.push_back(t.name.substr(prefix.size()));
  }
  return names;
}

TEST(MoeTest, ConfigsAsTransformersReadThem) {
  const ModelConfig mixtral = Config("mixtral");
  EXPECT_EQ(mixtral.arch, Architecture::kMixtral);
  EXPECT_EQ(mixtral.moe.num_experts, 6);
  EXPECT_EQ(mixtral.moe.experts_per_token, 2);
  EXPECT_EQ(mixtral.moe.expert_intermediate_size, 64);  // intermediate_size
  EXPECT_TRUE(mixtral.moe.norm_topk_prob);
  EXPECT_EQ(mixtral.sliding_window, 0);
  const std::vector<std::string> names = LayerTensorNames(mixtral, 0);
  EXPECT_EQ(names.size(), 4u + 1u + 1u + 6u * 3u + 1u);  // attention, norms, router, experts
  EXPECT_NE(std::find(names.begin(), names.end(), "block_sparse_moe.gate.weight"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "block_sparse_moe.experts.5.w2.weight"),
            names.end());

  const ModelConfig qwen2 = Config("qwen2_moe");
  EXPECT_EQ(qwen2.arch, Architecture::kQwen2Moe);
  EXPECT_EQ(qwen2.moe.expert_intermediate_size, 32);
  EXPECT_EQ(qwen2.moe.shared_expert_intermediate_size, 80);
  EXPECT_FALSE(qwen2.moe.norm_topk_prob);
  EXPECT_TRUE(qwen2.qkv_bias);
  const std::vector<std::string> qwen2_names = LayerTensorNames(qwen2, 2);
  for (const char* name : {"mlp.gate.weight", "mlp.experts.0.up_proj.weight",
                           "mlp.shared_expert.down_proj.weight", "mlp.shared_expert_gate.weight"}) {
    EXPECT_NE(std::find(qwen2_names.begin(), qwen2_names.end(), name), qwen2_names.end()) << name;
  }

  const ModelConfig qwen3 = Config("qwen3_moe");
  EXPECT_EQ(qwen3.arch, Architecture::kQwen3Moe);
  EXPECT_TRUE(qwen3.moe.norm_topk_prob);
  EXPECT_TRUE(qwen3.qk_norm_per_head());
  const ModelConfig dense = Config("qwen3_moe_dense_layers");
  EXPECT_TRUE(dense.MoeLayer(0));
  EXPECT_FALSE(dense.MoeLayer(1));
  EXPECT_TRUE(dense.MoeLayer(3));
  const std::vector<std::string> dense_names = LayerTensorNames(dense, 1);
  EXPECT_NE(std::find(dense_names.begin(), dense_names.end(), "mlp.down_proj.weight"),
            dense_names.end());
  EXPECT_EQ(std::find(dense_names.begin(), dense_names.end(), "mlp.gate.weight"),
            dense_names.end());

  const ModelConfig olmoe = Config("olmoe");
  EXPECT_EQ(olmoe.arch, Architecture::kOlmoe);
  EXPECT_TRUE(olmoe.qk_norm());
  EXPECT_FALSE(olmoe.qk_norm_per_head());
  EXPECT_TRUE(olmoe.pre_norms());
  EXPECT_FALSE(olmoe.post_norms());

  for (const char* name :
       {"mixtral", "qwen2_moe", "qwen3_moe", "qwen3_moe_dense_layers", "olmoe", "granitemoe"}) {
    const ModelConfig c = Config(name);
    const auto back = ParseModelConfig(c.ToJson(), "config.json");
    ASSERT_TRUE(back.ok()) << name << ": " << back.status().ToString();
    EXPECT_EQ(back->ToJson(), c.ToJson()) << name;
    EXPECT_EQ(back->moe.dense_layers, c.moe.dense_layers) << name;
  }
}

TEST(MoeTest, TransformersFiveNamesAndDefaults) {
  // transformers 5 writes a Qwen3-MoE's expert count as num_local_experts.
  const auto qwen3 = ParseModelConfig(
      R"({"model_type": "qwen3_moe", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
          "num_hidden_layers": 2, "num_attention_heads": 4, "num_local_experts": 4,
          "num_experts_per_tok": 2, "decoder_sparse_step": 2})",
      "config.json");
  ASSERT_TRUE(qwen3.ok()) << qwen3.status().ToString();
  EXPECT_EQ(qwen3->moe.num_experts, 4);
  EXPECT_EQ(qwen3->moe.expert_intermediate_size, 768);  // Qwen3MoeConfig's defaults
  EXPECT_FALSE(qwen3->moe.norm_topk_prob);
  EXPECT_EQ(qwen3->head_dim, 8);  // hidden / heads, unlike Qwen3's 128
  // decoder_sparse_step 2: experts where (layer + 1) % 2 == 0.
  EXPECT_FALSE(qwen3->MoeLayer(0));
  EXPECT_TRUE(qwen3->MoeLayer(1));
  // MixtralConfig's RoPE base and eps where config.json names none.
  const auto mixtral = ParseModelConfig(
      R"({"model_type": "mixtral", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
          "num_hidden_layers": 2, "num_attention_heads": 4})",
      "config.json");
  ASSERT_TRUE(mixtral.ok()) << mixtral.status().ToString();
  EXPECT_EQ(mixtral->rope_theta, 1e6);
  EXPECT_EQ(mixtral->rms_norm_eps, 1e-5);
  EXPECT_EQ(mixtral->moe.num_experts, 8);
  EXPECT_EQ(mixtral->moe.experts_per_token, 2);
  EXPECT_EQ(mixtral->sliding_window, 0);
}

TEST(MoeTest, MatchesTransformers) {
  // Measured 2.4e-7 (mixtral), 3.3e-7 (qwen2_moe), 3.9e-7 (qwen3_moe), 4.8e-7 (dense layers),
  // 3.5e-7 (olmoe), 8.9e-8 (granitemoe, whose logits are divided by 6).
  for (const char* name :
       {"mixtral", "qwen2_moe", "qwen3_moe", "qwen3_moe_dense_layers", "olmoe", "granitemoe"}) {
    EXPECT_LT(
        DifferenceFrom(AllLogits(Checkpoint(name)),
                       kFixture.Data(StrCat(name, "_transformers.f32")), Reference::kTransformers),
        1e-5f)
        << name;
  }
}

TEST(MoeTest, GgufMatchesLlamaCppAndConvertsBack) {
  // Measured 1.5e-7 (mixtral), 1.6e-7 (qwen2_moe), 2.4e-7 (qwen3_moe), 2.8e-7 (olmoe), 6.0e-8
  // (granitemoe).
  for (const char* name : {"mixtral", "qwen2_moe", "qwen3_moe", "olmoe", "granitemoe"}) {
    const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(Checkpoint(name), name);
    EXPECT_LT(DifferenceFrom(AllLogits(gguf), kFixture.Data(StrCat(name, "_llama_cpp.f32")),
                             Reference::kLlamaCpp),
              1e-5f)
        << name;
    const ModelConfig c = ReadModelConfig(back + "/config.json");
    EXPECT_EQ(c.arch, Config(name).arch) << name;
    EXPECT_EQ(MoeConfigJson(c), MoeConfigJson(Config(name))) << name;
    EXPECT_EQ(AllLogits(back), AllLogits(gguf)) << name;
  }
}

// A quantized GGUF keeps the routers in f32, as llama.cpp's quantizer does: a router's choices
// turn on small margins. Its quantized experts decode from tile copies.
TEST(MoeTest, QuantizedGgufKeepsTheRoutersF32) {
  const std::string gguf =
      testing_util::ConvertToGguf(Checkpoint("qwen2_moe"), "qwen2_moe_q8_0", DType::kQ8_0);
  for (const LayerWeights& l : testing_util::LoadWeights(gguf).layers) {
    EXPECT_EQ(l.router.dtype, DType::kF32);
    EXPECT_EQ(l.shared_expert_gate.dtype, DType::kF32);
    EXPECT_EQ(l.experts[5].down_proj.dtype, DType::kQ8_0);
    EXPECT_EQ(l.shared_expert.up_proj.dtype, DType::kQ8_0);
  }
  std::vector<float> logits;
  ASSERT_TRUE(testing_util::LoadF32Cache(gguf)
                  ->Prefill(0, IdsFromOne(20), LogitsMode::kLast, &logits)
                  .ok());
  for (const float v : logits) ASSERT_TRUE(std::isfinite(v));
  // Its experts decode from their tile copies (PlaceDecodeWeights), the team as the loops bit for
  // bit, near the full forward (whose batched kernels keep the activations in f32 where a decode
  // step's integer kernels quantize them: measured 2.4e-5).
  const std::vector<int32_t> ids = IdsFromOne(24);
  std::vector<float> full;
  ASSERT_TRUE(testing_util::LoadF32Cache(gguf)->Prefill(0, ids, LogitsMode::kAll, &full).ok());
  std::vector<std::vector<float>> steps;
  for (DecodeTeam team : {DecodeTeam::kAlways, DecodeTeam::kNever}) {
    const std::unique_ptr<Model> model = testing_util::LoadF32Cache(gguf, team);
    ASSERT_TRUE(model->Prefill(0, {ids.data(), 4}, LogitsMode::kNone, nullptr).ok());
    steps.emplace_back();
    for (size_t i = 4; i < ids.size(); ++i) {
      const TokenRow row{0, ids[i]};
      ASSERT_TRUE(model->Forward({&row, 1}, LogitsMode::kLast, &logits).ok());
      float worst = 0;
      for (size_t v = 0; v < 384; ++v)
        worst = std::max(worst, std::fabs(logits[v] - full[i * 384 + v]));
      EXPECT_LT(worst, 2e-4f) << "position " << i;
      steps.back().insert(steps.back().end(), logits.begin(), logits.end());
    }
  }
  EXPECT_EQ(steps[0], steps[1]);
}

// Granite MoE stacks each layer's experts in its checkpoint: input_linear (every expert's gate
// rows, then its up rows), output_linear (the down matrices) and router.layer, which the reader
// shows as the experts' own matrices and the writers (make-model, convert to a folder) stack again.
TEST(MoeTest, GraniteMoeStacksItsExperts) {
  const ModelConfig c = Config("granitemoe");
  EXPECT_EQ(c.arch, Architecture::kGraniteMoe);
  EXPECT_TRUE(c.granite());
  EXPECT_TRUE(c.moe.norm_topk_prob);
  EXPECT_EQ(c.embedding_multiplier, 12.0);
  std::vector<std::pair<std::string, std::vector<int64_t>>> stacks;
  for (const FileTensor& f : CheckpointLayout(c)) {
    if (f.name.starts_with("model.layers.0.") && f.stacked()) stacks.push_back({f.name, f.shape});
  }
  EXPECT_EQ(stacks, (std::vector<std::pair<std::string, std::vector<int64_t>>>{
                        {"model.layers.0.block_sparse_moe.router.layer.weight", {6, 96}},
                        {"model.layers.0.block_sparse_moe.input_linear.weight", {6, 80, 96}},
                        {"model.layers.0.block_sparse_moe.output_linear.weight", {6, 96, 40}}}));
  // The pieces are the stack's rows: expert 1's up matrix is rows 40..79 of its slice.
  auto source = SafetensorsWeightSource::Open(Checkpoint("granitemoe"));
  ASSERT_TRUE(source.ok());
  const TensorView stack =
      (*source)->tensors().at("model.layers.2.block_sparse_moe.input_linear.weight");
  ASSERT_TRUE((*source)->ApplyLayout(CheckpointLayout(c)).ok());
  EXPECT_EQ((*source)->tensors().count("model.layers.2.block_sparse_moe.input_linear.weight"), 0u);
  const TensorView up =
      (*source)->tensors().at("model.layers.2.block_sparse_moe.experts.1.up_proj.weight");
  EXPECT_EQ(up.shape, (std::vector<int64_t>{40, 96}));
  EXPECT_EQ(up.data, static_cast<const uint8_t*>(stack.data) + (80 + 40) * 96 * 2);
  // Through an f32 GGUF (llama.cpp's ffn_gate_exps / ffn_up_exps) and back, stacked again.
  const auto [gguf, back] =
      testing_util::ConvertThroughF32Gguf(Checkpoint("granitemoe"), "granitemoe_stacks");
  auto written = SafetensorsWeightSource::Open(back);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ((*written)->tensors().at("model.layers.1.block_sparse_moe.input_linear.weight").shape,
            (std::vector<int64_t>{6, 80, 96}));
  // A stack of another shape is refused by name.
  ModelConfig wider = c;
  wider.moe.expert_intermediate_size = 48;
  testing_util::ExpectLayoutRefused(Checkpoint("granitemoe"), wider,
                                    "block_sparse_moe.input_linear.weight': expected shape [6, 96, "
                                    "96] from the config, got [6, 80, 96]");
}

// The same weights routed otherwise are far from transformers: the routing is what the match
// checks, not logits too small to tell.
TEST(MoeTest, AnotherRoutingIsFarOff) {
  const std::vector<float> reference = ReadF32File(kFixture.Data("qwen3_moe_transformers.f32"));
  const auto far_off = [&](const std::function<void(MoeConfig*)>& change) {
    ModelWeights weights = testing_util::LoadWeights(Checkpoint("qwen3_moe"));
    change(&weights.config.moe);
    return WorstRowDifference(testing_util::AllLogitsOf(std::move(weights)),
                              EveryNthRowAndLast(70, 5), reference, 384);
  };
  EXPECT_GT(far_off([](MoeConfig* m) { m->norm_topk_prob = false; }), 1e-3f);
  EXPECT_GT(far_off([](MoeConfig* m) { m->experts_per_token = 2; }), 1e-3f);
  EXPECT_LT(far_off([](MoeConfig*) {}), 1e-5f);
}

TEST(MoeTest, DecodeStepsGiveTheFullForwardsLogits) {
  for (const char* name : {"qwen2_moe", "qwen3_moe_dense_layers", "olmoe"}) {
    SCOPED_TRACE(name);
    testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(Checkpoint(name), IdsFromOne(40), 5);
  }
}

// Three sequences decoded together, whose rows choose different experts: each sequence's logits
// are those it has alone, and the team's are the loops' bit for bit.
TEST(MoeTest, BatchedDecodeGivesEachSequenceItsOwnLogits) {
  const std::string path = Checkpoint("qwen2_moe");
  const std::vector<std::vector<int32_t>> prompts = {
      {5, 9, 200}, {17, 3, 3, 3, 41, 11, 300, 8}, {250, 1}};
  const std::vector<int32_t> next = {7, 99, 380};
  std::vector<std::vector<float>> alone;
  for (size_t s = 0; s < prompts.size(); ++s) {
    auto model = testing_util::LoadF32Cache(path);
    std::vector<float> logits;
    ASSERT_TRUE(model->Prefill(0, prompts[s], LogitsMode::kNone, nullptr).ok());
    const TokenRow row{0, next[s]};
    ASSERT_TRUE(model->Forward({&row, 1}, LogitsMode::kLast, &logits).ok());
    alone.push_back(logits);
  }
  std::vector<std::vector<float>> batched;
  for (DecodeTeam team : {DecodeTeam::kAlways, DecodeTeam::kNever}) {
    EngineOptions options;
    options.threads = 2;
    options.kv_dtype = "f32";
    options.max_context = 64;
    options.max_sequences = 3;
    options.decode_team = team;
    auto model = Model::Load(path, options);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    for (size_t s = 0; s < prompts.size(); ++s) {
      ASSERT_TRUE(
          (*model)->Prefill(static_cast<int>(s), prompts[s], LogitsMode::kNone, nullptr).ok());
    }
    std::vector<TokenRow> rows;
    for (size_t s = 0; s < prompts.size(); ++s) rows.push_back({static_cast<int>(s), next[s]});
    EXPECT_EQ((*model)->UsesDecodeTeam(rows), team == DecodeTeam::kAlways);
    std::vector<float> logits;
    ASSERT_TRUE((*model)->Forward(rows, LogitsMode::kAll, &logits).ok());
    batched.push_back(logits);
  }
  EXPECT_EQ(batched[0], batched[1]);
  for (size_t s = 0; s < prompts.size(); ++s) {
    float worst = 0;
    for (size_t v = 0; v < 384; ++v) {
      worst = std::max(worst, std::fabs(batched[0][s * 384 + v] - alone[s][v]));
    }
    EXPECT_LT(worst, 1e-5f) << "sequence " << s;
  }
}

TEST(MoeTest, WhatCannotBeReadOrWrittenIsRefusedByName) {
  // A dense layer among the experts has no GGUF form.
  GgufWriter writer;
  const Status dense = AddModelConfigToGguf(Config("qwen3_moe_dense_layers"), &writer);
  EXPECT_EQ(dense.code(), StatusCode::kUnimplemented);
  EXPECT_NE(dense.message().find("dense layers"), std::string::npos) << dense.ToString();

  using testing_util::ExpectSmallConfigRefused;
  ExpectSmallConfigRefused(
      R"("model_type": "mixtral", "num_local_experts": 4, "num_experts_per_tok": 5)",
      "num_experts_per_tok");
  ExpectSmallConfigRefused(R"("model_type": "qwen3_moe", "num_experts": 4, "num_local_experts": 5)",
                           "differ");
  ExpectSmallConfigRefused(R"("model_type": "qwen3_moe", "mlp_only_layers": [2])",
                           "mlp_only_layers");
  ExpectSmallConfigRefused(R"("model_type": "olmoe", "clip_qkv": 8.0)", "clip_qkv");
  ExpectSmallConfigRefused(R"("model_type": "mixtral", "num_local_experts": 0)", "num_experts");

  // Weights with fewer or more experts than the config names.
  ModelConfig six = Config("mixtral");
  const std::string path = Checkpoint("mixtral");
  ModelConfig seven = six;
  seven.moe.num_experts = 7;
  auto source = SafetensorsWeightSource::Open(path);
  ASSERT_TRUE(source.ok());
  const auto missing = BindWeights(seven, *source);
  EXPECT_EQ(missing.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("[num_experts, hidden_size]"), std::string::npos)
      << missing.status().ToString();
  ModelConfig five = six;
  five.moe.num_experts = 5;
  const auto extra = BindWeights(five, *source);
  EXPECT_NE(extra.status().message().find("holds an expert 5 in layer 0 but num_experts is 5"),
            std::string::npos)
      << extra.status().ToString();
}

}  // namespace
}  // namespace sigma
