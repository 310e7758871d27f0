#include "engine/loader/model_weights.h"

#include <gtest/gtest.h>

#include <cmath>

#include "engine/base/file.h"
#include "engine/loader/random_checkpoint.h"
#include "engine/loader/safetensors.h"
#include "tests/engine/loader/loader_test_util.h"

namespace sigma {
namespace {

using testing_util::FindTestTensor;
using testing_util::OracleDir;
using testing_util::ScratchDir;
using testing_util::TensorsFor;
using testing_util::TestTensor;
using testing_util::WriteTestCheckpoint;

TEST(ModelWeightsTest, LoadsLlamaOracle) {
  auto w = LoadCheckpoint(OracleDir("llama-gqa-tiny"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->layers.size(), 3u);
  EXPECT_EQ(w->embed_tokens.shape, (std::vector<int64_t>{384, 96}));
  EXPECT_EQ(w->lm_head.name, "lm_head.weight");
  EXPECT_NE(w->lm_head.data, w->embed_tokens.data);
  const LayerWeights& l = w->layers[2];
  EXPECT_EQ(l.q_proj.shape, (std::vector<int64_t>{96, 96}));
  EXPECT_EQ(l.k_proj.shape, (std::vector<int64_t>{32, 96}));
  EXPECT_EQ(l.down_proj.shape, (std::vector<int64_t>{96, 256}));
  EXPECT_EQ(l.attn_norm.dtype, DType::kF32);
  EXPECT_FALSE(l.q_bias.valid());
  EXPECT_FALSE(l.q_gate.valid());
  EXPECT_TRUE(w->owned_f32.empty());  // f32 norms are used in place
  ASSERT_EQ(w->source->files().size(), 1u);
  EXPECT_EQ(ExpectedTensors(w->config).size(), w->source->tensors().size());
}

TEST(ModelWeightsTest, LoadsQwen2TiedOracle) {
  auto w = LoadCheckpoint(OracleDir("qwen2-tied-tiny"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->lm_head.data, w->embed_tokens.data);
  EXPECT_EQ(w->lm_head.shape, (std::vector<int64_t>{320, 64}));
  const LayerWeights& l = w->layers[1];
  ASSERT_TRUE(l.q_bias.valid());
  EXPECT_EQ(l.q_bias.shape, std::vector<int64_t>{64});
  EXPECT_EQ(l.k_bias.shape, std::vector<int64_t>{16});
  EXPECT_EQ(l.v_bias.dtype, DType::kF32);
  EXPECT_EQ(ExpectedTensors(w->config).size(), w->source->tensors().size());
}

TEST(ModelWeightsTest, LoadsSigmaOracle) {
  auto w = LoadCheckpoint(OracleDir("sigma-diffqkv-tiny"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const LayerWeights& l = w->layers[0];
  EXPECT_EQ(l.q_proj.shape, (std::vector<int64_t>{128, 64}));
  EXPECT_EQ(l.k_proj.shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(l.v_proj.shape, (std::vector<int64_t>{64, 64}));
  EXPECT_EQ(l.q_gate.shape, (std::vector<int64_t>{96, 128}));
  EXPECT_EQ(l.q_up.shape, (std::vector<int64_t>{96, 128}));
  EXPECT_EQ(l.q_down.shape, (std::vector<int64_t>{128, 96}));
  EXPECT_EQ(l.o_proj.shape, (std::vector<int64_t>{64, 128}));
  EXPECT_EQ(ExpectedTensors(w->config).size(), w->source->tensors().size());
}

// generation_config.json's eos_token_id (Llama 3 Instruct lists <|eot_id|> there) joins the
// config's stop ids; a malformed one is an error naming it.
TEST(ModelWeightsTest, GenerationConfigAddsStopIds) {
  ScratchDir dir;
  const ModelConfig llama = *ModelConfigPreset("llama-tiny");
  ASSERT_TRUE(WriteTestCheckpoint(dir.path(), llama, TensorsFor(llama)).ok());
  ASSERT_FALSE(llama.eos_token_ids.empty());
  const int64_t eos = llama.eos_token_ids[0];
  const std::string file = dir.path() + "/generation_config.json";
  ASSERT_TRUE(
      WriteFileAtomic(file, R"({"eos_token_id": [)" + std::to_string(eos) + ", 7, 9]}").ok());
  auto w = LoadCheckpoint(dir.path());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->config.eos_token_ids, (std::vector<int64_t>{eos, 7, 9}));
  ASSERT_TRUE(WriteFileAtomic(file, R"({"do_sample": true, "eos_token_id": null})").ok());
  w = LoadCheckpoint(dir.path());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->config.eos_token_ids, llama.eos_token_ids);
  for (const char* bad : {R"({"eos_token_id": "</s>"})", R"([1, 2])", R"({"eos_token_id": [1,)",
                          R"({"eos_token_id": 99999999})"}) {
    ASSERT_TRUE(WriteFileAtomic(file, bad).ok());
    const Status s = LoadCheckpoint(dir.path()).status();
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("generation_config.json"), std::string::npos) << s.ToString();
  }
}

class BindErrorTest : public ::testing::Test {
 protected:
  Status Load(const ModelConfig& config, const std::vector<TestTensor>& tensors) {
    SIGMA_RETURN_IF_ERROR(WriteTestCheckpoint(dir_.path(), config, tensors));
    return LoadCheckpoint(dir_.path()).status();
  }
  ModelConfig llama_ = *ModelConfigPreset("llama-tiny");
  ModelConfig sigma_ = *ModelConfigPreset("sigma-tiny");
  ScratchDir dir_;
};

TEST_F(BindErrorTest, MissingTensor) {
  auto tensors = TensorsFor(sigma_);
  std::erase_if(tensors, [](const TestTensor& t) {
    return t.info.name == "model.layers.1.self_attn.q_up_proj.weight";
  });
  SIGMA_EXPECT_ERROR(Load(sigma_, tensors), StatusCode::kNotFound,
                     "tensor 'model.layers.1.self_attn.q_up_proj.weight' not found");
}

TEST_F(BindErrorTest, MissingLmHeadWhenUntied) {
  auto tensors = TensorsFor(llama_);
  std::erase_if(tensors, [](const TestTensor& t) { return t.info.name == "lm_head.weight"; });
  SIGMA_EXPECT_ERROR(Load(llama_, tensors), StatusCode::kNotFound, "'lm_head.weight' not found");
}

TEST_F(BindErrorTest, WrongShape) {
  auto tensors = TensorsFor(sigma_);
  TestTensor* k = FindTestTensor(tensors, "model.layers.0.self_attn.k_proj.weight");
  k->info.shape = {64, 32};  // same bytes, transposed
  SIGMA_EXPECT_ERROR(Load(sigma_, tensors), StatusCode::kInvalidArgument,
                     "tensor 'model.layers.0.self_attn.k_proj.weight': expected shape [32, 64] "
                     "[num_key_heads*head_dim, hidden_size] from the config, got [64, 32]");
}

TEST_F(BindErrorTest, UnsupportedDType) {
  auto tensors = TensorsFor(llama_);
  TestTensor* norm = FindTestTensor(tensors, "model.norm.weight");
  norm->info.dtype = "I32";
  SIGMA_EXPECT_ERROR(Load(llama_, tensors), StatusCode::kUnimplemented,
                     "tensor 'model.norm.weight' has dtype I32");
}

TEST_F(BindErrorTest, ConfigDisagreesWithTensors) {
  ModelConfig qwen = llama_;
  qwen.arch = Architecture::kQwen2;
  qwen.qkv_bias = true;
  SIGMA_EXPECT_ERROR(Load(llama_, TensorsFor(qwen)), StatusCode::kInvalidArgument,
                     "self_attn.q_proj.bias' is present but the config has no attention biases");
  ModelConfig deeper = llama_;
  deeper.num_layers = 4;
  SIGMA_EXPECT_ERROR(Load(llama_, TensorsFor(deeper)), StatusCode::kInvalidArgument,
                     "'model.layers.3.input_layernorm.weight' but num_hidden_layers is 3");
  ModelConfig no_aug = sigma_;
  no_aug.aug_q_intermediate_size = 0;
  SIGMA_EXPECT_ERROR(Load(no_aug, TensorsFor(sigma_)), StatusCode::kInvalidArgument,
                     "no augmented Q");
}

TEST_F(BindErrorTest, BadFolderAndConfig) {
  SIGMA_EXPECT_ERROR(LoadCheckpoint(dir_.path() + "/nope").status(), StatusCode::kNotFound,
                     "not a checkpoint folder");
  SIGMA_EXPECT_ERROR(LoadCheckpoint(dir_.path()).status(), StatusCode::kNotFound, "config.json");
  ASSERT_TRUE(
      WriteFileAtomic(dir_.File("config.json"), R"({"model_type": "llama", "vocab_size": 0})")
          .ok());
  SIGMA_EXPECT_ERROR(LoadCheckpoint(dir_.path()).status(), StatusCode::kInvalidArgument,
                     "config.json: missing required integer field 'hidden_size'");
  ASSERT_TRUE(WriteFileAtomic(dir_.File("config.json"), llama_.ToJson()).ok());
  SIGMA_EXPECT_ERROR(LoadCheckpoint(dir_.path()).status(), StatusCode::kNotFound,
                     "no model.safetensors");
}

TEST(ModelWeightsTest, HalfPrecisionNormsAndBiasesBecomeF32) {
  ScratchDir dir;
  ModelConfig qwen = *ModelConfigPreset("llama-tiny");
  qwen.arch = Architecture::kQwen2;
  qwen.qkv_bias = true;
  qwen.tie_word_embeddings = true;
  ASSERT_TRUE(WriteRandomCheckpoint(qwen, dir.path(), 7, DType::kF16, 2).ok());
  auto w = LoadCheckpoint(dir.path());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->layers[0].q_proj.dtype, DType::kF16);
  const TensorView& norm = w->layers[0].attn_norm;
  EXPECT_EQ(norm.dtype, DType::kF32);
  EXPECT_EQ(norm.nbytes, 96 * sizeof(float));
  EXPECT_EQ(static_cast<const float*>(norm.data)[5], 1.0f);
  const TensorView& bias = w->layers[2].k_bias;
  ASSERT_EQ(bias.dtype, DType::kF32);
  const auto* raw = static_cast<const uint16_t*>(
      w->source->tensors().at("model.layers.2.self_attn.k_proj.bias").data);
  EXPECT_EQ(static_cast<const float*>(bias.data)[3], F16ToF32(raw[3]));
  // 3 layers x (2 norms + 3 biases) + final norm.
  EXPECT_EQ(w->owned_f32.size(), 16u);
}

TEST(RandomCheckpointTest, DeterministicFiniteAndLoadable) {
  ScratchDir a, b, c;
  const ModelConfig config = *ModelConfigPreset("sigma-tiny");
  ASSERT_TRUE(WriteRandomCheckpoint(config, a.path(), 42, DType::kBF16, 1).ok());
  ASSERT_TRUE(WriteRandomCheckpoint(config, b.path(), 42, DType::kBF16, 3).ok());
  ASSERT_TRUE(WriteRandomCheckpoint(config, c.path(), 43, DType::kBF16, 2).ok());
  const std::string bytes_a = *ReadFile(a.File("model.safetensors"));
  EXPECT_EQ(bytes_a, *ReadFile(b.File("model.safetensors")));  // thread count does not matter
  EXPECT_NE(bytes_a, *ReadFile(c.File("model.safetensors")));
  auto w = LoadCheckpoint(a.path());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  const TensorView& m = w->layers[1].q_gate;
  ASSERT_EQ(m.dtype, DType::kBF16);
  const auto* bits = static_cast<const uint16_t*>(m.data);
  double sum = 0, sum_sq = 0;
  for (int64_t i = 0; i < m.numel(); ++i) {
    const double v = Bf16ToF32(bits[i]);
    ASSERT_TRUE(std::isfinite(v));
    sum += v;
    sum_sq += v * v;
  }
  const double n = static_cast<double>(m.numel());
  EXPECT_NEAR(sum / n, 0.0, 0.002);
  EXPECT_NEAR(std::sqrt(sum_sq / n), 0.02, 0.002);
  EXPECT_EQ(static_cast<const float*>(w->final_norm.data)[0], 1.0f);
}

TEST(RandomCheckpointTest, RejectsBadInputs) {
  ScratchDir dir;
  ModelConfig config = *ModelConfigPreset("llama-tiny");
  SIGMA_EXPECT_ERROR(WriteRandomCheckpoint(config, dir.path(), 1, DType::kQ8_0),
                     StatusCode::kInvalidArgument, "dtype q8_0");
  config.n_k_heads = 4;
  config.n_v_heads = 4;
  SIGMA_EXPECT_ERROR(WriteRandomCheckpoint(config, dir.path(), 1, DType::kF32),
                     StatusCode::kInvalidArgument, "divisible");
}

TEST(ModelWeightsTest, LoadsShardedCheckpoint) {
  ScratchDir dir;
  const ModelConfig config = *ModelConfigPreset("llama-tiny");
  const std::vector<TestTensor> tensors = TensorsFor(config);
  std::vector<SafetensorsTensorData> shard[2];
  std::string index = R"({"metadata": {}, "weight_map": {)";
  for (size_t i = 0; i < tensors.size(); ++i) {
    shard[i % 2].push_back({tensors[i].info, tensors[i].bytes});
    index += (i ? ", \"" : "\"") + tensors[i].info.name + "\": \"model-0000" +
             std::to_string(i % 2 + 1) + "-of-00002.safetensors\"";
  }
  ASSERT_TRUE(WriteSafetensors(dir.File("model-00001-of-00002.safetensors"), shard[0]).ok());
  ASSERT_TRUE(WriteSafetensors(dir.File("model-00002-of-00002.safetensors"), shard[1]).ok());
  ASSERT_TRUE(WriteFileAtomic(dir.File("model.safetensors.index.json"), index + "}}").ok());
  ASSERT_TRUE(WriteFileAtomic(dir.File("config.json"), config.ToJson()).ok());
  auto w = LoadCheckpoint(dir.path());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->source->files().size(), 2u);
  EXPECT_EQ(w->layers.size(), 3u);
}

}  // namespace
}  // namespace sigma
