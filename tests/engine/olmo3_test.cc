// OLMo 3 (OLMo 2's layers, ModelConfig::olmo, with a sliding window in three layers of four, whose
// RoPE is unscaled: ModelConfig::LocalRope) against transformers (its YaRN scaling on the
// full-attention layers only) and, without the scaling, llama.cpp on its GGUF (general.architecture
// olmo2 with a window), over token ids 1..70 (tests/data/olmo3). And decode steps against the
// full forward.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/gguf/gguf_model.h"
#include "engine/loader/model_config.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

using testing_util::AllLogits;
using testing_util::DifferenceFrom;
using testing_util::IdsFromOne;
using testing_util::RandomCheckpoint;
using testing_util::ReadModelConfig;
using testing_util::Reference;

constexpr testing_util::FamilyFixture kFixture("olmo3");

// The same without its rope scaling, as llama.cpp's reference ran it.
ModelConfig UnscaledConfig() {
  ModelConfig c = kFixture.Config();
  c.rope_scaling = RopeScaling{};
  return c;
}

TEST(Olmo3Test, ConfigAsTransformersReadsIt) {
  const ModelConfig c = kFixture.Config();
  EXPECT_EQ(c.arch, Architecture::kOlmo3);
  EXPECT_TRUE(c.olmo());
  EXPECT_EQ(c.sliding_window, 7);
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_EQ(c.AttentionWindow(i) > 0, i % 4 != 3) << i;
    EXPECT_EQ(c.LocalRope(i), i % 4 != 3) << i;
  }
  EXPECT_EQ(c.local_rope_theta, c.rope_theta);
  EXPECT_EQ(c.rope_scaling.type, "yarn");
  const auto back = ParseModelConfig(c.ToJson(), "config.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c.ToJson());
  // transformers 5's form: a RoPE per layer type, which may differ in base.
  ModelConfig own = c;
  own.local_rope_theta = 1e4;
  const auto own_back = ParseModelConfig(own.ToJson(), "config.json");
  ASSERT_TRUE(own_back.ok()) << own_back.status().ToString();
  EXPECT_EQ(own_back->local_rope_theta, 1e4);
  EXPECT_EQ(own_back->rope_theta, c.rope_theta);
  EXPECT_EQ(own_back->rope_scaling.type, "yarn");
}

TEST(Olmo3Test, MatchesTransformers) {
  // Measured 8.8e-7.
  EXPECT_LT(DifferenceFrom(AllLogits(kFixture.Checkpoint()),
                           kFixture.Data("transformers_logits.f32"), Reference::kTransformers),
            1e-5f);
}

TEST(Olmo3Test, GgufMatchesLlamaCppAndConvertsBack) {
  const std::string folder = RandomCheckpoint(UnscaledConfig(), "olmo3_unscaled", 5);
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(folder, "olmo3");
  // Measured 5.2e-7.
  EXPECT_LT(
      DifferenceFrom(AllLogits(gguf), kFixture.Data("llama_cpp_logits.f32"), Reference::kLlamaCpp),
      1e-5f);
  const ModelConfig round_trip = ReadModelConfig(back + "/config.json");
  EXPECT_EQ(round_trip.arch, Architecture::kOlmo3);
  EXPECT_EQ(round_trip.sliding_layers, UnscaledConfig().sliding_layers);
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
  // With its scaling, which llama.cpp would apply to the sliding layers too: no GGUF form.
  GgufWriter writer;
  const Status refused = AddModelConfigToGguf(kFixture.Config(), &writer);
  EXPECT_EQ(refused.code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.message().find("one unscaled RoPE"), std::string::npos) << refused.ToString();
}

TEST(Olmo3Test, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(kFixture.Checkpoint(), IdsFromOne(40),
                                                           5);
}

}  // namespace
}  // namespace sigma
