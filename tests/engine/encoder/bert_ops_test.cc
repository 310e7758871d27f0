// bert::AttentionForward against a double-precision reference, and the same bits wherever its
// scratch lies: the score row a task uses is its worker's (scratch + width * tokens + worker *
// tokens), so a value that depended on that row's alignment would change with the thread that
// computed it. (It did: GCC contracted the auto-vectorised loops' 16-wide body and scalar tail
// into FMAs but not the 8-wide epilogue between them, so about one row in 120 of a 10-token
// sentence differed in its last bits between the two workers; CMDGen's cmd_score then differed
// between a run and its resume. The project now compiles with -ffp-contract=off: an FMA only
// where the code writes one.)
#include "engine/encoder/bert_ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/cpu/thread_pool.h"

namespace sigma::bert {
namespace {

struct Inputs {
  int64_t tokens;
  int heads;
  int head_dim;
  std::vector<float> q, k, v;
  int64_t width() const { return static_cast<int64_t>(heads) * head_dim; }
};

Inputs RandomInputs(int64_t tokens, int heads, int head_dim, uint32_t seed) {
  Inputs in{tokens, heads, head_dim, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (auto* x : {&in.q, &in.k, &in.v}) {
    x->resize(static_cast<size_t>(tokens * in.width()));
    for (float& f : *x) f = normal(rng);
  }
  return in;
}

std::vector<float> Attend(const Inputs& in, ThreadPool& pool, int64_t scratch_offset) {
  std::vector<float> scratch(static_cast<size_t>(
      AttentionScratchFloats(in.tokens, in.width(), pool.size()) + scratch_offset));
  std::vector<float> out(static_cast<size_t>(in.tokens * in.width()));
  AttentionForward(in.q.data(), in.k.data(), in.v.data(), in.tokens, in.heads, in.head_dim,
                   out.data(), scratch.data() + scratch_offset, pool);
  return out;
}

TEST(BertAttentionTest, MatchesDoubleReference) {
  ThreadPool pool(2);
  for (int64_t tokens : {1, 3, 10, 17, 40}) {
    const Inputs in = RandomInputs(tokens, 4, 32, static_cast<uint32_t>(tokens));
    const std::vector<float> out = Attend(in, pool, 0);
    const int64_t width = in.width();
    const double scale = 1.0 / std::sqrt(static_cast<double>(in.head_dim));
    for (int h = 0; h < in.heads; ++h) {
      for (int64_t i = 0; i < tokens; ++i) {
        std::vector<double> p(static_cast<size_t>(tokens));
        double max = -INFINITY, sum = 0.0;
        for (int64_t j = 0; j < tokens; ++j) {
          double dot = 0.0;
          for (int d = 0; d < in.head_dim; ++d) {
            dot += static_cast<double>(in.q[i * width + h * in.head_dim + d]) *
                   in.k[j * width + h * in.head_dim + d];
          }
          p[j] = dot * scale;
          max = std::max(max, p[j]);
        }
        for (double& x : p) sum += (x = std::exp(x - max));
        for (int d = 0; d < in.head_dim; ++d) {
          double want = 0.0;
          for (int64_t j = 0; j < tokens; ++j) {
            want += p[j] / sum * in.v[j * width + h * in.head_dim + d];
          }
          EXPECT_NEAR(out[i * width + h * in.head_dim + d], want, 2e-5)
              << "tokens " << tokens << " head " << h << " row " << i << " dim " << d;
        }
      }
    }
  }
}

// The bits of every output, with one thread, are those of the scratch at any of 16 float offsets
// (every alignment of a 64-byte line) and those of two threads, whichever worker took a task.
TEST(BertAttentionTest, SameBitsWhereverTheScratchLies) {
  ThreadPool one(1);
  ThreadPool two(2);
  for (int64_t tokens : {5, 9, 10, 11, 23, 31}) {
    const Inputs in = RandomInputs(tokens, 12, 32, static_cast<uint32_t>(100 + tokens));
    const std::vector<float> want = Attend(in, one, 0);
    for (int64_t offset = 1; offset < 16; ++offset) {
      const std::vector<float> got = Attend(in, one, offset);
      ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0)
          << tokens << " tokens, scratch offset " << offset;
    }
    for (int rep = 0; rep < 40; ++rep) {
      const std::vector<float> got = Attend(in, two, rep % 16);
      ASSERT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0)
          << tokens << " tokens, two threads, repetition " << rep;
    }
  }
}

}  // namespace
}  // namespace sigma::bert
