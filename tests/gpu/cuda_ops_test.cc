// Parity of every CUDA op with the CPU reference (engine/cpu), by NMSE per dtype. Inputs are
// random and outputs are poisoned (NaN) before each run, so an unwritten element fails.
// Skips without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "engine/cpu/attention.h"
#include "engine/cpu/matmul.h"
#include "engine/cpu/ops.h"
#include "engine/cpu/thread_pool.h"
#include "engine/cuda/cuda_ops.h"
#include "engine/dtype.h"
#include "tests/gpu/gpu_test_util.h"

namespace sigma {
namespace {

using gpu_test::Nmse;
using gpu_test::RandomVector;

constexpr double kF32Nmse = 1e-10;
constexpr double kBf16Nmse = 1e-4;

std::vector<float> RoundBf16(std::vector<float> x) {
  for (float& v : x) v = Bf16ToF32(F32ToBf16(v));
  return x;
}

TensorView F32View(const std::vector<float>& data, std::vector<int64_t> shape) {
  TensorView t;
  t.name = "test";
  t.dtype = DType::kF32;
  t.shape = std::move(shape);
  t.data = data.data();
  t.nbytes = data.size() * sizeof(float);
  return t;
}

TEST(CudaOpsTest, RmsNormMatchesCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  const int rows = 5, n = 2048;
  const auto x = RandomVector(size_t(rows) * n, 1, 3.0f);
  const auto w = RandomVector(n, 2);
  std::vector<float> ref(x.size());
  RmsNorm(x.data(), F32View(w, {n}), 1e-6f, rows, n, ref.data());
  for (bool bf16 : {false, true}) {
    auto got = cuda::RmsNormOnDevice(x, w, 1e-6f, rows, n, bf16);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_LT(Nmse(*got, ref), bf16 ? kBf16Nmse : kF32Nmse) << "bf16=" << bf16;
  }
}

TEST(CudaOpsTest, SiluMulMatchesCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  const int rows = 3, n = 3072;
  const auto gate = RandomVector(size_t(rows) * n, 3, 4.0f);
  const auto up = RandomVector(size_t(rows) * n, 4);
  std::vector<float> ref = gate;
  SiluMul(ref.data(), up.data(), int64_t(rows) * n);
  for (bool bf16 : {false, true}) {
    auto got = cuda::SiluMulOnDevice(gate, up, rows, n, bf16);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_LT(Nmse(*got, ref), bf16 ? kBf16Nmse : kF32Nmse) << "bf16=" << bf16;
  }
}

TEST(CudaOpsTest, MatMulMatchesCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  ThreadPool pool(2);
  // Batches up to 4 of bf16 run on the GEMV kernel (its unrolled loop, its tail: in = 1096 is
  // one unrolled step and 3 single ones per lane; in = 20 is not whole 16-byte pieces, cuBLAS).
  struct Shape {
    int64_t out, in;
  };
  for (const Shape& shape : {Shape{384, 256}, Shape{131, 1096}, Shape{50, 20}}) {
    for (int batch : {1, 2, 3, 4, 7, 16}) {
      for (bool bf16 : {false, true}) {
        const int64_t out = shape.out, in = shape.in;
        // bf16: the CPU reference sees the same bf16-rounded operands; only accumulation differs.
        auto w = RandomVector(size_t(out * in), 5 + batch, 0.1f);
        auto x = RandomVector(size_t(batch * in), 6 + batch);
        if (bf16) {
          w = RoundBf16(w);
          x = RoundBf16(x);
        }
        std::vector<float> ref(size_t(batch * out));
        MatMul(F32View(w, {out, in}), x.data(), batch, nullptr, ref.data(), pool);
        auto got = cuda::MatMulOnDevice(w, out, in, x, batch, bf16);
        ASSERT_TRUE(got.ok()) << got.status().ToString();
        EXPECT_LT(Nmse(*got, ref), 1e-9) << out << "x" << in << " batch=" << batch << " bf16=" << bf16;
      }
    }
  }
}

TEST(CudaOpsTest, EmbeddingMatchesCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  const int64_t vocab = 300, hidden = 96;
  const auto table = RandomVector(size_t(vocab * hidden), 7);
  const std::vector<int32_t> tokens = {0, 299, 17, 17, 150};
  for (bool bf16 : {false, true}) {
    const auto src = bf16 ? RoundBf16(table) : table;
    std::vector<float> ref(tokens.size() * hidden);
    for (size_t i = 0; i < tokens.size(); ++i) {
      EmbeddingRow(F32View(src, {vocab, hidden}), tokens[i], &ref[i * hidden]);
    }
    auto got = cuda::EmbeddingOnDevice(table, vocab, hidden, tokens, bf16);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, ref) << "bf16=" << bf16;
  }
}

TEST(CudaOpsTest, ArgMaxTakesLowestIndexOnTies) {
  SIGMA_SKIP_WITHOUT_GPU();
  const int rows = 3, vocab = 128256;
  auto logits = RandomVector(size_t(rows) * vocab, 8);
  logits[10] = logits[vocab - 1] = 5.0f;                      // row 0: tie, lowest wins
  logits[vocab + 77777] = 9.0f;                               // row 1
  logits[2 * vocab + 3] = NAN;                                // row 2: NaN never wins
  logits[2 * vocab + 4] = 7.0f;
  auto got = cuda::ArgMaxOnDevice(logits, rows, vocab);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, (std::vector<int32_t>{10, 77777, 4}));
}

TEST(CudaOpsTest, RopeAppendMatchesCpu) {
  SIGMA_SKIP_WITHOUT_GPU();
  const int n_q = 8, n_k = 2, n_v = 4, hd = 64;
  const int64_t capacity = 40000;
  const std::vector<int32_t> positions = {0, 1, 31, 32767, 39999};
  const int rows = static_cast<int>(positions.size());
  auto q = RandomVector(size_t(rows) * n_q * hd, 9);
  auto k = RandomVector(size_t(rows) * n_k * hd, 10);
  auto v = RandomVector(size_t(rows) * n_v * hd, 11);
  std::vector<float> inv_freq(hd / 2);
  for (int j = 0; j < hd / 2; ++j) inv_freq[j] = std::pow(50000.0f, -2.0f * j / hd);
  auto got = cuda::RopeAppendOnDevice(q, k, v, positions, inv_freq, n_q, n_k, n_v, hd, capacity);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::vector<float> k_ref, k_got, v_ref, v_got;
  for (int r = 0; r < rows; ++r) {
    ApplyRope(&q[size_t(r) * n_q * hd], n_q, hd, positions[r], inv_freq.data());
    ApplyRope(&k[size_t(r) * n_k * hd], n_k, hd, positions[r], inv_freq.data());
    for (int h = 0; h < n_k; ++h) {
      for (int d = 0; d < hd; ++d) {
        k_ref.push_back(Bf16ToF32(F32ToBf16(k[(size_t(r) * n_k + h) * hd + d])));
        k_got.push_back(Bf16ToF32(got->k[(size_t(h) * capacity + positions[r]) * hd + d]));
      }
    }
    for (int h = 0; h < n_v; ++h) {
      for (int d = 0; d < hd; ++d) {
        v_ref.push_back(Bf16ToF32(F32ToBf16(v[(size_t(r) * n_v + h) * hd + d])));
        v_got.push_back(Bf16ToF32(got->v[(size_t(h) * capacity + positions[r]) * hd + d]));
      }
    }
  }
  EXPECT_LT(Nmse(got->q, q), 1e-9);  // sincosf vs double cos/sin of the same f32 angle
  EXPECT_LT(Nmse(k_got, k_ref), 1e-5);
  EXPECT_EQ(v_got, v_ref);
  EXPECT_EQ(got->k[size_t(2) * hd], 0xffff) << "position 2 was never written";
}

}  // namespace
}  // namespace sigma
