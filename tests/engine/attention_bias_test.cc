// A Llama with attention_bias (tests/data/attention_bias): o_proj has a bias beside q, k and v's,
// as transformers' Llama builds it, against transformers' logits of the checkpoint and llama.cpp's
// of its f32 GGUF (attn_output.bias); Qwen2's attention keeps its o_proj without one.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/loader/model_config.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

using testing_util::AllLogits;
using testing_util::DifferenceFrom;
using testing_util::EveryNthRowAndLast;
using testing_util::IdsFromOne;
using testing_util::ReadF32File;
using testing_util::Reference;
using testing_util::WorstRowDifference;

constexpr testing_util::FamilyFixture kFixture("attention_bias");

TEST(AttentionBiasTest, OProjHasABiasWhereTransformersGivesItOne) {
  const ModelConfig llama = kFixture.Config("config.json");
  EXPECT_TRUE(llama.qkv_bias);
  EXPECT_TRUE(llama.o_bias());
  ModelConfig qwen2 = llama;
  qwen2.arch = Architecture::kQwen2;
  EXPECT_FALSE(qwen2.o_bias());
  bool listed = false;
  for (const ExpectedTensor& t : ExpectedTensors(llama)) {
    listed = listed || t.name == "model.layers.2.self_attn.o_proj.bias";
  }
  EXPECT_TRUE(listed);
}

TEST(AttentionBiasTest, MatchesTransformersAndLlamaCpp) {
  // Measured 3.0e-7 (transformers) and 1.8e-7 (llama.cpp).
  const std::string folder = kFixture.Checkpoint("config.json");
  EXPECT_LT(DifferenceFrom(AllLogits(folder), kFixture.Data("transformers_logits.f32"),
                           Reference::kTransformers),
            1e-5f);
  const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(folder, "attention_bias");
  EXPECT_LT(
      DifferenceFrom(AllLogits(gguf), kFixture.Data("llama_cpp_logits.f32"), Reference::kLlamaCpp),
      1e-5f);
  EXPECT_EQ(AllLogits(back), AllLogits(gguf));
  // Without the o bias the logits are far off: the match checks it.
  ModelWeights weights = testing_util::LoadWeights(folder);
  for (LayerWeights& l : weights.layers) l.o_bias = TensorView{};
  EXPECT_GT(
      WorstRowDifference(testing_util::AllLogitsOf(std::move(weights)), EveryNthRowAndLast(70, 5),
                         ReadF32File(kFixture.Data("transformers_logits.f32")), 384),
      1e-3f);
}

}  // namespace
}  // namespace sigma
