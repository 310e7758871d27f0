// Qwen3 (ModelConfig::qk_norm: an RMSNorm over each head's q and k before RoPE) against two
// independent implementations (tests/data/qwen3): Hugging Face transformers' logits of the
// checkpoint folder (tests/oracle/transformers_reference.py) and llama.cpp's of its f32 GGUF
// (tests/oracle/llama3_rope_reference.py), over token ids 1..70 of a Qwen3 whose head_dim (32)
// is not hidden_size / heads (96 / 4), with tied embeddings. And the engine's own consistency:
// decode steps (team and loops) give the full forward's logits, the GGUF converts back to the same
// folder config, and q/k norm weights in a model_type without them are refused by name.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/loader/model_config.h"
#include "engine/loader/model_weights.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

using testing_util::AllLogits;
using testing_util::DifferenceFrom;
using testing_util::IdsFromOne;
using testing_util::ReadModelConfig;
using testing_util::Reference;

constexpr testing_util::FamilyFixture kFixture("qwen3");

TEST(Qwen3Test, ConfigAsTransformersReadsIt) {
  const ModelConfig c = kFixture.Config();
  EXPECT_EQ(c.arch, Architecture::kQwen3);
  EXPECT_TRUE(c.qk_norm());
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.q_dim(), 128);
  // Qwen3Config's head_dim default is 128, not hidden_size / heads.
  auto no_head_dim = ParseModelConfig(
      R"({"model_type": "qwen3", "vocab_size": 384, "hidden_size": 96, "intermediate_size": 256,
          "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2})",
      "config.json");
  ASSERT_TRUE(no_head_dim.ok()) << no_head_dim.status().ToString();
  EXPECT_EQ(no_head_dim->head_dim, 128);
  EXPECT_FALSE(ModelConfig().qk_norm());
  const auto back = ParseModelConfig(c.ToJson(), "config.json");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->arch, Architecture::kQwen3);
  EXPECT_EQ(back->head_dim, 32);
  EXPECT_NE(c.ToJson().find("\"Qwen3ForCausalLM\""), std::string::npos);
}

TEST(Qwen3Test, MatchesTransformers) {
  const ModelConfig c = kFixture.Config();
  // Measured 4.2e-7.
  EXPECT_LT(DifferenceFrom(AllLogits(kFixture.Checkpoint()),
                           kFixture.Data("transformers_logits.f32"), Reference::kTransformers),
            1e-5f);
}

TEST(Qwen3Test, GgufMatchesLlamaCppAndConvertsBack) {
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(kFixture.Checkpoint(), "qwen3");
  const ModelConfig c = kFixture.Config();
  // Measured 3.0e-7 (the folder: 2.5e-7).
  EXPECT_LT(
      DifferenceFrom(AllLogits(gguf), kFixture.Data("llama_cpp_logits.f32"), Reference::kLlamaCpp),
      1e-5f);
  const ModelConfig round_trip = testing_util::ReadModelConfig(back + "/config.json");
  EXPECT_EQ(round_trip.arch, Architecture::kQwen3);
  EXPECT_EQ(round_trip.head_dim, 32);
  EXPECT_TRUE(round_trip.tie_word_embeddings);
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
}

TEST(Qwen3Test, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(kFixture.Checkpoint(), IdsFromOne(70),
                                                           5);
}

// A Qwen3's tensors under a config without q/k norms: refused, not run without them.
TEST(Qwen3Test, QkNormWeightsWithoutQwen3AreRefused) {
  ModelConfig llama = kFixture.Config();
  llama.arch = Architecture::kLlama;
  const std::string dir = kFixture.Checkpoint();
  const Status written = WriteFileAtomic(dir + "/config.json", llama.ToJson());
  ASSERT_TRUE(written.ok()) << written.ToString();
  const auto weights = LoadModelWeights(dir);
  ASSERT_FALSE(weights.ok());
  EXPECT_EQ(weights.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(weights.status().message().find(
                "self_attn.q_norm.weight' is present but model_type llama has no q/k norms"),
            std::string::npos)
      << weights.status().ToString();
}

}  // namespace
}  // namespace sigma
