// The read bound `sigma-eval bench` grades decode steps against (harness/bench/speed_bench.h):
// the K and V bytes a step reads, every position of a full-attention layer and a sliding-window
// layer's window only.
#include "harness/bench/speed_bench.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/loader/model_config.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma::bench {
namespace {

// A random-weight model of `config` with an f32 KV cache.
std::unique_ptr<Model> TinyModel(const ModelConfig& config, const std::string& name) {
  return testing_util::LoadF32Cache(
      testing_util::RandomCheckpoint(config, "speed_bench_" + name, 1));
}

TEST(SpeedBenchTest, KvBytesPerStepCountsTheWindowsRowsOnly) {
  ModelConfig config = *ModelConfigPreset("llama-tiny");
  config.num_layers = 4;
  const std::unique_ptr<Model> full = TinyModel(config, "full");
  // One position of one layer: K and V rows of every head, f32.
  const double row =
      static_cast<double>((config.n_k_heads + config.n_v_heads) * config.head_dim * 4);
  EXPECT_DOUBLE_EQ(KvBytesPerStep(*full, 100), 4 * 100 * row);

  config.arch = Architecture::kMistral;
  config.sliding_window = 30;
  const std::unique_ptr<Model> mistral = TinyModel(config, "mistral");
  EXPECT_DOUBLE_EQ(KvBytesPerStep(*mistral, 20), 4 * 20 * row);
  EXPECT_DOUBLE_EQ(KvBytesPerStep(*mistral, 100), 4 * 30 * row);

  config.arch = Architecture::kQwen2;
  config.qkv_bias = true;
  config.sliding_layers = {false, true, false, true};
  const std::unique_ptr<Model> qwen2 = TinyModel(config, "qwen2");
  EXPECT_DOUBLE_EQ(KvBytesPerStep(*qwen2, 100), (2 * 100 + 2 * 30) * row);
}

}  // namespace
}  // namespace sigma::bench
