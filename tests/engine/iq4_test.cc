// IQ4_NL and IQ4_XS weights end to end (tests/data/iq4): a small Llama converted with
// `convert --type iq4_nl` / `iq4_xs` (its 544-wide down projections, not whole IQ4_XS
// super-blocks, fall back to IQ4_NL as llama.cpp's do), against llama.cpp's logits of the same
// files with every tensor dequantized to f32 by the gguf package (tests/oracle/dequantize_gguf.py):
// on the float kernels (f32 activations) exactly the files' values; on the integer tile kernels a
// decode copy makes (activations rounded to int16 per block of 32) within that rounding.
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

constexpr testing_util::FamilyFixture kFixture("iq4");

void ExpectMatchesLlamaCpp(DType type, const std::string& reference) {
  const std::string gguf =
      testing_util::ConvertToGguf(kFixture.Checkpoint(), std::string(DTypeName(type)), type);
  const ModelWeights weights = testing_util::LoadWeights(gguf);
  EXPECT_EQ(weights.embed_tokens.dtype, type);
  EXPECT_EQ(weights.lm_head.dtype, type);
  for (const LayerWeights& l : weights.layers) {
    EXPECT_EQ(l.q_proj.dtype, type);
    EXPECT_EQ(l.up_proj.dtype, type);
    EXPECT_EQ(l.down_proj.dtype, DType::kIQ4_NL);  // 544 wide
  }
  // Measured: 3.3e-7 (both types, float kernels) and 4.9e-5 / 5.3e-5 (IQ4_NL / IQ4_XS tiles; Q8_0's
  // tiles of this model move its logits by 4.6e-5 from the float kernels', Q4_0's by 1.3e-4).
  const std::string llama_cpp = kFixture.Data(reference);
  const std::vector<float> exact =
      testing_util::AllLogitsOf(testing_util::LoadWeights(gguf), /*copy_weights=*/false);
  EXPECT_LT(DifferenceFrom(exact, llama_cpp, Reference::kLlamaCpp), 1e-5f) << DTypeName(type);
  const std::vector<float> tiled = testing_util::AllLogits(gguf);
  EXPECT_LT(DifferenceFrom(tiled, llama_cpp, Reference::kLlamaCpp), 1e-4f) << DTypeName(type);
  testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(gguf, testing_util::IdsFromOne(30), 5,
                                                           5e-5f);
}

TEST(Iq4Test, Iq4NlMatchesLlamaCpp) {
  ExpectMatchesLlamaCpp(DType::kIQ4_NL, "iq4_nl_llama_cpp.f32");
}

TEST(Iq4Test, Iq4XsMatchesLlamaCpp) {
  ExpectMatchesLlamaCpp(DType::kIQ4_XS, "iq4_xs_llama_cpp.f32");
}

}  // namespace
}  // namespace sigma
