// Conformance of SentenceEncoder (all-MiniLM-L6-v2) with sentence-transformers on 100 sentences:
// identical WordPiece ids and cosine > 0.9999 with the reference embedding for every sentence
// (tests/oracle/minilm_reference.py wrote tests/data/minilm/). Needs models/all-minilm-l6-v2
// (scripts/setup.sh); skipped with a message when it is absent.
#include "engine/encoder/bert_encoder.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/base/file.h"
#include "engine/base/json.h"

namespace sigma {
namespace {

const std::string kModel = std::string(SIGMA_SOURCE_DIR) + "/models/all-minilm-l6-v2";
const std::string kData = std::string(SIGMA_TEST_DATA) + "/minilm";
constexpr int kDim = 384;

struct Case {
  std::string text;
  std::vector<int32_t> ids;
  std::vector<float> embedding;  // [kDim]
};

std::vector<Case> LoadCases() {
  std::vector<Case> cases;
  auto text = ReadFile(kData + "/cases.json");
  auto floats = ReadFile(kData + "/embeddings.f32");
  EXPECT_TRUE(text.ok() && floats.ok());
  if (!text.ok() || !floats.ok()) return cases;
  auto doc = ParseJson(*text, "cases.json");
  EXPECT_TRUE(doc.ok() && (*doc)->IsArray());
  if (!doc.ok()) return cases;
  const rapidjson::Value& arr = **doc;
  EXPECT_EQ(floats->size(), arr.Size() * kDim * sizeof(float));
  if (floats->size() != arr.Size() * kDim * sizeof(float)) return cases;
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    Case c;
    c.text.assign(arr[i]["text"].GetString(), arr[i]["text"].GetStringLength());  // may hold NUL
    for (const auto& id : arr[i]["ids"].GetArray()) c.ids.push_back(id.GetInt());
    c.embedding.resize(kDim);
    std::memcpy(c.embedding.data(), floats->data() + i * kDim * sizeof(float), kDim * 4);
    cases.push_back(std::move(c));
  }
  return cases;
}

double CosineDouble(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += static_cast<double>(a[i]) * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += static_cast<double>(b[i]) * b[i];
  }
  return dot / std::sqrt(na * nb);
}

class SentenceEncoderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!IsDirectory(kModel)) return;
    auto enc = SentenceEncoder::Open(kModel, 1);  // one thread: ctest runs suites in parallel
    ASSERT_TRUE(enc.ok()) << enc.status().ToString();
    encoder_ = std::move(enc).value().release();
  }
  static void TearDownTestSuite() {
    delete encoder_;
    encoder_ = nullptr;
  }
  void SetUp() override {
    if (!IsDirectory(kModel)) {
      GTEST_SKIP() << kModel << " is absent: run scripts/setup.sh to fetch all-MiniLM-L6-v2";
    }
    ASSERT_NE(encoder_, nullptr);
  }
  static SentenceEncoder* encoder_;
};
SentenceEncoder* SentenceEncoderTest::encoder_ = nullptr;

TEST_F(SentenceEncoderTest, ConfigAndShape) {
  EXPECT_EQ(encoder_->dim(), kDim);
  EXPECT_EQ(encoder_->max_seq_length(), 256);
  EXPECT_EQ(encoder_->config().layers, 6);
  EXPECT_EQ(encoder_->config().heads, 12);
  EXPECT_EQ(encoder_->config().intermediate, 1536);
}

TEST_F(SentenceEncoderTest, HandCheckedIds) {
  // Ids checked by hand against vocab.txt: [CLS] istanbul ang ##strom cafe [SEP].
  EXPECT_EQ(encoder_->Encode("İstanbul Ångström café"),
            (std::vector<int32_t>{101, 9960, 17076, 15687, 7668, 102}));
  EXPECT_EQ(encoder_->Encode("Hello [SEP] world"), (std::vector<int32_t>{101, 7592, 102, 2088, 102}));
}

TEST_F(SentenceEncoderTest, MatchesSentenceTransformers) {
  const std::vector<Case> cases = LoadCases();
  ASSERT_EQ(cases.size(), 100u);
  double min_cos = 1.0;
  size_t min_at = 0, same_ids = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const std::vector<int32_t> ids = encoder_->Encode(c.text);
    EXPECT_EQ(ids, c.ids) << "case " << i << ": " << c.text.substr(0, 80);
    same_ids += ids == c.ids;
    auto got = encoder_->Embed(c.text);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->size(), static_cast<size_t>(kDim));
    const double cos = CosineDouble(*got, c.embedding);
    EXPECT_GT(cos, 0.9999) << "case " << i << ": " << c.text.substr(0, 80);
    EXPECT_NEAR(Cosine(*got, c.embedding), cos, 1e-6);
    if (cos < min_cos) min_cos = cos, min_at = i;
  }
  std::printf("[ minilm   ] ids identical %zu/%zu; min cosine %.9f (1 - cos = %.2e, case %zu)\n",
              same_ids, cases.size(), min_cos, 1.0 - min_cos, min_at);
}

TEST_F(SentenceEncoderTest, EmbeddingsAreUnitLengthAndDiscriminate) {
  auto a = encoder_->Embed("nvidia-smi --query-gpu=temperature.gpu --format=csv");
  auto b = encoder_->Embed("nvidia-smi --query-gpu=temperature.gpu --format=csv,noheader");
  auto c = encoder_->Embed("The cat sat on the mat.");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  double norm = 0;
  for (float v : *a) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_GT(Cosine(*a, *b), 0.9f);
  EXPECT_LT(Cosine(*a, *c), 0.3f);
  EXPECT_FLOAT_EQ(Cosine(*a, *a), 1.0f);
}

TEST_F(SentenceEncoderTest, ShortSentenceSpeed) {
  const std::string text = "nvidia-smi -q -d TEMPERATURE";
  ASSERT_TRUE(encoder_->Embed(text).ok());
  constexpr int kRuns = 20;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) ASSERT_TRUE(encoder_->Embed(text).ok());
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ minilm   ] Embed, %zu tokens, 1 thread: %.2f ms\n", encoder_->Encode(text).size(),
              ms / kRuns);
}

TEST_F(SentenceEncoderTest, RejectsBadIds) {
  EXPECT_FALSE(encoder_->EmbedIds(std::vector<int32_t>{}).ok());
  EXPECT_FALSE(encoder_->EmbedIds(std::vector<int32_t>{101, 30522, 102}).ok());
  EXPECT_FALSE(encoder_->EmbedIds(std::vector<int32_t>(257, 1000)).ok());
}

TEST(SentenceEncoderOpenTest, ErrorsNameTheFile) {
  auto missing = SentenceEncoder::Open("/nonexistent/minilm", 1);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/minilm"), std::string::npos);
  auto bad = ParseBertConfig(R"({"model_type": "bert", "hidden_act": "relu"})", "config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("hidden_act"), std::string::npos);
  auto heads = ParseBertConfig(
      R"({"vocab_size": 10, "hidden_size": 10, "num_hidden_layers": 1, "num_attention_heads": 3,
          "intermediate_size": 4, "max_position_embeddings": 8})",
      "config.json");
  ASSERT_FALSE(heads.ok());
  EXPECT_NE(heads.status().message().find("num_attention_heads"), std::string::npos);
}

}  // namespace
}  // namespace sigma
