// CudaModel behind the device-neutral ForwardModel (engine/forward_model.h): CopySequence
// (device-to-device copy of the K/V slot prefixes) against a fresh prefill and against the CPU
// Model doing the same, and Generate / Loglikelihood (engine/generate.h) through
// LoadForwardModel with device "cuda" against the CPU and the oracle's greedy tokens.
// Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/cuda/cuda_backend.h"
#include "engine/generate.h"
#include "engine/language_model.h"
#include "engine/model.h"
#include "tests/gpu/gpu_test_util.h"

namespace sigma {
namespace {

// input_ids and greedy_new_tokens of an oracle fixture.
void ReadOracle(const std::string& dir, std::vector<int32_t>* input, std::vector<int32_t>* greedy) {
  auto text = ReadFile(dir + "/oracle.json");
  SIGMA_CHECK(text.ok(), text.status().ToString());
  auto doc = ParseJson(*text, "oracle.json");
  SIGMA_CHECK(doc.ok());
  for (const auto& x : (**doc)["input_ids"].GetArray()) input->push_back(x.GetInt());
  for (const auto& x : (**doc)["greedy_new_tokens"].GetArray()) greedy->push_back(x.GetInt());
}

std::unique_ptr<ForwardModel> Load(const std::string& dir, const std::string& device, int seqs) {
  EngineOptions o;
  o.device = device;
  o.max_context = 64;
  o.max_sequences = seqs;
  auto model = LoadForwardModel(dir, o);
  SIGMA_CHECK(model.ok(), model.status().ToString());
  return std::move(model).value();
}

// Prefills ids[0, n) into slot 0, copies its first k positions to slot 1 and runs ids[k, n) there:
// the logits [n - k, vocab] of those rows.
std::vector<float> ContinueFromCopy(ForwardModel& m, const std::vector<int32_t>& ids, size_t k) {
  std::vector<float> logits;
  EXPECT_TRUE(m.Prefill(0, ids, LogitsMode::kNone, nullptr).ok());
  EXPECT_TRUE(m.CopySequence(0, 1, static_cast<int64_t>(k)).ok());
  EXPECT_EQ(m.SequenceLength(1), static_cast<int64_t>(k));
  EXPECT_TRUE(m.Prefill(1, {ids.data() + k, ids.size() - k}, LogitsMode::kAll, &logits).ok());
  return logits;
}

class CudaForwardModelTest : public testing::TestWithParam<std::string> {};

TEST_P(CudaForwardModelTest, CopySequenceMatchesFreshPrefillAndCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  const std::string dir = gpu_test::OracleDir(GetParam());
  std::vector<int32_t> ids, greedy;
  ReadOracle(dir, &ids, &greedy);
  const size_t k = 9;
  auto gpu = Load(dir, "cuda", 3);
  const std::vector<float> copied = ContinueFromCopy(*gpu, ids, k);
  // The same rows on slot 2 from its own prefill of the prefix.
  std::vector<float> fresh;
  ASSERT_TRUE(gpu->Prefill(2, {ids.data(), k}, LogitsMode::kNone, nullptr).ok());
  ASSERT_TRUE(gpu->Prefill(2, {ids.data() + k, ids.size() - k}, LogitsMode::kAll, &fresh).ok());
  ASSERT_EQ(copied.size(), fresh.size());
  EXPECT_LT(gpu_test::Nmse(copied, fresh), 1e-6);
  // The CPU reference doing the same through the interface (the device cache is bf16).
  auto cpu = Load(dir, "cpu", 3);
  const std::vector<float> reference = ContinueFromCopy(*cpu, ids, k);
  EXPECT_LT(gpu_test::Nmse(copied, reference), 1e-3);
  // Slot 0 is untouched by the copy; errors leave the slots as they were.
  EXPECT_EQ(gpu->SequenceLength(0), static_cast<int64_t>(ids.size()));
  EXPECT_FALSE(gpu->CopySequence(0, 1, static_cast<int64_t>(ids.size()) + 1).ok());
  EXPECT_FALSE(gpu->CopySequence(0, 3, 1).ok());
  EXPECT_TRUE(gpu->CopySequence(0, 0, 4).ok());  // in place: a truncation
  EXPECT_EQ(gpu->SequenceLength(0), 4);
}

TEST_P(CudaForwardModelTest, GenerateAndLoglikelihoodMatchCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  const std::string dir = gpu_test::OracleDir(GetParam());
  std::vector<int32_t> ids, greedy;
  ReadOracle(dir, &ids, &greedy);
  auto gpu = Load(dir, "cuda", 1);
  auto cpu = Load(dir, "cpu", 1);
  GenerateParams params;
  params.max_new_tokens = static_cast<int64_t>(greedy.size());
  auto g = Generate(*gpu, 0, ids, params);
  auto c = Generate(*cpu, 0, ids, params);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(g->tokens, greedy);
  EXPECT_EQ(g->tokens, c->tokens);
  const std::span<const int32_t> all(ids);
  auto lg = Loglikelihood(*gpu, 0, all.subspan(0, 10), all.subspan(10, 6));
  auto lc = Loglikelihood(*cpu, 0, all.subspan(0, 10), all.subspan(10, 6));
  ASSERT_TRUE(lg.ok() && lc.ok());
  EXPECT_NEAR(lg->sum, lc->sum, 1e-2 * std::max(1.0, std::fabs(lc->sum)));
  EXPECT_EQ(lg->is_greedy, lc->is_greedy);
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, CudaForwardModelTest,
                         testing::Values("llama-gqa-tiny", "qwen2-tied-tiny",
                                         "sigma-diffqkv-tiny"));

TEST(CudaDeviceCheckTest, AvailableWhenADeviceIsVisible) {
  SIGMA_SKIP_WITHOUT_GPU();
  EXPECT_TRUE(CheckDeviceAvailable("cuda").ok());
}

}  // namespace
}  // namespace sigma
