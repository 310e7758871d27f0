// Sliding-window attention in the model (ModelConfig::sliding_window, AttentionShape::window)
// against Hugging Face transformers (tests/data/sliding_window, tests/oracle/
// transformers_reference.py): a Mistral whose every layer attends to its last 21 positions and a
// Qwen2 whose layer_types make layers 0 and 2 attend to their last 7, over 70 positions; and the
// engine's own consistency with a window: decode steps (as a team and as loops) give the logits of
// one full forward, a context longer than the window loads, and a Mistral's GGUF keeps its window.
#include <gtest/gtest.h>

#include <filesystem>
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

std::string Data(const std::string& name) {
  return std::string(SIGMA_TEST_DATA) + "/sliding_window/" + name;
}

ModelConfig ReadConfig(const std::string& name) { return ReadModelConfig(Data(name + ".json")); }

// make-model's checkpoint with seed 5, the one the reference ran.
std::string Checkpoint(const ModelConfig& config, const std::string& name) {
  return RandomCheckpoint(config, "sliding_window_" + name, 5);
}

std::unique_ptr<Model> Load(const std::string& dir, DecodeTeam team = DecodeTeam::kAuto,
                            int64_t max_context = 128) {
  return LoadF32Cache(dir, team, max_context);
}

std::vector<int32_t> Ids() { return IdsFromOne(70); }

// The largest difference to the reference's rows: positions 0, 5, ..., 65 and 69.
float WorstDifference(const std::vector<float>& got, const std::vector<float>& want,
                      int64_t vocab) {
  return testing_util::WorstRowDifference(got, EveryNthRowAndLast(70, 5), want, vocab);
}

std::vector<float> ReferenceLogits(const std::string& name) {
  return ReadF32File(Data(name + "_logits.f32"));
}

class SlidingWindowTest : public testing::TestWithParam<std::string> {};

TEST_P(SlidingWindowTest, MatchesTransformers) {
  const ModelConfig config = ReadConfig(GetParam());
  ASSERT_GT(config.sliding_window, 0);
  const std::unique_ptr<Model> model = Load(Checkpoint(config, GetParam()));
  std::vector<float> logits;
  ASSERT_TRUE(model->Prefill(0, Ids(), LogitsMode::kAll, &logits).ok());
  const std::vector<float> want = ReferenceLogits(GetParam());
  EXPECT_LT(WorstDifference(logits, want, config.vocab_size), 1e-5f);

  // The same weights without the window are far off past it (so the window is what matched).
  ModelConfig full = config;
  full.sliding_window = 0;
  full.sliding_layers.clear();
  const std::unique_ptr<Model> unwindowed = Load(Checkpoint(full, GetParam() + "_full"));
  ASSERT_TRUE(unwindowed->Prefill(0, Ids(), LogitsMode::kAll, &logits).ok());
  EXPECT_GT(WorstDifference(logits, want, config.vocab_size), 1e-2f);
}

TEST_P(SlidingWindowTest, DecodeStepsGiveTheFullForwardsLogits) {
  // A prompt shorter than either window: the steps cross them.
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(
      Checkpoint(ReadConfig(GetParam()), GetParam()), Ids(), 3);
}

INSTANTIATE_TEST_SUITE_P(Models, SlidingWindowTest, testing::Values("mistral", "qwen2"));

// A Mistral's window goes into its GGUF (llama architecture, attention.sliding_window) and comes
// back; a Qwen2's sliding layers have no GGUF form (llama.cpp's qwen2 has none): refused by name.
TEST(SlidingWindowModelTest, GgufKeepsMistralsWindowAndRefusesQwen2s) {
  const ModelConfig mistral = ReadConfig("mistral");
  const std::string dir = testing_util::CheckpointRoot() + "/sliding_window_test";
  std::filesystem::create_directories(dir);
  const std::string gguf = dir + "/mistral.gguf";
  std::filesystem::remove(gguf);
  ConvertOptions f32;
  f32.type = DType::kF32;
  const Status converted = Convert(Checkpoint(mistral, "mistral_for_gguf"), gguf, f32);
  ASSERT_TRUE(converted.ok()) << converted.ToString();
  const std::unique_ptr<Model> model = Load(gguf);
  EXPECT_EQ(model->config().arch, Architecture::kMistral);
  EXPECT_EQ(model->config().sliding_window, 21);
  std::vector<float> logits;
  ASSERT_TRUE(model->Prefill(0, Ids(), LogitsMode::kAll, &logits).ok());
  EXPECT_LT(WorstDifference(logits, ReferenceLogits("mistral"), mistral.vocab_size), 1e-5f);

  const std::string refused = dir + "/qwen2.gguf";
  const Status qwen2 = Convert(Checkpoint(ReadConfig("qwen2"), "qwen2_for_gguf"), refused, f32);
  EXPECT_EQ(qwen2.code(), StatusCode::kUnimplemented);
  EXPECT_NE(qwen2.message().find("qwen2 model with sliding-window layers has no GGUF form"),
            std::string::npos)
      << qwen2.ToString();
  EXPECT_FALSE(std::filesystem::exists(refused));
}

// With a window, a KV cache longer than it is the model's own attention, not an approximation.
TEST(SlidingWindowModelTest, ContextLongerThanTheWindowLoads) {
  ModelConfig config = ReadConfig("mistral");
  EXPECT_EQ(config.AttentionWindow(0), 21);
  const std::unique_ptr<Model> model =
      Load(Checkpoint(config, "mistral_long"), DecodeTeam::kAuto, 4096);
  EXPECT_EQ(model->capacity(), 4096);
  // The CUDA backend attends to every position: it keeps the context within the window.
  EXPECT_EQ(config.CheckContextLength(22).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(config.CheckContextLength(21).ok());
}

}  // namespace
}  // namespace sigma
