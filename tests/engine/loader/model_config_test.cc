#include "engine/loader/model_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "engine/base/file.h"
#include "tests/engine/loader/loader_test_util.h"

namespace sigma {
namespace {

using testing_util::OracleDir;

ModelConfig ParseOk(const std::string& text) {
  StatusOr<ModelConfig> config = ParseModelConfig(text, "cfg.json");
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : ModelConfig();
}

ModelConfig ParseOracle(const std::string& name) {
  const std::string path = OracleDir(name) + "/config.json";
  StatusOr<std::string> text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  StatusOr<ModelConfig> config = ParseModelConfig(text.ok() ? *text : "", path);
  EXPECT_TRUE(config.ok()) << config.status().ToString();
  return config.ok() ? *config : ModelConfig();
}

void ExpectSameConfig(const ModelConfig& a, const ModelConfig& b) {
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.vocab_size, b.vocab_size);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.intermediate_size, b.intermediate_size);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.n_q_heads, b.n_q_heads);
  EXPECT_EQ(a.n_k_heads, b.n_k_heads);
  EXPECT_EQ(a.n_v_heads, b.n_v_heads);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.aug_q_intermediate_size, b.aug_q_intermediate_size);
  EXPECT_EQ(a.max_position_embeddings, b.max_position_embeddings);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.rope_scaling.type, b.rope_scaling.type);
  EXPECT_EQ(a.rope_scaling.factor, b.rope_scaling.factor);
  EXPECT_EQ(a.rope_scaling.low_freq_factor, b.rope_scaling.low_freq_factor);
  EXPECT_EQ(a.rope_scaling.high_freq_factor, b.rope_scaling.high_freq_factor);
  EXPECT_EQ(a.rope_scaling.original_max_position_embeddings,
            b.rope_scaling.original_max_position_embeddings);
  EXPECT_EQ(a.tie_word_embeddings, b.tie_word_embeddings);
  EXPECT_EQ(a.qkv_bias, b.qkv_bias);
  EXPECT_EQ(a.bos_token_id, b.bos_token_id);
  EXPECT_EQ(a.eos_token_ids, b.eos_token_ids);
}

// A Llama config as raw JSON values by key; tests edit entries, Render() writes the object.
class ConfigText {
 public:
  ConfigText() {
    fields_ = {{"architectures", R"(["LlamaForCausalLM"])"},
               {"model_type", R"("llama")"},
               {"vocab_size", "1000"},
               {"hidden_size", "64"},
               {"intermediate_size", "128"},
               {"num_hidden_layers", "2"},
               {"num_attention_heads", "8"},
               {"num_key_value_heads", "2"},
               {"rms_norm_eps", "1e-05"},
               {"rope_theta", "10000.0"},
               {"torch_dtype", R"("bfloat16")"},
               {"initializer_range", "0.02"}};
  }
  ConfigText& Set(const std::string& key, const std::string& raw) {
    fields_[key] = raw;
    return *this;
  }
  ConfigText& Erase(const std::string& key) {
    fields_.erase(key);
    return *this;
  }
  std::string Render() const {
    std::string out = "{";
    for (const auto& [key, value] : fields_) {
      out += (out.size() > 1 ? ", \"" : "\"") + key + "\": " + value;
    }
    return out + "}";
  }

 private:
  std::map<std::string, std::string> fields_;
};

ConfigText SigmaText() {
  return ConfigText()
      .Set("model_type", R"("sigma")")
      .Set("architectures", R"(["SigmaForCausalLM"])")
      .Erase("num_key_value_heads")
      .Set("num_key_heads", "2")
      .Set("num_value_heads", "4")
      .Set("head_dim", "16")
      .Set("aug_q_intermediate_size", "96");
}

TEST(ModelConfigTest, ParsesLlamaTransformers5OracleConfig) {
  const ModelConfig c = ParseOracle("llama-gqa-tiny");
  EXPECT_EQ(c.arch, Architecture::kLlama);
  EXPECT_EQ(c.vocab_size, 384);
  EXPECT_EQ(c.hidden_size, 96);
  EXPECT_EQ(c.intermediate_size, 256);
  EXPECT_EQ(c.num_layers, 3);
  EXPECT_EQ(c.n_q_heads, 6);
  EXPECT_EQ(c.n_k_heads, 2);
  EXPECT_EQ(c.n_v_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.aug_q_intermediate_size, 0);
  EXPECT_EQ(c.max_position_embeddings, 256);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_EQ(c.rope_scaling.type, "default");
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
}

TEST(ModelConfigTest, ParsesQwen2TiedOracleConfig) {
  const ModelConfig c = ParseOracle("qwen2-tied-tiny");
  EXPECT_EQ(c.arch, Architecture::kQwen2);
  EXPECT_EQ(c.n_q_heads, 4);
  EXPECT_EQ(c.n_k_heads, 1);
  EXPECT_EQ(c.n_v_heads, 1);
  EXPECT_EQ(c.head_dim, 16);  // no head_dim key: hidden / n_q
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_TRUE(c.eos_token_ids.empty());
}

TEST(ModelConfigTest, ParsesSigmaOracleConfig) {
  const ModelConfig c = ParseOracle("sigma-diffqkv-tiny");
  EXPECT_EQ(c.arch, Architecture::kSigma);
  EXPECT_EQ(c.n_q_heads, 8);
  EXPECT_EQ(c.n_k_heads, 2);
  EXPECT_EQ(c.n_v_heads, 4);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.aug_q_intermediate_size, 96);
  EXPECT_EQ(c.rope_theta, 50000.0);
  EXPECT_EQ(c.q_dim(), 128);
  EXPECT_EQ(c.k_dim(), 32);
  EXPECT_EQ(c.v_dim(), 64);
  ExpectSameConfig(c, *ModelConfigPreset("sigma-tiny"));
}

constexpr char kLlama32Transformers4[] = R"({
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009], "head_dim": 64, "hidden_act": "silu",
  "hidden_size": 2048, "initializer_range": 0.02, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "mlp_bias": false, "model_type": "llama",
  "num_attention_heads": 32, "num_hidden_layers": 16, "num_key_value_heads": 8,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.45.0.dev0", "use_cache": true, "vocab_size": 128256})";

constexpr char kLlama32Transformers5[] = R"({
  "architectures": null, "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009],
  "head_dim": 64, "hidden_size": 2048, "intermediate_size": 8192,
  "max_position_embeddings": 131072, "model_type": "llama", "num_attention_heads": 32,
  "num_hidden_layers": 16, "num_key_value_heads": 8, "rms_norm_eps": 1e-05,
  "rope_parameters": {"rope_theta": 500000.0, "rope_type": "llama3", "factor": 32.0,
                      "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 8192},
  "tie_word_embeddings": true, "dtype": "bfloat16", "vocab_size": 128256})";

TEST(ModelConfigTest, BothConfigFormsOfLlama3ScalingAgree) {
  const ModelConfig t4 = ParseOk(kLlama32Transformers4);
  const ModelConfig t5 = ParseOk(kLlama32Transformers5);
  EXPECT_EQ(t4.rope_scaling.type, "llama3");
  EXPECT_EQ(t4.rope_scaling.factor, 32.0);
  EXPECT_EQ(t4.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(t4.rope_theta, 500000.0);
  EXPECT_EQ(t4.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_TRUE(t4.tie_word_embeddings);
  ExpectSameConfig(t4, t5);
}

TEST(ModelConfigTest, LegacyTypeKeyAndNullHeadDim) {
  const ModelConfig c = ParseOk(ConfigText()
                                    .Set("rope_scaling", R"({"type": "linear", "factor": 2.0})")
                                    .Set("head_dim", "null")
                                    .Set("eos_token_id", "7")
                                    .Set("attention_bias", "true")
                                    .Render());
  EXPECT_EQ(c.rope_scaling.type, "linear");
  EXPECT_EQ(c.rope_scaling.factor, 2.0);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{7});
  EXPECT_TRUE(c.qkv_bias);
}

TEST(ModelConfigTest, MistralAndArchitecturesFallback) {
  const ModelConfig mistral = ParseOk(
      ConfigText().Set("model_type", R"("mistral")").Set("sliding_window", "4096").Render());
  EXPECT_EQ(mistral.arch, Architecture::kMistral);
  EXPECT_EQ(mistral.sliding_window, 4096);
  EXPECT_EQ(mistral.AttentionWindow(1), 4096);
  EXPECT_NE(mistral.ToJson().find("\"sliding_window\": 4096"), std::string::npos);
  EXPECT_EQ(ParseOk(mistral.ToJson()).sliding_window, 4096);
  EXPECT_TRUE(mistral.CheckContextLength(4096).ok());  // the CUDA backend's bound
  EXPECT_EQ(mistral.CheckContextLength(4097).code(), StatusCode::kInvalidArgument);
  // transformers' MistralConfig default where the key is absent.
  EXPECT_EQ(ParseOk(ConfigText().Set("model_type", R"("mistral")").Render()).sliding_window, 4096);
  const ModelConfig v3 = ParseOk(
      ConfigText().Set("model_type", R"("mistral")").Set("sliding_window", "null").Render());
  EXPECT_EQ(v3.sliding_window, 0);
  EXPECT_EQ(v3.AttentionWindow(0), 0);
  EXPECT_NE(v3.ToJson().find("\"sliding_window\": null"), std::string::npos);
  EXPECT_EQ(ParseOk(ConfigText().Set("partial_rotary_factor", "1.0").Render()).head_dim,
            v3.head_dim);  // RoPE on every dimension: accepted
  EXPECT_TRUE(v3.CheckContextLength(1 << 20).ok());
  // A Llama's is not read (transformers' Llama has none).
  EXPECT_EQ(ParseOk(ConfigText().Set("sliding_window", "4096").Render()).sliding_window, 0);
  ModelConfig llama = v3;
  llama.arch = Architecture::kLlama;
  llama.sliding_window = 16;
  EXPECT_NE(llama.Validate().ToString().find("sliding_window"), std::string::npos);
  const ModelConfig qwen = ParseOk(
      ConfigText().Erase("model_type").Set("architectures", R"(["Qwen2ForCausalLM"])").Render());
  EXPECT_EQ(qwen.arch, Architecture::kQwen2);
  EXPECT_TRUE(qwen.qkv_bias);
}

// Qwen2's window as transformers reads it: only with use_sliding_window, in the layers layer_types
// names "sliding_attention", else in those from max_window_layers (default 28) on; the window
// defaults to 4096. Written back in both forms.
TEST(ModelConfigTest, Qwen2SlidingWindowLayers) {
  const ConfigText qwen2 =
      ConfigText().Set("model_type", R"("qwen2")").Set("num_hidden_layers", "4");
  const ModelConfig off = ParseOk(ConfigText(qwen2).Set("sliding_window", "32").Render());
  EXPECT_EQ(off.sliding_window, 0);
  EXPECT_NE(off.ToJson().find("\"use_sliding_window\": false"), std::string::npos);
  // Four layers, all before the default max_window_layers 28: none slides.
  EXPECT_EQ(ParseOk(ConfigText(qwen2).Set("use_sliding_window", "true").Render()).sliding_window,
            0);
  const ModelConfig from_two = ParseOk(
      ConfigText(qwen2).Set("use_sliding_window", "true").Set("max_window_layers", "2").Render());
  EXPECT_EQ(from_two.sliding_window, 4096);
  EXPECT_EQ(from_two.sliding_layers, (std::vector<bool>{false, false, true, true}));
  const ModelConfig all = ParseOk(ConfigText(qwen2)
                                      .Set("use_sliding_window", "true")
                                      .Set("sliding_window", "32")
                                      .Set("max_window_layers", "0")
                                      .Render());
  EXPECT_EQ(all.sliding_window, 32);
  EXPECT_TRUE(all.sliding_layers.empty());  // every layer
  EXPECT_EQ(all.AttentionWindow(3), 32);
  const ModelConfig typed =
      ParseOk(ConfigText(qwen2)
                  .Set("use_sliding_window", "true")
                  .Set("sliding_window", "8")
                  .Set("max_window_layers", "0")  // layer_types wins
                  .Set("layer_types", R"(["full_attention", "sliding_attention", "full_attention",
                                   "sliding_attention"])")
                  .Render());
  EXPECT_EQ(typed.sliding_window, 8);
  EXPECT_EQ(typed.AttentionWindow(0), 0);
  EXPECT_EQ(typed.AttentionWindow(1), 8);
  EXPECT_EQ(typed.AttentionWindow(2), 0);
  EXPECT_EQ(typed.AttentionWindow(3), 8);
  for (const ModelConfig& c : {from_two, all, typed}) {
    const ModelConfig back = ParseOk(c.ToJson());
    EXPECT_EQ(back.sliding_window, c.sliding_window);
    EXPECT_EQ(back.sliding_layers, c.sliding_layers);
  }
  EXPECT_NE(from_two.ToJson().find("\"max_window_layers\": 2"), std::string::npos);
  EXPECT_EQ(ParseOk(ConfigText(qwen2)
                        .Set("use_sliding_window", "true")
                        .Set("sliding_window", "null")
                        .Set("max_window_layers", "0")
                        .Render())
                .sliding_window,
            0);
  SIGMA_EXPECT_ERROR(ParseModelConfig(ConfigText(qwen2)
                                          .Set("use_sliding_window", "true")
                                          .Set("layer_types", R"(["full_attention"])")
                                          .Render(),
                                      "cfg.json")
                         .status(),
                     StatusCode::kInvalidArgument, "layer_types has 1 entries for 4 layers");
  SIGMA_EXPECT_ERROR(
      ParseModelConfig(
          ConfigText(qwen2)
              .Set("use_sliding_window", "true")
              .Set("layer_types",
                   R"(["full_attention", "local", "full_attention", "full_attention"])")
              .Render(),
          "cfg.json")
          .status(),
      StatusCode::kInvalidArgument, "layer_types[1] 'local'");
  ModelConfig uneven = typed;
  uneven.sliding_layers.pop_back();
  SIGMA_EXPECT_ERROR(uneven.Validate(), StatusCode::kInvalidArgument, "sliding layers: 3 for 4");
}

TEST(ModelConfigTest, RopeInvFreqDefaultAndLinear) {
  ModelConfig c = *ModelConfigPreset("llama-tiny");
  c.head_dim = 4;
  c.rope_theta = 10000.0;
  EXPECT_EQ(c.RopeInvFreq(), (std::vector<float>{1.0f, 0.01f}));
  c.rope_scaling.type = "linear";
  c.rope_scaling.factor = 2.0;
  EXPECT_EQ(c.RopeInvFreq(), (std::vector<float>{0.5f, 0.005f}));
}

TEST(ModelConfigTest, RopeInvFreqLlama3MatchesHandComputedValues) {
  ModelConfig c = *ModelConfigPreset("llama-tiny");
  c.head_dim = 8;
  c.rope_theta = 500000.0;
  c.rope_scaling = {"llama3", 8.0, 1.0, 4.0, 8192};
  // inv_j = 500000^(-j/4); wavelength 2*pi/inv_j against 8192/4 = 2048 and 8192/1 = 8192:
  // j=0 (wavelength 6.3) and j=1 (167) keep inv; j=3 (118143) is divided by 8; j=2 (4443) is
  // smoothed with s = (8192/4442.88 - 1) / 3 = 0.281286: inv * ((1 - s) / 8 + s).
  const std::vector<float> inv = c.RopeInvFreq();
  ASSERT_EQ(inv.size(), 4u);
  EXPECT_FLOAT_EQ(inv[0], 1.0f);
  EXPECT_FLOAT_EQ(inv[1], 0.03760603093086393f);
  EXPECT_FLOAT_EQ(inv[2], 0.0005248461609929547f);
  EXPECT_FLOAT_EQ(inv[3], 6.647869871181236e-06f);
}

// The divisors a GGUF file stores for llama3 scaling (llama.cpp's rope_freqs.weight) give the
// frequencies of Hugging Face's formula when applied; where set they replace rope_scaling.
TEST(ModelConfigTest, RopeFreqFactorsOfLlama3) {
  ModelConfig c = *ModelConfigPreset("llama-tiny");
  c.head_dim = 8;
  c.rope_theta = 500000.0;
  EXPECT_TRUE(c.RopeFreqFactors().empty());  // default scaling: none
  c.rope_scaling = {"llama3", 8.0, 1.0, 4.0, 8192};
  // The values of RopeInvFreqLlama3MatchesHandComputedValues: pairs 0 and 1 kept, 3 divided by
  // 8, 2 smoothed with s = 0.281286: 1 / ((1 - s) / 8 + s).
  const std::vector<float> factors = c.RopeFreqFactors();
  ASSERT_EQ(factors.size(), 4u);
  EXPECT_EQ(factors[0], 1.0f);
  EXPECT_EQ(factors[1], 1.0f);
  EXPECT_NEAR(factors[2], 1.0 / ((1 - 0.281286) / 8 + 0.281286), 1e-4);  // s to 6 digits
  EXPECT_EQ(factors[3], 8.0f);
  ModelConfig divided = c;
  divided.rope_scaling = RopeScaling{};
  divided.rope_freq_factors = factors;
  EXPECT_TRUE(divided.Validate().ok()) << divided.Validate().ToString();
  const std::vector<float> want = c.RopeInvFreq(), got = divided.RopeInvFreq();
  for (size_t j = 0; j < 4; ++j) EXPECT_NEAR(got[j], want[j], 1e-6 * want[j]) << j;
  EXPECT_EQ(divided.RopeFreqFactors(), factors);
}

TEST(ModelConfigTest, BadRopeFreqFactorsAreErrors) {
  ModelConfig c = *ModelConfigPreset("llama-tiny");
  const int64_t half = c.head_dim / 2;
  const auto message = [&](std::vector<float> factors, RopeScaling scaling = {}) {
    ModelConfig bad = c;
    bad.rope_freq_factors = std::move(factors);
    bad.rope_scaling = scaling;
    return bad.Validate().ToString();
  };
  std::vector<float> ones(static_cast<size_t>(half), 1.0f);
  EXPECT_NE(message(std::vector<float>(3, 1.0f)).find("3 values for head_dim"), std::string::npos);
  for (float v : {0.0f, -1.0f, std::nanf(""), INFINITY}) {
    std::vector<float> f = ones;
    f[1] = v;
    EXPECT_NE(message(f).find("rope_freq_factors[1]"), std::string::npos) << v;
  }
  EXPECT_NE(message(ones, {"linear", 2.0}).find("not with linear"), std::string::npos);
  EXPECT_EQ(message(ones, {"llama3", 8.0, 1.0, 4.0, 8192}), "OK");
}

TEST(ModelConfigTest, PresetsValidate) {
  for (const std::string& name : ModelConfigPresetNames()) {
    StatusOr<ModelConfig> c = ModelConfigPreset(name);
    ASSERT_TRUE(c.ok()) << name;
    EXPECT_TRUE(c->Validate().ok()) << name << ": " << c->Validate().ToString();
  }
  const ModelConfig sigma = *ModelConfigPreset("sigma-1.5b");
  EXPECT_EQ(sigma.arch, Architecture::kSigma);
  EXPECT_EQ(sigma.num_layers, 26);
  EXPECT_EQ(sigma.hidden_size, 2048);
  EXPECT_EQ(sigma.n_q_heads, 32);
  EXPECT_EQ(sigma.n_k_heads, 4);
  EXPECT_EQ(sigma.n_v_heads, 16);
  EXPECT_EQ(sigma.head_dim, 64);
  EXPECT_EQ(sigma.aug_q_intermediate_size, 3072);
  EXPECT_EQ(sigma.intermediate_size, 6144);
  EXPECT_EQ(sigma.vocab_size, 128256);
  EXPECT_EQ(sigma.rope_theta, 50000.0);
  EXPECT_EQ(sigma.rms_norm_eps, 1e-6);
  EXPECT_FALSE(sigma.tie_word_embeddings);
  const ModelConfig gqa = *ModelConfigPreset("gqa16");
  EXPECT_EQ(gqa.arch, Architecture::kLlama);
  EXPECT_EQ(gqa.n_k_heads, 16);
  EXPECT_EQ(gqa.n_v_heads, 16);
  EXPECT_EQ(gqa.aug_q_intermediate_size, 0);
  EXPECT_EQ(gqa.num_layers, 26);
  const ModelConfig moe = *ModelConfigPreset("mixtral-mini");
  EXPECT_EQ(moe.arch, Architecture::kMixtral);
  EXPECT_EQ(moe.moe.num_experts, 32);
  EXPECT_EQ(moe.moe.experts_per_token, 4);
  EXPECT_TRUE(moe.MoeLayer(7));
  SIGMA_EXPECT_ERROR(ModelConfigPreset("gpt5").status(), StatusCode::kNotFound, "sigma-1.5b");
}

TEST(ModelConfigTest, ToJsonRoundTrips) {
  std::vector<ModelConfig> configs;
  for (const std::string& name : ModelConfigPresetNames())
    configs.push_back(*ModelConfigPreset(name));
  configs.push_back(ParseOk(kLlama32Transformers4));
  configs.push_back(ParseOracle("qwen2-tied-tiny"));
  configs.push_back(ParseOk(ConfigText()
                                .Set("rope_scaling", R"({"type": "linear", "factor": 4})")
                                .Set("rms_norm_eps", "1.1e-07")
                                .Render()));
  for (const ModelConfig& c : configs) {
    SCOPED_TRACE(c.ToJson());
    ExpectSameConfig(ParseOk(c.ToJson()), c);
  }
}

struct BadCase {
  std::string json;
  StatusCode code;
  std::string substring;
};

TEST(ModelConfigTest, BadConfigsGiveStatusesNamingTheField) {
  const std::vector<BadCase> cases = {
      {"{\"model_type\": ", StatusCode::kInvalidArgument, "cfg.json: invalid JSON"},
      {"[1, 2]", StatusCode::kInvalidArgument, "expected a JSON object"},
      {ConfigText().Set("num_attention_heads", "0").Render(), StatusCode::kInvalidArgument,
       "cfg.json: num_attention_heads"},
      {ConfigText().Set("num_key_value_heads", "0").Render(), StatusCode::kInvalidArgument,
       "num_key_value_heads"},
      {ConfigText().Set("num_key_value_heads", "3").Render(), StatusCode::kInvalidArgument,
       "divisible by num_key_value_heads (3)"},
      {SigmaText().Set("num_key_heads", "3").Render(), StatusCode::kInvalidArgument,
       "divisible by num_key_heads (3)"},
      {SigmaText().Set("num_value_heads", "3").Render(), StatusCode::kInvalidArgument,
       "divisible by num_value_heads (3)"},
      {SigmaText().Set("aug_q_intermediate_size", "-1").Render(), StatusCode::kInvalidArgument,
       "aug_q_intermediate_size"},
      {ConfigText().Set("head_dim", "15").Render(), StatusCode::kInvalidArgument,
       "head_dim: must be even"},
      // Once taken for "absent" (hidden_size / num_attention_heads).
      {ConfigText().Set("head_dim", "0").Render(), StatusCode::kInvalidArgument,
       "head_dim: expected an integer in [2, 65536], got 0"},
      {ConfigText().Set("hidden_size", "-64").Set("head_dim", "8").Render(),
       StatusCode::kInvalidArgument, "hidden_size"},
      {ConfigText().Set("hidden_size", "100").Render(), StatusCode::kInvalidArgument,
       "not divisible by num_attention_heads"},
      {ConfigText().Set("vocab_size", "1e18").Render(), StatusCode::kInvalidArgument, "vocab_size"},
      {ConfigText().Erase("vocab_size").Render(), StatusCode::kInvalidArgument,
       "missing required integer field 'vocab_size'"},
      {ConfigText().Set("hidden_size", "\"64\"").Render(), StatusCode::kInvalidArgument,
       "hidden_size: expected an integer, got a string"},
      {ConfigText().Set("num_hidden_layers", "2.5").Render(), StatusCode::kInvalidArgument,
       "num_hidden_layers: expected an integer"},
      {ConfigText().Set("rms_norm_eps", "0").Render(), StatusCode::kInvalidArgument,
       "rms_norm_eps"},
      {ConfigText().Set("rope_theta", "-1.0").Render(), StatusCode::kInvalidArgument, "rope_theta"},
      {ConfigText().Set("rope_scaling", R"({"rope_type": "dynamic", "factor": 4.0})").Render(),
       StatusCode::kInvalidArgument, "rope_scaling.rope_type: unsupported 'dynamic'"},
      {ConfigText().Set("rope_scaling", "\"linear\"").Render(), StatusCode::kInvalidArgument,
       "rope_scaling: expected an object"},
      {ConfigText().Set("rope_scaling", R"({"rope_type": "linear", "factor": "2"})").Render(),
       StatusCode::kInvalidArgument, "rope_scaling: factor: expected a number"},
      {ConfigText()
           .Set("rope_scaling", R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 4,
                                    "high_freq_factor": 1})")
           .Render(),
       StatusCode::kInvalidArgument, "high_freq_factor"},
      {ConfigText().Set("rope_parameters", R"({"rope_theta": "big"})").Render(),
       StatusCode::kInvalidArgument, "rope_parameters: rope_theta: expected a number"},
      {ConfigText().Set("partial_rotary_factor", "0.5").Render(), StatusCode::kUnimplemented,
       "partial_rotary_factor 0.5"},
      {ConfigText()
           .Set("rope_parameters", R"({"rope_theta": 1e4, "partial_rotary_factor": 0.25})")
           .Render(),
       StatusCode::kUnimplemented, "rope_parameters: partial_rotary_factor 0.25"},
      {ConfigText().Set("eos_token_id", "\"</s>\"").Render(), StatusCode::kInvalidArgument,
       "eos_token_id: expected an integer or a list"},
      {ConfigText().Set("eos_token_id", "[1, \"x\"]").Render(), StatusCode::kInvalidArgument,
       "eos_token_id"},
      {ConfigText().Set("tie_word_embeddings", "1").Render(), StatusCode::kInvalidArgument,
       "tie_word_embeddings: expected a boolean"},
      {ConfigText().Set("architectures", "\"Llama\"").Render(), StatusCode::kInvalidArgument,
       "architectures"},
      {ConfigText().Set("model_type", R"("gpt2")").Render(), StatusCode::kUnimplemented,
       "unsupported model_type 'gpt2'"},
      {ConfigText().Erase("model_type").Set("architectures", "null").Render(),
       StatusCode::kInvalidArgument, "missing 'model_type'"},
      {ConfigText().Set("hidden_act", R"("gelu")").Render(), StatusCode::kUnimplemented,
       "hidden_act 'gelu'"},
      {ConfigText().Set("mlp_bias", "true").Render(), StatusCode::kUnimplemented, "mlp_bias"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.json);
    SIGMA_EXPECT_ERROR(ParseModelConfig(c.json, "cfg.json").status(), c.code, c.substring);
  }
}

TEST(ModelConfigTest, ValidateRejectsMismatchedArchitectureFields) {
  ModelConfig c = *ModelConfigPreset("llama-tiny");
  c.n_v_heads = 1;
  SIGMA_EXPECT_ERROR(c.Validate(), StatusCode::kInvalidArgument, "equal K and V head counts");
  c = *ModelConfigPreset("llama-tiny");
  c.aug_q_intermediate_size = 32;
  SIGMA_EXPECT_ERROR(c.Validate(), StatusCode::kInvalidArgument, "aug_q_intermediate_size");
  c = *ModelConfigPreset("sigma-tiny");
  c.rope_scaling.type = "dynamic";
  SIGMA_EXPECT_ERROR(c.Validate(), StatusCode::kInvalidArgument, "rope_scaling.rope_type");
  EXPECT_EQ(ArchitectureName(Architecture::kMistral), "mistral");
}

}  // namespace
}  // namespace sigma
