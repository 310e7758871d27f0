#include "engine/cpu/matmul.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/cpu/cpu_features.h"
#include "engine/cpu/matmul_tiles.h"
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

TensorView MakeView(DType dtype, int64_t out, int64_t in, const std::vector<uint8_t>& bytes) {
  TensorView w;
  w.name = "w";
  w.dtype = dtype;
  w.shape = {out, in};
  w.data = bytes.data();
  w.nbytes = bytes.size();
  return w;
}

// y = x W^T + b in double from the exact weight values; also the magnitude sum(|x||w|) per output
// for the tolerance.
void Reference(const std::vector<float>& w, const std::vector<float>& x, const float* bias,
               int64_t out, int64_t in, int64_t batch, std::vector<double>* y,
               std::vector<double>* magnitude) {
  y->assign(batch * out, 0.0);
  magnitude->assign(batch * out, 0.0);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t r = 0; r < out; ++r) {
      double sum = bias != nullptr ? bias[r] : 0.0;
      double mag = bias != nullptr ? std::fabs(bias[r]) : 0.0;
      for (int64_t i = 0; i < in; ++i) {
        sum += static_cast<double>(w[r * in + i]) * x[b * in + i];
        mag += std::fabs(static_cast<double>(w[r * in + i]) * x[b * in + i]);
      }
      (*y)[b * out + r] = sum;
      (*magnitude)[b * out + r] = mag;
    }
  }
}

void ExpectClose(const std::vector<float>& y, const std::vector<double>& ref,
                 const std::vector<double>& mag, const std::string& what) {
  ASSERT_EQ(y.size(), ref.size());
  for (size_t i = 0; i < y.size(); ++i) {
    // f32 accumulation: a few ulps of the magnitude of the summands.
    ASSERT_NEAR(y[i], ref[i], 2e-6 * mag[i] + 1e-30) << what << " at " << i;
  }
}

class MatMulPlainTest : public KernelPathTest {};

// Every (dtype, out, in, batch) of the lists against the double reference; a bias where out + in
// is even.
void CheckPlainShapes(std::initializer_list<int64_t> outs, std::initializer_list<int64_t> ins,
                      std::initializer_list<int64_t> batches, uint32_t seed) {
  ThreadPool pool(2);
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    for (int64_t out : outs) {
      for (int64_t in : ins) {
        for (int64_t batch : batches) {
          const Encoded w = Encode(RandomFloats(out * in, seed++), dtype);
          const std::vector<float> x = RandomFloats(batch * in, seed++);
          const std::vector<float> bias = RandomFloats(out, seed++);
          const float* b = (out + in) % 2 == 0 ? bias.data() : nullptr;
          std::vector<float> y(batch * out, NAN);
          MatMul(MakeView(dtype, out, in, w.bytes), x.data(), batch, b, y.data(), pool);
          std::vector<double> ref, mag;
          Reference(w.values, x, b, out, in, batch, &ref, &mag);
          ExpectClose(y, ref, mag,
                      std::string(DTypeName(dtype)) + " " + std::to_string(out) + "x" +
                          std::to_string(in) + " batch " + std::to_string(batch));
        }
      }
    }
  }
}

TEST_P(MatMulPlainTest, MatchesDoubleReference) {
  CheckPlainShapes({1, 7, 33, 67}, {5, 16, 31, 96, 250, 576}, {1, 2, 5, 9}, 1);
}

TEST_P(MatMulPlainTest, SameResultForAnyThreadCount) {
  const int64_t out = 301, in = 160;
  const Encoded w = Encode(RandomFloats(out * in, 5), DType::kBF16);
  const std::vector<float> x = RandomFloats(3 * in, 6);
  std::vector<float> y1(3 * out), y3(3 * out);
  ThreadPool one(1), three(3);
  MatMul(MakeView(DType::kBF16, out, in, w.bytes), x.data(), 3, nullptr, y1.data(), one);
  MatMul(MakeView(DType::kBF16, out, in, w.bytes), x.data(), 3, nullptr, y3.data(), three);
  EXPECT_EQ(0, std::memcmp(y1.data(), y3.data(), y1.size() * sizeof(float)));
}

TEST_P(MatMulPlainTest, BatchRowsEqualSingleRows) {
  ThreadPool pool(2);
  const int64_t out = 45, in = 288;
  const Encoded w = Encode(RandomFloats(out * in, 8), DType::kF16);
  const std::vector<float> x = RandomFloats(6 * in, 9);
  std::vector<float> batched(6 * out);
  MatMul(MakeView(DType::kF16, out, in, w.bytes), x.data(), 6, nullptr, batched.data(), pool);
  for (int64_t b = 0; b < 6; ++b) {
    std::vector<float> single(out);
    MatMul(MakeView(DType::kF16, out, in, w.bytes), x.data() + b * in, 1, nullptr, single.data(),
           pool);
    for (int64_t r = 0; r < out; ++r) {
      EXPECT_NEAR(single[r], batched[b * out + r], 1e-5f * (1.0f + std::fabs(single[r])));
    }
  }
}

// Prefill-sized batches (the AVX2 GEMM from 8 rows: 16-row panels, 6 batch rows per block, k in
// blocks of 64): whole and partial panels, batch remainders, widths with a 16-element tail and
// several k blocks, with and without bias.
TEST_P(MatMulPlainTest, PrefillBatchesMatchDoubleReference) {
  CheckPlainShapes({16, 37, 64}, {40, 200, 576}, {8, 13, 20}, 500);
}

// Within the prefill path a row's result does not depend on the batch it came in or the threads.
TEST_P(MatMulPlainTest, PrefillRowsAreTheSameBitsInAnyBatchAndThreadCount) {
  const int64_t out = 70, in = 300, batch = 23;
  const Encoded w = Encode(RandomFloats(out * in, 31), DType::kBF16);
  const std::vector<float> x = RandomFloats(batch * in, 32);
  const TensorView view = MakeView(DType::kBF16, out, in, w.bytes);
  ThreadPool one(1), three(3);
  std::vector<float> all(batch * out), all3(batch * out), first9(9 * out), last14(14 * out);
  MatMul(view, x.data(), batch, nullptr, all.data(), one);
  MatMul(view, x.data(), batch, nullptr, all3.data(), three);
  MatMul(view, x.data(), 9, nullptr, first9.data(), three);
  MatMul(view, x.data() + 9 * in, 14, nullptr, last14.data(), one);
  EXPECT_EQ(0, std::memcmp(all.data(), all3.data(), all.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(all.data(), first9.data(), first9.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(all.data() + 9 * out, last14.data(), last14.size() * sizeof(float)));
}

INSTANTIATE_TEST_SUITE_P(Paths, MatMulPlainTest, AllPaths(), PathName);

// ---- GGUF block types: a decoder written per element from the format description. ----

double Half(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return F16ToF32(h);
}

void KScaleMin(const uint8_t* s, int j, int* sc, int* m) {
  if (j < 4) {
    *sc = s[j] & 63;
    *m = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// Element i of one block.
double RefElement(DType t, const uint8_t* b, int i) {
  const int nib16 = i < 16 ? 0 : 4;
  switch (t) {
    case DType::kQ8_0: return Half(b) * static_cast<int8_t>(b[2 + i]);
    case DType::kQ4_0: return Half(b) * (((b[2 + i % 16] >> nib16) & 15) - 8);
    case DType::kQ4_1: return Half(b) * ((b[4 + i % 16] >> nib16) & 15) + Half(b + 2);
    case DType::kQ5_0: {
      const int q = ((b[6 + i % 16] >> nib16) & 15) | (((b[2 + i / 8] >> (i % 8)) & 1) << 4);
      return Half(b) * (q - 16);
    }
    case DType::kQ5_1: {
      const int q = ((b[8 + i % 16] >> nib16) & 15) | (((b[4 + i / 8] >> (i % 8)) & 1) << 4);
      return Half(b) * q + Half(b + 2);
    }
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const bool five = t == DType::kQ5_K;
      const int j = i / 32, l = i % 32;
      int sc, m;
      KScaleMin(b + 4, j, &sc, &m);
      const uint8_t byte = b[(five ? 48 : 16) + 32 * (j / 2) + l];
      int q = (j % 2 == 0) ? (byte & 15) : (byte >> 4);
      if (five) q |= ((b[16 + l] >> j) & 1) << 4;
      return Half(b) * sc * q - Half(b + 2) * m;
    }
    case DType::kQ6_K: {
      const int h = i / 128, quarter = (i % 128) / 32, l = i % 32;
      const uint8_t low_byte = b[64 * h + l + 32 * (quarter % 2)];
      const int low = quarter < 2 ? (low_byte & 15) : (low_byte >> 4);
      const int high = (b[128 + 32 * h + l] >> (2 * quarter)) & 3;
      const int sc = static_cast<int8_t>(b[192 + 8 * h + 2 * quarter + l / 16]);
      return Half(b + 208) * sc * ((low | (high << 4)) - 32);
    }
    case DType::kQ2_K: {  // ggml's dequantize_row_q2_K, one element
      const int n = i / 128, shift = 2 * ((i % 128) / 32), l = i % 32;
      const uint8_t sc = b[8 * n + 2 * ((i % 128) / 32) + l / 16];
      const int q = (b[16 + 32 * n + l] >> shift) & 3;
      return Half(b + 80) * (sc & 15) * q - Half(b + 82) * (sc >> 4);
    }
    case DType::kQ3_K: {  // ggml's dequantize_row_q3_K: the 12 scale bytes as 4 words, re-packed
      uint32_t aux[4];
      std::memcpy(aux, b + 96, 12);
      const uint32_t tmp = aux[2], m2 = 0x0f0f0f0f, m1 = 0x03030303;
      aux[2] = ((aux[0] >> 4) & m2) | (((tmp >> 4) & m1) << 4);
      aux[3] = ((aux[1] >> 4) & m2) | (((tmp >> 6) & m1) << 4);
      aux[0] = (aux[0] & m2) | (((tmp >> 0) & m1) << 4);
      aux[1] = (aux[1] & m2) | (((tmp >> 2) & m1) << 4);
      int8_t scales[16];
      std::memcpy(scales, aux, 16);
      const int n = i / 128, j = (i % 128) / 32, l = i % 32;
      const int low = (b[32 + 32 * n + l] >> (2 * j)) & 3;
      const bool high = (b[l] >> (4 * n + j)) & 1;
      return Half(b + 108) * (scales[8 * n + 2 * j + l / 16] - 32) * (low - (high ? 0 : 4));
    }
    case DType::kMXFP4: {  // E2M1 from its bits (sign, 2-bit exponent, 1-bit mantissa) x 2^(e-127)
      const int q = (b[1 + i % 16] >> nib16) & 15;
      const int exp = (q >> 1) & 3, mant = q & 1;
      const double magnitude = exp == 0 ? 0.5 * mant : std::ldexp(1.0 + 0.5 * mant, exp - 1);
      return (q & 8 ? -magnitude : magnitude) * std::ldexp(1.0, b[0] - 127);
    }
    case DType::kIQ4_NL: {  // ggml's kvalues_iq4nl
      static constexpr int kValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                          1,    13,   25,  38,  53,  69,  89,  113};
      return Half(b) * kValues[(b[2 + i % 16] >> nib16) & 15];
    }
    case DType::kIQ4_XS: {  // 6-bit scale of block j: 4 bits from scales_l, 2 from scales_h
      const int j = i / 32;
      const uint16_t scales_h = static_cast<uint16_t>(b[2] | b[3] << 8);
      const int sc = (((b[4 + j / 2] >> (4 * (j % 2))) & 15) | ((scales_h >> (2 * j)) & 3) << 4);
      uint8_t nl[18];  // block j as an IQ4_NL block with scale 1
      const uint16_t one = F32ToF16(1.0f);
      std::memcpy(nl, &one, 2);
      std::memcpy(nl + 2, b + 8 + 16 * j, 16);
      return Half(b) * (sc - 32) * RefElement(DType::kIQ4_NL, nl, i % 32);
    }
    default: return NAN;
  }
}

// Random blocks with sane f16 scale fields (MXFP4: exponents 2^-15 .. 2^0).
std::vector<uint8_t> RandomBlocks(DType t, int64_t n_blocks, uint32_t seed) {
  const int64_t bytes = DTypeBlockBytes(t);
  std::mt19937 rng(seed);
  std::vector<uint8_t> data(n_blocks * bytes);
  for (uint8_t& x : data) x = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(0.001f, 0.05f);
  const auto put = [&](uint8_t* p, float v) {
    const uint16_t h = F32ToF16(v);
    std::memcpy(p, &h, 2);
  };
  for (int64_t k = 0; k < n_blocks; ++k) {
    uint8_t* b = data.data() + k * bytes;
    switch (t) {
      case DType::kQ4_1:
      case DType::kQ5_1:
      case DType::kQ4_K:
      case DType::kQ5_K:
        put(b, scale(rng));
        put(b + 2, (t == DType::kQ4_1 || t == DType::kQ5_1) ? -scale(rng) * 8 : scale(rng));
        break;
      case DType::kQ6_K: put(b + 208, scale(rng)); break;
      case DType::kQ2_K:
        put(b + 80, scale(rng));
        put(b + 82, scale(rng));
        break;
      case DType::kQ3_K: put(b + 108, scale(rng)); break;
      case DType::kMXFP4: b[0] = static_cast<uint8_t>(112 + rng() % 16); break;
      case DType::kIQ4_NL:
      case DType::kIQ4_XS: put(b, scale(rng) / 64); break;  // IQ4's values reach 127
      default: put(b, scale(rng)); break;
    }
  }
  return data;
}

constexpr DType kBlockTypes[] = {DType::kQ8_0,  DType::kQ4_0, DType::kQ4_1,  DType::kQ5_0,
                                 DType::kQ5_1,  DType::kQ4_K, DType::kQ5_K,  DType::kQ6_K,
                                 DType::kQ2_K,  DType::kQ3_K, DType::kMXFP4, DType::kIQ4_NL,
                                 DType::kIQ4_XS};

TEST(DequantizeRowTest, BlockTypesMatchFormatDescription) {
  for (DType t : kBlockTypes) {
    const int64_t block = DTypeBlockSize(t);
    const int64_t rows = 3, in = block * 3;
    const std::vector<uint8_t> data = RandomBlocks(t, rows * 3, 11);
    const TensorView w = MakeView(t, rows, in, data);
    std::vector<float> row(in);
    for (int64_t r = 0; r < rows; ++r) {
      DequantizeRow(w, r, row.data());
      for (int64_t i = 0; i < in; ++i) {
        const uint8_t* b = data.data() + (r * 3 + i / block) * DTypeBlockBytes(t);
        const double ref = RefElement(t, b, static_cast<int>(i % block));
        ASSERT_NEAR(row[i], ref, 1e-6 * (1.0 + std::fabs(ref))) << DTypeName(t) << " " << i;
      }
    }
  }
}

// Blocks decoded by the `gguf` Python package (testdata/make_gguf_blocks.py), MXFP4 included.
TEST(DequantizeRowTest, MatchesGgufPythonPackage) {
  std::ifstream in(SIGMA_SOURCE_DIR "/tests/engine/cpu/testdata/gguf_blocks.bin", std::ios::binary);
  ASSERT_TRUE(in.good());
  const std::vector<char> file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  int types = 0;
  while (pos + 12 <= file.size()) {
    uint32_t header[3];
    std::memcpy(header, file.data() + pos, 12);
    pos += 12;
    const DType t = static_cast<DType>(header[0]);
    const int64_t n_blocks = header[1], block_bytes = header[2];
    ASSERT_EQ(block_bytes, DTypeBlockBytes(t)) << DTypeName(t);
    const int64_t block = DTypeBlockSize(t);
    const std::vector<uint8_t> raw(file.begin() + pos, file.begin() + pos + n_blocks * block_bytes);
    pos += n_blocks * block_bytes;
    std::vector<float> expected(n_blocks * block);
    std::memcpy(expected.data(), file.data() + pos, expected.size() * sizeof(float));
    pos += expected.size() * sizeof(float);
    const TensorView w = MakeView(t, n_blocks, block, raw);
    std::vector<float> row(block);
    for (int64_t r = 0; r < n_blocks; ++r) {
      DequantizeRow(w, r, row.data());
      for (int64_t i = 0; i < block; ++i) {
        const float e = expected[r * block + i];
        ASSERT_NEAR(row[i], e, 1e-6f * (1.0f + std::fabs(e))) << DTypeName(t) << " block " << r
                                                                << " element " << i;
      }
    }
    ++types;
  }
  EXPECT_EQ(types, 13);  // every type in the file, MXFP4 and IQ4 included
}

class MatMulQuantTest : public KernelPathTest {};

// The AVX-512 and AVX2 paths run Q4_0 / Q4_1 / Q8_0 at batch <= 8 (and the tiled K-quants) on
// int16-quantized activations
// (blocks of 32, scale amax / 32767, round to nearest): besides f32 rounding, each product may be
// off by |w_i| * amax(block) / 65534. This is that bound summed over a row.
std::vector<double> Int16ActivationBound(DType t, const std::vector<float>& w,
                                         const std::vector<float>& x, int64_t out, int64_t in,
                                         int64_t batch, bool tiled = false) {
  std::vector<double> bound(batch * out, 0.0);
  const bool int16_path = ActiveCpuIsa() != CpuIsa::kGeneric &&
                          (batch <= 8 || (tiled && ActiveCpuIsa() >= CpuIsa::kAvx512Bf16)) &&
                          (t == DType::kQ8_0 || t == DType::kQ4_0 || t == DType::kQ4_1 ||
                           (MatMulTilesOnly(t) && tiled));
  if (!int16_path) return bound;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t k = 0; k < in; k += 32) {
      double amax = 0;
      for (int64_t i = k; i < k + 32; ++i) amax = std::max(amax, std::fabs(double{x[b * in + i]}));
      for (int64_t r = 0; r < out; ++r) {
        double wsum = 0;
        for (int64_t i = k; i < k + 32; ++i) wsum += std::fabs(double{w[r * in + i]});
        bound[b * out + r] += 1.01 * wsum * amax / (2.0 * 32639);  // kXqMax
      }
    }
  }
  return bound;
}

TEST_P(MatMulQuantTest, MatchesReferenceOnDequantizedWeights) {
  ThreadPool pool(2);
  uint32_t seed = 21;
  for (DType t : kBlockTypes) {
    const int64_t block = DTypeBlockSize(t);
    for (int64_t out : {1, 9, 40}) {
      for (int64_t blocks : {1, 3, 8, 18}) {
        for (int64_t batch : {1, 3, 9, 20}) {
          const int64_t in = block * blocks;
          const std::vector<uint8_t> data = RandomBlocks(t, out * blocks, seed++);
          const TensorView w = MakeView(t, out, in, data);
          std::vector<float> dense(out * in);
          for (int64_t r = 0; r < out; ++r) DequantizeRow(w, r, dense.data() + r * in);
          const std::vector<float> x = RandomFloats(batch * in, seed++);
          std::vector<float> y(batch * out);
          MatMul(w, x.data(), batch, nullptr, y.data(), pool);
          std::vector<double> ref, mag;
          Reference(dense, x, nullptr, out, in, batch, &ref, &mag);
          const std::vector<double> extra = Int16ActivationBound(t, dense, x, out, in, batch);
          for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_NEAR(y[i], ref[i], 2e-6 * mag[i] + extra[i] + 1e-30)
                << DTypeName(t) << " out " << out << " blocks " << blocks << " batch " << batch
                << " at " << i;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, MatMulQuantTest, AllPaths(), PathName);

class MatMulTilesTest : public KernelPathTest {};

// A matrix with a tile copy (matmul_tiles.h) matches the float64 reference on every kernel path
// (the integer kernels read the tiles, at any batch on AVX-512 and at batch <= 8 on AVX2; the
// others ignore them): rows that are and are
// not a multiple of 16, widths of 1 to 48 blocks, batches 1 to 9 and 37 (groups of 4 batch rows
// and each remainder). Where the kernels read the tiles, the rows the tiles cover are zeroed in
// the GGUF copy first, so a kernel that read them would fail.
TEST_P(MatMulTilesTest, TiledMatchesReference) {
  ThreadPool pool(2);
  uint32_t seed = 70;
  for (DType t :
       {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ4_K,
        DType::kQ5_K, DType::kQ6_K, DType::kMXFP4, DType::kIQ4_NL, DType::kIQ4_XS}) {
    for (int64_t out : {16, 17, 40, 67}) {
      for (int64_t blocks : {1, 3, 8, 9, 18, 48}) {
        const int64_t in = 32 * blocks;
        if (in % DTypeBlockSize(t) != 0) continue;  // K-quants: super-blocks of 256
        const std::vector<uint8_t> data = RandomBlocks(t, out * in / DTypeBlockSize(t), seed++);
        const TensorView plain = MakeView(t, out, in, data);
        std::vector<float> dense(out * in);
        for (int64_t r = 0; r < out; ++r) DequantizeRow(plain, r, dense.data() + r * in);
        ASSERT_TRUE(MatMulTilesSupported(plain));
        ASSERT_EQ(MatMulTilesBytes(plain), static_cast<size_t>(out / 16 * 16) * plain.row_bytes());
        std::vector<uint8_t> tiles(MatMulTilesBytes(plain));
        PackMatMulTiles(plain, tiles);
        std::vector<uint8_t> rest = data;  // the rows past the tiles only
        std::fill(rest.begin(), rest.begin() + static_cast<int64_t>(tiles.size()), 0);
        for (int64_t batch : {1, 2, 3, 8, 9, 37}) {
          TensorView tiled = plain;
          tiled.parts = {tiles.data()};
          tiled.parts_are_tiles = true;
          const bool reads_tiles =
              MatMulUsesTiles(tiled) && (batch <= 8 || ActiveCpuIsa() >= CpuIsa::kAvx512Bf16);
          if (reads_tiles) tiled.data = rest.data();
          const std::vector<float> x = RandomFloats(batch * in, seed++);
          const std::vector<float> bias = RandomFloats(out, seed++);
          std::vector<float> got(batch * out, NAN);
          MatMul(tiled, x.data(), batch, bias.data(), got.data(), pool);
          std::vector<double> ref, mag;
          Reference(dense, x, bias.data(), out, in, batch, &ref, &mag);
          const std::vector<double> extra =
              Int16ActivationBound(t, dense, x, out, in, batch, reads_tiles);
          for (size_t i = 0; i < got.size(); ++i) {
            ASSERT_NEAR(got[i], ref[i], 2e-6 * mag[i] + extra[i] + 1e-30)
                << DTypeName(t) << " " << out << "x" << in << " batch " << batch << " at " << i
                << (reads_tiles ? " (tiles)" : "");
          }
        }
      }
    }
  }
}

// With a tile copy, a batch row's result is the same bits at any batch (decode rows, prefill
// rows and batches of sequences agree): 37 rows at once against each row alone. Where the
// integer kernels take only decode batches (AVX2), up to 8 rows at once.
TEST_P(MatMulTilesTest, TiledRowsDoNotDependOnTheBatch) {
  ThreadPool pool(2);
  const int64_t out = 40, in = 512;  // two tiles and 8 rows in the row layout
  const int64_t batch = ActiveCpuIsa() == CpuIsa::kAvx2 ? 8 : 37;
  for (DType t :
       {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ4_K,
        DType::kQ5_K, DType::kQ6_K, DType::kMXFP4, DType::kIQ4_NL, DType::kIQ4_XS}) {
    const std::vector<uint8_t> data = RandomBlocks(t, out * in / DTypeBlockSize(t), 80);
    TensorView w = MakeView(t, out, in, data);
    std::vector<uint8_t> tiles(MatMulTilesBytes(w));
    PackMatMulTiles(w, tiles);
    w.parts = {tiles.data()};
    w.parts_are_tiles = true;
    const std::vector<float> x = RandomFloats(batch * in, 81);
    std::vector<float> all(batch * out), one(out);
    MatMul(w, x.data(), batch, nullptr, all.data(), pool);
    for (int64_t b = 0; b < batch; ++b) {
      MatMul(w, x.data() + b * in, 1, nullptr, one.data(), pool);
      ASSERT_EQ(0, std::memcmp(one.data(), all.data() + b * out, out * sizeof(float)))
          << DTypeName(t) << " batch row " << b;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, MatMulTilesTest, AllPaths(), PathName);

// The layout itself, element by element from its description (matmul_tiles.h): block j of tile t
// holds row r's scale at d[r], Q4_1 min at m[r], and each quant where its dtype puts it.
TEST(MatMulTilesLayoutTest, BlocksHoldScalesThenQuantsOneRowPerLane) {
  const int64_t out = 33, blocks = 3;  // two tiles; row 32 stays in the row layout
  for (DType t : {DType::kQ4_0, DType::kQ4_1, DType::kQ8_0}) {
    const std::vector<uint8_t> data = RandomBlocks(t, out * blocks, 90);
    const TensorView w = MakeView(t, out, 32 * blocks, data);
    const int64_t block_bytes = DTypeBlockBytes(t);
    const int64_t scale_bytes = t == DType::kQ4_1 ? 4 : 2;
    ASSERT_EQ(MatMulTilesBytes(w), static_cast<size_t>(32 * blocks * block_bytes));
    std::vector<uint8_t> tiles(MatMulTilesBytes(w));
    PackMatMulTiles(w, tiles);
    for (int64_t row = 0; row < 32; ++row) {
      const int64_t tile = row / 16, r = row % 16;
      for (int64_t j = 0; j < blocks; ++j) {
        const uint8_t* src = data.data() + (row * blocks + j) * block_bytes;
        const uint8_t* dst = tiles.data() + (tile * blocks + j) * 16 * block_bytes;
        const uint8_t* quants = dst + 16 * scale_bytes;
        ASSERT_EQ(0, std::memcmp(dst + 2 * r, src, 2)) << "d row " << row << " block " << j;
        if (t == DType::kQ4_1) {
          ASSERT_EQ(0, std::memcmp(dst + 32 + 2 * r, src + 2, 2)) << "m row " << row;
        }
        for (int64_t e = 0; e < 32; ++e) {
          int want = 0, got = 0;
          if (t == DType::kQ8_0) {
            want = src[2 + e];
            got = quants[32 * (e / 2) + 2 * r + e % 2];
          } else {
            const uint8_t* qs = src + scale_bytes;
            want = e < 16 ? qs[e] & 15 : qs[e - 16] >> 4;
            const uint8_t byte = quants[64 * (e % 16 / 4) + 4 * r + e % 4];
            got = e < 16 ? byte & 15 : byte >> 4;
          }
          ASSERT_EQ(want, got) << DTypeName(t) << " row " << row << " block " << j << " elt " << e;
        }
      }
    }
  }
}

// Q4_K's and Q5_K's layout (matmul_tiles.h): per super-block d[16], dmin[16], the scale bytes
// transposed [12][16], then each sub-block's nibbles as a Q4 tile block (Q5_K: then the fifth
// bits).
TEST(MatMulTilesLayoutTest, K45SuperBlocksHoldTransposedScalesThenSubBlocks) {
  const int64_t out = 17, supers = 2;
  for (DType t : {DType::kQ4_K, DType::kQ5_K}) {
    const bool five = t == DType::kQ5_K;
    const int64_t bytes = DTypeBlockBytes(t), sub_bytes = five ? 320 : 256;
    const std::vector<uint8_t> data = RandomBlocks(t, out * supers, 91);
    const TensorView w = MakeView(t, out, 256 * supers, data);
    ASSERT_EQ(MatMulTilesBytes(w), static_cast<size_t>(16 * supers * bytes));
    std::vector<uint8_t> tiles(MatMulTilesBytes(w));
    PackMatMulTiles(w, tiles);
    for (int64_t r = 0; r < 16; ++r) {
      for (int64_t sb = 0; sb < supers; ++sb) {
        const uint8_t* src = data.data() + (r * supers + sb) * bytes;
        const uint8_t* dst = tiles.data() + sb * 16 * bytes;
        ASSERT_EQ(0, std::memcmp(dst + 2 * r, src, 2)) << "d row " << r;
        ASSERT_EQ(0, std::memcmp(dst + 32 + 2 * r, src + 2, 2)) << "dmin row " << r;
        for (int64_t k = 0; k < 12; ++k) ASSERT_EQ(dst[64 + 16 * k + r], src[4 + k]) << "scale " << k;
        for (int64_t j = 0; j < 8; ++j) {
          const uint8_t* sub = dst + 256 + sub_bytes * j;
          for (int64_t e = 0; e < 32; ++e) {
            // ggml's dequantize_row_q4_K / q5_K: sub-block j's element e is a nibble of
            // qs[32 (j / 2) + e] (Q5_K: its fifth bit is bit j of qh[e]).
            const uint8_t* qs = src + (five ? 48 : 16);
            int want = (qs[32 * (j / 2) + e] >> (4 * (j % 2))) & 15;
            if (five) want |= ((src[16 + e] >> j) & 1) << 4;
            const uint8_t byte = sub[64 * (e % 16 / 4) + 4 * r + e % 4];
            int got = e < 16 ? byte & 15 : byte >> 4;
            if (five) got |= ((sub[256 + 4 * r + e % 4] >> (e / 16 * 4 + e % 16 / 4)) & 1) << 4;
            ASSERT_EQ(want, got) << DTypeName(t) << " row " << r << " sub " << j << " elt " << e;
          }
        }
      }
    }
  }
}

// Q6_K's layout (matmul_tiles.h): per super-block d[16], the int8 scales transposed [16][16],
// then per sub-block the low 4 bits of its quants as a Q4 tile block and their top 2 bits in two
// pieces.
TEST(MatMulTilesLayoutTest, Q6KSuperBlocksHoldTransposedScalesThenSplitQuants) {
  const int64_t out = 17, supers = 2;
  const std::vector<uint8_t> data = RandomBlocks(DType::kQ6_K, out * supers, 92);
  const TensorView w = MakeView(DType::kQ6_K, out, 256 * supers, data);
  ASSERT_EQ(MatMulTilesBytes(w), static_cast<size_t>(16 * supers * 210));
  std::vector<uint8_t> tiles(MatMulTilesBytes(w));
  PackMatMulTiles(w, tiles);
  for (int64_t r = 0; r < 16; ++r) {
    for (int64_t sb = 0; sb < supers; ++sb) {
      const uint8_t* src = data.data() + (r * supers + sb) * 210;
      const uint8_t* dst = tiles.data() + sb * 16 * 210;
      ASSERT_EQ(0, std::memcmp(dst + 2 * r, src + 208, 2)) << "d row " << r;
      for (int64_t g = 0; g < 16; ++g) {
        ASSERT_EQ(dst[32 + 16 * g + r], src[192 + g]) << "scale " << g;
      }
      for (int64_t j = 0; j < 8; ++j) {
        const uint8_t* sub = dst + 288 + 384 * j;
        for (int64_t e = 0; e < 32; ++e) {
          // Element 32 j + e of the row (ggml's dequantize_row_q6_K order).
          const int64_t y = 32 * j + e, half = y / 128, i = y % 128 / 32, l = y % 32;
          const uint8_t low_byte = src[64 * half + l + 32 * (i & 1)];
          const int want = (i < 2 ? low_byte & 15 : low_byte >> 4) |
                           ((src[128 + 32 * half + l] >> (2 * i)) & 3) << 4;
          const uint8_t nibbles = sub[64 * (e % 16 / 4) + 4 * r + e % 4];
          const uint8_t top = sub[256 + 64 * (e / 16) + 4 * r + e % 4];
          const int got =
              (e < 16 ? nibbles & 15 : nibbles >> 4) | ((top >> (2 * (e % 16 / 4))) & 3) << 4;
          ASSERT_EQ(want, got) << "row " << r << " sub " << j << " elt " << e;
        }
      }
    }
  }
}

TEST(MatMulTilesLayoutTest, OnlyBlockQuantizedMatricesOfSixteenRowsOrMore) {
  const std::vector<uint8_t> q8(16 * 34 * 2), f32(16 * 64 * 4);
  EXPECT_FALSE(MatMulTilesSupported(MakeView(DType::kQ8_0, 15, 64, q8)));
  EXPECT_FALSE(MatMulTilesSupported(MakeView(DType::kF32, 16, 64, f32)));
  EXPECT_TRUE(MatMulTilesSupported(MakeView(DType::kQ8_0, 16, 32, q8)));
  const std::vector<uint8_t> q3_k(16 * 110);
  EXPECT_FALSE(MatMulTilesSupported(MakeView(DType::kQ3_K, 16, 256, q3_k)));  // no tile layout
}

class MatMulSharedTest : public KernelPathTest {};

// Projections of one x in one pass (mixed dtypes: int16-activation, bf16 even/odd and plain
// kernels side by side, one bias) give bit for bit what each MatMul gives alone, at batch 1 and
// at a batch past the int16 kernels' limit, with 1 and 3 threads.
TEST_P(MatMulSharedTest, EqualsSeparateMatMuls) {
  const int64_t in = 96;
  const DType types[] = {DType::kQ4_1, DType::kBF16, DType::kQ8_0, DType::kF32};
  const int64_t outs[] = {40, 17, 64, 3};
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<TensorView> views;
  for (int i = 0; i < 4; ++i) {
    const DType t = types[i];
    if (DTypeBlockSize(t) == 1) {
      bytes.push_back(Encode(RandomFloats(outs[i] * in, 40 + i), t).bytes);
    } else {
      bytes.push_back(RandomBlocks(t, outs[i] * in / DTypeBlockSize(t), 40 + i));
    }
  }
  for (int i = 0; i < 4; ++i) views.push_back(MakeView(types[i], outs[i], in, bytes[i]));
  const std::vector<float> bias = RandomFloats(outs[1], 50);
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    for (int64_t batch : {1, 9}) {
      const std::vector<float> x = RandomFloats(batch * in, 51 + batch);
      std::vector<std::vector<float>> shared(4), alone(4);
      std::vector<Projection> projections;
      for (int i = 0; i < 4; ++i) {
        shared[i].assign(batch * outs[i], NAN);
        alone[i].assign(batch * outs[i], NAN);
        const float* b = i == 1 ? bias.data() : nullptr;
        MatMul(views[i], x.data(), batch, b, alone[i].data(), pool);
        projections.push_back({&views[i], b, shared[i].data()});
      }
      MatMulShared(projections, x.data(), batch, pool);
      for (int i = 0; i < 4; ++i) {
        const size_t bytes = shared[i].size() * sizeof(float);
        EXPECT_EQ(0, std::memcmp(shared[i].data(), alone[i].data(), bytes))
            << DTypeName(types[i]) << " batch " << batch << " threads " << threads;
      }
    }
  }
}

// Rows [first, first + rows) of w as a view of their own (the bytes stay w's).
TensorView RowsOf(const TensorView& w, int64_t first, int64_t rows) {
  TensorView part = w;
  part.shape = {rows, w.cols()};
  part.data = static_cast<const uint8_t*>(w.data) + first * static_cast<int64_t>(w.row_bytes());
  part.nbytes = static_cast<size_t>(rows) * w.row_bytes();
  return part;
}

// Matrices placed in one part per worker (TensorView::parts: as Model places them, each part's
// copy apart; here in reverse order with gaps) give the same bits as one copy of the whole matrix
// (tiles) or as the rows in place, at batch 1 and 9, with 2 and 3 workers.
TEST_P(MatMulSharedTest, PartsPlacedApartGiveTheSameBits) {
  const int64_t in = 256;
  const DType types[] = {DType::kQ4_1, DType::kQ4_K, DType::kBF16, DType::kQ8_0, DType::kF32};
  const int64_t outs[] = {200, 67, 40, 17, 3};
  std::vector<std::vector<uint8_t>> bytes;
  for (int i = 0; i < 5; ++i) {
    const DType t = types[i];
    bytes.push_back(DTypeBlockSize(t) == 1
                        ? Encode(RandomFloats(outs[i] * in, 60 + i), t).bytes
                        : RandomBlocks(t, outs[i] * in / DTypeBlockSize(t), 60 + i));
  }
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    std::vector<TensorView> whole, parted;
    std::vector<std::vector<uint8_t>> whole_tiles(5);
    std::vector<uint8_t> buffer(2 * (bytes[0].size() + bytes[1].size() + bytes[2].size() +
                                     bytes[3].size() + bytes[4].size()) + 64 * 32);
    size_t at = 0;
    for (int i = 0; i < 5; ++i) {
      whole.push_back(MakeView(types[i], outs[i], in, bytes[i]));
      TensorView& w = whole.back();
      w.parts_are_tiles = MatMulUsesTiles(w);
      if (w.parts_are_tiles) {
        whole_tiles[i].resize(MatMulTilesBytes(w));
        PackMatMulTiles(w, whole_tiles[i]);
        w.parts = {whole_tiles[i].data()};
      }
      parted.push_back(w);
      TensorView& v = parted.back();
      v.parts.assign(threads, nullptr);
      for (int p = threads - 1; p >= 0; --p) {
        const int64_t first = MatMulPartRow(outs[i], threads, p);
        const TensorView rows = RowsOf(w, first, MatMulPartRow(outs[i], threads, p + 1) - first);
        const size_t n = v.parts_are_tiles ? MatMulTilesBytes(rows) : rows.nbytes;
        v.parts[p] = buffer.data() + at;
        if (v.parts_are_tiles && n > 0) {
          PackMatMulTiles(rows, {buffer.data() + at, n});
        } else if (!v.parts_are_tiles) {
          std::memcpy(buffer.data() + at, rows.data, n);
        }
        at += (n + 64 + 63) / 64 * 64;  // and a line apart
      }
      ASSERT_LE(at, buffer.size());
    }
    for (int64_t batch : {1, 9}) {
      const std::vector<float> x = RandomFloats(batch * in, 70 + batch);
      std::vector<std::vector<float>> got(5), want(5);
      std::vector<Projection> a, b;
      for (int i = 0; i < 5; ++i) {
        got[i].assign(batch * outs[i], NAN);
        want[i].assign(batch * outs[i], NAN);
        if (i < 4) {  // a pass takes at most kMaxSharedProjections
          a.push_back({&parted[i], nullptr, got[i].data()});
          b.push_back({&whole[i], nullptr, want[i].data()});
        }
      }
      MatMulShared(a, x.data(), batch, pool);
      MatMulShared(b, x.data(), batch, pool);
      MatMul(parted[4], x.data(), batch, nullptr, got[4].data(), pool);
      MatMul(whole[4], x.data(), batch, nullptr, want[4].data(), pool);
      for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(0, std::memcmp(got[i].data(), want[i].data(), got[i].size() * sizeof(float)))
            << DTypeName(types[i]) << " batch " << batch << " threads " << threads;
      }
      // The same pass as MatMulPart's parts, one after another on this thread (a decode team's
      // members, each preparing the activations itself).
      for (int i = 0; i < 4; ++i) got[i].assign(batch * outs[i], NAN);
      for (int p = threads - 1; p >= 0; --p) MatMulPart(a, x.data(), batch, threads, p);
      for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(0, std::memcmp(got[i].data(), want[i].data(), got[i].size() * sizeof(float)))
            << "MatMulPart " << DTypeName(types[i]) << " batch " << batch << " parts " << threads;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, MatMulSharedTest, AllPaths(), PathName);

TEST(MatMulPartRowTest, WholeTilesEvenlyAndTheLastPartToTheEnd) {
  EXPECT_EQ(MatMulPartRow(200, 2, 0), 0);
  EXPECT_EQ(MatMulPartRow(200, 2, 1), 96);  // 100 down to whole tiles
  EXPECT_EQ(MatMulPartRow(200, 2, 2), 200);
  EXPECT_EQ(MatMulPartRow(576, 2, 1), 288);
  EXPECT_EQ(MatMulPartRow(40, 3, 1), 0);  // 13 rows: no whole tile
  EXPECT_EQ(MatMulPartRow(40, 3, 2), 16);
  EXPECT_EQ(MatMulPartRow(40, 3, 3), 40);
  EXPECT_EQ(MatMulPartRow(7, 1, 0), 0);
  EXPECT_EQ(MatMulPartRow(7, 1, 1), 7);
}

TEST(MatMulSharedDeathTest, RejectsPartsForAnotherPoolSize) {
  ThreadPool pool(3);
  const std::vector<uint8_t> a = Encode(RandomFloats(64 * 32, 3), DType::kF32).bytes;
  TensorView w = MakeView(DType::kF32, 64, 32, a);
  w.parts = {a.data(), a.data() + 32 * 32 * 4};  // two parts
  const std::vector<float> x(32, 1.0f);
  std::vector<float> y(64);
  EXPECT_DEATH(MatMul(w, x.data(), 1, nullptr, y.data(), pool), "placed in 2 parts for a pool of 3");
}

TEST(MatMulSharedDeathTest, RejectsDifferentWidths) {
  ThreadPool pool(1);
  const std::vector<uint8_t> a = Encode(RandomFloats(4 * 32, 1), DType::kF32).bytes;
  const std::vector<uint8_t> b = Encode(RandomFloats(4 * 64, 2), DType::kF32).bytes;
  const TensorView wa = MakeView(DType::kF32, 4, 32, a), wb = MakeView(DType::kF32, 4, 64, b);
  const std::vector<float> x(64, 1.0f);
  std::vector<float> ya(4), yb(4);
  const Projection projections[] = {{&wa, nullptr, ya.data()}, {&wb, nullptr, yb.data()}};
  EXPECT_DEATH(MatMulShared(projections, x.data(), 1, pool), "is 64 wide");
}

TEST(MatMulIsaTest, NamesTheDispatchedFamily) {
  ForceGenericKernels(true);
  EXPECT_STREQ(MatMulIsa(), "generic");
  LimitCpuIsa(CpuIsa::kAvx2);
  EXPECT_STREQ(MatMulIsa(), CpuSupportsAvx2() ? "avx2" : "generic");
  LimitCpuIsa(CpuIsa::kAvx512Bf16);
  EXPECT_STREQ(MatMulIsa(), CpuSupportsAvx512Bf16() ? "avx512_bf16"
                            : CpuSupportsAvx2()     ? "avx2"
                                                    : "generic");
  ForceGenericKernels(false);
  EXPECT_STREQ(MatMulIsa(), CpuSupportsAmx()          ? "avx512_amx"
                            : CpuSupportsAvx512Bf16() ? "avx512_bf16"
                            : CpuSupportsAvx2()       ? "avx2"
                                                      : "generic");
}

}  // namespace
}  // namespace sigma
