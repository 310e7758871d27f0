// YaRN rope scaling (RopeScaling type "yarn", as transformers' _compute_yarn_parameters: each
// frequency ramped between extrapolation and interpolation by its dimension, cos and sin times the
// attention factor) against two independent implementations (tests/data/yarn): transformers'
// logits of a Llama checkpoint with it (tests/oracle/transformers_reference.py) and llama.cpp's of
// its f32 GGUF (tests/oracle/llama3_rope_reference.py), over token ids 1..70. And the config as
// transformers reads it, decode steps against the full forward, the GGUF back to the folder.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/gguf/gguf_model.h"
#include "engine/loader/model_config.h"
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

constexpr testing_util::FamilyFixture kFixture("yarn");

StatusOr<ModelConfig> Parse(const std::string& rope, const std::string& extra = "") {
  return ParseModelConfig(StrCat(R"({"model_type": "qwen3", "vocab_size": 384, "hidden_size": 64,
                 "intermediate_size": 160, "num_hidden_layers": 1, "num_attention_heads": 4,
                 "head_dim": 32, "max_position_embeddings": 32768, "rope_scaling": )",
                                 rope, extra, "}"),
                          "config.json");
}

TEST(YarnTest, ConfigAsTransformersReadsIt) {
  const ModelConfig c = kFixture.Config();
  EXPECT_EQ(c.rope_scaling.type, "yarn");
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_DOUBLE_EQ(c.RopeAttentionFactor(), 0.1 * std::log(4.0) + 1.0);
  // The first pairs extrapolate (unscaled), the last interpolate (divided by 4).
  ModelConfig plain = c;
  plain.rope_scaling = RopeScaling{};
  const std::vector<float> yarn = c.RopeInvFreq(), base = plain.RopeInvFreq();
  EXPECT_EQ(yarn[0], base[0]);
  EXPECT_FLOAT_EQ(yarn[11], base[11] / 4);
  const auto back = ParseModelConfig(c.ToJson(), "config.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->RopeInvFreq(), c.RopeInvFreq());

  // Without a factor: max_position_embeddings / original; without an original in the dict, the
  // top-level key where there is one (transformers gives it priority), else
  // max_position_embeddings; mscale and mscale_all_dim give the attention factor as a ratio.
  auto derived = Parse(R"({"rope_type": "yarn", "original_max_position_embeddings": 4096})");
  ASSERT_TRUE(derived.ok()) << derived.status().ToString();
  EXPECT_EQ(derived->RopeScalingFactor(), 8.0);
  auto top = Parse(R"({"rope_type": "yarn", "factor": 4.0,
                       "original_max_position_embeddings": 4096})",
                   R"(, "original_max_position_embeddings": 8192)");
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_EQ(top->rope_scaling.original_max_position_embeddings, 8192);
  auto ratio = Parse(R"({"rope_type": "yarn", "factor": 40.0, "mscale": 1.0,
                         "mscale_all_dim": 0.707, "original_max_position_embeddings": 4096})");
  ASSERT_TRUE(ratio.ok()) << ratio.status().ToString();
  EXPECT_DOUBLE_EQ(ratio->RopeAttentionFactor(),
                   (0.1 * std::log(40.0) + 1.0) / (0.1 * 0.707 * std::log(40.0) + 1.0));
  auto bad = Parse(R"({"rope_type": "yarn", "factor": 4.0, "beta_fast": -1})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("rope_scaling.beta_fast"), std::string::npos);
}

TEST(YarnTest, MatchesTransformers) {
  const std::vector<float> reference = ReadF32File(kFixture.Data("transformers_logits.f32"));
  const int64_t vocab = kFixture.Config().vocab_size;
  // Measured 3.6e-7.
  EXPECT_LT(WorstRowDifference(AllLogits(kFixture.Checkpoint()), EveryNthRowAndLast(70, 5),
                               reference, vocab),
            1e-5f);
  // The same weights without the scaling are far off.
  ModelConfig plain = kFixture.Config();
  plain.rope_scaling = RopeScaling{};
  const std::string dir = kFixture.Checkpoint();
  ASSERT_TRUE(WriteFileAtomic(dir + "/config.json", plain.ToJson()).ok());
  EXPECT_GT(WorstRowDifference(AllLogits(dir), EveryNthRowAndLast(70, 5), reference, vocab), 1e-3f);
}

TEST(YarnTest, GgufMatchesLlamaCppAndConvertsBack) {
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(kFixture.Checkpoint(), "yarn");
  // Measured 1.8e-7.
  EXPECT_LT(
      DifferenceFrom(AllLogits(gguf), kFixture.Data("llama_cpp_logits.f32"), Reference::kLlamaCpp),
      1e-5f);
  const ModelConfig round_trip = ReadModelConfig(back + "/config.json");
  EXPECT_EQ(round_trip.RopeInvFreq(), kFixture.Config().RopeInvFreq());
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
  // Parameters llama.cpp's file does not carry are refused, not dropped.
  ModelConfig steeper = kFixture.Config();
  steeper.rope_scaling.beta_fast = 16;
  GgufWriter writer;
  const Status refused = AddModelConfigToGguf(steeper, &writer);
  EXPECT_EQ(refused.code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.message().find("no GGUF form"), std::string::npos) << refused.ToString();
}

TEST(YarnTest, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(kFixture.Checkpoint(), IdsFromOne(40),
                                                           5);
}

}  // namespace
}  // namespace sigma
