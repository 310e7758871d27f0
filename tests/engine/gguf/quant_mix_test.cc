// llama-quantize's mixes (engine/gguf/quant_mix.h): `convert --type q3_k_s / q3_k_m / q3_k_l /
// q4_k_s / q4_k_m / q5_k_s / q5_k_m` of the checkpoints of tests/data/quant_mix (a 10-layer Llama,
// the same with tied embeddings, a 9-layer Mixtral of 8 experts) against llama.cpp's files of the
// same checkpoints (tests/oracle/quant_mix_reference.py -> llama_cpp.json): every tensor in the
// same type (the mix's choices, from the V and FFN down projections that take more bits in some
// layers to the fallbacks of rows that are not whole super-blocks) and with the same bytes (the
// quantizers).
#include "engine/gguf/quant_mix.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <span>
#include <string>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/base/sha256.h"
#include "engine/gguf/convert.h"
#include "engine/gguf/gguf_file.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

constexpr testing_util::FamilyFixture kFixture("quant_mix");

TEST(QuantMixTest, ConvertWritesLlamaQuantizesFiles) {
  auto text = ReadFile(kFixture.Data("llama_cpp.json"));
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  auto doc = ParseJson(*text, "llama_cpp.json");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  int files = 0;
  for (const char* model : {"dense", "tied", "mixtral8"}) {
    ASSERT_TRUE((**doc).HasMember(model)) << model;
    const std::string folder = kFixture.Checkpoint(std::string(model) + ".json");
    for (const auto& [mix_name, tensors] : (**doc)[model].GetObject()) {
      const std::string mix = mix_name.GetString();
      const StatusOr<ConvertOptions> options = ParseConvertType(mix, "type");
      ASSERT_TRUE(options.ok() && options->mix.has_value()) << mix;
      const std::string gguf = testing_util::CheckpointRoot() + "/" + model + "." + mix + ".gguf";
      std::filesystem::remove(gguf);
      ASSERT_TRUE(Convert(folder, gguf, *options).ok()) << model << " " << mix;
      auto file = GgufFile::Open(gguf);
      ASSERT_TRUE(file.ok()) << file.status().ToString();
      std::set<std::string> seen;
      for (const GgufTensorInfo& t : (*file)->tensors()) {
        const std::string what = std::string(model) + " " + mix + " " + t.name;
        ASSERT_TRUE(tensors.HasMember(t.name.c_str())) << what << ": not in llama.cpp's file";
        const auto& want = tensors[t.name.c_str()];
        EXPECT_EQ(DTypeName(t.dtype), want[0].GetString()) << what;
        const std::span<const uint8_t> data = (*file)->TensorData(t);
        EXPECT_EQ(
            Sha256Hex(std::string_view(reinterpret_cast<const char*>(data.data()), data.size())),
            want[1].GetString())
            << what;
        seen.insert(t.name);
      }
      EXPECT_EQ(seen.size(), tensors.MemberCount()) << model << " " << mix;
      ++files;
    }
  }
  EXPECT_EQ(files, 21);
}

TEST(QuantMixTest, OnlyTheSevenMixes) {
  EXPECT_EQ(QuantMixFromName("q4_k_m"), QuantMix::kQ4_K_M);
  EXPECT_EQ(QuantMixBaseType(QuantMix::kQ5_K_S), DType::kQ5_K);
  EXPECT_EQ(QuantMixBaseType(QuantMix::kQ3_K_L), DType::kQ3_K);
  EXPECT_FALSE(QuantMixFromName("q2_k").has_value());
  EXPECT_FALSE(QuantMixFromName("q4_k").has_value());
  EXPECT_FALSE(ParseConvertType("q6_k_m", "type").ok());
  // A folder holds float types only, mixes neither.
  const StatusOr<ConvertOptions> mix = ParseConvertType("q4_k_m", "type");
  ASSERT_TRUE(mix.ok());
  const std::string gguf = testing_util::CheckpointRoot() + "/tied.q4_k_m.gguf";
  ASSERT_TRUE(Convert(kFixture.Checkpoint("tied.json"), gguf, *mix).ok());
  EXPECT_EQ(Convert(gguf, testing_util::CheckpointRoot() + "/back", *mix).code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sigma
