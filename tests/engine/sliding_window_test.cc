// Sliding-window attention in the model (ModelConfig::sliding_window, AttentionShape::window)
// against Hugging Face transformers (tests/data/sliding_window, tests/oracle/
// sliding_window_reference.py): a Mistral whose every layer attends to its last 21 positions and a
// Qwen2 whose layer_types make layers 0 and 2 attend to their last 7, over 70 positions; and the
// engine's own consistency with a window: decode steps (as a team and as loops) give the logits of
// one full forward, a context longer than the window loads, and a Mistral's GGUF keeps its window.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/gguf/convert.h"
#include "engine/loader/model_config.h"
#include "engine/loader/random_checkpoint.h"
#include "engine/model.h"

namespace sigma {
namespace {

std::string Data(const std::string& name) {
  return std::string(SIGMA_TEST_DATA) + "/sliding_window/" + name;
}

ModelConfig ReadConfig(const std::string& name) {
  auto text = ReadFile(Data(name + ".json"));
  SIGMA_CHECK(text.ok(), text.status().ToString());
  auto config = ParseModelConfig(*text, name + ".json");
  SIGMA_CHECK(config.ok(), config.status().ToString());
  return *config;
}

// make-model's checkpoint of `config` with seed 5 (the one the reference ran), in a temp folder.
std::string Checkpoint(const ModelConfig& config, const std::string& name) {
  const std::string dir = testing::TempDir() + "/sliding_window_test/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(std::filesystem::path(dir).parent_path());
  const Status written = WriteRandomCheckpoint(config, dir, 5, DType::kBF16, 2);
  SIGMA_CHECK(written.ok(), written.ToString());
  return dir;
}

std::unique_ptr<Model> Load(const std::string& dir, DecodeTeam team = DecodeTeam::kAuto,
                            int64_t max_context = 128) {
  EngineOptions options;
  options.threads = 2;
  options.kv_dtype = "f32";
  options.max_context = max_context;
  options.decode_team = team;
  auto model = Model::Load(dir, options);
  SIGMA_CHECK(model.ok(), model.status().ToString());
  return std::move(*model);
}

std::vector<int32_t> Ids() {
  std::vector<int32_t> ids;
  for (int32_t id = 1; id <= 70; ++id) ids.push_back(id);
  return ids;
}

// The reference's rows: positions 0, 5, ..., 65 and 69.
std::vector<int64_t> ReferenceRows() {
  std::vector<int64_t> rows;
  for (int64_t r = 0; r < 70; r += 5) rows.push_back(r);
  rows.push_back(69);
  return rows;
}

// The largest |got[row] - want[i]| over the reference's rows.
float WorstDifference(const std::vector<float>& got, const std::vector<float>& want,
                      int64_t vocab) {
  const std::vector<int64_t> rows = ReferenceRows();
  SIGMA_CHECK(want.size() == rows.size() * static_cast<size_t>(vocab), "reference size");
  float worst = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    for (int64_t v = 0; v < vocab; ++v) {
      worst = std::max(worst, std::fabs(got[rows[i] * vocab + v] - want[i * vocab + v]));
    }
  }
  return worst;
}

std::vector<float> ReferenceLogits(const std::string& name) {
  auto bytes = ReadFile(Data(name + "_logits.f32"));
  SIGMA_CHECK(bytes.ok(), bytes.status().ToString());
  std::vector<float> out(bytes->size() / sizeof(float));
  std::memcpy(out.data(), bytes->data(), out.size() * sizeof(float));
  return out;
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
  const ModelConfig config = ReadConfig(GetParam());
  const std::string dir = Checkpoint(config, GetParam());
  const std::vector<int32_t> ids = Ids();
  const auto vocab = static_cast<size_t>(config.vocab_size);
  std::vector<float> full;
  ASSERT_TRUE(Load(dir)->Prefill(0, ids, LogitsMode::kAll, &full).ok());
  for (DecodeTeam team : {DecodeTeam::kAlways, DecodeTeam::kNever}) {
    const std::unique_ptr<Model> model = Load(dir, team);
    const size_t split = 3;  // shorter than either window: the steps cross them
    std::vector<float> step;
    ASSERT_TRUE(model->Prefill(0, {ids.data(), split}, LogitsMode::kLast, &step).ok());
    for (size_t i = split; i < ids.size(); ++i) {
      const TokenRow row{0, ids[i]};
      EXPECT_EQ(model->UsesDecodeTeam({&row, 1}), team == DecodeTeam::kAlways);
      ASSERT_TRUE(model->Forward({&row, 1}, LogitsMode::kLast, &step).ok());
      float worst = 0;
      for (size_t v = 0; v < vocab; ++v) {
        worst = std::max(worst, std::fabs(step[v] - full[i * vocab + v]));
      }
      EXPECT_LT(worst, 1e-5f) << "position " << i << " team " << (team == DecodeTeam::kAlways);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Models, SlidingWindowTest, testing::Values("mistral", "qwen2"));

// A Mistral's window goes into its GGUF (llama architecture, attention.sliding_window) and comes
// back; a Qwen2's sliding layers have no GGUF form (llama.cpp's qwen2 has none): refused by name.
TEST(SlidingWindowModelTest, GgufKeepsMistralsWindowAndRefusesQwen2s) {
  const ModelConfig mistral = ReadConfig("mistral");
  const std::string gguf = testing::TempDir() + "/sliding_window_test/mistral.gguf";
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

  const std::string refused = testing::TempDir() + "/sliding_window_test/qwen2.gguf";
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
