// GGUF model mapping: tensor names, the llama Q/K row permutation, ModelConfig from metadata, a
// random-weight round trip through the writer, and the real SmolLM2 file when models/ has it.
#include "engine/gguf/gguf_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <random>

#include "engine/base/file.h"

namespace sigma {
namespace {

const std::string kModel =
    std::string(SIGMA_SOURCE_DIR) + "/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

TEST(GgufModelTest, TensorNames) {
  EXPECT_EQ(GgufToHfTensorName("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(GgufToHfTensorName("output_norm.weight"), "model.norm.weight");
  EXPECT_EQ(GgufToHfTensorName("output.weight"), "lm_head.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.12.attn_q.weight"), "model.layers.12.self_attn.q_proj.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.0.attn_k.bias"), "model.layers.0.self_attn.k_proj.bias");
  EXPECT_EQ(GgufToHfTensorName("blk.3.attn_output.weight"),
            "model.layers.3.self_attn.o_proj.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.3.attn_norm.weight"), "model.layers.3.input_layernorm.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.3.ffn_norm.weight"),
            "model.layers.3.post_attention_layernorm.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.3.ffn_down.weight"), "model.layers.3.mlp.down_proj.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.3.attn_q_gate.weight"),
            "model.layers.3.self_attn.q_gate_proj.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.x.attn_q.weight"), "blk.x.attn_q.weight");
  EXPECT_EQ(GgufToHfTensorName("rope_freqs.weight"), "rope_freqs.weight");
  // Phi-3's fused matrices: attn_qkv always, ffn_up as gate_up_proj in a phi3 file only.
  EXPECT_EQ(GgufToHfTensorName("blk.2.attn_qkv.weight"),
            "model.layers.2.self_attn.qkv_proj.weight");
  const GgufNames phi3{.fused_ffn = true};
  EXPECT_EQ(GgufToHfTensorName("blk.2.ffn_up.weight", phi3),
            "model.layers.2.mlp.gate_up_proj.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.2.ffn_up.weight"), "model.layers.2.mlp.up_proj.weight");
  EXPECT_EQ(HfToGgufTensorName("model.layers.2.mlp.gate_up_proj.weight", phi3),
            "blk.2.ffn_up.weight");
  // Gemma 2's and 3's four norms a layer; ffn_norm is then the FFN's input norm.
  const GgufNames gemma2{.post_norms = true};
  EXPECT_EQ(GgufToHfTensorName("blk.4.ffn_norm.weight", gemma2),
            "model.layers.4.pre_feedforward_layernorm.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.4.post_attention_norm.weight", gemma2),
            "model.layers.4.post_attention_layernorm.weight");
  EXPECT_EQ(GgufToHfTensorName("blk.4.post_ffw_norm.weight", gemma2),
            "model.layers.4.post_feedforward_layernorm.weight");
  for (const char* n :
       {"blk.4.attn_norm.weight", "blk.4.post_attention_norm.weight", "blk.4.ffn_norm.weight",
        "blk.4.post_ffw_norm.weight", "blk.4.attn_q_norm.weight"}) {
    EXPECT_EQ(HfToGgufTensorName(GgufToHfTensorName(n, gemma2), gemma2), n);
  }
  for (const char* n : {"token_embd.weight", "blk.7.ffn_up.weight", "blk.0.attn_v.bias",
                        "output.weight", "blk.1.attn_q_down.weight"}) {
    EXPECT_EQ(HfToGgufTensorName(GgufToHfTensorName(n)), n);
  }
}

TEST(GgufModelTest, PermutationMatchesConvertHfToGguf) {
  // One head of 4 rows: HF rows [r0 r1 | r2 r3] (halves) are stored as r0 r2 r1 r3.
  std::vector<uint8_t> hf = {0, 1, 2, 3, 10, 11, 12, 13};  // 2 heads, 1 byte per row
  std::vector<uint8_t> gguf, back;
  ASSERT_TRUE(PermuteQkRows(hf, 8, 1, 2, true, &gguf).ok());
  EXPECT_EQ(gguf, (std::vector<uint8_t>{0, 2, 1, 3, 10, 12, 11, 13}));
  ASSERT_TRUE(PermuteQkRows(gguf, 8, 1, 2, false, &back).ok());
  EXPECT_EQ(back, hf);
  EXPECT_FALSE(PermuteQkRows(hf, 8, 1, 3, true, &gguf).ok());
  EXPECT_FALSE(PermuteQkRows(hf, 8, 2, 2, true, &gguf).ok());
}

ModelConfig TinyConfig(Architecture arch) {
  ModelConfig c;
  c.arch = arch;
  c.vocab_size = 64;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_layers = 2;
  c.n_q_heads = 4;
  c.n_k_heads = 2;
  c.n_v_heads = arch == Architecture::kSigma ? 1 : 2;
  c.head_dim = 16;
  c.aug_q_intermediate_size = arch == Architecture::kSigma ? 32 : 0;
  c.max_position_embeddings = 256;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 50000;
  c.tie_word_embeddings = arch != Architecture::kSigma;
  c.qkv_bias = arch == Architecture::kQwen2;
  c.bos_token_id = 1;
  c.eos_token_ids = {2};
  return c;
}

// Writes every tensor BindWeights expects (f32 matrices, rows filled with their row index so the
// permutation is visible), loads it back, and checks config and rows.
void RoundTrip(Architecture arch) {
  const ModelConfig config = TinyConfig(arch);
  GgufWriter writer;
  ASSERT_TRUE(AddModelConfigToGguf(config, &writer).ok());
  std::vector<std::vector<float>> storage;
  for (const ExpectedTensor& t : ExpectedTensors(config)) {
    TensorView v;
    v.name = t.name;
    v.dtype = DType::kF32;
    v.shape = t.shape;
    std::vector<float> data(v.numel());
    const int64_t cols = v.cols();
    for (size_t k = 0; k < data.size(); ++k)
      data[k] = static_cast<float>(k / cols) + 0.001f * (k % cols);
    v.data = data.data();
    v.nbytes = data.size() * 4;
    ASSERT_TRUE(AddHfTensorToGguf(config, v, &writer).ok()) << t.name;
    storage.push_back(std::move(data));
  }
  auto file = GgufFile::FromBytes(writer.Serialize(), "tiny.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto read = ModelConfigFromGguf(**file);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->arch, arch);
  EXPECT_EQ(read->n_k_heads, config.n_k_heads);
  EXPECT_EQ(read->n_v_heads, config.n_v_heads);
  EXPECT_EQ(read->aug_q_intermediate_size, config.aug_q_intermediate_size);
  EXPECT_EQ(read->head_dim, 16);
  EXPECT_EQ(read->tie_word_embeddings, config.tie_word_embeddings);
  EXPECT_EQ(read->qkv_bias, config.qkv_bias);
  EXPECT_EQ(read->rope_theta, 50000);
  EXPECT_EQ(read->eos_token_ids, config.eos_token_ids);
  if (arch == Architecture::kLlama) {  // stored permuted: GGUF row 1 is HF row 8 (head_dim 16)
    const GgufTensorInfo* q = (*file)->FindTensor("blk.0.attn_q.weight");
    ASSERT_NE(q, nullptr);
    float row1;
    std::memcpy(&row1, (*file)->TensorData(*q).data() + 64 * 4, 4);
    EXPECT_EQ(row1, 8.f);
  }
  std::shared_ptr<const GgufFile> shared = std::move(*file);
  auto source = GgufWeightSource::Create(shared, *read);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  auto weights = BindWeights(*read, *source);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  for (const TensorView* v : {&weights->layers[1].q_proj, &weights->layers[1].k_proj}) {
    const float* p = static_cast<const float*>(v->data);
    for (int64_t r = 0; r < v->rows(); ++r)
      ASSERT_EQ(p[r * v->cols()], static_cast<float>(r)) << v->name;
  }
}

TEST(GgufModelTest, RoundTripLlama) { RoundTrip(Architecture::kLlama); }
TEST(GgufModelTest, RoundTripQwen2) { RoundTrip(Architecture::kQwen2); }
TEST(GgufModelTest, RoundTripSigma) { RoundTrip(Architecture::kSigma); }

TEST(GgufModelTest, ConfigErrorsNameTheKey) {
  GgufWriter w;
  w.SetString("general.architecture", "gptneox");
  auto f = GgufFile::FromBytes(w.Serialize(), "x.gguf");
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(ModelConfigFromGguf(**f).status().code(), StatusCode::kUnimplemented);
  GgufWriter w2;
  w2.SetString("general.architecture", "llama");
  w2.SetU32("llama.embedding_length", 64);
  w2.SetU32("llama.block_count", 100000);
  auto f2 = GgufFile::FromBytes(w2.Serialize(), "y.gguf");
  auto s = ModelConfigFromGguf(**f2).status();
  EXPECT_NE(s.message().find("llama.block_count"), std::string::npos) << s.ToString();
  GgufWriter w3;
  w3.SetString("general.architecture", "llama");
  w3.SetString("llama.embedding_length", "576");
  auto f3 = GgufFile::FromBytes(w3.Serialize(), "z.gguf");
  s = ModelConfigFromGguf(**f3).status();
  EXPECT_NE(s.message().find("expected an integer"), std::string::npos) << s.ToString();
  // A llama file with experts is Mixtral, which needs expert_used_count; a qwen2 file has none.
  GgufWriter w4;
  ASSERT_TRUE(AddModelConfigToGguf(TinyConfig(Architecture::kLlama), &w4).ok());
  w4.SetU32("llama.expert_count", 8);
  auto f4 = GgufFile::FromBytes(w4.Serialize(), "moe.gguf");
  s = ModelConfigFromGguf(**f4).status();
  EXPECT_NE(s.message().find("llama.expert_used_count"), std::string::npos) << s.ToString();
  w4.SetU32("llama.expert_used_count", 9);
  f4 = GgufFile::FromBytes(w4.Serialize(), "moe.gguf");
  s = ModelConfigFromGguf(**f4).status();
  EXPECT_NE(s.message().find("llama.expert_used_count = 9 (expected 1 to 8)"), std::string::npos)
      << s.ToString();
  GgufWriter w5;
  ASSERT_TRUE(AddModelConfigToGguf(TinyConfig(Architecture::kQwen2), &w5).ok());
  w5.SetU32("qwen2.expert_count", 8);
  auto f5 = GgufFile::FromBytes(w5.Serialize(), "moe.gguf");
  s = ModelConfigFromGguf(**f5).status();
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("qwen2.expert_count 8: a qwen2 file with experts"), std::string::npos)
      << s.ToString();
}

// A mixture's experts are one stacked tensor a matrix kind: written slice by slice in order, and
// read back as one view per expert; a stack that is not 3-D is refused by name.
TEST(GgufModelTest, StackedExperts) {
  GgufWriter w;
  const std::vector<float> a(6, 1.0f), b(6, 2.0f);
  const auto bytes = [](const std::vector<float>& v) {
    return std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * 4);
  };
  EXPECT_NE(w.AddTensorSlice("blk.0.ffn_up_exps.weight", DType::kF32, {2, 3}, 1, bytes(a))
                .message()
                .find("before slice 0"),
            std::string::npos);
  ASSERT_TRUE(w.AddTensorSlice("blk.0.ffn_up_exps.weight", DType::kF32, {2, 3}, 0, bytes(a)).ok());
  EXPECT_NE(w.AddTensorSlice("blk.0.ffn_up_exps.weight", DType::kF32, {2, 3}, 2, bytes(b))
                .message()
                .find("slice 2 given after 1 slices"),
            std::string::npos);
  EXPECT_NE(w.AddTensorSlice("blk.0.ffn_up_exps.weight", DType::kF32, {3, 2}, 1, bytes(b))
                .message()
                .find("differs in type or shape"),
            std::string::npos);
  ASSERT_TRUE(w.AddTensorSlice("blk.0.ffn_up_exps.weight", DType::kF32, {2, 3}, 1, bytes(b)).ok());
  ASSERT_TRUE(w.AddTensor("blk.0.ffn_gate_exps.weight", DType::kF32, {2, 3}, bytes(a)).ok());
  auto file = GgufFile::FromBytes(w.Serialize(), "experts.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const GgufTensorInfo* up = (*file)->FindTensor("blk.0.ffn_up_exps.weight");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->shape, (std::vector<int64_t>{2, 2, 3}));
  ModelConfig c = TinyConfig(Architecture::kLlama);
  c.arch = Architecture::kMixtral;
  const auto source = GgufWeightSource::Create(std::move(file).value(), c);
  EXPECT_EQ(source.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(source.status().message().find(
                "tensor 'blk.0.ffn_gate_exps.weight': 2 dims (a stack of experts' matrices has 3)"),
            std::string::npos)
      << source.status().ToString();
}

// Llama 3.1's shape of scaling: head_dim 128, rope_theta 5e5, factor 8, low / high frequency
// factors 1 and 4, original context 8192 (of 64 frequencies, the band between holds a few).
ModelConfig Llama31Rope() {
  ModelConfig c = TinyConfig(Architecture::kLlama);
  c.hidden_size = 256;
  c.n_q_heads = 2;
  c.n_k_heads = c.n_v_heads = 1;
  c.head_dim = 128;
  c.rope_theta = 500000;
  c.rope_scaling = {"llama3", 8.0, 1.0, 4.0, 8192};
  return c;
}

// A file with `config`'s metadata (AddModelConfigToGguf), what `extra` adds, and a zero
// token_embd.weight, which ModelConfigFromGguf reads the vocabulary size from.
std::unique_ptr<GgufFile> MetadataFile(const ModelConfig& config,
                                       const std::function<void(GgufWriter&)>& extra = {}) {
  GgufWriter w;
  SIGMA_CHECK(AddModelConfigToGguf(config, &w).ok());
  if (extra) extra(w);
  const std::vector<float> embed(static_cast<size_t>(config.vocab_size * config.hidden_size));
  SIGMA_CHECK(
      w.AddTensor("token_embd.weight", DType::kF32, {config.vocab_size, config.hidden_size},
                  std::string_view(reinterpret_cast<const char*>(embed.data()), embed.size() * 4))
          .ok());
  auto file = GgufFile::FromBytes(w.Serialize(), "metadata.gguf");
  SIGMA_CHECK(file.ok(), file.status().ToString());
  return std::move(file).value();
}

// Metadata of `config` without its scaling, and `factors` as rope_freqs.weight (`dtype`, `shape`):
// a file as llama.cpp's converter writes it.
std::unique_ptr<GgufFile> LlamaCppFile(ModelConfig config, const std::vector<float>& factors,
                                       DType dtype = DType::kF32, std::vector<int64_t> shape = {}) {
  config.rope_scaling = RopeScaling{};
  std::vector<uint16_t> halves(factors.size());
  for (size_t j = 0; j < factors.size(); ++j) halves[j] = F32ToF16(factors[j]);
  const std::string_view bytes =
      dtype == DType::kF32
          ? std::string_view(reinterpret_cast<const char*>(factors.data()), factors.size() * 4)
          : std::string_view(reinterpret_cast<const char*>(halves.data()), halves.size() * 2);
  if (shape.empty()) shape = {static_cast<int64_t>(factors.size())};
  return MetadataFile(config, [&](GgufWriter& w) {
    SIGMA_CHECK(w.AddTensor("rope_freqs.weight", dtype, shape, bytes).ok());
  });
}

// llama3 scaling is written as llama.cpp writes it (the divisors) plus its parameters, and the
// divisors alone give Hugging Face's scaled frequencies.
TEST(GgufModelTest, Llama3RopeScalingIsWrittenAsDivisors) {
  ModelConfig config = Llama31Rope();
  config.rope_scaling = {"llama3", 16.0, 0.5, 3.0, 1000};
  GgufWriter w;
  ASSERT_TRUE(AddModelConfigToGguf(config, &w).ok());
  auto file = GgufFile::FromBytes(w.Serialize(), "x.gguf");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(*(*file)->GetFloat("sigma.rope.llama3.low_freq_factor"), 0.5);
  EXPECT_EQ((*file)->Find("llama.rope.scaling.type"), nullptr);  // llama.cpp would apply it too
  const GgufTensorInfo* t = (*file)->FindTensor("rope_freqs.weight");
  ASSERT_NE(t, nullptr);
  std::vector<float> stored(64);
  std::memcpy(stored.data(), (*file)->TensorData(*t).data(), 64 * sizeof(float));
  EXPECT_EQ(stored, config.RopeFreqFactors());
  EXPECT_EQ(stored.front(), 1.0f);  // the shortest wavelength is kept
  EXPECT_EQ(stored.back(), 16.0f);  // the longest divided by factor

  ModelConfig applied = config;
  applied.rope_scaling = RopeScaling{};
  applied.rope_freq_factors = stored;
  const std::vector<float> want = config.RopeInvFreq(), got = applied.RopeInvFreq();
  ASSERT_EQ(got.size(), want.size());
  for (size_t j = 0; j < got.size(); ++j) EXPECT_NEAR(got[j], want[j], 1e-6 * want[j]) << j;
}

TEST(GgufModelTest, Llama3ParametersReadBackFromTheirKeys) {
  ModelConfig config = Llama31Rope();
  config.rope_scaling = {"llama3", 16.0, 0.5, 3.0, 1000};
  auto read = ModelConfigFromGguf(*MetadataFile(config));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rope_scaling.type, "llama3");
  EXPECT_EQ(read->rope_scaling.factor, 16.0);
  EXPECT_EQ(read->rope_scaling.low_freq_factor, 0.5);
  EXPECT_EQ(read->rope_scaling.high_freq_factor, 3.0);
  EXPECT_EQ(read->rope_scaling.original_max_position_embeddings, 1000);
  EXPECT_EQ(read->rope_freq_factors, config.RopeFreqFactors());
  EXPECT_TRUE(read->Validate().ok()) << read->Validate().ToString();
}

// A llama.cpp file carries only the divisors: Llama 3.x's own are recognised as llama3 scaling
// (so the file converts back to a config.json); others are applied as they are.
TEST(GgufModelTest, LlamaCppDivisorsWithoutKeys) {
  const ModelConfig config = Llama31Rope();
  const std::vector<float> factors = config.RopeFreqFactors();
  auto read = ModelConfigFromGguf(*LlamaCppFile(config, factors));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rope_scaling.type, "llama3");
  EXPECT_EQ(read->rope_scaling.factor, 8.0);
  EXPECT_EQ(read->rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(read->rope_freq_factors, factors);

  std::vector<float> other = factors;
  for (float& f : other) f *= 1.5f;
  read = ModelConfigFromGguf(*LlamaCppFile(config, other));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rope_scaling.type, "default");
  EXPECT_EQ(read->rope_freq_factors, other);
  const std::vector<float> inv = read->RopeInvFreq();
  EXPECT_FLOAT_EQ(inv[0], 1.0f / 1.5f);
}

TEST(GgufModelTest, BadRopeFreqsAreErrors) {
  const ModelConfig config = Llama31Rope();
  const std::vector<float> good = config.RopeFreqFactors();
  const auto error = [](const std::unique_ptr<GgufFile>& f) {
    return ModelConfigFromGguf(*f).status();
  };
  for (const Status& s :
       {error(LlamaCppFile(config, good, DType::kF16)),
        error(LlamaCppFile(config, std::vector<float>(good.begin(), good.end() - 1))),
        error(LlamaCppFile(config, good, DType::kF32, {2, 32}))}) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
    EXPECT_NE(s.message().find("rope_freqs.weight' must be f32 [64]"), std::string::npos)
        << s.ToString();
  }
  for (float bad : {0.0f, -2.0f, std::nanf(""), INFINITY}) {
    std::vector<float> f = good;
    f[5] = bad;
    const Status s = error(LlamaCppFile(config, f));
    EXPECT_NE(s.message().find("value 5 is"), std::string::npos) << s.ToString();
  }
  // With linear scaling too.
  ModelConfig linear = config;
  linear.rope_scaling = {"linear", 2.0};
  GgufWriter w;
  ASSERT_TRUE(AddModelConfigToGguf(linear, &w).ok());
  ASSERT_TRUE(w.AddTensor("rope_freqs.weight", DType::kF32, {64},
                          std::string_view(reinterpret_cast<const char*>(good.data()), 256))
                  .ok());
  auto f = GgufFile::FromBytes(w.Serialize(), "both.gguf");
  ASSERT_TRUE(f.ok());
  Status s = ModelConfigFromGguf(**f).status();
  EXPECT_NE(s.message().find("and rope.scaling.type 'linear' together"), std::string::npos)
      << s.ToString();
  // Parameters without the divisors, and parameters that disagree with them.
  GgufWriter keys_only;
  ModelConfig llama3 = config;
  ASSERT_TRUE(AddModelConfigToGguf(linear, &keys_only).ok());
  keys_only.SetF32("sigma.rope.llama3.factor", 8);
  f = GgufFile::FromBytes(keys_only.Serialize(), "keys.gguf");
  ASSERT_TRUE(f.ok());
  s = ModelConfigFromGguf(**f).status();
  EXPECT_NE(s.message().find("without tensor 'rope_freqs.weight'"), std::string::npos)
      << s.ToString();
  GgufWriter disagree;
  llama3.rope_scaling.factor = 8;
  ASSERT_TRUE(AddModelConfigToGguf(llama3, &disagree).ok());
  disagree.SetF32("sigma.rope.llama3.factor", 4);  // replaces the key
  f = GgufFile::FromBytes(disagree.Serialize(), "disagree.gguf");
  ASSERT_TRUE(f.ok());
  s = ModelConfigFromGguf(**f).status();
  EXPECT_NE(s.message().find("disagrees with the llama3 scaling"), std::string::npos)
      << s.ToString();
}

// A Mistral with a sliding window is written as llama (as llama.cpp writes Mistral) with
// llama.attention.sliding_window, and reads back as that Mistral; without a window it is a Llama.
TEST(GgufModelTest, MistralWindowRoundTrips) {
  ModelConfig config = TinyConfig(Architecture::kMistral);
  config.sliding_window = 4096;
  const std::unique_ptr<GgufFile> file = MetadataFile(config);
  EXPECT_EQ(*file->GetString("general.architecture"), "llama");
  EXPECT_EQ(*file->GetUint("llama.attention.sliding_window"), 4096u);
  auto read = ModelConfigFromGguf(*file);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->arch, Architecture::kMistral);
  EXPECT_EQ(read->sliding_window, 4096);
  EXPECT_TRUE(read->Validate().ok()) << read->Validate().ToString();
}

// A Gemma 2 or 3 file as llama.cpp's converter writes it: no key for the attention scale, the
// sliding layers or Gemma 3's local RoPE base, which llama.cpp derives (the scale from head_dim,
// or hidden / heads for the 27B models, recognised by their layer counts; every second layer
// sliding in Gemma 2, five of six in Gemma 3; base 10000), and so does the reader.
std::unique_ptr<GgufFile> LlamaCppGemmaFile(const std::string& arch, int64_t layers, int64_t hidden,
                                            int64_t heads, int64_t head_dim) {
  GgufWriter w;
  const std::string p = arch + ".";
  w.SetString("general.architecture", arch);
  w.SetU32(p + "context_length", 8192);
  w.SetU32(p + "embedding_length", static_cast<uint32_t>(hidden));
  w.SetU32(p + "block_count", static_cast<uint32_t>(layers));
  w.SetU32(p + "feed_forward_length", static_cast<uint32_t>(4 * hidden));
  w.SetU32(p + "attention.head_count", static_cast<uint32_t>(heads));
  w.SetU32(p + "attention.head_count_kv", static_cast<uint32_t>(heads / 2));
  w.SetU32(p + "attention.key_length", static_cast<uint32_t>(head_dim));
  w.SetU32(p + "attention.value_length", static_cast<uint32_t>(head_dim));
  w.SetF32(p + "attention.layer_norm_rms_epsilon", 1e-6f);
  w.SetU32(p + "attention.sliding_window", 4096);
  if (arch == "gemma2") {
    w.SetF32(p + "attn_logit_softcapping", 50.0f);
    w.SetF32(p + "final_logit_softcapping", 30.0f);
  } else {
    w.SetF32(p + "rope.freq_base", 1e6f);
  }
  const int64_t vocab = 8;
  const std::vector<float> embed(static_cast<size_t>(vocab * hidden));
  SIGMA_CHECK(
      w.AddTensor("token_embd.weight", DType::kF32, {vocab, hidden},
                  std::string_view(reinterpret_cast<const char*>(embed.data()), embed.size() * 4))
          .ok());
  auto file = GgufFile::FromBytes(w.Serialize(), arch + ".gguf");
  SIGMA_CHECK(file.ok(), file.status().ToString());
  return std::move(file).value();
}

TEST(GgufModelTest, GemmaAsLlamaCppWritesIt) {
  // Gemma 2 2B's shape: the scale from head_dim 256 (its query_pre_attn_scalar is 256).
  auto gemma2 = ModelConfigFromGguf(*LlamaCppGemmaFile("gemma2", 26, 2304, 8, 256));
  ASSERT_TRUE(gemma2.ok()) << gemma2.status().ToString();
  EXPECT_EQ(gemma2->arch, Architecture::kGemma2);
  EXPECT_EQ(gemma2->activation, Activation::kGeluTanh);
  EXPECT_TRUE(gemma2->tie_word_embeddings);
  EXPECT_EQ(gemma2->query_pre_attn_scalar, 256);
  EXPECT_EQ(gemma2->attn_logit_softcapping, 50);
  EXPECT_EQ(gemma2->final_logit_softcapping, 30);
  EXPECT_EQ(gemma2->sliding_window, 4096);
  for (int64_t i = 0; i < 26; ++i) EXPECT_EQ(gemma2->AttentionWindow(i) > 0, i % 2 == 0) << i;
  EXPECT_TRUE(gemma2->Validate().ok()) << gemma2->Validate().ToString();
  // Gemma 2 27B: 46 layers, hidden 4608 over 32 heads (its query_pre_attn_scalar 144), head_dim
  // 128.
  auto gemma2_27b = ModelConfigFromGguf(*LlamaCppGemmaFile("gemma2", 46, 4608, 32, 128));
  ASSERT_TRUE(gemma2_27b.ok()) << gemma2_27b.status().ToString();
  EXPECT_EQ(gemma2_27b->query_pre_attn_scalar, 144);
  // Gemma 3 (1B's layer count): five of six layers slide, with base 10000; no caps.
  auto gemma3 = ModelConfigFromGguf(*LlamaCppGemmaFile("gemma3", 26, 1152, 4, 256));
  ASSERT_TRUE(gemma3.ok()) << gemma3.status().ToString();
  EXPECT_EQ(gemma3->arch, Architecture::kGemma3);
  EXPECT_TRUE(gemma3->qk_norm());
  EXPECT_EQ(gemma3->query_pre_attn_scalar, 256);
  EXPECT_EQ(gemma3->attn_logit_softcapping, 0);
  EXPECT_EQ(gemma3->final_logit_softcapping, 0);
  EXPECT_EQ(gemma3->rope_theta, 1e6);
  EXPECT_EQ(gemma3->local_rope_theta, 1e4);
  for (int64_t i = 0; i < 26; ++i) {
    EXPECT_EQ(gemma3->AttentionWindow(i) > 0, i % 6 != 5) << i;
    EXPECT_EQ(gemma3->LocalRope(i), i % 6 != 5) << i;
  }
  EXPECT_TRUE(gemma3->Validate().ok()) << gemma3->Validate().ToString();
  // Gemma 3 27B: 62 layers, hidden 5376 over 32 heads (its query_pre_attn_scalar 168).
  auto gemma3_27b = ModelConfigFromGguf(*LlamaCppGemmaFile("gemma3", 62, 5376, 32, 128));
  ASSERT_TRUE(gemma3_27b.ok()) << gemma3_27b.status().ToString();
  EXPECT_EQ(gemma3_27b->query_pre_attn_scalar, 168);
}

// This project's files state what llama.cpp derives, so a config llama.cpp's rules would not
// give comes back; one whose sliding layers follow no pattern has no GGUF form.
TEST(GgufModelTest, GemmaKeysStateWhatLlamaCppDerives) {
  ModelConfig c = TinyConfig(Architecture::kLlama);
  c.arch = Architecture::kGemma3;
  c.num_layers = 4;
  c.activation = Activation::kGeluTanh;
  c.tie_word_embeddings = true;
  c.query_pre_attn_scalar = 20;
  c.local_rope_theta = 5e4;
  c.sliding_window = 7;
  c.sliding_layers.assign(static_cast<size_t>(c.num_layers), true);
  c.sliding_layers.back() = false;  // a pattern of num_layers
  ASSERT_TRUE(c.Validate().ok()) << c.Validate().ToString();
  auto read = ModelConfigFromGguf(*MetadataFile(c));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->query_pre_attn_scalar, 20);
  EXPECT_EQ(read->local_rope_theta, 5e4);
  EXPECT_EQ(read->sliding_layers, c.sliding_layers);
  c.sliding_layers.front() = false;
  GgufWriter w;
  const Status no_pattern = AddModelConfigToGguf(c, &w);
  EXPECT_EQ(no_pattern.code(), StatusCode::kUnimplemented);
  EXPECT_NE(no_pattern.message().find("not every layer but each n-th"), std::string::npos)
      << no_pattern.ToString();
}

TEST(GgufModelTest, SmolLM2) {
  if (!FileExists(kModel)) GTEST_SKIP() << kModel << " is absent: run scripts/setup.sh";
  auto file = GgufFile::Open(kModel);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ((*file)->tensors().size(), 272u);
  auto config = ModelConfigFromGguf(**file);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->num_layers, 30);
  EXPECT_EQ(config->hidden_size, 576);
  EXPECT_EQ(config->n_q_heads, 9);
  EXPECT_EQ(config->n_k_heads, 3);
  EXPECT_EQ(config->head_dim, 64);
  EXPECT_EQ(config->intermediate_size, 1536);
  EXPECT_EQ(config->vocab_size, 49152);
  EXPECT_TRUE(config->tie_word_embeddings);
  EXPECT_DOUBLE_EQ(config->rope_theta, 100000.0);
  auto weights = LoadGguf(kModel);
  ASSERT_TRUE(weights.ok()) << weights.status().ToString();
  EXPECT_EQ(weights->embed_tokens.dtype, DType::kQ8_0);
  EXPECT_EQ(weights->layers[0].q_proj.dtype, DType::kQ4_1);
  EXPECT_EQ(weights->layers[0].k_proj.shape, (std::vector<int64_t>{192, 576}));
  EXPECT_EQ(weights->lm_head.data, weights->embed_tokens.data);
}

}  // namespace
}  // namespace sigma
