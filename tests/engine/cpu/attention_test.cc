#include "engine/cpu/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "engine/cpu/attention_internal.h"
#include "engine/cpu/thread_pool.h"
#include "tests/engine/cpu/cpu_test_util.h"

namespace sigma {
namespace {

using testing_util::Encode;
using testing_util::Encoded;
using testing_util::AllPaths;
using testing_util::KernelPathTest;
using testing_util::PathName;
using testing_util::RandomFloats;

AttentionShape Shape(int n_q, int n_k, int n_v, int hd) {
  return {n_q, n_k, n_v, hd, 1.0f / std::sqrt(static_cast<float>(hd))};
}

struct Cache {
  DType dtype;
  int64_t capacity;
  Encoded k;  // [n_k][capacity][hd] rows (the reference reads k.values)
  Encoded v;  // [n_v][capacity][hd]
  std::vector<uint8_t> k_tiles;  // k as the kernels read it (attention.h, KElementIndex)

  // Lays k.values out as K tiles (after k changed).
  void Tile(int n_k, int hd) {
    const int64_t head_bytes = KTilePositions(capacity) * hd * (dtype == DType::kF32 ? 4 : 2);
    k_tiles.assign(static_cast<size_t>(n_k * head_bytes), 0);
    for (int h = 0; h < n_k; ++h) {
      for (int64_t j = 0; j < capacity; ++j) {
        StoreKRow(&k.values[(h * capacity + j) * hd], hd, dtype, &k_tiles[h * head_bytes], j);
      }
    }
  }
  KvLayerView View() const { return {dtype, k_tiles.data(), v.bytes.data(), capacity}; }
};

Cache MakeCache(const AttentionShape& s, DType dtype, int64_t capacity, uint32_t seed) {
  Cache c{dtype, capacity, Encode(RandomFloats(s.n_k * capacity * s.head_dim, seed), dtype),
          Encode(RandomFloats(s.n_v * capacity * s.head_dim, seed + 1), dtype), {}};
  c.Tile(s.n_k, s.head_dim);
  return c;
}

// Double-precision attention of q [n_q][hd] over positions [0, n_ctx) (with a sliding window,
// its last s.window of them; scores soft-capped where s.softcap > 0), optional top-k by (score,
// position) descending, renormalised; with s.sinks, each head's sink logit one more softmax column
// without a value. With a bf16 cache and s.bf16_query, q rounded to bf16 first
// (attention.h).
std::vector<double> Reference(const AttentionShape& s, const float* q_in, const Cache& c,
                              int64_t n_ctx, int top_k) {
  const int hd = s.head_dim;
  std::vector<float> q(q_in, q_in + static_cast<ptrdiff_t>(s.n_q) * hd);
  if (s.bf16_query && c.dtype == DType::kBF16) {
    for (float& x : q) x = Bf16ToF32(F32ToBf16(x));
  }
  std::vector<double> out(static_cast<size_t>(s.n_q) * hd, 0.0);
  for (int i = 0; i < s.n_q; ++i) {
    const int kh = i / (s.n_q / s.n_k), vh = i / (s.n_q / s.n_v);
    std::vector<double> score(n_ctx);
    for (int64_t j = 0; j < n_ctx; ++j) {
      double dot = 0;
      for (int d = 0; d < hd; ++d) dot += double(q[i * hd + d]) * c.k.values[(kh * c.capacity + j) * hd + d];
      score[j] = dot * s.scale;
      if (s.softcap > 0) score[j] = s.softcap * std::tanh(score[j] / s.softcap);
    }
    const int64_t first = s.window > 0 ? std::max<int64_t>(0, n_ctx - s.window) : 0;
    std::vector<int64_t> keep(n_ctx - first);
    std::iota(keep.begin(), keep.end(), first);
    if (top_k > 0 && top_k < static_cast<int64_t>(keep.size())) {
      std::sort(keep.begin(), keep.end(), [&](int64_t a, int64_t b) {
        return score[a] != score[b] ? score[a] > score[b] : a > b;
      });
      keep.resize(top_k);
    }
    double max = s.sinks != nullptr ? s.sinks[i] : -INFINITY;
    for (int64_t j : keep) max = std::max(max, score[j]);
    double sum = s.sinks != nullptr ? std::exp(s.sinks[i] - max) : 0.0;
    for (int64_t j : keep) sum += std::exp(score[j] - max);
    for (int64_t j : keep) {
      const double p = std::exp(score[j] - max) / sum;
      for (int d = 0; d < hd; ++d) out[i * hd + d] += p * c.v.values[(vh * c.capacity + j) * hd + d];
    }
  }
  return out;
}

void ExpectNear(const std::vector<float>& got, const std::vector<double>& ref, double tol,
                const std::string& what) {
  ASSERT_EQ(got.size(), ref.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], ref[i], tol) << what << " at " << i;
}

std::vector<float> Decode(const AttentionShape& s, const std::vector<float>& q, const Cache& c,
                          int64_t n_ctx, int top_k, ThreadPool& pool) {
  std::vector<float> out(static_cast<size_t>(s.n_q) * s.head_dim, NAN);
  const DecodeItem item{q.data(), c.View(), n_ctx, out.data()};
  DecodeAttention(s, std::span<const DecodeItem>(&item, 1), top_k, pool);
  return out;
}

bool BitEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

const AttentionShape kShapes[] = {
    Shape(32, 4, 16, 64),  // Sigma-1.5B
    Shape(8, 2, 4, 32),    // small DiffQKV
    Shape(9, 3, 3, 64),    // SmolLM2-135M: three query heads per K head
    Shape(4, 4, 4, 128),   // MHA
    Shape(6, 3, 2, 24),    // n_v < n_k, head_dim without an AVX-512 instance
    Shape(2, 1, 2, 256),
    Shape(16, 1, 2, 32),    // sixteen query heads per K head: two groups of eight
    Shape(32, 16, 16, 64),  // GQA16: two query heads per K head
    Shape(12, 4, 4, 32),    // three query heads per K head at the other head dims
    Shape(16, 4, 4, 64),    // four query heads per K head (one pass where the family has it)
    Shape(6, 2, 2, 128),
    Shape(40, 2, 4, 64),  // twenty query heads per K head: AMX's groups of 16 and 4
};

class DecodeTest : public KernelPathTest {};

TEST_P(DecodeTest, DenseMatchesDoubleReference) {
  ThreadPool pool(2);
  uint32_t seed = 100;
  for (const AttentionShape& s : kShapes) {
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
      // Contexts around the chunk lengths (ChunkRows: 4096 rows, shorter where a step would have
      // under 6 tasks), so partials of several chunks are merged.
      for (int64_t n_ctx : {1, 7, 33, 511, 512, 513, 1000, 2049, 4500}) {
        if (s.head_dim >= 128 && n_ctx > 600) continue;  // keep the suite fast
        const Cache c = MakeCache(s, dtype, n_ctx + 3, seed++);
        const std::vector<float> q = RandomFloats(s.n_q * s.head_dim, seed++, -2.0f, 2.0f);
        ExpectNear(Decode(s, q, c, n_ctx, 0, pool), Reference(s, q.data(), c, n_ctx, 0), 2e-5,
                   std::string(DTypeName(dtype)) + " hd " + std::to_string(s.head_dim) +
                       " n_ctx " + std::to_string(n_ctx));
      }
    }
  }
}

// bf16 caches with q kept in f32 (the CUDA kernels' rule) and rounded to bf16 (the default): each
// against its own reference. The rounding moves these outputs past the tolerance (checked: each
// rule against the other's reference fails at elements 2e-5 to 1e-4 apart).
TEST_P(DecodeTest, Bf16QueryRuleIsTheShapes) {
  ThreadPool pool(2);
  uint32_t seed = 150;
  for (AttentionShape s : {kShapes[0], kShapes[2], kShapes[7], kShapes[8]}) {
    for (bool bf16_query : {false, true}) {
      s.bf16_query = bf16_query;
      for (int64_t n_ctx : {33, 700}) {
        const Cache c = MakeCache(s, DType::kBF16, n_ctx, seed++);
        const std::vector<float> q = RandomFloats(s.n_q * s.head_dim, seed++, -2.0f, 2.0f);
        ExpectNear(Decode(s, q, c, n_ctx, 0, pool), Reference(s, q.data(), c, n_ctx, 0), 2e-5,
                   "bf16_query " + std::to_string(bf16_query) + " hd " +
                       std::to_string(s.head_dim) + " n_ctx " + std::to_string(n_ctx));
      }
    }
  }
}

TEST_P(DecodeTest, SelectiveMatchesDoubleReference) {
  ThreadPool pool(2);
  uint32_t seed = 200;
  for (const AttentionShape& s : {kShapes[0], kShapes[1], kShapes[3]}) {
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
      for (int64_t n_ctx : {7, 33, 1000}) {
        for (int top_k : {1, 5, static_cast<int>(n_ctx) - 1}) {
          const Cache c = MakeCache(s, dtype, n_ctx, seed++);
          const std::vector<float> q = RandomFloats(s.n_q * s.head_dim, seed++, -3.0f, 3.0f);
          ExpectNear(Decode(s, q, c, n_ctx, top_k, pool), Reference(s, q.data(), c, n_ctx, top_k),
                     2e-5, "top_k " + std::to_string(top_k) + " n_ctx " + std::to_string(n_ctx));
        }
      }
    }
  }
}

TEST_P(DecodeTest, TopKAtLeastWindowIsDenseBitForBit) {
  ThreadPool pool(2);
  const AttentionShape s = kShapes[0];
  for (int64_t n_ctx : {1, 100, 1030}) {
    const Cache c = MakeCache(s, DType::kBF16, n_ctx, 7);
    const std::vector<float> q = RandomFloats(s.n_q * s.head_dim, 8);
    const std::vector<float> dense = Decode(s, q, c, n_ctx, 0, pool);
    EXPECT_TRUE(BitEqual(dense, Decode(s, q, c, n_ctx, static_cast<int>(n_ctx), pool)));
    EXPECT_TRUE(BitEqual(dense, Decode(s, q, c, n_ctx, static_cast<int>(n_ctx) + 5, pool)));
    EXPECT_TRUE(BitEqual(dense, Decode(s, q, c, n_ctx, -1, pool)));
  }
}

TEST_P(DecodeTest, TiesKeepTheLatestPositions) {
  ThreadPool pool(1);
  const AttentionShape s = Shape(2, 1, 1, 32);
  const int64_t n_ctx = 40;
  Cache c = MakeCache(s, DType::kF32, n_ctx, 9);
  // Every K row identical: all scores tie exactly.
  for (int64_t j = 1; j < n_ctx; ++j) {
    std::copy_n(c.k.values.begin(), 32, c.k.values.begin() + j * 32);
  }
  c.Tile(s.n_k, s.head_dim);
  const std::vector<float> q = RandomFloats(2 * 32, 10);
  const std::vector<float> out = Decode(s, q, c, n_ctx, 3, pool);
  for (int h = 0; h < 2; ++h) {
    for (int d = 0; d < 32; ++d) {
      const double mean =
          (c.v.values[37 * 32 + d] + c.v.values[38 * 32 + d] + c.v.values[39 * 32 + d]) / 3.0;
      ASSERT_NEAR(out[h * 32 + d], mean, 1e-6);
    }
  }
}

TEST_P(DecodeTest, BatchEqualsOneSequenceAtATime) {
  ThreadPool pool(2);
  const AttentionShape s = kShapes[0];
  const std::vector<int64_t> lengths = {1, 700, 33, 1030, 512};
  for (int top_k : {0, 10}) {
    std::vector<Cache> caches;
    std::vector<std::vector<float>> qs, outs;
    for (size_t i = 0; i < lengths.size(); ++i) {
      caches.push_back(MakeCache(s, DType::kBF16, lengths[i] + 10, 30 + i));
      qs.push_back(RandomFloats(s.n_q * s.head_dim, 40 + i));
      outs.emplace_back(s.n_q * s.head_dim, NAN);
    }
    std::vector<DecodeItem> items;
    for (size_t i = 0; i < lengths.size(); ++i) {
      items.push_back({qs[i].data(), caches[i].View(), lengths[i], outs[i].data()});
    }
    DecodeAttention(s, items, top_k, pool);
    ThreadPool single(1);
    for (size_t i = 0; i < lengths.size(); ++i) {
      EXPECT_TRUE(BitEqual(outs[i], Decode(s, qs[i], caches[i], lengths[i], top_k, single)))
          << "sequence " << i << " top_k " << top_k;
    }
  }
}

// A decode team's members may run in any order or at once: here one after another, on this thread.
// The one-pass chunk kernel (ChunkPartial's path for 3-4 query heads sharing a V head) exists in
// the AVX-512 family at head_dim 64 only, so the reference tests above run it there (SmolLM2's
// 9/3/3 and the 16/4/4 shape) and the two-pass kernels on the other paths and shapes.
TEST(AttentionKernelsTest, OnePassKernelOnlyInTheAvx512FamilyAtHeadDim64) {
  for (int hd : {32, 64, 128, 256}) {
    const internal::AttentionKernels* avx512 = internal::Avx512AttentionKernels(hd);
    ASSERT_NE(avx512, nullptr);
    EXPECT_EQ(avx512->one_pass_partial != nullptr, hd == 64) << "hd " << hd;
    const internal::AttentionKernels* avx2 = internal::Avx2AttentionKernels(hd);
    ASSERT_NE(avx2, nullptr);
    EXPECT_EQ(avx2->one_pass_partial, nullptr) << "hd " << hd;
  }
  EXPECT_EQ(internal::GenericAttentionKernels().one_pass_partial, nullptr);
}

// The AMX family is the AVX-512 one with its own bf16 score pass at head_dim 64 (which the
// reference tests above run on the Avx512Amx path where the CPU has AMX), and the same kernels at
// the other head dims.
TEST(AttentionKernelsTest, AmxFamilyDiffersFromAvx512OnlyInTheBf16ScorePassAtHeadDim64) {
  for (int hd : {32, 64, 128, 256}) {
    const internal::AttentionKernels* avx512 = internal::Avx512AttentionKernels(hd);
    const internal::AttentionKernels* amx = internal::AmxAttentionKernels(hd);
    ASSERT_NE(amx, nullptr);
    EXPECT_EQ(amx->scores_bf16_query != avx512->scores_bf16_query, hd == 64) << "hd " << hd;
    EXPECT_EQ(amx->scores, avx512->scores);
    EXPECT_EQ(amx->one_pass_partial, avx512->one_pass_partial);
    EXPECT_EQ(amx->accumulate_v, avx512->accumulate_v);
    EXPECT_EQ(amx->bf16_query_dot, avx512->bf16_query_dot);
  }
}

TEST_P(DecodeTest, TeamEqualsDecodeAttentionBitForBit) {
  ThreadPool pool(2);
  uint32_t seed = 500;
  for (const AttentionShape& s : kShapes) {
    const std::vector<int64_t> lengths = {1, 700, 33, 4100, 512};
    std::vector<Cache> caches;
    std::vector<std::vector<float>> qs, want, got;
    std::vector<DecodeItem> want_items, got_items;
    for (size_t i = 0; i < lengths.size(); ++i) {
      caches.push_back(MakeCache(s, DType::kBF16, lengths[i] + 3, ++seed));
      qs.push_back(RandomFloats(s.n_q * s.head_dim, ++seed));
      want.emplace_back(s.n_q * s.head_dim, NAN);
      got.emplace_back(s.n_q * s.head_dim, NAN);
    }
    for (size_t i = 0; i < lengths.size(); ++i) {
      want_items.push_back({qs[i].data(), caches[i].View(), lengths[i], want[i].data()});
      got_items.push_back({qs[i].data(), caches[i].View(), lengths[i], got[i].data()});
    }
    DecodeAttention(s, want_items, 0, pool);
    DecodeAttentionTeam team;
    for (int members : {1, 2, 3}) {
      for (auto& g : got) std::fill(g.begin(), g.end(), NAN);
      team.Plan(s, got_items, members);
      for (int m = members - 1; m >= 0; --m) team.Run(m, got_items);
      for (size_t i = 0; i < lengths.size(); ++i) {
        EXPECT_TRUE(BitEqual(got[i], want[i])) << "n_q " << s.n_q << " n_k " << s.n_k << " n_v "
                                               << s.n_v << " members " << members << " item " << i;
      }
    }
  }
}

// Sliding windows that start on a K tile and inside one, shorter and longer than a chunk, over
// contexts shorter and longer than the window; dense and selective.
TEST_P(DecodeTest, SlidingWindowMatchesDoubleReference) {
  ThreadPool pool(2);
  uint32_t seed = 600;
  for (AttentionShape s : {kShapes[0], kShapes[2], kShapes[4], kShapes[7], kShapes[9]}) {
    for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
      for (int64_t window : {1, 5, 16, 37, 300, 4100}) {
        s.window = window;
        for (int64_t n_ctx : {1, 16, 17, 50, 333, 4500}) {
          if (n_ctx > 1000 && dtype != DType::kBF16) continue;  // keep the suite fast
          const Cache c = MakeCache(s, dtype, n_ctx + 3, seed++);
          const std::vector<float> q = RandomFloats(s.n_q * s.head_dim, seed++, -2.0f, 2.0f);
          const std::string what = std::string(DTypeName(dtype)) + " n_q " + std::to_string(s.n_q) +
                                   " window " + std::to_string(window) + " n_ctx " +
                                   std::to_string(n_ctx);
          ExpectNear(Decode(s, q, c, n_ctx, 0, pool), Reference(s, q.data(), c, n_ctx, 0), 2e-5,
                     what);
          if (s.n_q != 32 || n_ctx > 1000) continue;
          for (int top_k : {1, 4}) {
            ExpectNear(Decode(s, q, c, n_ctx, top_k, pool), Reference(s, q.data(), c, n_ctx, top_k),
                       2e-5, what + " top_k " + std::to_string(top_k));
          }
        }
      }
    }
  }
}

// Gemma 2's soft-capped scores, on every path: the one-pass kernels (3-4 query heads a K head,
// bf16) give way to the passes, whose scores are capped before the softmax; dense, selective and
// within a window. A cap well inside the scores' range (|s| up to ~10 here), so that it matters.
TEST_P(DecodeTest, SoftCappedScoresMatchDoubleReference) {
  ThreadPool pool(2);
  uint32_t seed = 650;
  for (AttentionShape s : {kShapes[0], kShapes[2], kShapes[7], kShapes[9]}) {
    s.softcap = 1.5f;
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      for (int64_t window : {0, 37}) {
        s.window = window;
        for (int64_t n_ctx : {1, 50, 333, 4500}) {
          const Cache c = MakeCache(s, dtype, n_ctx, seed++);
          const std::vector<float> q = RandomFloats(s.n_q * s.head_dim, seed++, -2.0f, 2.0f);
          const std::string what = std::string(DTypeName(dtype)) + " n_q " + std::to_string(s.n_q) +
                                   " window " + std::to_string(window) + " n_ctx " +
                                   std::to_string(n_ctx);
          const std::vector<float> capped = Decode(s, q, c, n_ctx, 0, pool);
          ExpectNear(capped, Reference(s, q.data(), c, n_ctx, 0), 2e-5, what);
          for (int top_k : {1, 4}) {
            ExpectNear(Decode(s, q, c, n_ctx, top_k, pool), Reference(s, q.data(), c, n_ctx, top_k),
                       2e-5, what + " top_k " + std::to_string(top_k));
          }
          if (n_ctx - (window > 0 ? std::max<int64_t>(0, n_ctx - window) : 0) < 2) continue;
          AttentionShape uncapped = s;
          uncapped.softcap = 0;
          EXPECT_FALSE(BitEqual(capped, Decode(uncapped, q, c, n_ctx, 0, pool))) << what;
        }
      }
    }
  }
}

// gpt-oss's attention sinks: one more softmax column a head, on every path (the one-pass kernels'
// partials and the passes' merge alike), dense, within a window and in a team; sinks about as
// large as the scores (|s| up to ~10 here), so that they take a share that matters.
TEST_P(DecodeTest, SinksMatchDoubleReference) {
  ThreadPool pool(2);
  uint32_t seed = 680;
  for (AttentionShape s : {kShapes[0], kShapes[2], kShapes[7], kShapes[9], kShapes[4]}) {
    const std::vector<float> sinks = RandomFloats(s.n_q, seed++, -4.0f, 4.0f);
    s.sinks = sinks.data();
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      for (int64_t window : {0, 37}) {
        s.window = window;
        for (int64_t n_ctx : {1, 50, 333, 4500}) {
          const Cache c = MakeCache(s, dtype, n_ctx, seed++);
          const std::vector<float> q = RandomFloats(s.n_q * s.head_dim, seed++, -2.0f, 2.0f);
          const std::string what = std::string(DTypeName(dtype)) + " n_q " + std::to_string(s.n_q) +
                                   " window " + std::to_string(window) + " n_ctx " +
                                   std::to_string(n_ctx);
          const std::vector<float> with = Decode(s, q, c, n_ctx, 0, pool);
          ExpectNear(with, Reference(s, q.data(), c, n_ctx, 0), 2e-5, what);
          AttentionShape without = s;
          without.sinks = nullptr;
          EXPECT_FALSE(BitEqual(with, Decode(without, q, c, n_ctx, 0, pool))) << what;
          std::vector<float> team_out(with.size(), NAN);
          const DecodeItem item{q.data(), c.View(), n_ctx, team_out.data()};
          DecodeAttentionTeam team;
          team.Plan(without, std::span<const DecodeItem>(&item, 1), 2);
          for (int m = 1; m >= 0; --m) team.Run(m, std::span<const DecodeItem>(&item, 1), s.sinks);
          EXPECT_TRUE(BitEqual(team_out, with)) << what;
        }
      }
    }
  }
}

// Positions before the window count for nothing: poisoned with NaN, they change no bit (the K
// tile a window starts inside is read whole, its earlier positions' scores skipped).
TEST_P(DecodeTest, PositionsBeforeTheWindowChangeNothing) {
  ThreadPool pool(2);
  for (int64_t window : {16, 37}) {
    AttentionShape s = kShapes[0];
    s.window = window;
    const int64_t n_ctx = 200, first = n_ctx - window;
    Cache c = MakeCache(s, DType::kBF16, n_ctx, 13);
    const std::vector<float> q = RandomFloats(s.n_q * s.head_dim, 14);
    const std::vector<float> clean = Decode(s, q, c, n_ctx, 0, pool);
    const std::vector<float> clean_top = Decode(s, q, c, n_ctx, 3, pool);
    for (auto* values : {&c.k.values, &c.v.values}) {
      const int heads = values == &c.k.values ? s.n_k : s.n_v;
      for (int h = 0; h < heads; ++h) {
        std::fill_n(values->begin() + h * n_ctx * s.head_dim, first * s.head_dim, NAN);
      }
    }
    c.v = Encode(c.v.values, DType::kBF16);
    c.k = Encode(c.k.values, DType::kBF16);
    c.Tile(s.n_k, s.head_dim);
    EXPECT_TRUE(BitEqual(clean, Decode(s, q, c, n_ctx, 0, pool))) << "window " << window;
    EXPECT_TRUE(BitEqual(clean_top, Decode(s, q, c, n_ctx, 3, pool))) << "window " << window;
  }
}

// A window at least the context is no window, bit for bit.
TEST_P(DecodeTest, WindowCoveringTheContextIsFullAttention) {
  ThreadPool pool(2);
  for (const AttentionShape& base : {kShapes[0], kShapes[2]}) {
    for (int64_t n_ctx : {1, 100, 4200}) {
      const Cache c = MakeCache(base, DType::kBF16, n_ctx, 15);
      const std::vector<float> q = RandomFloats(base.n_q * base.head_dim, 16);
      AttentionShape s = base;
      s.window = n_ctx;
      EXPECT_TRUE(BitEqual(Decode(base, q, c, n_ctx, 0, pool), Decode(s, q, c, n_ctx, 0, pool)));
      s.window = n_ctx + 100;
      EXPECT_TRUE(BitEqual(Decode(base, q, c, n_ctx, 0, pool), Decode(s, q, c, n_ctx, 0, pool)));
    }
  }
}

TEST_P(DecodeTest, SlidingWindowTeamAndBatchEqualOneSequenceAtATime) {
  ThreadPool pool(2);
  ThreadPool single(1);
  for (AttentionShape s : {kShapes[0], kShapes[2]}) {
    s.window = 300;
    const std::vector<int64_t> lengths = {1, 700, 33, 4100, 305};
    std::vector<Cache> caches;
    std::vector<std::vector<float>> qs, batch, team_out;
    std::vector<DecodeItem> batch_items, team_items;
    for (size_t i = 0; i < lengths.size(); ++i) {
      caches.push_back(MakeCache(s, DType::kBF16, lengths[i], 70 + i));
      qs.push_back(RandomFloats(s.n_q * s.head_dim, 80 + i));
      batch.emplace_back(s.n_q * s.head_dim, NAN);
      team_out.emplace_back(s.n_q * s.head_dim, NAN);
    }
    for (size_t i = 0; i < lengths.size(); ++i) {
      batch_items.push_back({qs[i].data(), caches[i].View(), lengths[i], batch[i].data()});
      team_items.push_back({qs[i].data(), caches[i].View(), lengths[i], team_out[i].data()});
    }
    DecodeAttention(s, batch_items, 0, pool);
    DecodeAttentionTeam team;
    team.Plan(s, team_items, 2);
    team.Run(1, team_items);
    team.Run(0, team_items);
    for (size_t i = 0; i < lengths.size(); ++i) {
      const std::vector<float> alone = Decode(s, qs[i], caches[i], lengths[i], 0, single);
      EXPECT_TRUE(BitEqual(batch[i], alone)) << "batch, item " << i;
      EXPECT_TRUE(BitEqual(team_out[i], alone)) << "team, item " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, DecodeTest, AllPaths(), PathName);

class PrefillTest : public KernelPathTest {};

TEST_P(PrefillTest, CausalMatchesReference) {
  ThreadPool pool(2);
  uint32_t seed = 300;
  for (const AttentionShape& s : {kShapes[0], kShapes[3]}) {
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      for (int64_t start : {0, 5, 600}) {
        for (int64_t n_new : {1, 9, 40}) {
          for (int top_k : {0, 3}) {
            const Cache c = MakeCache(s, dtype, start + n_new + 2, seed++);
            const int64_t row = s.n_q * s.head_dim;
            const std::vector<float> q = RandomFloats(n_new * row, seed++, -2.0f, 2.0f);
            std::vector<float> out(n_new * row, NAN);
            PrefillAttention(s, q.data(), c.View(), start, n_new, top_k, out.data(), pool);
            for (int64_t t = 0; t < n_new; ++t) {
              const std::vector<float> got(out.begin() + t * row, out.begin() + (t + 1) * row);
              ExpectNear(got, Reference(s, q.data() + t * row, c, start + t + 1, top_k), 2e-5,
                         "t " + std::to_string(t) + " start " + std::to_string(start));
            }
          }
        }
      }
    }
  }
}

TEST_P(PrefillTest, EachRowEqualsDecodeBitForBit) {
  ThreadPool pool(2);
  const AttentionShape s = kShapes[0];
  const int64_t start = 500, n_new = 30, row = s.n_q * s.head_dim;
  const Cache c = MakeCache(s, DType::kBF16, start + n_new, 50);
  const std::vector<float> q = RandomFloats(n_new * row, 51);
  for (int top_k : {0, 20}) {
    std::vector<float> out(n_new * row);
    PrefillAttention(s, q.data(), c.View(), start, n_new, top_k, out.data(), pool);
    for (int64_t t = 0; t < n_new; t += 7) {
      const std::vector<float> qt(q.begin() + t * row, q.begin() + (t + 1) * row);
      const std::vector<float> got(out.begin() + t * row, out.begin() + (t + 1) * row);
      EXPECT_TRUE(BitEqual(got, Decode(s, qt, c, start + t + 1, top_k, pool))) << "t " << t;
    }
  }
}

TEST_P(PrefillTest, SlidingWindowMatchesReferenceAndDecode) {
  ThreadPool pool(2);
  uint32_t seed = 700;
  const std::vector<float> sinks = RandomFloats(32, 699, -4.0f, 4.0f);
  for (AttentionShape s : {kShapes[0], kShapes[2], kShapes[3]}) {
    for (int64_t window : {1, 7, 16, 45}) {
      s.window = window;
      s.softcap = window == 16 ? 1.5f : 0.0f;  // and Gemma 2's soft-capping with one of them
      for (int64_t start : {0, 5, 600}) {
        for (int top_k : {0, 3}) {
          s.sinks = window == 7 && top_k == 0 ? sinks.data() : nullptr;  // and gpt-oss's sinks
          const int64_t n_new = 40, row = s.n_q * s.head_dim;
          const Cache c = MakeCache(s, DType::kBF16, start + n_new, seed++);
          const std::vector<float> q = RandomFloats(n_new * row, seed++, -2.0f, 2.0f);
          std::vector<float> out(n_new * row, NAN);
          PrefillAttention(s, q.data(), c.View(), start, n_new, top_k, out.data(), pool);
          for (int64_t t = 0; t < n_new; ++t) {
            const std::string what = "window " + std::to_string(window) + " start " +
                                     std::to_string(start) + " t " + std::to_string(t) + " top_k " +
                                     std::to_string(top_k);
            const std::vector<float> qt(q.begin() + t * row, q.begin() + (t + 1) * row);
            const std::vector<float> got(out.begin() + t * row, out.begin() + (t + 1) * row);
            ExpectNear(got, Reference(s, qt.data(), c, start + t + 1, top_k), 2e-5, what);
            EXPECT_TRUE(BitEqual(got, Decode(s, qt, c, start + t + 1, top_k, pool))) << what;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, PrefillTest, AllPaths(), PathName);

}  // namespace
}  // namespace sigma
