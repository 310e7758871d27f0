// Phi-3 (tests/data/phi3) against Hugging Face transformers
// (tests/oracle/transformers_reference.py): q/k/v and gate/up each one matrix in the checkpoint
// (ModelConfig::fused_projections), RoPE on 18 of each head's 24 dimensions (partial_rotary_factor
// 0.75, as Phi-4-mini), longrope scaling (short factors and the attention factor of
// max_position_embeddings / original 4x) and a 29-position sliding window, over token ids 1..70.
// And the engine's own consistency: decode steps (team and loops) give the full forward's logits; a
// context past longrope's original one, where transformers switches to the long factors, and a GGUF
// of the model are refused by name.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/gguf/convert.h"
#include "engine/loader/model_config.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

using testing_util::EveryNthRowAndLast;
using testing_util::IdsFromOne;
using testing_util::LoadF32Cache;
using testing_util::RandomCheckpoint;
using testing_util::ReadF32File;
using testing_util::ReadModelConfig;
using testing_util::WorstRowDifference;

ModelConfig Phi3Config() {
  return ReadModelConfig(std::string(SIGMA_TEST_DATA) + "/phi3/config.json");
}

std::string Checkpoint() { return RandomCheckpoint(Phi3Config(), "phi3", 5); }

TEST(Phi3Test, ConfigAsTransformersReadsIt) {
  const ModelConfig c = Phi3Config();
  EXPECT_EQ(c.arch, Architecture::kPhi3);
  EXPECT_TRUE(c.fused_projections());
  EXPECT_EQ(c.head_dim, 24);
  EXPECT_EQ(c.rotary_dim(), 18);
  EXPECT_EQ(c.RopeInvFreq().size(), 9u);
  EXPECT_EQ(c.rope_scaling.type, "longrope");
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 4096);
  EXPECT_NEAR(c.RopeAttentionFactor(), std::sqrt(1 + std::log(4.0) / std::log(4096.0)), 1e-12);
  EXPECT_EQ(c.AttentionWindow(2), 29);
  const auto back = ParseModelConfig(c.ToJson(), "config.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->RopeInvFreq(), c.RopeInvFreq());
  EXPECT_EQ(back->RopeAttentionFactor(), c.RopeAttentionFactor());
  EXPECT_EQ(back->partial_rotary_factor, 0.75);
  EXPECT_EQ(back->sliding_window, 29);
  // Phi-3's older name of longrope; a window only where named (Phi3Config's default: none).
  std::string su = c.ToJson();
  su.replace(su.find("\"longrope\""), 10, "\"su\"");
  su.replace(su.find("\"sliding_window\": 29"), 20, "\"sliding_window\": null");
  const auto old = ParseModelConfig(su, "config.json");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->rope_scaling.type, "longrope");
  EXPECT_EQ(old->sliding_window, 0);
  // Partial RoPE is Phi-3's here: a Llama's is refused by name.
  ModelConfig llama_text = c;
  llama_text.arch = Architecture::kLlama;
  const auto llama = ParseModelConfig(llama_text.ToJson(), "config.json");
  EXPECT_EQ(llama.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(llama.status().message().find("partial_rotary_factor 0.75"), std::string::npos)
      << llama.status().ToString();
}

TEST(Phi3Test, MatchesTransformers) {
  std::vector<float> logits;
  ASSERT_TRUE(
      LoadF32Cache(Checkpoint())->Prefill(0, IdsFromOne(70), LogitsMode::kAll, &logits).ok());
  // Measured 3.6e-7.
  EXPECT_LT(WorstRowDifference(
                logits, EveryNthRowAndLast(70, 5),
                ReadF32File(std::string(SIGMA_TEST_DATA) + "/phi3/transformers_logits.f32"),
                Phi3Config().vocab_size),
            1e-5f);
}

TEST(Phi3Test, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(Checkpoint(), IdsFromOne(70), 5);
}

TEST(Phi3Test, LongFactorsAndGgufAreRefusedByName) {
  const std::string dir = Checkpoint();
  EngineOptions options;
  options.max_context = 4097;
  const auto long_context = Model::Load(dir, options);
  ASSERT_FALSE(long_context.ok());
  EXPECT_EQ(long_context.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(long_context.status().message().find("exceeds longrope's original context 4096"),
            std::string::npos)
      << long_context.status().ToString();
  const std::string gguf = testing_util::CheckpointRoot() + "/phi3.gguf";
  const Status converted = Convert(dir, gguf, ConvertOptions{});
  EXPECT_EQ(converted.code(), StatusCode::kUnimplemented) << converted.ToString();
  EXPECT_NE(converted.message().find("phi3 model"), std::string::npos) << converted.ToString();
}

}  // namespace
}  // namespace sigma
