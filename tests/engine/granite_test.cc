// Granite (ModelConfig::embedding_multiplier, attention_multiplier, residual_multiplier,
// logits_scaling: Llama's layers with four scalars) against two independent implementations
// (tests/data/granite): Hugging Face transformers' logits of the checkpoint folder
// (tests/oracle/transformers_reference.py) and llama.cpp's of its f32 GGUF
// (tests/oracle/llama3_rope_reference.py), over token ids 1..70. And the engine's own
// consistency: decode steps (team and loops) give the full forward's logits, the GGUF converts
// back to the same config, and the same weights read as a Llama (no scalars) are far off.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/base/file.h"
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

constexpr testing_util::FamilyFixture kFixture("granite");

TEST(GraniteTest, ConfigAsTransformersReadsIt) {
  const ModelConfig c = kFixture.Config();
  EXPECT_EQ(c.arch, Architecture::kGranite);
  EXPECT_EQ(c.embedding_scale(), 12.0f);
  EXPECT_EQ(c.AttentionScale(), 0.015625f);
  EXPECT_EQ(c.residual_multiplier, 0.22);
  EXPECT_EQ(c.logits_scaling, 8.0);
  const auto back = ParseModelConfig(c.ToJson(), "config.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c.ToJson());
  // GraniteConfig's defaults are 1, the attention scale included (not 1 / sqrt(head_dim)).
  const auto bare = ParseModelConfig(
      R"({"model_type": "granite", "vocab_size": 384, "hidden_size": 64,
          "intermediate_size": 160, "num_hidden_layers": 1, "num_attention_heads": 4})",
      "config.json");
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->AttentionScale(), 1.0f);
  EXPECT_EQ(bare->embedding_scale(), 1.0f);
  // The scalars are Granite's: another model_type's are refused by Validate.
  ModelConfig llama = c;
  llama.arch = Architecture::kLlama;
  EXPECT_NE(llama.Validate().message().find("only model_types granite and granitemoe have one"),
            std::string::npos)
      << llama.Validate().ToString();
}

TEST(GraniteTest, MatchesTransformers) {
  const std::vector<float> logits = AllLogits(kFixture.Checkpoint());
  const std::vector<float> reference = ReadF32File(kFixture.Data("transformers_logits.f32"));
  const int64_t vocab = kFixture.Config().vocab_size;
  // Measured 7.5e-8 (the logits are divided by 8: at most 0.28).
  EXPECT_LT(WorstRowDifference(logits, EveryNthRowAndLast(70, 5), reference, vocab), 1e-6f);
  // The same weights without the scalars are far off.
  ModelConfig llama = kFixture.Config();
  llama.arch = Architecture::kLlama;
  llama.embedding_multiplier = llama.residual_multiplier = llama.logits_scaling = 1.0;
  llama.attention_multiplier = 0;
  const std::string dir = kFixture.Checkpoint();
  ASSERT_TRUE(WriteFileAtomic(dir + "/config.json", llama.ToJson()).ok());
  EXPECT_GT(WorstRowDifference(AllLogits(dir), EveryNthRowAndLast(70, 5), reference, vocab), 0.1f);
}

TEST(GraniteTest, GgufMatchesLlamaCppAndConvertsBack) {
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(kFixture.Checkpoint(), "granite");
  // Measured 3.0e-8.
  EXPECT_LT(
      DifferenceFrom(AllLogits(gguf), kFixture.Data("llama_cpp_logits.f32"), Reference::kLlamaCpp),
      1e-6f);
  const ModelConfig round_trip = ReadModelConfig(back + "/config.json");
  EXPECT_EQ(round_trip.arch, Architecture::kGranite);
  EXPECT_EQ(round_trip.embedding_scale(), 12.0f);
  EXPECT_EQ(round_trip.AttentionScale(), 0.015625f);
  EXPECT_EQ(static_cast<float>(round_trip.residual_multiplier), 0.22f);
  EXPECT_EQ(round_trip.logits_scaling, 8.0);
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
}

TEST(GraniteTest, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(kFixture.Checkpoint(), IdsFromOne(40),
                                                           5);
}

}  // namespace
}  // namespace sigma
