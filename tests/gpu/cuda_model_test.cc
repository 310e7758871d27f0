// Whole-model logits of CudaModel on the oracle checkpoints (tests/data/oracle) against the
// reference files, and the GPU's own consistency: decode after prefill (CUDA graphs) equals one
// full forward, batched decode of unequal sequences equals single, greedy argmax equals the
// oracle's greedy tokens, selective V top-k matches the CPU engine with the same bf16 cache.
// Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/language_model.h"
#include "engine/loader/model_weights.h"
#include "tests/gpu/gpu_test_util.h"

namespace sigma {
namespace {

struct Oracle {
  std::string dir;
  std::vector<int32_t> input_ids, greedy;
  std::vector<float> logits, logits_selv;
  int selv_top_k = 0;
};

std::vector<float> ReadFloats(const std::string& path) {
  StatusOr<std::string> bytes = ReadFile(path);
  SIGMA_CHECK(bytes.ok(), bytes.status().ToString());
  std::vector<float> out(bytes->size() / 4);
  std::memcpy(out.data(), bytes->data(), out.size() * 4);
  return out;
}

std::vector<int32_t> Ints(const rapidjson::Value& v) {
  std::vector<int32_t> out;
  for (const auto& x : v.GetArray()) out.push_back(x.GetInt());
  return out;
}

Oracle LoadOracle(const std::string& name) {
  Oracle o;
  o.dir = gpu_test::OracleDir(name);
  auto text = ReadFile(o.dir + "/oracle.json");
  SIGMA_CHECK(text.ok(), text.status().ToString());
  auto doc = ParseJson(*text, "oracle.json");
  SIGMA_CHECK(doc.ok());
  const rapidjson::Document& d = **doc;
  o.input_ids = Ints(d["input_ids"]);
  o.greedy = Ints(d["greedy_new_tokens"]);
  o.logits = ReadFloats(o.dir + "/" + d["logits_file"].GetString());
  if (d.HasMember("selective_v")) {
    o.selv_top_k = d["selective_v"]["top_k"].GetInt();
    o.logits_selv = ReadFloats(o.dir + "/" + d["selective_v"]["logits_file"].GetString());
  }
  return o;
}

std::unique_ptr<cuda::CudaModel> LoadGpu(const std::string& dir, const std::string& dtype,
                                         int sequences = 1, int top_k = 0) {
  auto weights = LoadCheckpoint(dir);
  SIGMA_CHECK(weights.ok(), weights.status().ToString());
  cuda::CudaOptions o;
  o.weight_dtype = dtype;
  o.max_context = 64;
  o.max_sequences = sequences;
  o.selective_v_top_k = top_k;
  auto model = cuda::CudaModel::Create(*weights, o);
  SIGMA_CHECK(model.ok(), model.status().ToString());
  return std::move(model).value();
}

float MaxAbsDiff(const float* a, const float* b, size_t n) {
  float worst = 0;
  for (size_t i = 0; i < n; ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
  return std::isnan(worst) ? INFINITY : worst;
}

float Scale(const std::vector<float>& x) {
  float s = 1.0f;
  for (float v : x) s = std::max(s, std::fabs(v));
  return s;
}

class CudaOracleTest : public testing::TestWithParam<std::string> {};

TEST_P(CudaOracleTest, LogitsMatchReference) {
  SIGMA_SKIP_WITHOUT_GPU();
  const Oracle o = LoadOracle(GetParam());
  // f32 weights: only the bf16 KV cache differs from the reference (as the CPU model's bf16-KV
  // test, 2e-2 of the logit scale); bf16 weights: NMSE over all logits.
  for (const char* dtype : {"f32", "bf16"}) {
    auto model = LoadGpu(o.dir, dtype);
    std::vector<float> logits;
    ASSERT_TRUE(model->Prefill(0, o.input_ids, LogitsMode::kAll, &logits).ok());
    ASSERT_EQ(logits.size(), o.logits.size());
    if (std::string(dtype) == "f32") {
      EXPECT_LT(MaxAbsDiff(logits.data(), o.logits.data(), logits.size()), 2e-2f * Scale(o.logits));
    } else {
      EXPECT_LT(gpu_test::Nmse(logits, o.logits), 1e-3) << dtype;
    }
  }
}

TEST_P(CudaOracleTest, DecodeStepsEqualFullForward) {
  SIGMA_SKIP_WITHOUT_GPU();
  const Oracle o = LoadOracle(GetParam());
  auto model = LoadGpu(o.dir, "f32");
  const size_t vocab = static_cast<size_t>(model->config().vocab_size);
  std::vector<float> full, step;
  ASSERT_TRUE(model->Prefill(0, o.input_ids, LogitsMode::kAll, &full).ok());
  ASSERT_TRUE(model->TruncateSequence(0, 0).ok());
  const size_t split = 9;
  ASSERT_TRUE(model->Prefill(0, {o.input_ids.data(), split}, LogitsMode::kLast, &step).ok());
  EXPECT_LT(MaxAbsDiff(step.data(), &full[(split - 1) * vocab], vocab), 1e-4f);
  for (size_t i = split; i < o.input_ids.size(); ++i) {  // graph replays
    const TokenRow row{0, o.input_ids[i]};
    ASSERT_TRUE(model->Forward({&row, 1}, LogitsMode::kLast, &step).ok());
    EXPECT_LT(MaxAbsDiff(step.data(), &full[i * vocab], vocab), 1e-4f) << "position " << i;
  }
}

TEST_P(CudaOracleTest, BatchedDecodeOfUnequalSequencesEqualsSingle) {
  SIGMA_SKIP_WITHOUT_GPU();
  const Oracle o = LoadOracle(GetParam());
  auto model = LoadGpu(o.dir, "f32", 3);
  const size_t vocab = static_cast<size_t>(model->config().vocab_size);
  const size_t lengths[3] = {5, 17, 11};
  std::vector<float> expected[3];
  for (int s = 0; s < 3; ++s) {
    std::vector<int32_t> ids(o.input_ids.begin(), o.input_ids.begin() + lengths[s] + 1);
    ASSERT_TRUE(model->Prefill(s, ids, LogitsMode::kLast, &expected[s]).ok());
    ASSERT_TRUE(model->TruncateSequence(s, lengths[s]).ok());
  }
  std::vector<TokenRow> rows;
  for (int s = 0; s < 3; ++s) rows.push_back({s, o.input_ids[lengths[s]]});
  std::vector<float> batched;
  ASSERT_TRUE(model->Forward(rows, LogitsMode::kAll, &batched).ok());
  for (int s = 0; s < 3; ++s) {
    EXPECT_LT(MaxAbsDiff(&batched[s * vocab], expected[s].data(), vocab), 1e-4f) << "seq " << s;
    EXPECT_EQ(model->SequenceLength(s), static_cast<int64_t>(lengths[s] + 1));
  }
}

TEST_P(CudaOracleTest, GreedyArgMaxMatchesReferenceTokens) {
  SIGMA_SKIP_WITHOUT_GPU();
  const Oracle o = LoadOracle(GetParam());
  auto model = LoadGpu(o.dir, "f32");
  std::vector<int32_t> ids;
  ASSERT_TRUE(model->ForwardArgMax(
      [&] {
        std::vector<TokenRow> rows;
        for (int32_t t : o.input_ids) rows.push_back({0, t});
        return rows;
      }(),
      LogitsMode::kLast, &ids).ok());
  std::vector<int32_t> generated = ids;
  while (generated.size() < o.greedy.size()) {
    const TokenRow row{0, generated.back()};
    ASSERT_TRUE(model->ForwardArgMax({&row, 1}, LogitsMode::kLast, &ids).ok());
    generated.push_back(ids[0]);
  }
  EXPECT_EQ(generated, o.greedy);
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, CudaOracleTest,
                         testing::Values("llama-gqa-tiny", "qwen2-tied-tiny", "sigma-diffqkv-tiny"));

// Selective V is discontinuous in the scores: the bf16 KV cache (the only cache the GPU has)
// moves some keys' scores enough to swap the 4th and 5th choice, so the GPU is compared with the
// CPU engine running the same bf16 cache (the CPU's f32 cache matches the oracle's selective
// logits in OracleTest; with a bf16 cache the CPU and the GPU both differ from them by 0.242 in
// 3 of 24 positions, measured on an H200 and here).
TEST(CudaSigmaOracleTest, SelectiveVLogitsMatchCpuWithTheSameCache) {
  SIGMA_SKIP_WITHOUT_GPU();
  const Oracle o = LoadOracle("sigma-diffqkv-tiny");
  ASSERT_GT(o.selv_top_k, 0);
  auto model = LoadGpu(o.dir, "f32", 1, o.selv_top_k);
  std::vector<float> logits;
  ASSERT_TRUE(model->Prefill(0, o.input_ids, LogitsMode::kAll, &logits).ok());
  ASSERT_EQ(logits.size(), o.logits_selv.size());

  EngineOptions cpu_options;
  cpu_options.kv_dtype = "bf16";
  cpu_options.selective_v_top_k = o.selv_top_k;
  cpu_options.max_context = 64;
  auto cpu = LoadForwardModel(o.dir, cpu_options);
  ASSERT_TRUE(cpu.ok()) << cpu.status().ToString();
  std::vector<float> cpu_logits;
  ASSERT_TRUE((*cpu)->Prefill(0, o.input_ids, LogitsMode::kAll, &cpu_logits).ok());
  EXPECT_LT(MaxAbsDiff(logits.data(), cpu_logits.data(), logits.size()), 2e-3f * Scale(cpu_logits));
  // And the selection is real: with top_k 4 of up to 24 positions the logits differ from dense.
  EXPECT_GT(MaxAbsDiff(logits.data(), o.logits.data(), logits.size()), 1e-2f);
}

TEST(CudaBackendTest, DescribeDeviceNamesTheGpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  auto d = cuda::DescribeDevice();
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_NE(d->find("sm_"), std::string::npos);
}

TEST(CudaBackendTest, UnsupportedHeadDimIsAnError) {
  SIGMA_SKIP_WITHOUT_GPU();
  auto config = ModelConfigPreset("sigma-tiny");
  ASSERT_TRUE(config.ok());
  config->head_dim = 48;
  cuda::CudaOptions o;
  auto model = cuda::CudaModel::CreateRandom(*config, o, 1);
  EXPECT_FALSE(model.ok());
}

}  // namespace
}  // namespace sigma
