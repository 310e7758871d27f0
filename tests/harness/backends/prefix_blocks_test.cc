// PrefixBlocks on the default model (SmolLM2-135M-Instruct): a context that starts with the
// tokens an earlier one left in the cache computes only its whole blocks past them, and then holds
// the same rows, bit for bit, as a sequence that computed all of it.
#include "harness/backends/prefix_blocks.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <span>
#include <vector>

#include "engine/language_model.h"

namespace sigma::harness {
namespace {

constexpr int64_t kB = PrefixBlocks::kCpuBlock;

// Token ids spread over the vocabulary: `n` of them, the i-th from `seed`.
std::vector<int32_t> Ids(int n, int seed) {
  std::vector<int32_t> ids;
  for (int i = 0; i < n; ++i) ids.push_back((1000 + 7919 * (i + seed)) % 49152);
  return ids;
}

std::vector<int32_t> Concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class PrefixBlocksTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(DefaultModelPath())) {
      GTEST_SKIP() << "default model missing at " << DefaultModelPath()
                   << " (run scripts/setup.sh)";
    }
    EngineOptions options;
    options.threads = 2;
    options.max_context = 512;
    options.max_sequences = 3;
    auto lm = LanguageModel::Open(DefaultModelPath(), options);
    ASSERT_TRUE(lm.ok()) << lm.status().ToString();
    lm_ = std::move(*lm);
  }

  ForwardModel& model() { return lm_->model(); }

  // Logits of one decode step of `token` on sequence `seq` (reads every row the sequence holds).
  std::vector<float> Step(int seq, int32_t token) {
    const TokenRow row{seq, token};
    std::vector<float> logits;
    const Status s = model().Forward({&row, 1}, LogitsMode::kLast, &logits);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return logits;
  }

  // Fill's count of computed positions; -1 (and a failure) on an error.
  int64_t Computed(PrefixBlocks& blocks, std::span<const int32_t> tokens,
                   std::vector<float>* logits) {
    const StatusOr<int64_t> computed = blocks.Fill(model(), tokens, logits);
    EXPECT_TRUE(computed.ok()) << computed.status().ToString();
    return computed.ok() ? *computed : -1;
  }

  std::unique_ptr<LanguageModel> lm_;
};

TEST_F(PrefixBlocksTest, ASharedPrefixIsReusedInWholeBlocksWithTheSameBits) {
  const std::vector<int32_t> shared = Ids(150, 0);
  const std::vector<int32_t> first = Concat(shared, Ids(50, 1000));
  const std::vector<int32_t> second = Concat(shared, Ids(60, 2000));
  PrefixBlocks reused(0, kB), fresh(1, kB);
  std::vector<float> logits, expected;
  ASSERT_EQ(Computed(reused, first, &logits), 200);
  EXPECT_EQ(reused.Reusable(second), kB * (150 / kB));
  const StatusOr<int64_t> computed = reused.Fill(model(), second, &logits);
  ASSERT_TRUE(computed.ok()) << computed.status().ToString();
  EXPECT_EQ(*computed, 210 - kB * (150 / kB));
  EXPECT_EQ(model().SequenceLength(0), 210);
  ASSERT_EQ(Computed(fresh, second, &expected), 210);
  EXPECT_EQ(logits, expected);
  // Every row the same: the next step reads them all.
  EXPECT_EQ(Step(0, 42), Step(1, 42));
}

TEST_F(PrefixBlocksTest, TheSameContextAgainComputesItsLastBlockForTheLogits) {
  const std::vector<int32_t> context = Ids(200, 7);
  PrefixBlocks blocks(0, kB);
  std::vector<float> once, again;
  ASSERT_EQ(Computed(blocks, context, &once), 200);
  ASSERT_EQ(Computed(blocks, context, &again), 200 - kB * (199 / kB));
  EXPECT_EQ(once, again);
  // A context of whole blocks still computes its last one.
  const std::vector<int32_t> whole = Ids(static_cast<int>(2 * kB), 7);
  ASSERT_EQ(Computed(blocks, whole, &again), kB);
  // A prefix of what it holds reuses its blocks too, and a shorter one none.
  ASSERT_EQ(Computed(blocks, Ids(static_cast<int>(kB) + 5, 7), &again), 5);
  ASSERT_EQ(Computed(blocks, Ids(3, 7), &again), 3);
}

TEST_F(PrefixBlocksTest, CopiedRowsAreReusedAsTheDonorsOwn) {
  const std::vector<int32_t> shared = Ids(140, 3);
  const std::vector<int32_t> prompt = Concat(shared, Ids(20, 500));
  PrefixBlocks donor(0, kB), copy(1, kB), fresh(2, kB);
  std::vector<float> logits, expected;
  ASSERT_TRUE(donor.Fill(model(), Concat(shared, Ids(30, 900)), &logits).ok());
  const int64_t blocks = kB * (140 / kB);
  ASSERT_EQ(donor.Reusable(prompt), blocks);
  ASSERT_TRUE(copy.CopyFrom(model(), donor, blocks).ok());
  EXPECT_EQ(copy.Reusable(prompt), blocks);
  ASSERT_EQ(Computed(copy, prompt, &logits), 160 - blocks);
  ASSERT_EQ(Computed(fresh, prompt, &expected), 160);
  EXPECT_EQ(logits, expected);
  EXPECT_EQ(Step(1, 7), Step(2, 7));
}

TEST_F(PrefixBlocksTest, ForgetAndBadArguments) {
  const std::vector<int32_t> context = Ids(150, 11);
  PrefixBlocks blocks(0, kB), other(1, kB);
  std::vector<float> logits;
  ASSERT_TRUE(blocks.Fill(model(), context, &logits).ok());
  blocks.Forget();
  EXPECT_EQ(blocks.Reusable(context), 0);
  EXPECT_EQ(Computed(blocks, context, &logits), 150);
  EXPECT_EQ(blocks.Fill(model(), {}, &logits).status().code(), StatusCode::kInvalidArgument);
  // Only whole blocks of the same size, and no more than the donor holds.
  PrefixBlocks coarse(2, 2 * kB);
  EXPECT_EQ(coarse.CopyFrom(model(), blocks, 2 * kB).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(other.CopyFrom(model(), blocks, 5).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(other.CopyFrom(model(), blocks, kB * (150 / kB + 1)).code(),
            StatusCode::kInvalidArgument);
  // A context past the sequence's capacity: the engine's error, and nothing held after it.
  const StatusOr<int64_t> too_long = blocks.Fill(model(), Ids(600, 11), &logits);
  EXPECT_FALSE(too_long.ok());
  EXPECT_EQ(blocks.Reusable(context), 0);
}

}  // namespace
}  // namespace sigma::harness
