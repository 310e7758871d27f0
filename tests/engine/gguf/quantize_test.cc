// The GGUF quantizers (engine/gguf/quantize.h) against the reference decoders
// (engine/cpu/quant_blocks.h): every element comes back within a quantization step or two of its
// block (plus the f16 rounding of the scales), for rows of several shapes of data: smooth, with
// outliers, all negative, all zero, tiny; and every type against the reference quantizers' bytes
// (the gguf package's, llama.cpp's). Q8_0 also against its block formula.
#include "engine/gguf/quantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/cpu/quant_blocks.h"

namespace sigma {
namespace {

// Rows of 512 floats: each a different kind of data.
std::vector<std::vector<float>> Rows() {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<std::vector<float>> rows;
  std::vector<float> x(512);
  for (float& v : x) v = normal(rng);
  rows.push_back(x);  // gaussian
  for (size_t i = 0; i < x.size(); i += 37) x[i] *= 40.0f;
  rows.push_back(x);  // outliers
  for (float& v : x) v = -std::fabs(v) - 0.5f;
  rows.push_back(x);  // all negative
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.05f * static_cast<float>(i)) * 1e-3f;
  rows.push_back(x);  // smooth and small
  rows.push_back(std::vector<float>(512, 0.0f));
  for (size_t i = 0; i < x.size(); ++i) x[i] = i % 64 < 32 ? 3.0f : normal(rng);
  rows.push_back(x);  // constant sub-blocks
  return rows;
}

// The largest |x| over the super-block (or block) holding element i.
float BlockAmax(const std::vector<float>& x, size_t i, int64_t block) {
  const size_t begin = i / static_cast<size_t>(block) * static_cast<size_t>(block);
  float amax = 0.0f;
  for (size_t k = begin; k < begin + static_cast<size_t>(block); ++k) {
    amax = std::max(amax, std::fabs(x[k]));
  }
  return amax;
}

// One quantization step (as a share of the block's largest magnitude) per type: Q8_0 amax / 127;
// Q4_0 amax / 8 (the extreme maps to -8, the opposite side clips at 7); Q4_1 the range / 15
// (twice amax); Q5_0 amax / 16 and Q5_1 the range / 31 likewise; Q4_K / Q5_K the sub-block's range
// / 15 (31) with the 6-bit scale and min each rounded against the super-block's largest (one more
// 63rd of it, twice); Q6_K the 16's amax / 31.1, for llama.cpp's search maps the largest magnitude
// to up to 32.9 steps, so that a value of the other sign clips at 31 by up to 1.9 steps, and its
// int8 scale is rounded against the largest (one more 127th); Q3_K a 16's amax / 4 (its 8 levels,
// the other sign clipping at 3) with its 6-bit scale rounded against the largest (measured worst
// 0.154); IQ4_NL half its table's widest gap
// (24 of 127) at a scale that maps the largest magnitude to at most 134 (the widest search), IQ4_XS
// one more 64th for its 6-bit scales (measured worst 0.085 and 0.094).
double StepShare(DType t) {
  switch (t) {
    case DType::kQ8_0: return 1.0 / 127;
    case DType::kQ4_0: return 1.0 / 8;
    case DType::kQ4_1: return 2.0 / 15;
    case DType::kQ5_0: return 1.0 / 16;
    case DType::kQ5_1: return 2.0 / 31;
    case DType::kQ4_K: return 2.0 / 15 + 2.0 * 15 / 63 / 15 + 1.0 / 63;
    case DType::kQ5_K: return 2.0 / 31 + 2.0 * 31 / 63 / 31 + 1.0 / 63;
    case DType::kQ6_K: return 1.9 / 31.1 + 1.0 / 127;
    case DType::kQ3_K: return 1.0 / 4 + 1.0 / 32;
    case DType::kIQ4_NL: return 12.0 / 127 * 134 / 127;
    case DType::kIQ4_XS: return 12.0 / 127 * 134 / 127 + 1.0 / 64;
    default: return 0;
  }
}

TEST(QuantizeTest, EveryTypeDecodesWithinAStepOfItsBlock) {
  for (DType t :
       {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ3_K,
        DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS}) {
    ASSERT_TRUE(CanQuantize(t));
    const int64_t block = DTypeBlockSize(t);
    int kind = 0;
    for (const std::vector<float>& x : Rows()) {
      std::string bytes;
      QuantizeRow(t, x.data(), static_cast<int64_t>(x.size()), &bytes);
      ASSERT_EQ(bytes.size(), x.size() / static_cast<size_t>(block) * DTypeBlockBytes(t));
      std::vector<float> back(x.size());
      DecodeBlocks(t, bytes.data(), static_cast<int64_t>(x.size()) / block, back.data());
      double worst_share = 0;
      for (size_t i = 0; i < x.size(); ++i) {
        const double amax = BlockAmax(x, i, block);
        const double err = std::fabs(double{back[i]} - x[i]);
        ASSERT_LE(err, StepShare(t) * amax * 1.01 + 1e-12)
            << DTypeName(t) << " row kind " << kind << " element " << i << ": " << x[i]
            << " came back " << back[i];
        if (amax > 0) worst_share = std::max(worst_share, err / amax);
      }
      if (kind == 4) {
        for (float v : back) ASSERT_EQ(v, 0.0f) << DTypeName(t) << ": zeros stay zero";
      }
      ++kind;
    }
  }
}

// Rounding to nearest: on gaussian data the mean error is well under half a step.
TEST(QuantizeTest, ErrorsAreSmallOnAverage) {
  const std::vector<float> x = Rows()[0];
  for (DType t : {DType::kQ4_0, DType::kQ4_1, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                  DType::kQ6_K, DType::kIQ4_NL, DType::kIQ4_XS}) {
    std::string bytes;
    QuantizeRow(t, x.data(), 512, &bytes);
    std::vector<float> back(512);
    DecodeBlocks(t, bytes.data(), 512 / DTypeBlockSize(t), back.data());
    double mean_err = 0, mean_abs = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      mean_err += std::fabs(double{back[i]} - x[i]) / 512;
      mean_abs += std::fabs(double{x[i]}) / 512;
    }
    // Relative mean errors measured: Q6_K 0.018, Q5_K 0.037, Q4_K 0.071, Q4_1 0.079, Q4_0 0.088,
    // IQ4_NL 0.077, IQ4_XS 0.078, Q3_K 0.152 (the K-quants 0.021, 0.039, 0.082 before they took
    // llama.cpp's scale search);
    // bounds that fail if a quantizer truncates or mis-places elements.
    const double bound = t == DType::kQ6_K   ? 0.03
                         : t == DType::kQ5_K ? 0.06
                         : t == DType::kQ3_K ? 0.2
                                             : 0.12;
    EXPECT_LT(mean_err / mean_abs, bound) << DTypeName(t);
  }
}

TEST(QuantizeTest, Q8_0MatchesTheBlockFormula) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = std::sin(0.37f * i) * (i < 32 ? 1.0f : 0.01f);
  std::string out;
  QuantizeRow(DType::kQ8_0, x.data(), 64, &out);
  ASSERT_EQ(out.size(), 68u);
  for (int b = 0; b < 2; ++b) {
    uint16_t d16;
    std::memcpy(&d16, out.data() + 34 * b, 2);
    const float d = F16ToF32(d16);
    for (int i = 0; i < 32; ++i) {
      const float q = static_cast<float>(static_cast<int8_t>(out[34 * b + 2 + i]));
      EXPECT_NEAR(q * d, x[32 * b + i], 0.51f * d + 1e-7f);
    }
  }
}

// A reference quantizer's blocks (tests/engine/cpu/testdata/make_*_quantized.py): per section,
// the dtype, the inputs and the reference's bytes, which QuantizeRow must write bit for bit.
struct QuantizedSection {
  DType dtype;
  std::vector<float> x;
  std::string bytes;
};

std::vector<QuantizedSection> ReadQuantizedSections(const std::string& name) {
  const auto file = ReadFile(SIGMA_SOURCE_DIR "/tests/engine/cpu/testdata/" + name);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  std::vector<QuantizedSection> sections;
  size_t pos = 0;
  while (file.ok() && pos + 12 <= file->size()) {
    uint32_t header[3];
    std::memcpy(header, file->data() + pos, sizeof(header));
    pos += sizeof(header);
    QuantizedSection s{static_cast<DType>(header[0]), {}, {}};
    EXPECT_EQ(header[2], DTypeBlockBytes(s.dtype)) << DTypeName(s.dtype);
    s.x.resize(static_cast<size_t>(header[1] * DTypeBlockSize(s.dtype)));
    const size_t n_bytes = static_cast<size_t>(header[1]) * header[2];
    if (pos + s.x.size() * sizeof(float) + n_bytes > file->size()) {
      ADD_FAILURE() << name << " is truncated";
      break;
    }
    std::memcpy(s.x.data(), file->data() + pos, s.x.size() * sizeof(float));
    pos += s.x.size() * sizeof(float);
    s.bytes = file->substr(pos, n_bytes);
    pos += n_bytes;
    sections.push_back(std::move(s));
  }
  return sections;
}

std::vector<DType> DTypesOf(const std::vector<QuantizedSection>& sections) {
  std::vector<DType> dtypes;
  for (const QuantizedSection& s : sections) dtypes.push_back(s.dtype);
  return dtypes;
}

void ExpectQuantizedBitForBit(const QuantizedSection& s) {
  std::string got;
  QuantizeRow(s.dtype, s.x.data(), static_cast<int64_t>(s.x.size()), &got);
  ASSERT_EQ(got.size(), s.bytes.size());
  const int64_t block_bytes = DTypeBlockBytes(s.dtype);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(static_cast<uint8_t>(got[i]), static_cast<uint8_t>(s.bytes[i]))
        << DTypeName(s.dtype) << " block " << static_cast<int64_t>(i) / block_bytes << " byte "
        << static_cast<int64_t>(i) % block_bytes;
  }
}

// MXFP4, Q5_0, Q5_1, Q8_0, Q4_0 and Q4_1 as the gguf Python package quantizes them (ggml's
// reference quantizers), bit for bit (make_gguf_blocks.py): blocks of magnitudes 2^-12 .. 2^5,
// values halfway between E2M1 values (ties to the first), zeros and an all-zero block; the others
// also all-negative, all-positive and constant blocks.
TEST(QuantizeTest, Mxfp4AndTheLegacyTypesMatchTheGgufPythonPackage) {
  const std::vector<QuantizedSection> sections = ReadQuantizedSections("gguf_quantized.bin");
  ASSERT_EQ(DTypesOf(sections), (std::vector<DType>{DType::kMXFP4, DType::kQ5_0, DType::kQ5_1,
                                                    DType::kQ8_0, DType::kQ4_0, DType::kQ4_1}));
  for (const QuantizedSection& s : sections) ExpectQuantizedBitForBit(s);
  const QuantizedSection& s = sections[0];
  // Nearest E2M1 value: within half the largest gap (a quarter of the block's largest magnitude).
  std::vector<float> back(s.x.size());
  DecodeBlocks(DType::kMXFP4, s.bytes.data(), static_cast<int64_t>(s.x.size()) / 32, back.data());
  for (size_t i = 0; i < s.x.size(); ++i) {
    const double amax = BlockAmax(s.x, i, 32);
    ASSERT_LE(std::fabs(double{back[i]} - s.x[i]), 0.25 * amax + 1e-30) << "element " << i;
  }
}

// IQ4_NL, IQ4_XS and the K-quants (Q2_K to Q6_K) as llama.cpp quantizes them without an importance
// matrix, bit for bit (make_llama_cpp_quantized.py): rows of magnitudes 2^-14 .. 2^6, blocks of
// different scales and outliers, all-zero rows and blocks, exact IQ4 table values, a constant row,
// a lone value.
TEST(QuantizeTest, Iq4AndKQuantsMatchLlamaCpp) {
  const std::vector<QuantizedSection> sections = ReadQuantizedSections("llama_cpp_quantized.bin");
  ASSERT_EQ(DTypesOf(sections),
            (std::vector<DType>{DType::kIQ4_NL, DType::kIQ4_XS, DType::kQ4_K, DType::kQ5_K,
                                DType::kQ6_K, DType::kQ3_K, DType::kQ2_K}));
  for (const QuantizedSection& s : sections) ExpectQuantizedBitForBit(s);
}

TEST(QuantizeTest, OnlyBlockTypes) {
  EXPECT_FALSE(CanQuantize(DType::kF16));
  EXPECT_FALSE(CanQuantize(DType::kQ8_K));
  EXPECT_TRUE(CanQuantize(DType::kIQ4_NL));
  EXPECT_TRUE(CanQuantize(DType::kIQ4_XS));
}

}  // namespace
}  // namespace sigma
