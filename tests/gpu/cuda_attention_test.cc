// Parity of the CUDA decode and prefill attention (split-KV + combine, selective V) with the CPU
// reference (engine/cpu/attention.h) on the same bf16 caches, over DiffQKV head layouts (Sigma
// 32/4/16, GQA16, n_v < n_k, MHA, groups of 3 and 4), head_dim 16/64/128, contexts from 1 to 5000,
// forced and automatic split counts, every max_group. Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/cpu/attention.h"
#include "engine/cpu/thread_pool.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/dtype.h"
#include "tests/gpu/gpu_test_util.h"

namespace sigma {
namespace {

using gpu_test::Nmse;
using gpu_test::RandomVector;

struct Heads {
  int n_q, n_k, n_v, hd;
};

std::string Name(const Heads& h) {
  return std::to_string(h.n_q) + "/" + std::to_string(h.n_k) + "/" + std::to_string(h.n_v) +
         " hd" + std::to_string(h.hd);
}

// Caches of `seqs` sequences with random bf16 rows, and one query row per entry of ctx.
cuda::AttentionCase MakeCase(const Heads& h, int seqs, int64_t capacity,
                             const std::vector<int32_t>& row_seq,
                             const std::vector<int32_t>& row_ctx, uint32_t seed) {
  cuda::AttentionCase c;
  c.n_q = h.n_q;
  c.n_k = h.n_k;
  c.n_v = h.n_v;
  c.head_dim = h.hd;
  c.scale = 1.0f / std::sqrt(static_cast<float>(h.hd));
  c.capacity = capacity;
  const auto k = RandomVector(size_t(seqs) * h.n_k * capacity * h.hd, seed, 2.0f);
  const auto v = RandomVector(size_t(seqs) * h.n_v * capacity * h.hd, seed + 1);
  for (float x : k) c.k.push_back(F32ToBf16(x));
  for (float x : v) c.v.push_back(F32ToBf16(x));
  c.q = RandomVector(row_seq.size() * h.n_q * h.hd, seed + 2, 2.0f);
  c.row_seq = row_seq;
  c.row_ctx = row_ctx;
  return c;
}

// The case's K ([seq][n_k][capacity][hd] bf16 rows, the device layout) as the CPU kernels read
// it: per sequence and head, tiles of 16 positions (attention.h, KElementIndex).
std::vector<uint16_t> CpuKTiles(const cuda::AttentionCase& c) {
  const int64_t seqs =
      static_cast<int64_t>(c.k.size()) / (int64_t{c.n_k} * c.capacity * c.head_dim);
  const int64_t head = KTilePositions(c.capacity) * c.head_dim;
  std::vector<uint16_t> tiles(static_cast<size_t>(seqs * c.n_k * head));
  for (int64_t sh = 0; sh < seqs * c.n_k; ++sh) {
    for (int64_t pos = 0; pos < c.capacity; ++pos) {
      for (int d = 0; d < c.head_dim; ++d) {
        tiles[sh * head + KElementIndex(DType::kBF16, c.head_dim, pos, d)] =
            c.k[(sh * c.capacity + pos) * c.head_dim + d];
      }
    }
  }
  return tiles;
}

// Sequence `seq` of the case for the CPU kernels; k_tiles from CpuKTiles(c).
KvLayerView View(const cuda::AttentionCase& c, const std::vector<uint16_t>& k_tiles, int seq) {
  KvLayerView v;
  v.dtype = DType::kBF16;
  v.k = k_tiles.data() + size_t(seq) * c.n_k * KTilePositions(c.capacity) * c.head_dim;
  v.v = c.v.data() + size_t(seq) * c.n_v * c.capacity * c.head_dim;
  v.capacity = c.capacity;
  return v;
}

// The CPU attention's shape for a case, q kept in f32 as the CUDA kernels keep it (their q = hi +
// lo bf16 halves; attention.h, AttentionShape::bf16_query).
AttentionShape CpuShape(const cuda::AttentionCase& c) {
  return {c.n_q, c.n_k, c.n_v, c.head_dim, c.scale, /*bf16_query=*/false};
}

// CPU decode attention of every row (each its own item).
std::vector<float> CpuDecode(const cuda::AttentionCase& c, int top_k) {
  ThreadPool pool(2);
  const AttentionShape shape = CpuShape(c);
  const size_t row = size_t(c.n_q) * c.head_dim;
  std::vector<float> out(c.row_seq.size() * row);
  const std::vector<uint16_t> k_tiles = CpuKTiles(c);
  std::vector<DecodeItem> items;
  for (size_t r = 0; r < c.row_seq.size(); ++r) {
    items.push_back({c.q.data() + r * row, View(c, k_tiles, c.row_seq[r]), c.row_ctx[r],
                     out.data() + r * row});
  }
  DecodeAttention(shape, items, top_k, pool);
  return out;
}

// Tensor-core blocks (automatic grouping): Sigma 8 heads in two V groups, GQA16 2, 16/8/2 2,
// MHA hd128 1, 8/2/2 hd128 4 (a 96 KB ring: two CTAs per multiprocessor); hd16 on CUDA cores.
const Heads kLayouts[] = {{32, 4, 16, 64}, {32, 16, 16, 64}, {16, 8, 2, 64}, {4, 4, 4, 128},
                          {8, 2, 2, 128},  {6, 2, 2, 16},    {8, 2, 4, 16}};

TEST(CudaAttentionTest, DecodeMatchesCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  const std::vector<int32_t> ctx = {1, 7, 300, 5000};
  const std::vector<int32_t> seq = {0, 1, 2, 3};
  for (const Heads& h : kLayouts) {
    auto c = MakeCase(h, 4, 5000, seq, ctx, 100 + h.n_k);
    const auto ref = CpuDecode(c, 0);
    for (int splits : {0, 1, 3, 17}) {
      for (int group : {0, 2, 4, 8}) {
        c.num_splits = splits;
        c.max_group = group;
        for (bool bf16 : {false, true}) {
          c.bf16_out = bf16;
          auto got = cuda::AttentionOnDevice(c);
          ASSERT_TRUE(got.ok()) << got.status().ToString();
          EXPECT_LT(Nmse(*got, ref), bf16 ? 1e-4 : 1e-9)
              << Name(h) << " splits=" << splits << " group=" << group << " bf16=" << bf16;
        }
      }
    }
  }
}

TEST(CudaAttentionTest, PrefillRowsMatchCpuPrefill) {
  SIGMA_SKIP_WITHOUT_GPU();
  for (const Heads& h : kLayouts) {
    const int64_t start = 37, n_new = 29;
    std::vector<int32_t> seq(n_new, 0), ctx(n_new);
    for (int t = 0; t < n_new; ++t) ctx[t] = static_cast<int32_t>(start + t + 1);
    auto c = MakeCase(h, 1, start + n_new, seq, ctx, 200 + h.n_q);
    for (int top_k : {0, 8}) {
      c.top_k = top_k;
      ThreadPool pool(2);
      std::vector<float> ref(c.q.size());
      PrefillAttention(CpuShape(c), c.q.data(),
                       View(c, CpuKTiles(c), 0), start, n_new, top_k, ref.data(), pool);
      auto got = cuda::AttentionOnDevice(c);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_LT(Nmse(*got, ref), 1e-9) << Name(h) << " top_k=" << top_k;
    }
  }
}

TEST(CudaAttentionTest, SelectiveVMatchesCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  const std::vector<int32_t> ctx = {50, 300, 5000};
  const std::vector<int32_t> seq = {0, 1, 2};
  for (const Heads& h : kLayouts) {
    auto c = MakeCase(h, 3, 5000, seq, ctx, 300 + h.n_v);
    for (int top_k : {4, 100}) {
      c.top_k = top_k;
      const auto ref = CpuDecode(c, top_k);
      auto got = cuda::AttentionOnDevice(c);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_LT(Nmse(*got, ref), 1e-9) << Name(h) << " top_k=" << top_k;
    }
  }
}

TEST(CudaAttentionTest, SelectiveVWithTopKCoveringContextIsDenseExactly) {
  SIGMA_SKIP_WITHOUT_GPU();
  const Heads h{32, 4, 16, 64};
  auto c = MakeCase(h, 2, 600, {0, 1}, {100, 600}, 400);
  auto dense = cuda::AttentionOnDevice(c);
  c.top_k = 600;
  auto covering = cuda::AttentionOnDevice(c);
  ASSERT_TRUE(dense.ok() && covering.ok());
  EXPECT_EQ(*dense, *covering);
}

TEST(CudaAttentionTest, TiedScoresKeepTheLatestPositions) {
  SIGMA_SKIP_WITHOUT_GPU();
  // Every K row equal: all scores tie, so the CPU rule keeps the last top_k positions.
  const Heads h{8, 2, 4, 64};
  auto c = MakeCase(h, 1, 1000, {0}, {1000}, 500);
  for (size_t i = 0; i < c.k.size(); ++i) c.k[i] = c.k[i % h.hd];
  c.top_k = 10;
  const auto ref = CpuDecode(c, 10);
  auto got = cuda::AttentionOnDevice(c);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_LT(Nmse(*got, ref), 1e-9);
}

}  // namespace
}  // namespace sigma
