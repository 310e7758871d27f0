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
using testing_util::EveryNthRowAndLast;
using testing_util::IdsFromOne;
using testing_util::LoadF32Cache;
using testing_util::RandomCheckpoint;
using testing_util::ReadF32File;
using testing_util::ReadModelConfig;
using testing_util::WorstRowDifference;

std::string Data(const std::string& name) { return testing_util::TestData("olmo2", name); }

ModelConfig Olmo2Config() { return ReadModelConfig(Data("config.json")); }

// make-model's checkpoint with seed 5, the one the references ran.
std::string Checkpoint() { return RandomCheckpoint(Olmo2Config(), "olmo2", 5); }

TEST(Olmo2Test, ConfigAndTensorsAsTransformersHasThem) {
  const ModelConfig c = Olmo2Config();
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
  EXPECT_LT(
      WorstRowDifference(AllLogits(Checkpoint()), EveryNthRowAndLast(70, 5),
                         ReadF32File(Data("transformers_logits.f32")), Olmo2Config().vocab_size),
      1e-5f);
}

TEST(Olmo2Test, GgufMatchesLlamaCppAndConvertsBack) {
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(Checkpoint(), "olmo2");
  // Measured 4.5e-7.
  EXPECT_LT(WorstRowDifference(AllLogits(gguf), EveryNthRowAndLast(70, 7),
                               ReadF32File(Data("llama_cpp_logits.f32")), Olmo2Config().vocab_size),
            1e-5f);
  EXPECT_EQ(ReadModelConfig(back + "/config.json").arch, Architecture::kOlmo2);
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
}

TEST(Olmo2Test, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(Checkpoint(), IdsFromOne(40), 5);
}

}  // namespace
}  // namespace sigma
