// The Gemma family against two independent implementations (tests/data/gemma): Hugging Face
// transformers' logits of each checkpoint folder (tests/oracle/transformers_reference.py) and
// llama.cpp's of its f32 GGUF (tests/oracle/llama3_rope_reference.py), over token ids 1..70:
// - gemma.json, a Gemma: embeddings times sqrt(hidden), RMSNorm weights applied as 1 + w, a
//   GELU-gated FFN, head_dim 32 against hidden 96, tied embeddings;
// - gemma2.json, a Gemma 2: also a norm after the attention and after the FFN, the attention scale
//   from query_pre_attn_scalar (24, not head_dim), scores and logits soft-capped tightly enough to
//   matter (transformers without the caps: 0.53 apart), a 7-position window in layers 0 and 2;
// - gemma3.json, a Gemma 3: q/k norms, a 7-position window in layers 0-4, those layers' RoPE base
//   10000 and the last layer's 1e6 with linear scaling 8.
// make-model writes Gemma's norms as random offsets from 1, so a pass that dropped the 1 (or added
// it twice, as a GGUF would) is far off. And the engine's own consistency: decode steps (team and
// loops) give the full forward's logits, the GGUF converts back to the same folder.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/gguf/convert.h"
#include "engine/loader/model_config.h"
#include "engine/loader/model_weights.h"
#include "engine/loader/safetensors.h"
#include "engine/model.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

using testing_util::AllLogits;
using testing_util::DifferenceFrom;
using testing_util::IdsFromOne;
using testing_util::RandomCheckpoint;
using testing_util::ReadModelConfig;
using testing_util::Reference;

constexpr testing_util::FamilyFixture kFixture("gemma");

ModelConfig Config(const std::string& name) { return kFixture.Config(name + ".json"); }

// make-model's checkpoint with seed 5, the one the references ran.
std::string Checkpoint(const std::string& name) { return kFixture.Checkpoint(name + ".json"); }

TEST(GemmaTest, ConfigsAsTransformersReadThem) {
  const ModelConfig gemma = Config("gemma");
  EXPECT_EQ(gemma.arch, Architecture::kGemma);
  EXPECT_EQ(gemma.activation, Activation::kGeluTanh);
  EXPECT_TRUE(gemma.tie_word_embeddings);  // GemmaConfig's default
  EXPECT_FALSE(gemma.post_norms());
  EXPECT_EQ(gemma.norm_weight_offset(), 1.0f);
  EXPECT_EQ(gemma.embedding_scale(), std::sqrt(96.0f));
  EXPECT_EQ(gemma.AttentionScale(), 1.0f / std::sqrt(32.0f));

  const ModelConfig gemma2 = Config("gemma2");
  EXPECT_EQ(gemma2.arch, Architecture::kGemma2);
  EXPECT_TRUE(gemma2.post_norms());
  EXPECT_FALSE(gemma2.qk_norm());
  EXPECT_EQ(gemma2.AttentionScale(), static_cast<float>(1.0 / std::sqrt(24.0)));
  EXPECT_EQ(gemma2.attn_logit_softcapping, 0.04);
  EXPECT_EQ(gemma2.final_logit_softcapping, 0.25);
  // Gemma2Config's layer types: every other layer slides, from layer 0.
  EXPECT_EQ(gemma2.sliding_layers, (std::vector<bool>{true, false, true, false}));

  const ModelConfig gemma3 = Config("gemma3");
  EXPECT_EQ(gemma3.arch, Architecture::kGemma3);
  EXPECT_TRUE(gemma3.qk_norm());
  EXPECT_EQ(gemma3.attn_logit_softcapping, 0);
  EXPECT_EQ(gemma3.rope_theta, 1e6);
  EXPECT_EQ(gemma3.local_rope_theta, 1e4);
  EXPECT_EQ(gemma3.rope_scaling.type, "linear");
  EXPECT_EQ(gemma3.sliding_layers, (std::vector<bool>{true, true, true, true, true, false}));
  EXPECT_TRUE(gemma3.LocalRope(0));
  EXPECT_FALSE(gemma3.LocalRope(5));

  // Each reads back from its own config.json form.
  for (const ModelConfig& c : {gemma, gemma2, gemma3}) {
    const auto back = ParseModelConfig(c.ToJson(), "config.json");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->ToJson(), c.ToJson());
  }
}

TEST(GemmaTest, TransformersFiveRopeParametersAndDefaults) {
  // transformers 5 writes Gemma 3's two RoPEs as one dict per layer type.
  const auto c = ParseModelConfig(
      R"({"model_type": "gemma3_text", "vocab_size": 384, "hidden_size": 64,
          "intermediate_size": 160, "num_hidden_layers": 7, "num_attention_heads": 4,
          "num_key_value_heads": 2, "sliding_window": 512,
          "rope_parameters": {
            "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
            "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}})",
      "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->head_dim, 256);  // Gemma3TextConfig's default
  EXPECT_EQ(c->query_pre_attn_scalar, 256);
  EXPECT_EQ(c->rope_theta, 1e6);
  EXPECT_EQ(c->local_rope_theta, 1e4);
  EXPECT_EQ(c->rope_scaling.factor, 8.0);
  EXPECT_EQ(c->bos_token_id, 2);
  EXPECT_EQ(c->eos_token_ids, std::vector<int64_t>{1});
  // sliding_window_pattern 6: layers 5 (and 11, ...) attend to every position.
  EXPECT_EQ(c->sliding_layers, (std::vector<bool>{true, true, true, true, true, false, true}));

  // Gemma 2's defaults: caps 50 and 30; Gemma's "gelu" is its tanh approximation, Gemma 2's
  // hidden_activation "gelu" the exact one.
  const auto gemma2 = ParseModelConfig(
      R"({"model_type": "gemma2", "vocab_size": 384, "hidden_size": 64, "intermediate_size": 160,
          "num_hidden_layers": 2, "num_attention_heads": 4, "hidden_activation": "gelu"})",
      "config.json");
  ASSERT_TRUE(gemma2.ok()) << gemma2.status().ToString();
  EXPECT_EQ(gemma2->attn_logit_softcapping, 50);
  EXPECT_EQ(gemma2->final_logit_softcapping, 30);
  EXPECT_EQ(gemma2->activation, Activation::kGelu);
  const auto gemma = ParseModelConfig(
      R"({"model_type": "gemma", "vocab_size": 384, "hidden_size": 64, "intermediate_size": 160,
          "num_hidden_layers": 2, "num_attention_heads": 4, "hidden_act": "gelu"})",
      "config.json");
  ASSERT_TRUE(gemma.ok()) << gemma.status().ToString();
  EXPECT_EQ(gemma->activation, Activation::kGeluTanh);
}

TEST(GemmaTest, WhatTheEngineDoesNotRunIsRefusedByName) {
  const std::string base =
      R"("vocab_size": 384, "hidden_size": 64, "intermediate_size": 160,
         "num_hidden_layers": 2, "num_attention_heads": 4)";
  const std::pair<std::string, std::string> cases[] = {
      {R"({"model_type": "gemma3", )" + base + "}",
       "model_type gemma3 (Gemma 3 with its vision tower) without a text_config"},
      {R"({"model_type": "gemma3_text", "use_bidirectional_attention": true, )" + base + "}",
       "use_bidirectional_attention"},
      {R"({"model_type": "gemma2", "hidden_activation": "relu", )" + base + "}",
       "hidden_activation 'relu'"},
      {R"({"model_type": "llama", "query_pre_attn_scalar": 24, )" + base + "}", ""},
      {R"({"model_type": "gemma3_text", "sliding_window": null, )" + base + "}",
       "sliding_window is null but layer_types has sliding layers"},
      {R"({"model_type": "gemma2", "attn_logit_softcapping": -1, )" + base + "}",
       "attn_logit_softcapping"},
  };
  for (const auto& [json, message] : cases) {
    const auto c = ParseModelConfig(json, "config.json");
    if (message.empty()) {  // a key another model_type does not have is not read
      EXPECT_TRUE(c.ok()) << json;
      EXPECT_EQ(c->query_pre_attn_scalar, 0) << json;
      continue;
    }
    ASSERT_FALSE(c.ok()) << json;
    EXPECT_NE(c.status().message().find(message), std::string::npos) << c.status().ToString();
  }
}

TEST(GemmaTest, MatchesTransformers) {
  for (const std::string name : {"gemma", "gemma2", "gemma3"}) {
    // Measured 4.8e-7, 5.3e-7 and 6.1e-7.
    EXPECT_LT(DifferenceFrom(AllLogits(Checkpoint(name)), kFixture.Data(name + "_transformers.f32"),
                             Reference::kTransformers),
              1e-5f)
        << name;
  }
}

// llama.cpp's GELU reads a table of f16 inputs (ggml's GGML_GELU_FP16), which moves these logits
// by up to ~3e-4 (Gemma 2 and 3; 1.5e-5 for Gemma): the tolerance is 1e-3. Its Gemma 2 derives
// the attention scale from head_dim (or, for the 27B, hidden / heads), so its reference ran the
// same checkpoint with query_pre_attn_scalar 32.
TEST(GemmaTest, GgufMatchesLlamaCppAndConvertsBack) {
  for (const std::string name : {"gemma", "gemma2", "gemma3"}) {
    ModelConfig c = Config(name);
    if (name == "gemma2") c.query_pre_attn_scalar = 32;
    const std::string folder = RandomCheckpoint(c, name + "_for_llama_cpp", 5);
    const auto [gguf, back] = testing_util::ConvertThroughF32Gguf(folder, name);
    const std::vector<float> from_gguf = AllLogits(gguf);
    // Measured 1.5e-5, 2.6e-4 and 2.2e-4.
    EXPECT_LT(
        DifferenceFrom(from_gguf, kFixture.Data(name + "_llama_cpp.f32"), Reference::kLlamaCpp),
        1e-3f)
        << name;
    // The GGUF's norms hold 1 + w, the folder's w again, and both give the same logits.
    const std::vector<float> from_folder = AllLogits(folder);
    float worst = 0;
    for (size_t i = 0; i < from_folder.size(); ++i) {
      worst = std::max(worst, std::fabs(from_folder[i] - from_gguf[i]));
    }
    EXPECT_LT(worst, 1e-5f) << name;  // measured 5.7e-7
    // The config comes back (the GGUF's f32 metadata rounds its doubles).
    const ModelConfig round_trip = ReadModelConfig(back + "/config.json");
    EXPECT_EQ(round_trip.arch, c.arch) << name;
    EXPECT_EQ(round_trip.sliding_window, c.sliding_window) << name;
    EXPECT_EQ(round_trip.sliding_layers, c.sliding_layers) << name;
    EXPECT_EQ(round_trip.AttentionScale(), c.AttentionScale()) << name;
    EXPECT_EQ(static_cast<float>(round_trip.attn_logit_softcapping),
              static_cast<float>(c.attn_logit_softcapping))
        << name;
    EXPECT_EQ(static_cast<float>(round_trip.final_logit_softcapping),
              static_cast<float>(c.final_logit_softcapping))
        << name;
    EXPECT_EQ(round_trip.local_rope_theta, c.local_rope_theta) << name;
    EXPECT_EQ(round_trip.rope_scaling.type, c.rope_scaling.type) << name;
    EXPECT_EQ(AllLogits(back), from_gguf) << name;
  }
}

// Gemma 3's released checkpoints above 1B are vision-language models: config.json's model_type
// gemma3 with the language model's config in text_config, which leaves out what
// Gemma3TextConfig has defaults for; the top level's eos_token_id stops generation too.
TEST(GemmaTest, AVisionLanguageConfigGivesItsLanguageModel) {
  const auto c = ParseModelConfig(
      R"({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
          "eos_token_id": [1, 106], "mm_tokens_per_image": 256,
          "text_config": {"hidden_size": 2560, "intermediate_size": 10240,
                          "model_type": "gemma3_text", "num_hidden_layers": 34,
                          "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
                          "sliding_window": 1024},
          "vision_config": {"model_type": "siglip_vision_model", "hidden_size": 1152}})",
      "config.json");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->arch, Architecture::kGemma3);
  EXPECT_EQ(c->vocab_size, 262208);
  EXPECT_EQ(c->hidden_size, 2560);
  EXPECT_EQ(c->num_layers, 34);
  EXPECT_EQ(c->n_q_heads, 8);
  EXPECT_EQ(c->n_k_heads, 4);
  EXPECT_EQ(c->head_dim, 256);
  EXPECT_EQ(c->query_pre_attn_scalar, 256);
  EXPECT_EQ(c->sliding_window, 1024);
  EXPECT_EQ(c->rope_scaling.factor, 8.0);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int64_t>{1, 106}));
  // Without a text_config there is no language model to read.
  const auto vision_only = ParseModelConfig(R"({"model_type": "gemma3"})", "config.json");
  ASSERT_FALSE(vision_only.ok());
  EXPECT_NE(vision_only.status().message().find("without a text_config"), std::string::npos);
}

// Such a checkpoint's tensors: the language model's under language_model.model.*, beside the
// vision tower's and the projector's. transformers' Gemma3ForConditionalGeneration gives a text
// prompt the logits of its language model alone (measured on a tiny one it saved: the engine's
// logits of that folder 4.8e-7 from its), so this folder, gemma3.json's checkpoint laid out so,
// must give the transformers reference of gemma3.json.
TEST(GemmaTest, AVisionLanguageCheckpointRunsItsLanguageModel) {
  const ModelConfig c = Config("gemma3");
  const std::string text = Checkpoint("gemma3");
  auto source = SafetensorsWeightSource::Open(text);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  // gemma3.json's checkpoint under `rename`'s names, beside a vision tower's tensors, which the
  // language model does not read; `extra`, where given, one tensor more under its text name.
  const auto write_layout = [&](const std::string& layout,
                                const std::function<std::string(const std::string&)>& rename,
                                const std::string& extra = "") {
    const std::string dir = testing_util::CheckpointRoot() + "/gemma3_" + layout;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    std::vector<SafetensorsTensorInfo> infos;
    std::vector<std::string> bytes;
    for (const auto& [name, view] : (*source)->tensors()) {
      for (const std::string& written : {rename(name), name == extra ? name : std::string()}) {
        if (written.empty()) continue;
        infos.push_back({written, std::string(SafetensorsDTypeName(view.dtype)), view.shape});
        bytes.emplace_back(static_cast<const char*>(view.data), view.nbytes);
      }
    }
    for (const char* name : {"vision_tower.vision_model.embeddings.patch_embedding.weight",
                             "multi_modal_projector.mm_input_projection_weight"}) {
      infos.push_back({name, "F32", {2, 2}});
      bytes.emplace_back(16, '\0');
    }
    auto writer = SafetensorsWriter::Create(dir + "/model.safetensors", infos);
    SIGMA_CHECK(writer.ok(), writer.status().ToString());
    for (const std::string& b : bytes) SIGMA_CHECK((*writer)->Write(b).ok(), "write");
    SIGMA_CHECK((*writer)->Finish().ok(), "finish");
    const std::string config = StrCat(
        R"({"architectures": ["Gemma3ForConditionalGeneration"], "model_type": "gemma3",
            "eos_token_id": [1, 106], "text_config": )",
        c.ToJson(), "}");
    SIGMA_CHECK(WriteFileAtomic(dir + "/config.json", config).ok(), "config");
    return dir;
  };
  // transformers' saved form (language_model.model.*) and its in-memory one
  // (model.language_model.*).
  const std::string saved =
      write_layout("saved", [](const std::string& name) { return "language_model." + name; });
  const std::string in_memory = write_layout("in_memory", [](const std::string& name) {
    return name.starts_with("model.") ? "model.language_model." + name.substr(6) : name;
  });
  EXPECT_LT(DifferenceFrom(AllLogits(saved), kFixture.Data("gemma3_transformers.f32"),
                           Reference::kTransformers),
            1e-5f);
  EXPECT_EQ(AllLogits(saved), AllLogits(text));
  EXPECT_EQ(AllLogits(in_memory), AllLogits(text));
  // A tensor under both its prefixed and its text name: which one is meant is not guessed.
  const std::string both = write_layout(
      "both", [](const std::string& name) { return "language_model." + name; },
      "model.norm.weight");
  const auto weights = LoadModelWeights(both);
  ASSERT_FALSE(weights.ok());
  EXPECT_NE(weights.status().message().find("both stand for 'model.norm.weight'"),
            std::string::npos)
      << weights.status().ToString();
}

TEST(GemmaTest, DecodeStepsGiveTheFullForwardsLogits) {
  for (const std::string name : {"gemma2", "gemma3"}) {
    testing_util::ExpectDecodeStepsGiveTheFullForwardsLogits(Checkpoint(name), IdsFromOne(40), 5);
  }
}

// Gemma 2's norms after the attention and the FFN under a model_type without them: refused, not
// run without them.
TEST(GemmaTest, SandwichNormsWithoutGemma2AreRefused) {
  ModelConfig gemma = Config("gemma2");
  gemma.arch = Architecture::kGemma;
  gemma.sliding_window = 0;
  gemma.sliding_layers.clear();
  gemma.query_pre_attn_scalar = gemma.attn_logit_softcapping = gemma.final_logit_softcapping = 0;
  const std::string dir = Checkpoint("gemma2");
  const Status written = WriteFileAtomic(dir + "/config.json", gemma.ToJson());
  ASSERT_TRUE(written.ok()) << written.ToString();
  const auto weights = LoadModelWeights(dir);
  ASSERT_FALSE(weights.ok());
  EXPECT_EQ(weights.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(weights.status().message().find("post_feedforward_layernorm.weight' is present but "
                                            "model_type gemma has no norms after"),
            std::string::npos)
      << weights.status().ToString();
}

}  // namespace
}  // namespace sigma
