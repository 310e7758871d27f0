// SmolLM3 (ModelConfig::nope_layers: Llama's layers, every 4th without RoPE) against two
// independent implementations (tests/data/smollm3): Hugging Face transformers' logits of the
// checkpoint folder (tests/oracle/transformers_reference.py) and llama.cpp's of its f32 GGUF
// (tests/oracle/llama3_rope_reference.py), over token ids 1..70. And the engine's own
// consistency: decode steps (team and loops) give the full forward's logits, the GGUF converts
// back to the same config, and the same weights rotated in every layer are off.
#include <gtest/gtest.h>

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

constexpr testing_util::FamilyFixture kFixture("smollm3");

TEST(SmolLM3Test, ConfigAsTransformersReadsIt) {
  const ModelConfig c = kFixture.Config();
  EXPECT_EQ(c.arch, Architecture::kSmolLM3);
  EXPECT_TRUE(c.tie_word_embeddings);  // SmolLM3Config's default
  for (int64_t i = 0; i < 8; ++i) EXPECT_EQ(c.RotatesLayer(i), i % 4 != 3) << i;
  const auto back = ParseModelConfig(c.ToJson(), "config.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->nope_layers, c.nope_layers);
  // no_rope_layers as given (1 = RoPE); with use_sliding_window the NoPE layers slide.
  const auto given = ParseModelConfig(
      R"({"model_type": "smollm3", "vocab_size": 384, "hidden_size": 64,
          "intermediate_size": 160, "num_hidden_layers": 3, "num_attention_heads": 4,
          "no_rope_layers": [1, 0, 1], "use_sliding_window": true, "sliding_window": 16})",
      "config.json");
  ASSERT_TRUE(given.ok()) << given.status().ToString();
  EXPECT_EQ(given->nope_layers, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(given->AttentionWindow(1), 16);
  EXPECT_EQ(given->AttentionWindow(0), 0);
  for (const char* bad : {R"("no_rope_layers": [1, 2, 1])", R"("no_rope_layers": [1, 1])"}) {
    const auto refused =
        ParseModelConfig(StrCat(R"({"model_type": "smollm3", "vocab_size": 384, "hidden_size": 64,
                   "intermediate_size": 160, "num_hidden_layers": 3, "num_attention_heads": 4, )",
                                bad, "}"),
                         "config.json");
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("no_rope_layers"), std::string::npos)
        << refused.status().ToString();
  }
}

TEST(SmolLM3Test, MatchesTransformers) {
  const std::vector<float> reference = ReadF32File(kFixture.Data("transformers_logits.f32"));
  const int64_t vocab = kFixture.Config().vocab_size;
  // Measured 3.6e-7.
  EXPECT_LT(WorstRowDifference(AllLogits(kFixture.Checkpoint()), EveryNthRowAndLast(70, 5),
                               reference, vocab),
            1e-5f);
  // The same weights rotated in every layer (a Llama) are far off: measured 2.4e-3, 240 times
  // the tolerance (random weights attend nearly evenly, so positions weigh little).
  ModelConfig llama = kFixture.Config();
  llama.arch = Architecture::kLlama;
  llama.nope_layers.clear();
  const std::string dir = kFixture.Checkpoint();
  ASSERT_TRUE(WriteFileAtomic(dir + "/config.json", llama.ToJson()).ok());
  EXPECT_GT(WorstRowDifference(AllLogits(dir), EveryNthRowAndLast(70, 5), reference, vocab), 1e-3f);
}

TEST(SmolLM3Test, GgufMatchesLlamaCppAndConvertsBack) {
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(kFixture.Checkpoint(), "smollm3");
  // Measured 2.1e-7.
  EXPECT_LT(
      DifferenceFrom(AllLogits(gguf), kFixture.Data("llama_cpp_logits.f32"), Reference::kLlamaCpp),
      1e-5f);
  const ModelConfig round_trip = ReadModelConfig(back + "/config.json");
  EXPECT_EQ(round_trip.arch, Architecture::kSmolLM3);
  EXPECT_EQ(round_trip.nope_layers, kFixture.Config().nope_layers);
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
  // llama.cpp's files name no NoPE layers (every 4th is): other ones have no GGUF form.
  ModelConfig other = kFixture.Config();
  other.nope_layers = {true, false, false, false, false, false, false, false};
  GgufWriter writer;
  const Status refused = AddModelConfigToGguf(other, &writer);
  EXPECT_EQ(refused.code(), StatusCode::kUnimplemented);
  EXPECT_NE(refused.message().find("NoPE layers are not every 4th"), std::string::npos)
      << refused.ToString();
}

TEST(SmolLM3Test, DecodeStepsGiveTheFullForwardsLogits) {
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(kFixture.Checkpoint(), IdsFromOne(40),
                                                           5);
}

}  // namespace
}  // namespace sigma
