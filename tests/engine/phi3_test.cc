// Phi-3 (tests/data/phi3) against Hugging Face transformers
// (tests/oracle/transformers_reference.py): q/k/v and gate/up each one matrix in the checkpoint
// (ModelConfig::fused_projections), RoPE on 18 of each head's 24 dimensions (partial_rotary_factor
// 0.75, as Phi-4-mini), longrope scaling (short factors and the attention factor of
// max_position_embeddings / original 4x) and a 29-position sliding window, over token ids 1..70.
// And the engine's own consistency: decode steps (team and loops) give the full forward's logits.
// Past longrope's original context transformers rotates with the long factors: checked with the
// same model's original context cut to 48 positions (tests/data/phi3/long_context.json), in one
// forward pass over 70 ids and as a generation crossing it.
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

// A forward pass whose positions reach past the original context rotates all of them with the
// long factors; in a generation (40 ids, then one step at a time) the steps from position 48 on
// rotate long and the rows cached before keep their short rotation, as transformers' do (its
// stepped logits differ from its one-pass ones by up to 0.016).
TEST(Phi3Test, PastTheOriginalContextTheLongFactorsAsTransformers) {
  const ModelConfig c = ReadModelConfig(std::string(SIGMA_TEST_DATA) + "/phi3/long_context.json");
  ASSERT_TRUE(c.UsesLongRope(49));
  ASSERT_FALSE(c.UsesLongRope(48));
  EXPECT_NE(c.LongRopeInvFreq(), c.RopeInvFreq());
  const std::string dir = RandomCheckpoint(c, "phi3_long_context", 5);
  const std::vector<int32_t> ids = IdsFromOne(70);
  std::vector<float> one_pass;
  ASSERT_TRUE(LoadF32Cache(dir)->Prefill(0, ids, LogitsMode::kAll, &one_pass).ok());
  // Measured 3.3e-7 (and 3.3e-7 stepped, below).
  EXPECT_LT(WorstRowDifference(
                one_pass, EveryNthRowAndLast(70, 5),
                ReadF32File(std::string(SIGMA_TEST_DATA) + "/phi3/long_context_logits.f32"),
                c.vocab_size),
            1e-5f);
  for (DecodeTeam team : {DecodeTeam::kAlways, DecodeTeam::kNever}) {
    const std::unique_ptr<Model> model = LoadF32Cache(dir, team);
    std::vector<float> stepped;
    ASSERT_TRUE(model->Prefill(0, {ids.data(), 40}, LogitsMode::kAll, &stepped).ok());
    std::vector<float> step;
    for (size_t i = 40; i < ids.size(); ++i) {
      const TokenRow row{0, ids[i]};
      ASSERT_TRUE(model->Forward({&row, 1}, LogitsMode::kLast, &step).ok());
      stepped.insert(stepped.end(), step.begin(), step.end());
    }
    EXPECT_LT(WorstRowDifference(stepped, EveryNthRowAndLast(70, 5),
                                 ReadF32File(std::string(SIGMA_TEST_DATA) +
                                             "/phi3/long_context_stepped_logits.f32"),
                                 c.vocab_size),
              1e-5f);
  }
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
