// OLMo 2 (ModelConfig::olmo: the RMSNorms on the blocks' outputs instead of their inputs, q/k
// norms over each row's whole projection) against two independent implementations
// (tests/data/olmo2): Hugging Face transformers' logits of the checkpoint folder
// (tests/oracle/transformers_reference.py) and llama.cpp's of its f32 GGUF
// (tests/oracle/llama3_rope_reference.py), over token ids 1..70. And the engine's own
// consistency: decode steps give the full forward's logits, as loops and as a team (whose members
// norm whole rows of q and k, each into its own buffer, before any writes its heads back), and the
// GGUF converts back to the same config.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/loader/model_config.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

using testing_util::AllLogits;
using testing_util::DifferenceFrom;
using testing_util::IdsFromOne;
using testing_util::ReadModelConfig;
using testing_util::Reference;

constexpr testing_util::FamilyFixture kFixture("olmo2");

TEST(Olmo2Test, ConfigAndTensorsAsTransformersHasThem) {
  const ModelConfig c = kFixture.Config();
  EXPECT_EQ(c.arch, Architecture::kOlmo2);
  EXPECT_FALSE(c.pre_norms());
  EXPECT_TRUE(c.post_norms());
  EXPECT_TRUE(c.qk_norm());
  EXPECT_FALSE(c.qk_norm_per_head());
  std::vector<std::string> names;
  for (const ExpectedTensor& t : ExpectedTensors(c)) {
    if (t.name.starts_with("model.layers.0.")) names.push_back(t.name.substr(15));
    if (t.name == "model.layers.0.self_attn.q_norm.weight") {
      EXPECT_EQ(t.shape, std::vector<int64_t>{96});
    }
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{
                "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
                "self_attn.q_norm.weight", "self_attn.k_norm.weight", "self_attn.o_proj.weight",
                "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
                "mlp.down_proj.weight", "post_feedforward_layernorm.weight"}));
  const auto back = ParseModelConfig(c.ToJson(), "config.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->ToJson(), c.ToJson());
}

TEST(Olmo2Test, MatchesTransformers) {
  // Measured 6.6e-7.
  EXPECT_LT(DifferenceFrom(AllLogits(kFixture.Checkpoint()),
                           kFixture.Data("transformers_logits.f32"), Reference::kTransformers),
            1e-5f);
}

TEST(Olmo2Test, GgufMatchesLlamaCppAndConvertsBack) {
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(kFixture.Checkpoint(), "olmo2");
  // Measured 4.5e-7.
  EXPECT_LT(
      DifferenceFrom(AllLogits(gguf), kFixture.Data("llama_cpp_logits.f32"), Reference::kLlamaCpp),
      1e-5f);
  EXPECT_EQ(ReadModelConfig(back + "/config.json").arch, Architecture::kOlmo2);
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
}

TEST(Olmo2Test, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(kFixture.Checkpoint(), IdsFromOne(40),
                                                           5);
}

}  // namespace
}  // namespace sigma
