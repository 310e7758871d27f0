#include "engine/kv_cache.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/base/system_memory.h"
#include "engine/cpu/attention.h"
#include "tests/engine/base/smaps.h"

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

// A row whose values are exact in bf16 and tell (layer, seq, head, pos, d) apart.
std::vector<float> Row(int64_t tag, int64_t head_dim) {
  std::vector<float> row(static_cast<size_t>(head_dim));
  for (int64_t d = 0; d < head_dim; ++d) row[d] = static_cast<float>((tag * 7 + d) % 251) - 125.0f;
  return row;
}

TEST(KvCacheTest, RowsAreDistinctZeroedAndKeepWhatIsWritten) {
  KvCache cache = KvCache::Create(SmallShape()).value();
  const KvCacheShape& s = cache.shape();
  // K heads hold whole tiles of 16 positions: 40 -> 48.
  EXPECT_EQ(cache.TotalBytes(), size_t{3 * 2 * (2 * 48 + 5 * 40) * 8 * 2});
  EXPECT_EQ(cache.BytesPerToken(), size_t{3 * (2 + 5) * 8 * 2});
  // Every row reads as zeros until written; write each with its own values, then read back.
  std::vector<float> got(8);
  int64_t tag = 1;
  for (int64_t l = 0; l < s.num_layers; ++l)
    for (int64_t q = 0; q < s.num_seqs; ++q)
      for (int64_t p = 0; p < s.capacity; ++p) {
        for (int64_t h = 0; h < s.n_k_heads; ++h) {
          cache.LoadK(l, q, h, p, got.data());
          for (float x : got) ASSERT_EQ(x, 0.0f);
          cache.StoreK(l, q, h, p, Row(tag++, 8).data());
        }
        for (int64_t h = 0; h < s.n_v_heads; ++h) {
          cache.LoadV(l, q, h, p, got.data());
          for (float x : got) ASSERT_EQ(x, 0.0f);
          cache.StoreV(l, q, h, p, Row(tag++, 8).data());
        }
      }
  tag = 1;
  for (int64_t l = 0; l < s.num_layers; ++l)
    for (int64_t q = 0; q < s.num_seqs; ++q)
      for (int64_t p = 0; p < s.capacity; ++p) {
        for (int64_t h = 0; h < s.n_k_heads; ++h) {
          cache.LoadK(l, q, h, p, got.data());
          ASSERT_EQ(got, Row(tag++, 8)) << "K layer " << l << " seq " << q << " head " << h;
        }
        for (int64_t h = 0; h < s.n_v_heads; ++h) {
          cache.LoadV(l, q, h, p, got.data());
          ASSERT_EQ(got, Row(tag++, 8)) << "V layer " << l << " seq " << q << " head " << h;
        }
      }
}

// The view of (layer, seq) starts at head 0, position 0 of both buffers, in the layouts
// attention.h describes: V rows [head][capacity][head_dim], K tiles per KElementIndex.
TEST(KvCacheTest, ViewHasTheAttentionLayouts) {
  KvCache cache = KvCache::Create(SmallShape()).value();
  for (int64_t p : {0, 15, 16, 39}) {
    cache.StoreK(2, 1, 1, p, Row(p, 8).data());
    cache.StoreV(2, 1, 4, p, Row(p + 1000, 8).data());
  }
  const KvLayerView view = cache.View(2, 1);
  EXPECT_EQ(view.capacity, 40);
  const auto* k = static_cast<const uint16_t*>(view.k) + KTilePositions(40) * 8;  // head 1
  const auto* v = static_cast<const uint16_t*>(view.v) + 4 * 40 * 8;              // head 4
  for (int64_t p : {0, 15, 16, 39}) {
    for (int d = 0; d < 8; ++d) {
      EXPECT_EQ(Bf16ToF32(k[KElementIndex(DType::kBF16, 8, p, d)]), Row(p, 8)[d]) << p << " " << d;
      EXPECT_EQ(Bf16ToF32(v[p * 8 + d]), Row(p + 1000, 8)[d]) << p << " " << d;
    }
  }
}

TEST(KvCacheTest, CopyPrefixCopiesEveryLayerAndHeadUpToTheLength) {
  KvCache cache = KvCache::Create(SmallShape()).value();
  const KvCacheShape& s = cache.shape();
  for (int64_t l = 0; l < s.num_layers; ++l) {
    for (int64_t p = 0; p < s.capacity; ++p) {
      cache.StoreK(l, 0, 1, p, Row(p + 1, 8).data());
      cache.StoreV(l, 0, 4, p, Row(p + 100, 8).data());
    }
  }
  cache.CopyPrefix(0, 1, 7);
  const std::vector<float> zeros(8, 0.0f);
  std::vector<float> k(8), v(8);
  for (int64_t l = 0; l < s.num_layers; ++l) {
    for (int64_t p = 0; p < s.capacity; ++p) {
      cache.LoadK(l, 1, 1, p, k.data());
      cache.LoadV(l, 1, 4, p, v.data());
      // K goes in whole tiles: positions 7-15 of the first come along; past it nothing does.
      if (p < 7 || p >= 16) {
        EXPECT_EQ(k, p < 7 ? Row(p + 1, 8) : zeros) << "layer " << l << " pos " << p;
      }
      EXPECT_EQ(v, p < 7 ? Row(p + 100, 8) : zeros) << "layer " << l << " pos " << p;
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

// A cache on huge pages whose heads each fit in one 2 MiB page is resident from the start (a slot's
// first token would commit the whole slot); one whose heads span several pages is committed as
// positions are written, so a long context costs what the sequences use.
TEST(KvCacheTest, IsCommittedWhenCreatedWhereEachHeadFitsInAHugePage) {
  const KvCache small = KvCache::Create(SmallShape()).value();
  ASSERT_TRUE(small.huge_pages());
  const KvLayerView view = small.View(0, 0);
  EXPECT_GE(testing::RssKibOf(view.k) + testing::RssKibOf(view.v),
            static_cast<int64_t>(small.TotalBytes() / 1024));
  KvCacheShape long_heads = SmallShape();
  long_heads.num_layers = long_heads.num_seqs = 1;
  long_heads.n_k_heads = long_heads.n_v_heads = 1;
  long_heads.head_dim = 64;
  long_heads.capacity = 32768;  // 4 MiB a head
  const KvCache sparse = KvCache::Create(long_heads).value();
  ASSERT_TRUE(sparse.huge_pages());
  const KvLayerView sparse_view = sparse.View(0, 0);
  EXPECT_LT(testing::RssKibOf(sparse_view.k) + testing::RssKibOf(sparse_view.v),
            static_cast<int64_t>(sparse.TotalBytes() / 1024 / 2));
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
