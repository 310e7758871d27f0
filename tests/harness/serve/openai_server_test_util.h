// Helpers of the OpenAiServer tests (openai_server_test.cc: routes, refusals, generations;
// openai_server_scoring_test.cc: scores and their reuse): the default model opened as a server and
// as references, requests through Handle() without sockets, and their answers parsed.
#ifndef SIGMA_TESTS_HARNESS_SERVE_OPENAI_SERVER_TEST_UTIL_H_
#define SIGMA_TESTS_HARNESS_SERVE_OPENAI_SERVER_TEST_UTIL_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/generate.h"
#include "harness/backends/request_tokens.h"
#include "harness/serve/openai_server.h"
#include "tests/harness/backends/test_requests.h"

namespace sigma::harness::serve_test {

using ::testing::HasSubstr;

// A JSON string literal.
inline std::string Quote(const std::string& text) { return JsonQuote(text); }
using testing_util::GenerateRequest;

constexpr int64_t kContext = 512;
// The server's scoring chunk on the CPU.
inline const size_t kChunk = static_cast<size_t>(EngineBackend::ScoreChunk("cpu"));

inline std::unique_ptr<LanguageModel> OpenModel(int64_t max_context) {
  EngineOptions options;
  options.threads = 2;
  options.max_context = max_context;
  options.max_sequences = 1;
  StatusOr<std::unique_ptr<LanguageModel>> lm = LanguageModel::Open(DefaultModelPath(), options);
  EXPECT_TRUE(lm.ok()) << lm.status().ToString();
  return lm.ok() ? std::move(*lm) : nullptr;
}

inline std::unique_ptr<OpenAiServer> OpenServer(int64_t max_context,
                                                const std::string& name = "smol") {
  std::unique_ptr<LanguageModel> lm = OpenModel(max_context);
  if (lm == nullptr) return nullptr;
  StatusOr<std::unique_ptr<OpenAiServer>> server = OpenAiServer::Create(std::move(lm), name);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

inline std::unique_ptr<EngineBackend> OpenBackend() {
  std::unique_ptr<LanguageModel> lm = OpenModel(kContext);
  if (lm == nullptr) return nullptr;
  StatusOr<std::unique_ptr<EngineBackend>> backend =
      EngineBackend::Create(std::move(lm), EngineBackendOptions{});
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  return backend.ok() ? std::move(*backend) : nullptr;
}

inline HttpResponse Call(OpenAiServer& server, const std::string& method, const std::string& path,
                         const std::string& body = "") {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  return server.Handle(request);
}

inline HttpResponse Post(OpenAiServer& server, const std::string& path, const std::string& body) {
  return Call(server, "POST", path, body);
}

// The answer's body, parsed (an empty object, with a failure, where it is not JSON).
inline std::unique_ptr<rapidjson::Document> Parse(const HttpResponse& response) {
  EXPECT_EQ(response.content_type, "application/json");
  StatusOr<std::unique_ptr<rapidjson::Document>> doc = ParseJson(response.body, "answer");
  EXPECT_TRUE(doc.ok()) << doc.status().ToString() << "\n" << response.body;
  if (!doc.ok()) {
    auto empty = std::make_unique<rapidjson::Document>();
    empty->SetObject();
    return empty;
  }
  return std::move(*doc);
}

inline std::string Ids(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  out += ']';
  return out;
}

// error.message of an error answer ("" with a failure where there is none).
inline std::string ErrorMessage(const HttpResponse& response) {
  std::unique_ptr<rapidjson::Document> doc = Parse(response);
  if (!doc->IsObject() || !doc->HasMember("error") || !(*doc)["error"].IsObject() ||
      !(*doc)["error"].HasMember("message") || !(*doc)["error"]["message"].IsString()) {
    ADD_FAILURE() << "no error.message in " << response.body;
    return "";
  }
  return (*doc)["error"]["message"].GetString();
}

// A 400 whose message names `what`.
inline void ExpectRefused(const HttpResponse& response, const std::string& what) {
  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_THAT(ErrorMessage(response), HasSubstr(what)) << response.body;
}

inline std::string String(const rapidjson::Value& v) {
  EXPECT_TRUE(v.IsString());
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : std::string();
}

// One scored prompt's answer, as parsed from choices[0].
struct Scored {
  int status = 0;
  std::string text;
  std::vector<std::string> tokens;
  std::vector<double> logprobs;                                   // [0] is NaN (null in the answer)
  std::vector<std::vector<std::pair<std::string, double>>> tops;  // [0] empty (null)
  std::vector<int64_t> offsets;
  int64_t prompt_tokens = -1;
};

inline Scored Score(OpenAiServer& server, const std::string& prompt_json, int top_n) {
  const HttpResponse response =
      Post(server, "/v1/completions",
           "{\"model\":\"smol\",\"prompt\":" + prompt_json +
               ",\"max_tokens\":0,\"echo\":true,\"logprobs\":" + std::to_string(top_n) + "}");
  Scored s;
  s.status = response.status;
  EXPECT_EQ(response.status, 200) << response.body;
  if (response.status != 200) return s;
  std::unique_ptr<rapidjson::Document> doc = Parse(response);
  const rapidjson::Value& choice = (*doc)["choices"][0];
  s.text = String(choice["text"]);
  EXPECT_EQ(String(choice["finish_reason"]), "length");
  EXPECT_EQ(String(choice["sigma_stop_reason"]), "max_tokens");
  s.prompt_tokens = (*doc)["usage"]["prompt_tokens"].GetInt64();
  EXPECT_EQ((*doc)["usage"]["completion_tokens"].GetInt64(), 0);
  const rapidjson::Value& lp = choice["logprobs"];
  const size_t n = lp["tokens"].Size();
  EXPECT_EQ(lp["token_logprobs"].Size(), n);
  EXPECT_EQ(lp["top_logprobs"].Size(), n);
  EXPECT_EQ(lp["text_offset"].Size(), n);
  if (lp["token_logprobs"].Size() != n || lp["top_logprobs"].Size() != n ||
      lp["text_offset"].Size() != n) {
    return s;
  }
  for (size_t i = 0; i < n; ++i) {
    s.tokens.push_back(String(lp["tokens"][i]));
    s.offsets.push_back(lp["text_offset"][i].GetInt64());
    const rapidjson::Value& logprob = lp["token_logprobs"][i];
    const rapidjson::Value& top = lp["top_logprobs"][i];
    if (i == 0) {
      EXPECT_TRUE(logprob.IsNull());
      EXPECT_TRUE(top.IsNull());
      s.logprobs.push_back(std::nan(""));
      s.tops.emplace_back();
      continue;
    }
    EXPECT_TRUE(logprob.IsNumber()) << i;
    s.logprobs.push_back(logprob.IsNumber() ? logprob.GetDouble() : std::nan(""));
    EXPECT_TRUE(top.IsObject()) << i;
    std::vector<std::pair<std::string, double>> entries;
    if (top.IsObject()) {
      for (const auto& m : top.GetObject())
        entries.emplace_back(String(m.name), m.value.GetDouble());
    }
    s.tops.push_back(std::move(entries));
  }
  return s;
}

// Two answers' numbers are the same bits (after the same JSON round trip).
inline void ExpectSameScores(const Scored& a, const Scored& b) {
  ASSERT_EQ(a.logprobs.size(), b.logprobs.size());
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.offsets, b.offsets);
  EXPECT_EQ(a.text, b.text);
  for (size_t i = 1; i < a.logprobs.size(); ++i) {
    EXPECT_EQ(a.logprobs[i], b.logprobs[i]) << i;
    EXPECT_EQ(a.tops[i], b.tops[i]) << i;
  }
}

// Row-major [rows, vocab] logits of `tokens` prefilled from position 0 of sequence 0, in calls of
// `chunk` rows.
inline std::vector<float> AllLogits(LanguageModel& lm, const std::vector<int32_t>& tokens,
                                    size_t chunk) {
  std::vector<float> all, logits;
  EXPECT_TRUE(lm.model().TruncateSequence(0, 0).ok());
  for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
    const size_t end = std::min(tokens.size(), begin + chunk);
    const Status s = lm.model().Prefill(
        0, std::span<const int32_t>(tokens).subspan(begin, end - begin), LogitsMode::kAll, &logits);
    EXPECT_TRUE(s.ok()) << s.ToString();
    all.insert(all.end(), logits.begin(), logits.end());
  }
  return all;
}

inline tasks::Response Answer(EngineBackend& backend, const tasks::Request& request) {
  BackendItem item;
  item.request = &request;
  const Status s = backend.Run({&item, 1});
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(item.response.error.empty()) << item.response.error;
  return item.response;
}

inline const std::string kParagraph =
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs, and "
    "then sphinx of black quartz, judge my vow. How vexingly quick daft zebras jump!";

// `n` copies of kParagraph (about 43 tokens each).
inline std::string Paragraphs(int n) {
  std::string text = kParagraph;
  for (int i = 1; i < n; ++i) text += "\n\n" + kParagraph;
  return text;
}

// A text of well over 64 tokens (scored in more than one chunk).
inline std::string LongText() { return Paragraphs(3); }

class OpenAiServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!FileExists(DefaultModelPath())) return;
    server_ = OpenServer(kContext, kName).release();
    reference_lm_ = OpenModel(kContext).release();
    reference_backend_ = OpenBackend().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete reference_lm_;
    delete reference_backend_;
    server_ = nullptr;
    reference_lm_ = nullptr;
    reference_backend_ = nullptr;
  }
  void SetUp() override {
    if (!FileExists(DefaultModelPath())) {
      GTEST_SKIP() << "default model missing at " << DefaultModelPath()
                   << " (run scripts/setup.sh)";
    }
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(reference_lm_, nullptr);
    ASSERT_NE(reference_backend_, nullptr);
  }

  std::vector<int32_t> Encode(const std::string& text) {
    return EncodeText(*reference_lm_->tokenizer(), text, /*add_special=*/true);
  }
  HttpResponse Complete(const std::string& body) { return Post(*server_, "/v1/completions", body); }
  HttpResponse Chat(const std::string& body) {
    return Post(*server_, "/v1/chat/completions", body);
  }

  static constexpr const char* kName = "smol/135m \"instruct\"";
  static inline OpenAiServer* server_ = nullptr;
  static inline LanguageModel* reference_lm_ = nullptr;       // for logits
  static inline EngineBackend* reference_backend_ = nullptr;  // for generations
};

}  // namespace sigma::harness::serve_test

#endif  // SIGMA_TESTS_HARNESS_SERVE_OPENAI_SERVER_TEST_UTIL_H_
