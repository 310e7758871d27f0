// sigma-eval convert (engine/gguf/convert.h): the oracle checkpoints (tests/data/oracle) converted
// to GGUF give exactly the same f32 logits as the safetensors originals; GGUF -> folder -> GGUF
// keeps every tensor byte for byte (f32, and q8_0 re-quantized from its own dequantization);
// K-quant models give the logits of their own dequantized weights; the llama Q/K rows land where
// llama.cpp puts them; bad flags are errors.
#include "engine/gguf/convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_model.h"
#include "engine/language_model.h"
#include "engine/loader/model_config.h"
#include "engine/loader/random_checkpoint.h"
#include "engine/loader/safetensors.h"
#include "engine/model.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/engine/reference_logits.h"

namespace sigma {
namespace {

std::string OracleDir(const std::string& name) {
  return std::string(SIGMA_TEST_DATA) + "/oracle/" + name;
}

std::string TempPath(const std::string& name) {
  const std::string dir = testing::TempDir() + "/convert_test";
  std::filesystem::create_directories(dir);
  return dir + "/" + name;
}

std::vector<int32_t> InputIds(const std::string& dir) {
  auto text = ReadFile(dir + "/oracle.json");
  SIGMA_CHECK(text.ok(), text.status().ToString());
  auto doc = ParseJson(*text, "oracle.json");
  SIGMA_CHECK(doc.ok());
  std::vector<int32_t> ids;
  for (const auto& x : (**doc)["input_ids"].GetArray()) ids.push_back(x.GetInt());
  return ids;
}

std::vector<float> Logits(const std::string& path, const std::vector<int32_t>& ids) {
  EngineOptions options;
  options.threads = 2;
  options.kv_dtype = "f32";
  options.max_context = 128;
  auto model = Model::Load(path, options);
  SIGMA_CHECK(model.ok(), model.status().ToString());
  std::vector<float> logits;
  SIGMA_CHECK((*model)->Prefill(0, ids, LogitsMode::kAll, &logits).ok());
  return logits;
}

// The largest |got - want| and the largest |want|, over logits of the same shape.
std::pair<double, double> LogitDifference(const std::vector<float>& got,
                                          const std::vector<float>& want) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::fabs(double{got[i]} - want[i]));
    scale = std::max(scale, std::fabs(double{want[i]}));
  }
  return {worst, scale};
}

std::unique_ptr<GgufFile> OpenGguf(const std::string& path) {
  auto file = GgufFile::Open(path);
  SIGMA_CHECK(file.ok(), file.status().ToString());
  return std::move(file).value();
}

// Same tensor names, types, shapes and bytes.
void ExpectSameTensors(const GgufFile& a, const GgufFile& b) {
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const GgufTensorInfo& ta : a.tensors()) {
    const GgufTensorInfo* tb = b.FindTensor(ta.name);
    ASSERT_NE(tb, nullptr) << ta.name;
    EXPECT_EQ(ta.ggml_type, tb->ggml_type) << ta.name;
    EXPECT_EQ(ta.shape, tb->shape) << ta.name;
    const auto da = a.TensorData(ta), db = b.TensorData(*tb);
    ASSERT_EQ(da.size(), db.size()) << ta.name;
    EXPECT_EQ(std::memcmp(da.data(), db.data(), da.size()), 0) << ta.name;
  }
}

class ConvertOracleTest : public testing::TestWithParam<std::string> {};

TEST_P(ConvertOracleTest, GgufF32LogitsEqualSafetensorsExactly) {
  const std::string dir = OracleDir(GetParam());
  const std::string gguf = TempPath(GetParam() + ".f32.gguf");
  ASSERT_TRUE(Convert(dir, gguf, ConvertOptions{}).ok());
  const std::vector<int32_t> ids = InputIds(dir);
  const std::vector<float> want = Logits(dir, ids);
  const std::vector<float> got = Logits(gguf, ids);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << "logit " << i;
}

TEST_P(ConvertOracleTest, GgufToFolderToGgufKeepsTensors) {
  const std::string dir = OracleDir(GetParam());
  const std::string first = TempPath(GetParam() + ".rt1.gguf");
  const std::string folder = TempPath(GetParam() + ".rt");
  const std::string second = TempPath(GetParam() + ".rt2.gguf");
  ASSERT_TRUE(Convert(dir, first, ConvertOptions{}).ok());
  const Status back = Convert(first, folder, ConvertOptions{});
  ASSERT_TRUE(back.ok()) << back.ToString();
  ASSERT_TRUE(Convert(folder, second, ConvertOptions{}).ok());
  ExpectSameTensors(*OpenGguf(first), *OpenGguf(second));
  // The folder's logits equal the original's too (the permutation was undone).
  const std::vector<int32_t> ids = InputIds(dir);
  EXPECT_EQ(Logits(folder, ids), Logits(dir, ids));
}

TEST_P(ConvertOracleTest, Q8_0RoundTripAndLogitsStayClose) {
  const std::string dir = OracleDir(GetParam());
  const std::string first = TempPath(GetParam() + ".q8.gguf");
  const std::string folder = TempPath(GetParam() + ".q8");
  const std::string second = TempPath(GetParam() + ".q8b.gguf");
  ConvertOptions q8;
  q8.type = DType::kQ8_0;
  ASSERT_TRUE(Convert(dir, first, q8).ok());
  ASSERT_TRUE(Convert(first, folder, ConvertOptions{}).ok());  // dequantized to f32
  ASSERT_TRUE(Convert(folder, second, q8).ok());
  ExpectSameTensors(*OpenGguf(first), *OpenGguf(second));
  const std::vector<int32_t> ids = InputIds(dir);
  const std::vector<float> want = Logits(dir, ids);
  const std::vector<float> got = Logits(first, ids);
  ASSERT_EQ(got.size(), want.size());
  const auto [worst, scale] = LogitDifference(got, want);
  EXPECT_LT(worst, 0.05 * scale + 1e-3) << "max |q8_0 - f32| logit difference";
}

INSTANTIATE_TEST_SUITE_P(Oracles, ConvertOracleTest,
                         testing::Values("llama-gqa-tiny", "qwen2-tied-tiny", "sigma-diffqkv-tiny"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n) c = c == '-' ? '_' : c;
                           return n;
                         });

// Independent of PermuteQkRows: within each head of d rows, HF row i*d/2 + j sits at GGUF row
// 2j + i for q and k of a llama file; other tensors are unpermuted; qwen2 is never permuted.
TEST(ConvertTest, LlamaQkRowsFollowLlamaCppOrder) {
  const std::string dir = OracleDir("llama-gqa-tiny");
  const std::string gguf = TempPath("perm.gguf");
  ASSERT_TRUE(Convert(dir, gguf, ConvertOptions{}).ok());
  auto hf = SafetensorsFile::Open(dir + "/model.safetensors");
  ASSERT_TRUE(hf.ok());
  auto file = OpenGguf(gguf);
  auto config = ModelConfigFromGguf(*file);
  ASSERT_TRUE(config.ok());
  const int64_t d = config->head_dim;
  for (const char* which : {"q", "k", "v"}) {
    const std::string hf_name = StrCat("model.layers.0.self_attn.", which, "_proj.weight");
    const TensorView& src = (*hf)->tensors().at(hf_name);
    const GgufTensorInfo* dst = file->FindTensor(HfToGgufTensorName(hf_name));
    ASSERT_NE(dst, nullptr);
    const size_t row_bytes = src.row_bytes();
    const auto* s = static_cast<const uint8_t*>(src.data);
    const uint8_t* g = file->TensorData(*dst).data();
    const bool permuted = std::string(which) != "v";
    for (int64_t r = 0; r < src.rows(); ++r) {
      const int64_t h = r / d, i = (r % d) / (d / 2), j = r % (d / 2);
      const int64_t g_row = permuted ? h * d + 2 * j + i : r;
      ASSERT_EQ(std::memcmp(s + r * row_bytes, g + g_row * row_bytes, row_bytes), 0)
          << hf_name << " row " << r;
    }
  }
}

TEST(ConvertTest, TypedConversionKeepsNormsF32AndQuantizesMatrices) {
  const std::string gguf = TempPath("bf16.gguf");
  ConvertOptions bf16;
  bf16.type = DType::kBF16;
  ASSERT_TRUE(Convert(OracleDir("qwen2-tied-tiny"), gguf, bf16).ok());
  auto file = OpenGguf(gguf);
  EXPECT_EQ(file->FindTensor("blk.0.attn_norm.weight")->dtype, DType::kF32);
  EXPECT_EQ(file->FindTensor("blk.0.attn_q.bias")->dtype, DType::kF32);
  EXPECT_EQ(file->FindTensor("blk.0.ffn_up.weight")->dtype, DType::kBF16);
  EXPECT_EQ(file->FindTensor("output.weight"), nullptr);  // tied
  EXPECT_EQ(*file->GetString("general.architecture"), "qwen2");
}

TEST(ConvertTest, SigmaKeysUseTheSigmaNamespace) {
  const std::string gguf = TempPath("sigma.gguf");
  ASSERT_TRUE(Convert(OracleDir("sigma-diffqkv-tiny"), gguf, ConvertOptions{}).ok());
  auto file = OpenGguf(gguf);
  EXPECT_EQ(*file->GetString("general.architecture"), "sigma");
  EXPECT_EQ(*file->GetUint("sigma.attention.key_head_count"), 2u);
  EXPECT_EQ(*file->GetUint("sigma.attention.value_head_count"), 4u);
  EXPECT_EQ(*file->GetUint("sigma.aug_q_intermediate_size"), 96u);
  EXPECT_NE(file->FindTensor("blk.0.attn_q_gate.weight"), nullptr);
}

// A Sigma whose matrices are all whole K-quant super-blocks wide (hidden 256).
ModelConfig Sigma256() {
  ModelConfig config = *ModelConfigPreset("sigma-tiny");
  config.vocab_size = 512;
  config.hidden_size = 256;
  config.intermediate_size = 512;
  config.head_dim = 32;
  config.aug_q_intermediate_size = 256;
  return config;
}

// A model whose matrices are all whole K-quant super-blocks wide (a Sigma with hidden 256),
// converted to each K-quant: the GGUF's logits (the integer tile kernels where this CPU has them)
// against those of the same weights dequantized back to an f32 folder (the f32 kernels): they
// differ only by the int16 activations.
TEST(ConvertTest, KQuantModelsMatchTheirDequantizedWeights) {
  const ModelConfig config = Sigma256();
  const std::string dir = TempPath("sigma-256");
  ASSERT_TRUE(WriteRandomCheckpoint(config, dir, 3, DType::kF32, 2).ok());
  const std::vector<int32_t> ids = {1, 17, 300, 5, 511, 42, 7};
  for (DType t : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    const std::string name(DTypeName(t));
    const std::string gguf = TempPath("sigma-256." + name + ".gguf");
    const std::string folder = TempPath("sigma-256." + name);
    ConvertOptions typed;
    typed.type = t;
    ASSERT_TRUE(Convert(dir, gguf, typed).ok()) << name;
    auto file = OpenGguf(gguf);
    EXPECT_EQ(file->FindTensor("blk.1.ffn_down.weight")->dtype, t);
    EXPECT_EQ(file->FindTensor("blk.0.attn_k.weight")->dtype, t);
    ASSERT_TRUE(Convert(gguf, folder, ConvertOptions{}).ok()) << name;
    const std::vector<float> want = Logits(folder, ids);
    const std::vector<float> got = Logits(gguf, ids);
    ASSERT_EQ(got.size(), want.size());
    const auto [worst, scale] = LogitDifference(got, want);
    // Measured 0.4-1.0e-4 of the largest logit.
    EXPECT_LT(worst, 1e-3 * scale) << name << ": max |gguf - dequantized| logit difference";
  }
}

// Llama 3 rope scaling (tests/data/llama3_rope): the checkpoint folder (Hugging Face's formula)
// and its GGUF (the divisors in rope_freqs.weight, as llama.cpp reads them) both give llama.cpp's
// logits of that GGUF, a twin without the scaling does not, and the GGUF converts back to a folder
// with the same rope_scaling.
TEST(ConvertTest, Llama3RopeScalingMatchesLlamaCpp) {
  const std::string data = std::string(SIGMA_TEST_DATA) + "/llama3_rope";
  auto text = ReadFile(data + "/config.json");
  ASSERT_TRUE(text.ok());
  auto config = ParseModelConfig(*text, "config.json");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ModelConfig unscaled = *config;
  unscaled.rope_scaling = RopeScaling{};
  const std::string folder = TempPath("llama3_rope");
  const std::string twin = TempPath("llama3_rope_unscaled");
  const std::string gguf = TempPath("llama3_rope.gguf");
  const std::string back = TempPath("llama3_rope_back");
  ASSERT_TRUE(WriteRandomCheckpoint(*config, folder, 3, DType::kBF16, 2).ok());
  ASSERT_TRUE(WriteRandomCheckpoint(unscaled, twin, 3, DType::kBF16, 2).ok());
  ConvertOptions f32;
  f32.type = DType::kF32;
  ASSERT_TRUE(Convert(folder, gguf, f32).ok());
  const Status to_folder = Convert(gguf, back, ConvertOptions{});
  ASSERT_TRUE(to_folder.ok()) << to_folder.ToString();

  auto file = OpenGguf(gguf);
  const GgufTensorInfo* freqs = file->FindTensor("rope_freqs.weight");
  ASSERT_NE(freqs, nullptr);
  EXPECT_EQ(freqs->dtype, DType::kF32);
  EXPECT_EQ(freqs->shape, (std::vector<int64_t>{8}));
  EXPECT_EQ(file->Find("llama.rope.scaling.type"), nullptr);  // llama.cpp would apply it too
  auto read = ModelConfigFromGguf(*file);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->rope_freq_factors, config->RopeFreqFactors());
  auto back_text = ReadFile(back + "/config.json");
  ASSERT_TRUE(back_text.ok());
  auto back_config = ParseModelConfig(*back_text, "config.json");
  ASSERT_TRUE(back_config.ok());
  EXPECT_EQ(back_config->rope_scaling.type, "llama3");
  EXPECT_EQ(back_config->rope_scaling.factor, 8.0);
  EXPECT_EQ(back_config->rope_scaling.low_freq_factor, 1.0);
  EXPECT_EQ(back_config->rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(back_config->rope_scaling.original_max_position_embeddings, 64);

  auto bytes = ReadFile(data + "/llama_cpp_logits.f32");
  ASSERT_TRUE(bytes.ok());
  const int64_t vocab = config->vocab_size;
  std::vector<float> want(bytes->size() / sizeof(float));
  std::memcpy(want.data(), bytes->data(), want.size() * sizeof(float));
  const std::vector<int64_t> rows = testing_util::EveryNthRowAndLast(70, 7);
  ASSERT_EQ(want.size(), rows.size() * static_cast<size_t>(vocab));
  std::vector<int32_t> ids;
  for (int32_t id = 1; id <= 70; ++id) ids.push_back(id);
  // Measured 1.8e-7 (folder and GGUF); the twin without the scaling 6.6e-3.
  EXPECT_LT(testing_util::WorstRowDifference(Logits(folder, ids), rows, want, vocab), 1e-5f);
  EXPECT_LT(testing_util::WorstRowDifference(Logits(gguf, ids), rows, want, vocab), 1e-5f);
  EXPECT_LT(testing_util::WorstRowDifference(Logits(back, ids), rows, want, vocab), 1e-5f);
  EXPECT_GT(testing_util::WorstRowDifference(Logits(twin, ids), rows, want, vocab), 1e-3f);
}

// The llama oracle's config and tensors (vocab 384), as convert writes them.
void AddLlamaOracle(GgufWriter* w) {
  auto weights = LoadCheckpoint(OracleDir("llama-gqa-tiny"));
  SIGMA_CHECK(weights.ok(), weights.status().ToString());
  SIGMA_CHECK(AddModelConfigToGguf(weights->config, w).ok());
  for (const ExpectedTensor& e : ExpectedTensors(weights->config)) {
    SIGMA_CHECK(AddHfTensorToGguf(weights->config, weights->source->tensors().at(e.name), w).ok());
  }
}

// The llama oracle (vocab 384) as a GGUF with a byte-level tokenizer in tokenizer.ggml.* metadata,
// as llama.cpp's converter writes one: the 256 byte symbols, "he", "ll", "hell", "hello", and
// three special tokens, with a chat template.
std::string GgufWithGgmlTokenizer() {
  GgufWriter w;
  AddLlamaOracle(&w);
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b)
    tokens.push_back(ByteLevelMap::Get().Encode(static_cast<uint8_t>(b)));
  for (const char* t : {"he", "ll", "hell", "hello", "<|bos|>", "<|eos|>", "<|user|>"}) {
    tokens.push_back(t);
  }
  std::vector<int32_t> types(tokens.size(), 1);
  for (size_t i = tokens.size() - 3; i < tokens.size(); ++i) types[i] = 3;  // control
  tokens.resize(384, "");
  types.resize(384, 1);
  for (int i = 263; i < 384; ++i) tokens[static_cast<size_t>(i)] = StrCat("<unused", i, ">");
  w.SetString("tokenizer.ggml.model", "gpt2");
  w.SetString("tokenizer.ggml.pre", "smollm");
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetI32Array("tokenizer.ggml.token_type", types);
  w.SetStringArray("tokenizer.ggml.merges", {"h e", "l l", "he ll", "hell o"});
  w.SetU32("tokenizer.ggml.bos_token_id", 260);
  w.SetU32("tokenizer.ggml.eos_token_id", 261);
  w.SetBool("tokenizer.ggml.add_bos_token", true);
  w.SetString("tokenizer.chat_template", "{{ bos_token }}{{ messages[0]['content'] }}");
  const std::string path = TempPath("ggml_tokenizer.gguf");
  SIGMA_CHECK(w.WriteFile(path).ok());
  return path;
}

// The same model with a SentencePiece-style vocabulary (Llama 2's kind: <0xXX> byte tokens and
// merges by score).
std::string GgufWithSentencePieceTokenizer() {
  GgufWriter w;
  AddLlamaOracle(&w);
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  for (int b = 0; b < 256; ++b)
    tokens.push_back(StrCat("<0x", "0123456789ABCDEF"[b / 16], "0123456789ABCDEF"[b % 16], ">"));
  std::vector<int32_t> types = {2, 3, 3};
  types.resize(tokens.size(), 6);  // byte tokens
  for (int i = static_cast<int>(tokens.size()); i < 384; ++i) {
    tokens.push_back(StrCat("\xe2\x96\x81w", i));
    types.push_back(1);
  }
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetF32Array("tokenizer.ggml.scores", std::vector<float>(tokens.size(), 0.0f));
  w.SetI32Array("tokenizer.ggml.token_type", types);
  const std::string path = TempPath("spm_tokenizer.gguf");
  SIGMA_CHECK(w.WriteFile(path).ok());
  return path;
}

// A GGUF's tokenizer.ggml.* vocabulary becomes a folder's tokenizer.json and tokenizer_config.json
// (the same ids, specials and chat template); that folder's files go into the next GGUF whole and
// come back from it byte for byte.
TEST(ConvertTest, TokenizerSurvivesConversionBothWays) {
  const std::string gguf = GgufWithGgmlTokenizer();
  const std::string folder = TempPath("ggml_tokenizer_folder");
  const std::string again = TempPath("ggml_tokenizer_again.gguf");
  const std::string folder2 = TempPath("ggml_tokenizer_folder2");
  std::vector<std::string> notes;
  ASSERT_TRUE(Convert(gguf, folder, ConvertOptions{}, &notes).ok());
  EXPECT_TRUE(notes.empty());
  ASSERT_TRUE(FileExists(folder + "/tokenizer.json"));
  ASSERT_TRUE(FileExists(folder + "/tokenizer_config.json"));
  auto original = Tokenizer::Open(gguf);
  auto from_folder = Tokenizer::Open(folder);
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  ASSERT_TRUE(from_folder.ok()) << from_folder.status().ToString();
  for (const char* text : {"hello hello", "<|user|>hell 123\n", "\xff\xfe x"}) {
    EXPECT_EQ((*from_folder)->Encode(text, true), (*original)->Encode(text, true)) << text;
  }
  EXPECT_EQ((*from_folder)->Encode("hello", true), (std::vector<int32_t>{260, 259}));
  EXPECT_EQ((*from_folder)->chat_template(), (*original)->chat_template());
  EXPECT_EQ((*from_folder)->eos_ids(), (std::vector<int32_t>{261}));

  ASSERT_TRUE(Convert(folder, again, ConvertOptions{}).ok());
  auto embedded = Tokenizer::Open(again);
  ASSERT_TRUE(embedded.ok()) << embedded.status().ToString();
  EXPECT_EQ((*embedded)->Encode("hello <|user|>", true),
            (*original)->Encode("hello <|user|>", true));
  EXPECT_EQ((*embedded)->chat_template(), (*original)->chat_template());
  ASSERT_TRUE(Convert(again, folder2, ConvertOptions{}).ok());
  for (const char* name : {"/tokenizer.json", "/tokenizer_config.json"}) {
    EXPECT_EQ(*ReadFile(folder2 + name), *ReadFile(folder + name)) << name;
  }
  // Written again into that folder (as --force does) from a GGUF without a tokenizer, the folder
  // keeps no tokenizer files or generation_config.json of the earlier model.
  ASSERT_TRUE(WriteFileAtomic(folder2 + "/generation_config.json", R"({"eos_token_id": 5})").ok());
  const std::string bare = TempPath("no_tokenizer.gguf");
  ASSERT_TRUE(Convert(OracleDir("llama-gqa-tiny"), bare, ConvertOptions{}).ok());
  ASSERT_TRUE(Convert(bare, folder2, ConvertOptions{}).ok());
  for (const char* name :
       {"/tokenizer.json", "/tokenizer_config.json", "/generation_config.json"}) {
    EXPECT_FALSE(FileExists(folder2 + name)) << name;
  }

  // The first folder stops at its tokenizer's end-of-sequence id, then at the other ids its
  // config and generation_config.json name.
  EngineOptions options;
  options.threads = 1;
  options.max_context = 16;
  auto lm = LanguageModel::Open(folder, options);
  ASSERT_TRUE(lm.ok()) << lm.status().ToString();
  EXPECT_EQ((*lm)->StopTokens(), (std::vector<int32_t>{261}));
  ASSERT_TRUE(
      WriteFileAtomic(folder + "/generation_config.json", R"({"eos_token_id": [262, 261]})").ok());
  lm = LanguageModel::Open(folder, options);
  ASSERT_TRUE(lm.ok()) << lm.status().ToString();
  EXPECT_EQ((*lm)->StopTokens(), (std::vector<int32_t>{261, 262}));
}

// Q2_K and Q3_K, which llama.cpp's Q2_K and Q3_K_* files carry and which the engine reads (but
// does not write): a Sigma with hidden 256 whose matrices are random blocks of them, alternately,
// against the same weights decoded into an f32 folder.
TEST(ConvertTest, Q2KAndQ3KModelsMatchTheirDecodedWeights) {
  const ModelConfig config = Sigma256();
  GgufWriter w;
  ASSERT_TRUE(AddModelConfigToGguf(config, &w).ok());
  uint64_t state = 7;
  const auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint8_t>(state >> 56);
  };
  const auto put_f16 = [](uint8_t* p, float v) {
    const uint16_t h = F32ToF16(v);
    std::memcpy(p, &h, 2);
  };
  int matrices = 0;
  for (const ExpectedTensor& e : ExpectedTensors(config)) {
    const int64_t rows = e.shape[0], cols = e.shape.size() == 2 ? e.shape[1] : 1;
    std::string bytes;
    DType t = DType::kF32;
    if (e.shape.size() == 2 && cols % 256 == 0) {
      t = matrices++ % 2 == 0 ? DType::kQ2_K : DType::kQ3_K;
      const int64_t size = DTypeBlockBytes(t), blocks = rows * cols / 256;
      bytes.resize(static_cast<size_t>(blocks * size));
      for (char& c : bytes) c = static_cast<char>(next());
      for (int64_t b = 0; b < blocks; ++b) {
        auto* block = reinterpret_cast<uint8_t*>(bytes.data() + b * size);
        if (t == DType::kQ2_K) {
          put_f16(block + 80, 0.002f + next() * 1e-5f);
          put_f16(block + 82, 0.001f + next() * 1e-5f);
        } else {
          put_f16(block + 108, 0.001f + next() * 1e-5f);
        }
      }
    } else {
      std::vector<float> values(static_cast<size_t>(rows * cols));
      for (float& v : values)
        v = e.name.find("norm") != std::string::npos ? 1.0f : (next() - 128) * 1e-4f;
      bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * 4);
    }
    TensorView view;
    view.name = e.name;
    view.dtype = t;
    view.shape = e.shape;
    view.data = bytes.data();
    view.nbytes = bytes.size();
    ASSERT_TRUE(AddHfTensorToGguf(config, view, &w).ok()) << e.name;
  }
  ASSERT_GT(matrices, 10);
  const std::string gguf = TempPath("k23.gguf");
  const std::string folder = TempPath("k23");
  ASSERT_TRUE(w.WriteFile(gguf).ok());
  int q2 = 0, q3 = 0;
  const std::unique_ptr<GgufFile> file = OpenGguf(gguf);  // the loop below reads its tensors
  for (const GgufTensorInfo& t : file->tensors()) {
    q2 += t.dtype == DType::kQ2_K;
    q3 += t.dtype == DType::kQ3_K;
  }
  EXPECT_EQ(q2 + q3, matrices);
  EXPECT_GT(q3, 5);
  ASSERT_TRUE(Convert(gguf, folder, ConvertOptions{}).ok());
  const std::vector<int32_t> ids = {1, 17, 300, 5, 511, 42, 7};
  const std::vector<float> want = Logits(folder, ids);
  const std::vector<float> got = Logits(gguf, ids);
  ASSERT_EQ(got.size(), want.size());
  const auto [worst, scale] = LogitDifference(got, want);
  EXPECT_GT(scale, 0.01);
  EXPECT_LT(worst, 1e-5 * scale) << "max |gguf - decoded| logit difference";
}

// A SentencePiece-style vocabulary becomes a tokenizer.json too (merges from the token scores;
// real vocabularies: tests/engine/tokenizer/vocab_conformance_test.cc), with no note.
TEST(ConvertTest, SentencePieceVocabularyBecomesTokenizerJson) {
  const std::string gguf = GgufWithSentencePieceTokenizer();
  const std::string folder = TempPath("spm_folder");
  std::vector<std::string> notes;
  const Status s = Convert(gguf, folder, ConvertOptions{}, &notes);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(notes.empty()) << notes[0];
  auto from_gguf = Tokenizer::Open(gguf);
  auto from_folder = Tokenizer::Open(folder);
  ASSERT_TRUE(from_gguf.ok() && from_folder.ok()) << from_folder.status().ToString();
  EXPECT_EQ((*from_folder)->kind(), Tokenizer::Kind::kSentencePiece);
  for (const char* text : {" w300 w301", "<s>w383 x\n", "\xe2\x96\x81w259"}) {
    EXPECT_EQ((*from_folder)->Encode(text, true), (*from_gguf)->Encode(text, true)) << text;
  }
}

// A matrix narrower than a super-block of 256 falls back as llama.cpp's quantizer does: Q4_K to
// Q5_0, Q5_K to Q5_1, Q6_K to Q8_0, IQ4_XS to IQ4_NL; the oracle's 96-wide matrices.
TEST(ConvertTest, NarrowMatricesFallBackAsLlamaCpps) {
  for (const auto& [type, narrow] : {std::pair{DType::kQ4_K, DType::kQ5_0},
                                     {DType::kQ5_K, DType::kQ5_1},
                                     {DType::kQ6_K, DType::kQ8_0},
                                     {DType::kIQ4_XS, DType::kIQ4_NL}}) {
    const std::string gguf = TempPath("llama.narrow.gguf");
    ConvertOptions options;
    options.type = type;
    std::filesystem::remove(gguf);
    ASSERT_TRUE(Convert(OracleDir("llama-gqa-tiny"), gguf, options).ok());
    auto file = OpenGguf(gguf);
    EXPECT_EQ(file->FindTensor("blk.0.ffn_down.weight")->dtype, type);  // 256 wide
    EXPECT_EQ(file->FindTensor("blk.0.ffn_up.weight")->dtype, narrow);  // 96 wide
    EXPECT_EQ(file->FindTensor("blk.0.attn_norm.weight")->dtype, DType::kF32);
  }
}

// A GGUF converted from a folder without tokenizer.json opens for token ids, as the folder does;
// with one, the GGUF carries it (kGgufHfTokenizerKey) and tokenizes as the folder does.
TEST(ConvertTest, GgufTokenizerIsTheFoldersOrNone) {
  const std::string plain = TempPath("no_tokenizer.gguf");
  ASSERT_TRUE(Convert(OracleDir("llama-gqa-tiny"), plain, ConvertOptions{}).ok());
  EngineOptions options;
  options.threads = 1;
  options.max_context = 16;
  auto without = LanguageModel::Open(plain, options);
  ASSERT_TRUE(without.ok()) << without.status().ToString();
  EXPECT_EQ((*without)->tokenizer(), nullptr);
  EXPECT_EQ((*without)->Encode("ab").status().code(), StatusCode::kFailedPrecondition);

  const std::string dir = TempPath("with_tokenizer");
  std::filesystem::create_directories(dir);
  for (const char* name : {"config.json", "model.safetensors"}) {
    std::filesystem::copy_file(OracleDir("llama-gqa-tiny") + "/" + name, dir + "/" + name,
                               std::filesystem::copy_options::overwrite_existing);
  }
  const std::string json = R"({"added_tokens": [], "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4},
              "merges": ["a b", "\u0120 ab"]}})";
  ASSERT_TRUE(WriteFileAtomic(dir + "/tokenizer.json", json).ok());
  const std::string with = TempPath("with_tokenizer.gguf");
  ASSERT_TRUE(Convert(dir, with, ConvertOptions{}).ok());
  auto folder_lm = LanguageModel::Open(dir, options);
  auto gguf_lm = LanguageModel::Open(with, options);
  ASSERT_TRUE(folder_lm.ok() && gguf_lm.ok()) << gguf_lm.status().ToString();
  ASSERT_NE((*gguf_lm)->tokenizer(), nullptr);
  EXPECT_EQ(*(*gguf_lm)->Encode("ab ab"), (std::vector<int32_t>{2, 4}));
  EXPECT_EQ(*(*gguf_lm)->Encode("ab ab"), *(*folder_lm)->Encode("ab ab"));
}

TEST(ConvertTest, BadRequestsAreErrors) {
  EXPECT_FALSE(ParseConvertType("q8_k", "type").ok());
  EXPECT_EQ(ParseConvertType("q4_k", "type")->type, DType::kQ4_K);
  EXPECT_FALSE(ParseConvertType("q4_k", "type")->mix.has_value());
  EXPECT_EQ(ParseConvertType("q5_k_m", "type")->type, DType::kQ5_K);
  EXPECT_EQ(ParseConvertType("q5_k_m", "type")->mix, QuantMix::kQ5_K_M);
  EXPECT_EQ(Convert("", "x", ConvertOptions{}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Convert("/nonexistent/model.gguf", TempPath("none"), ConvertOptions{}).code(),
            StatusCode::kNotFound);
  const std::string gguf = TempPath("for_q8_folder.gguf");
  ASSERT_TRUE(Convert(OracleDir("llama-gqa-tiny"), gguf, ConvertOptions{}).ok());
  ConvertOptions q8;
  q8.type = DType::kQ8_0;
  EXPECT_EQ(Convert(gguf, TempPath("q8_folder"), q8).code(), StatusCode::kInvalidArgument);
  // Each output is named for what it holds, as the loaders tell them apart by name: a GGUF
  // without ".gguf" could not be loaded, and a GGUF input's "out.gguf" was written as a folder.
  const Status unnamed = Convert(OracleDir("llama-gqa-tiny"), TempPath("model.bin"), {});
  EXPECT_EQ(unnamed.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unnamed.message().find("converts to one GGUF file"), std::string::npos)
      << unnamed.ToString();
  EXPECT_FALSE(FileExists(TempPath("model.bin")));
  const Status to_gguf = Convert(gguf, TempPath("again.gguf"), {});
  EXPECT_EQ(to_gguf.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(to_gguf.message().find("no GGUF-to-GGUF conversion"), std::string::npos)
      << to_gguf.ToString();
  EXPECT_FALSE(FileExists(TempPath("again.gguf")));
  // A file that is not GGUF names itself.
  const Status s = Convert(OracleDir("llama-gqa-tiny") + "/config.json", TempPath("x"), {});
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("config.json"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace sigma
