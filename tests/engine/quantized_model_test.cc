// Quantized weights end to end (tests/data/quantized): a small Llama converted with
// `convert --type` IQ4_NL, IQ4_XS, Q4_K, Q5_K and Q3_K, whose 544-wide FFN down projections (not
// whole super-blocks of 256) fall back as llama.cpp's quantizer falls back (IQ4_NL, Q5_0, Q5_1,
// Q4_0), against
// llama.cpp's logits of the same files with every tensor dequantized to f32 by the gguf package
// (tests/oracle/dequantize_gguf.py): on the float kernels (f32 activations, no decode copies)
// exactly the files' values; on the integer tile kernels a decode copy makes (activations rounded
// to int16 per block of 32) within that rounding.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/dtype.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

using testing_util::DifferenceFrom;
using testing_util::Reference;

constexpr testing_util::FamilyFixture kFixture("quantized");

struct QuantizedCase {
  DType type;    // convert --type
  DType narrow;  // what the 544-wide FFN down projections fall back to
};

class QuantizedModelTest : public testing::TestWithParam<QuantizedCase> {};

TEST_P(QuantizedModelTest, MatchesLlamaCpp) {
  const auto [type, narrow] = GetParam();
  const std::string name(DTypeName(type));
  const std::string gguf = testing_util::ConvertToGguf(kFixture.Checkpoint(), name, type);
  const ModelWeights weights = testing_util::LoadWeights(gguf);
  EXPECT_EQ(weights.embed_tokens.dtype, type);
  EXPECT_EQ(weights.lm_head.dtype, type);
  for (const LayerWeights& l : weights.layers) {
    EXPECT_EQ(l.q_proj.dtype, type);
    EXPECT_EQ(l.up_proj.dtype, type);
    EXPECT_EQ(l.down_proj.dtype, narrow);
  }
  // Measured on the float kernels 3.0e-7 (IQ4_NL), 3.3e-7 (IQ4_XS), 4.6e-7 (Q4_K with Q5_0), 3.6e-7
  // (Q5_K with Q5_1), 3.4e-7 (Q3_K with Q4_0); with the decode copies 4.9e-5, 5.3e-5, 1.1e-4,
  // 9.9e-5, 7.4e-5 (Q3_K has no tiles: its matrices stay on the float kernels; the K-quants' mins
  // are corrected in f32 by the unrounded activations' sums, as Q4_0's offset: Q4_0's tiles of this
  // model move its logits by 1.3e-4 from the float kernels', Q8_0's by 4.6e-5).
  const std::string llama_cpp = kFixture.Data(name + "_llama_cpp.f32");
  const std::vector<float> exact =
      testing_util::AllLogitsOf(testing_util::LoadWeights(gguf), /*copy_weights=*/false);
  EXPECT_LT(DifferenceFrom(exact, llama_cpp, Reference::kLlamaCpp), 1e-5f);
  const std::vector<float> tiled = testing_util::AllLogits(gguf);
  EXPECT_LT(DifferenceFrom(tiled, llama_cpp, Reference::kLlamaCpp), 2e-4f);
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(gguf, testing_util::IdsFromOne(30), 5,
                                                           5e-5f);
}

INSTANTIATE_TEST_SUITE_P(Types, QuantizedModelTest,
                         testing::Values(QuantizedCase{DType::kIQ4_NL, DType::kIQ4_NL},
                                         QuantizedCase{DType::kIQ4_XS, DType::kIQ4_NL},
                                         QuantizedCase{DType::kQ4_K, DType::kQ5_0},
                                         QuantizedCase{DType::kQ5_K, DType::kQ5_1},
                                         QuantizedCase{DType::kQ3_K, DType::kQ4_0}),
                         [](const testing::TestParamInfo<QuantizedCase>& info) {
                           return std::string(DTypeName(info.param.type));
                         });

}  // namespace
}  // namespace sigma
