// GGUF model mapping: tensor names, the llama Q/K row permutation, ModelConfig from metadata, a
// random-weight round trip through the writer, and the real SmolLM2 file when models/ has it.
#include "engine/gguf/gguf_model.h"

#include <gtest/gtest.h>

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
  AddModelConfigToGguf(config, &writer);
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
