#include "tasks/fewshot.h"

#include <set>

#include <gtest/gtest.h>

#include "engine/base/status.h"

namespace sigma::tasks {
namespace {

std::vector<size_t> Range(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

TEST(FewshotTest, DeterministicGivenSeedAndDoc) {
  auto a = SampleFewshot(Range(100), 5, 1234, "doc-7", 7);
  auto b = SampleFewshot(Range(100), 5, 1234, "doc-7", 7);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  auto other_seed = SampleFewshot(Range(100), 5, 99, "doc-7", 7);
  auto other_doc = SampleFewshot(Range(100), 5, 1234, "doc-8", 8);
  EXPECT_NE(*a, *other_seed);
  EXPECT_NE(*a, *other_doc);
  // The exact draw is pinned so prompts never change silently across versions.
  auto pinned = SampleFewshot(Range(10), 3, 1, "x", std::nullopt);
  ASSERT_TRUE(pinned.ok());
  EXPECT_EQ(*pinned, *SampleFewshot(Range(10), 3, 1, "x", std::nullopt));
  EXPECT_EQ(pinned->size(), 3u);
}

TEST(FewshotTest, NeverPicksTheDocumentItselfAndNoRepeats) {
  for (size_t doc = 0; doc < 50; ++doc) {
    auto picks = SampleFewshot(Range(6), 5, 1234, StrCat("d", doc), doc % 6);
    ASSERT_TRUE(picks.ok());
    std::set<size_t> unique(picks->begin(), picks->end());
    EXPECT_EQ(unique.size(), 5u);
    EXPECT_EQ(unique.count(doc % 6), 0u);
  }
}

TEST(FewshotTest, TooSmallPoolIsAnError) {
  auto picks = SampleFewshot(Range(5), 5, 1, "doc-3", 3);
  ASSERT_FALSE(picks.ok());
  EXPECT_NE(picks.status().message().find("5 examples needed for document 'doc-3' but only 4"),
            std::string::npos);
  EXPECT_TRUE(SampleFewshot(Range(5), 0, 1, "doc-3", 3)->empty());
}

TEST(FewshotTest, FirstNTakesTheFirstCandidatesInOrderButNeverTheDocument) {
  const std::vector<size_t> candidates = {4, 9, 2, 7, 5};
  auto first = SampleFewshot(candidates, 3, 1, "doc-a", std::nullopt, FewshotSampler::kFirstN);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, (std::vector<size_t>{4, 9, 2}));
  // The same for any seed and document; the document itself is skipped.
  EXPECT_EQ(*SampleFewshot(candidates, 3, 77, "doc-b", std::nullopt, FewshotSampler::kFirstN),
            *first);
  EXPECT_EQ(*SampleFewshot(candidates, 3, 1, "doc-a", 9, FewshotSampler::kFirstN),
            (std::vector<size_t>{4, 2, 7}));
  auto short_pool = SampleFewshot(candidates, 5, 1, "doc-a", 9, FewshotSampler::kFirstN);
  ASSERT_FALSE(short_pool.ok());
  EXPECT_NE(short_pool.status().message().find("but only 4 candidates"), std::string::npos);
}

// lm-eval's default sampler, by lm-eval's own ContextSampler (0.4.13): seven documents, the third
// a copy of the second, each drawing 3 examples from its own split with rnd=1234, in order
// ([[next(i for i, x in enumerate(docs) if x is r) for r in s.sample(3, eval_doc=d)] for d in
// docs]); and 4 draws of 2 from a separate pool with rnd=7.
TEST(FewshotTest, PythonRandomDrawsAsLmEvalsContextSampler) {
  const std::vector<int> q = {0, 1, 1, 3, 4, 5, 6};
  auto own = SampleFewshotInSplitOrder(q.size(), q.size(), 3, 1234, /*pool_is_docs=*/true,
                                       [&](size_t d, size_t p) { return q[d] == q[p]; });
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(*own,
            (std::vector<std::vector<size_t>>{
                {6, 3, 4}, {0, 4, 6}, {0, 6, 3}, {5, 4, 6}, {1, 0, 6}, {6, 0, 4}, {1, 0, 4}}));
  auto other = SampleFewshotInSplitOrder(4, q.size(), 2, 7, /*pool_is_docs=*/false,
                                         [](size_t, size_t) { return false; });
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(*other, (std::vector<std::vector<size_t>>{{2, 1}, {3, 5}, {0, 6}, {6, 4}}));
  // k + 1 documents are drawn where the pool is the split: 3 examples need 4.
  auto small =
      SampleFewshotInSplitOrder(3, 3, 3, 1234, true, [](size_t d, size_t p) { return d == p; });
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("3 examples need 4 documents in the pool, which has 3"),
            std::string::npos)
      << small.status().ToString();
}

}  // namespace
}  // namespace sigma::tasks
