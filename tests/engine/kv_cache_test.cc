#include "engine/kv_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "engine/base/system_memory.h"

namespace sigma {
namespace {

KvCacheShape SmallShape() {
  KvCacheShape s;
  s.num_layers = 3;
  s.num_seqs = 2;
  s.capacity = 40;
  s.n_k_heads = 2;
  s.n_v_heads = 5;
  s.head_dim = 8;
  s.dtype = DType::kBF16;
  return s;
}

TEST(KvCacheTest, RowsAreDistinctZeroedAndKeepWhatIsWritten) {
  KvCache cache = KvCache::Create(SmallShape()).value();
  const KvCacheShape& s = cache.shape();
  EXPECT_EQ(cache.TotalBytes(), size_t{3 * 2 * 40 * (2 + 5) * 8 * 2});
  EXPECT_EQ(cache.BytesPerToken(), size_t{3 * (2 + 5) * 8 * 2});
  // Every row is 16 zero bytes until written; write each with its own pattern, then read back.
  uint8_t tag = 1;
  for (int64_t l = 0; l < s.num_layers; ++l)
    for (int64_t q = 0; q < s.num_seqs; ++q)
      for (int64_t p = 0; p < s.capacity; ++p) {
        for (int64_t h = 0; h < s.n_k_heads; ++h) {
          auto* row = static_cast<uint8_t*>(cache.KRow(l, q, h, p));
          for (int i = 0; i < 16; ++i) ASSERT_EQ(row[i], 0);
          std::memset(row, tag++, 16);
        }
        for (int64_t h = 0; h < s.n_v_heads; ++h) {
          auto* row = static_cast<uint8_t*>(cache.VRow(l, q, h, p));
          for (int i = 0; i < 16; ++i) ASSERT_EQ(row[i], 0);
          std::memset(row, tag++, 16);
        }
      }
  tag = 1;
  for (int64_t l = 0; l < s.num_layers; ++l)
    for (int64_t q = 0; q < s.num_seqs; ++q)
      for (int64_t p = 0; p < s.capacity; ++p) {
        for (int64_t h = 0; h < s.n_k_heads; ++h) {
          EXPECT_EQ(static_cast<uint8_t*>(cache.KRow(l, q, h, p))[15], tag++);
        }
        for (int64_t h = 0; h < s.n_v_heads; ++h) {
          EXPECT_EQ(static_cast<uint8_t*>(cache.VRow(l, q, h, p))[15], tag++);
        }
      }
  // The view of (layer, seq) starts at head 0, position 0 of both buffers.
  const KvLayerView view = cache.View(2, 1);
  EXPECT_EQ(view.k, cache.KRow(2, 1, 0, 0));
  EXPECT_EQ(view.v, cache.VRow(2, 1, 0, 0));
  EXPECT_EQ(view.capacity, 40);
}

TEST(KvCacheTest, CopyPrefixCopiesEveryLayerAndHeadUpToTheLength) {
  KvCache cache = KvCache::Create(SmallShape()).value();
  const KvCacheShape& s = cache.shape();
  for (int64_t l = 0; l < s.num_layers; ++l) {
    for (int64_t p = 0; p < s.capacity; ++p) {
      std::memset(cache.KRow(l, 0, 1, p), static_cast<int>(p + 1), 16);
      std::memset(cache.VRow(l, 0, 4, p), static_cast<int>(p + 100), 16);
    }
  }
  cache.CopyPrefix(0, 1, 7);
  for (int64_t l = 0; l < s.num_layers; ++l) {
    for (int64_t p = 0; p < s.capacity; ++p) {
      const uint8_t k = static_cast<uint8_t*>(cache.KRow(l, 1, 1, p))[3];
      const uint8_t v = static_cast<uint8_t*>(cache.VRow(l, 1, 4, p))[3];
      EXPECT_EQ(k, p < 7 ? p + 1 : 0) << "layer " << l << " pos " << p;
      EXPECT_EQ(v, p < 7 ? p + 100 : 0) << "layer " << l << " pos " << p;
    }
  }
}

// Huge pages commit a reservation in 2 MiB pieces as the first rows of every head are written, so
// only a cache of at most a quarter of the usable memory asks for them.
TEST(KvCacheTest, OnlyACacheOfAtMostAQuarterOfMemoryAsksForHugePages) {
  EXPECT_TRUE(KvCache::Create(SmallShape()).value().huge_pages());
  KvCacheShape big = SmallShape();
  big.num_layers = 1;
  big.num_seqs = 1;
  big.n_k_heads = big.n_v_heads = 1;
  big.head_dim = 1024;
  big.dtype = DType::kF32;  // 8 KiB a position, K and V
  big.capacity = static_cast<int64_t>(UsableMemoryBytes() / 4 / 8192 + 1);
  StatusOr<KvCache> cache = KvCache::Create(big);
  ASSERT_TRUE(cache.ok()) << cache.status().message();  // reserved, not committed
  EXPECT_GT(cache.value().TotalBytes(), UsableMemoryBytes() / 4);
  EXPECT_FALSE(cache.value().huge_pages());
}

TEST(KvCacheTest, BadShapesAreErrors) {
  KvCacheShape s = SmallShape();
  s.n_v_heads = 0;
  EXPECT_FALSE(KvCache::Create(s).ok());
  s = SmallShape();
  s.dtype = DType::kQ8_0;
  const StatusOr<KvCache> q8 = KvCache::Create(s);
  ASSERT_FALSE(q8.ok());
  EXPECT_NE(q8.status().message().find("f32, f16 or bf16"), std::string::npos);
}

}  // namespace
}  // namespace sigma
