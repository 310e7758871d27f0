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

TEST(Phi3Test, ContextPastTheShortFactorsIsRefusedByName) {
  EngineOptions options;
  options.max_context = 4097;
  const auto long_context = Model::Load(Checkpoint(), options);
  ASSERT_FALSE(long_context.ok());
  EXPECT_EQ(long_context.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(long_context.status().message().find("exceeds longrope's original context 4096"),
            std::string::npos)
      << long_context.status().ToString();
}

// The GGUF as llama.cpp's converter writes Phi-3 (fused blk.N.attn_qkv and ffn_up, the rotary
// dimensions, rope_factors_short / long.weight, the attention factor): the folder's logits, and
// llama.cpp's (llama-cpp-python 0.3.36, which does not apply phi3's sliding window: compared at
// the positions within it, 0 .. 28); back to a folder, the same config.
TEST(Phi3Test, GgufMatchesTheFolderAndLlamaCpp) {
  const std::string dir = Checkpoint();
  const std::string gguf = testing_util::CheckpointRoot() + "/phi3.gguf";
  const std::string back = testing_util::CheckpointRoot() + "/phi3_back";
  ConvertOptions f32;
  f32.type = DType::kF32;
  const Status to_gguf = Convert(dir, gguf, f32);
  ASSERT_TRUE(to_gguf.ok()) << to_gguf.ToString();
  std::vector<float> folder_logits, gguf_logits;
  ASSERT_TRUE(LoadF32Cache(dir)->Prefill(0, IdsFromOne(70), LogitsMode::kAll, &folder_logits).ok());
  ASSERT_TRUE(LoadF32Cache(gguf)->Prefill(0, IdsFromOne(70), LogitsMode::kAll, &gguf_logits).ok());
  const int64_t vocab = Phi3Config().vocab_size;
  // Measured 1.8e-7.
  EXPECT_LT(WorstRowDifference(gguf_logits, EveryNthRowAndLast(70, 1), folder_logits, vocab),
            1e-5f);
  std::vector<float> llama_cpp =
      ReadF32File(std::string(SIGMA_TEST_DATA) + "/phi3/llama_cpp_logits.f32");
  llama_cpp.resize(static_cast<size_t>(5 * vocab));  // rows 0, 7, 14, 21, 28
  // Measured 1.5e-7 (0.17 to 0.66 past the window, where llama.cpp attends to every position).
  EXPECT_LT(WorstRowDifference(gguf_logits, {0, 7, 14, 21, 28}, llama_cpp, vocab), 1e-5f);

  const Status to_folder = Convert(gguf, back, ConvertOptions{});
  ASSERT_TRUE(to_folder.ok()) << to_folder.ToString();
  const ModelConfig round_trip = ReadModelConfig(back + "/config.json");
  const ModelConfig c = Phi3Config();
  EXPECT_EQ(round_trip.arch, Architecture::kPhi3);
  EXPECT_EQ(round_trip.rotary_dim(), 18);
  EXPECT_EQ(round_trip.sliding_window, 29);
  EXPECT_EQ(round_trip.rope_scaling.original_max_position_embeddings, 4096);
  const std::vector<float> inv_freq = c.RopeInvFreq();  // the file's factors are f32
  ASSERT_EQ(round_trip.RopeInvFreq().size(), inv_freq.size());
  for (size_t j = 0; j < inv_freq.size(); ++j) {
    EXPECT_NEAR(round_trip.RopeInvFreq()[j], inv_freq[j], 1e-6 * inv_freq[j]) << "frequency " << j;
  }
  EXPECT_NEAR(round_trip.RopeAttentionFactor(), c.RopeAttentionFactor(), 1e-6);
  std::vector<float> back_logits;
  ASSERT_TRUE(LoadF32Cache(back)->Prefill(0, IdsFromOne(70), LogitsMode::kAll, &back_logits).ok());
  EXPECT_EQ(back_logits, gguf_logits);
}

}  // namespace
}  // namespace sigma
