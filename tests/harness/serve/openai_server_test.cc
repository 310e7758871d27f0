// OpenAiServer (harness/serve/openai_server.h) on the default model, through Handle() without
// sockets: its routes and their 404 / 405 / 400 answers; the parameters it refuses rather than
// ignores (each 400 naming the key); scoring (max_tokens 0, echo, logprobs) against log-softmax of
// the engine's own logits, per token text, offset and top tokens; the same bits when a request
// reuses the previous one's rows or follows a generation; generations equal to EngineBackend's on
// the same context (plain, stop string, echo, seeded sampling, chat); and valid JSON for a prompt
// of quotes, backslashes, newlines and non-ASCII text.
#include "harness/serve/openai_server.h"

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
#include "tests/harness/backends/test_requests.h"

namespace sigma::harness {
namespace {

using testing_util::GenerateRequest;

using ::testing::HasSubstr;

constexpr int64_t kContext = 512;
// The server's scoring chunk on the CPU.
const size_t kChunk = static_cast<size_t>(EngineBackend::ScoreChunk("cpu"));

std::unique_ptr<LanguageModel> OpenModel(int64_t max_context) {
  EngineOptions options;
  options.threads = 2;
  options.max_context = max_context;
  options.max_sequences = 1;
  StatusOr<std::unique_ptr<LanguageModel>> lm = LanguageModel::Open(DefaultModelPath(), options);
  EXPECT_TRUE(lm.ok()) << lm.status().ToString();
  return lm.ok() ? std::move(*lm) : nullptr;
}

std::unique_ptr<OpenAiServer> OpenServer(int64_t max_context, const std::string& name = "smol") {
  std::unique_ptr<LanguageModel> lm = OpenModel(max_context);
  if (lm == nullptr) return nullptr;
  StatusOr<std::unique_ptr<OpenAiServer>> server = OpenAiServer::Create(std::move(lm), name);
  EXPECT_TRUE(server.ok()) << server.status().ToString();
  return server.ok() ? std::move(*server) : nullptr;
}

std::unique_ptr<EngineBackend> OpenBackend() {
  std::unique_ptr<LanguageModel> lm = OpenModel(kContext);
  if (lm == nullptr) return nullptr;
  StatusOr<std::unique_ptr<EngineBackend>> backend =
      EngineBackend::Create(std::move(lm), EngineBackendOptions{});
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  return backend.ok() ? std::move(*backend) : nullptr;
}

HttpResponse Call(OpenAiServer& server, const std::string& method, const std::string& path,
                  const std::string& body = "") {
  HttpRequest request;
  request.method = method;
  request.path = path;
  request.body = body;
  return server.Handle(request);
}

HttpResponse Post(OpenAiServer& server, const std::string& path, const std::string& body) {
  return Call(server, "POST", path, body);
}

// The answer's body, parsed (an empty object, with a failure, where it is not JSON).
std::unique_ptr<rapidjson::Document> Parse(const HttpResponse& response) {
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

std::string Quote(const std::string& text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

std::string Ids(const std::vector<int32_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  out += ']';
  return out;
}

// error.message of an error answer ("" with a failure where there is none).
std::string ErrorMessage(const HttpResponse& response) {
  std::unique_ptr<rapidjson::Document> doc = Parse(response);
  if (!doc->IsObject() || !doc->HasMember("error") || !(*doc)["error"].IsObject() ||
      !(*doc)["error"].HasMember("message") || !(*doc)["error"]["message"].IsString()) {
    ADD_FAILURE() << "no error.message in " << response.body;
    return "";
  }
  return (*doc)["error"]["message"].GetString();
}

// A 400 whose message names `what`.
void ExpectRefused(const HttpResponse& response, const std::string& what) {
  EXPECT_EQ(response.status, 400) << response.body;
  EXPECT_THAT(ErrorMessage(response), HasSubstr(what)) << response.body;
}

std::string String(const rapidjson::Value& v) {
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

Scored Score(OpenAiServer& server, const std::string& prompt_json, int top_n) {
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
void ExpectSameScores(const Scored& a, const Scored& b) {
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
std::vector<float> AllLogits(LanguageModel& lm, const std::vector<int32_t>& tokens, size_t chunk) {
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

tasks::Response Answer(EngineBackend& backend, const tasks::Request& request) {
  BackendItem item;
  item.request = &request;
  const Status s = backend.Run({&item, 1});
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(item.response.error.empty()) << item.response.error;
  return item.response;
}

const std::string kParagraph =
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs, and "
    "then sphinx of black quartz, judge my vow. How vexingly quick daft zebras jump!";

// `n` copies of kParagraph (about 43 tokens each).
std::string Paragraphs(int n) {
  std::string text = kParagraph;
  for (int i = 1; i < n; ++i) text += "\n\n" + kParagraph;
  return text;
}

// A text of well over 64 tokens (scored in more than one chunk).
std::string LongText() { return Paragraphs(3); }

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
  static OpenAiServer* server_;
  static LanguageModel* reference_lm_;       // for logits
  static EngineBackend* reference_backend_;  // for generations
};

OpenAiServer* OpenAiServerTest::server_ = nullptr;
LanguageModel* OpenAiServerTest::reference_lm_ = nullptr;
EngineBackend* OpenAiServerTest::reference_backend_ = nullptr;

// ---- Routes ----

TEST_F(OpenAiServerTest, ModelsListsTheNameGivenToCreate) {
  const HttpResponse response = Call(*server_, "GET", "/v1/models");
  ASSERT_EQ(response.status, 200) << response.body;
  std::unique_ptr<rapidjson::Document> doc = Parse(response);
  EXPECT_EQ(String((*doc)["object"]), "list");
  ASSERT_TRUE((*doc)["data"].IsArray());
  ASSERT_EQ((*doc)["data"].Size(), 1u);
  EXPECT_EQ(String((*doc)["data"][0]["id"]), kName);
  EXPECT_EQ(String((*doc)["data"][0]["object"]), "model");
}

TEST_F(OpenAiServerTest, HealthIsOk) {
  const HttpResponse response = Call(*server_, "GET", "/health");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(String((*Parse(response))["status"]), "ok");
}

TEST_F(OpenAiServerTest, UnknownPathIs404WithAJsonError) {
  for (const char* method : {"GET", "POST"}) {
    const HttpResponse response = Call(*server_, method, "/v1/embeddings", "{}");
    EXPECT_EQ(response.status, 404) << method;
    EXPECT_THAT(ErrorMessage(response), HasSubstr("/v1/embeddings"));
    EXPECT_EQ(String((*Parse(response))["error"]["type"]), "not_found_error");
  }
  EXPECT_EQ(Call(*server_, "GET", "/").status, 404);
  EXPECT_EQ(Call(*server_, "POST", "/v1/completions/").status, 404);
}

TEST_F(OpenAiServerTest, WrongMethodIs405ForEachRoute) {
  for (const char* path : {"/v1/models", "/health"}) {
    for (const char* method : {"POST", "DELETE"}) {
      const HttpResponse response = Call(*server_, method, path, "{}");
      EXPECT_EQ(response.status, 405) << method << " " << path;
      EXPECT_THAT(ErrorMessage(response), HasSubstr("GET"));
    }
  }
  for (const char* path : {"/v1/completions", "/v1/chat/completions"}) {
    for (const char* method : {"GET", "PUT"}) {
      const HttpResponse response = Call(*server_, method, path, "{\"prompt\":\"x\"}");
      EXPECT_EQ(response.status, 405) << method << " " << path;
      EXPECT_THAT(ErrorMessage(response), HasSubstr("POST"));
    }
  }
}

TEST_F(OpenAiServerTest, BodyThatIsNotJsonIs400NamingTheProblem) {
  for (const char* path : {"/v1/completions", "/v1/chat/completions"}) {
    const HttpResponse response = Post(*server_, path, "{\"prompt\": \"x\",");
    EXPECT_EQ(response.status, 400) << path;
    const std::string message = ErrorMessage(response);
    EXPECT_THAT(message, HasSubstr("invalid JSON")) << path;
    EXPECT_THAT(message, HasSubstr("byte")) << path;
  }
  ExpectRefused(Complete(""), "invalid JSON");
}

TEST_F(OpenAiServerTest, BodyThatIsAnArrayIs400) {
  for (const char* path : {"/v1/completions", "/v1/chat/completions"}) {
    const HttpResponse response = Post(*server_, path, "[{\"prompt\":\"x\"}]");
    EXPECT_EQ(response.status, 400) << path;
    EXPECT_THAT(ErrorMessage(response), HasSubstr("object")) << path;
  }
}

// ---- Refusals ----

TEST_F(OpenAiServerTest, UnimplementedParametersAreRefusedNamingTheKey) {
  struct Case {
    const char* member;
    const char* key;
  };
  for (const Case& c :
       {Case{"\"stream\":true", "stream"}, Case{"\"n\":2", "n:"}, Case{"\"best_of\":3", "best_of"},
        Case{"\"logit_bias\":{\"42\":5}", "logit_bias"},
        Case{"\"presence_penalty\":0.5", "presence_penalty"},
        Case{"\"frequency_penalty\":0.1", "frequency_penalty"},
        Case{"\"suffix\":\"x\"", "suffix"}}) {
    SCOPED_TRACE(c.member);
    ExpectRefused(Complete(std::string("{\"prompt\":\"Hi\",\"max_tokens\":2,") + c.member + "}"),
                  c.key);
    ExpectRefused(
        Chat(std::string(
                 "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":2,") +
             c.member + "}"),
        c.key);
  }
  // Their neutral values are accepted.
  const HttpResponse neutral = Complete(
      "{\"prompt\":\"Hi\",\"max_tokens\":1,\"temperature\":0,\"stream\":false,\"n\":1,"
      "\"best_of\":1,\"logit_bias\":{},\"presence_penalty\":0,\"suffix\":\"\"}");
  EXPECT_EQ(neutral.status, 200) << neutral.body;
}

TEST_F(OpenAiServerTest, LogprobsOfGeneratedTokensAreRefused) {
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"max_tokens\":3,\"logprobs\":1}"), "logprobs");
  ExpectRefused(Chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"logprobs\":true}"),
                "logprobs");
}

TEST_F(OpenAiServerTest, TokenIdPromptsAreOnlyScored) {
  const std::vector<int32_t> ids = Encode("Hello there");
  ExpectRefused(Complete("{\"prompt\":" + Ids(ids) + ",\"max_tokens\":3}"), "token ids");
  ExpectRefused(Complete("{\"prompt\":" + Ids(ids) + ",\"max_tokens\":3}"), "prompt");
  const int vocab = reference_lm_->model().vocab_size();
  for (int bad : {vocab, -1}) {
    const HttpResponse response = Complete("{\"prompt\":[1," + std::to_string(bad) +
                                           "],\"max_tokens\":0,\"echo\":true,\"logprobs\":1}");
    ExpectRefused(response, "outside the vocabulary");
    EXPECT_THAT(ErrorMessage(response), HasSubstr(std::to_string(bad)));
  }
}

TEST_F(OpenAiServerTest, OutOfRangeNumbersAreRefused) {
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"max_tokens\":0,\"echo\":true,\"logprobs\":21}"),
                "logprobs");
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"max_tokens\":0,\"echo\":true,\"logprobs\":-1}"),
                "logprobs");
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"max_tokens\":-1}"), "max_tokens");
  ExpectRefused(Chat("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":-1}"),
                "max_tokens");
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"max_tokens\":2,\"temperature\":-1}"), "temperature");
}

TEST_F(OpenAiServerTest, BadMessagesAreRefused) {
  ExpectRefused(Chat("{\"max_tokens\":2}"), "messages");
  ExpectRefused(Chat("{\"messages\":[],\"max_tokens\":2}"), "messages");
  ExpectRefused(Chat("{\"messages\":\"Hi\",\"max_tokens\":2}"), "messages");
  ExpectRefused(Chat("{\"messages\":[{\"role\":\"user\",\"content\":42}],\"max_tokens\":2}"),
                "messages");
  ExpectRefused(Chat("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
                     "\"text\":\"Hi\"}]}],\"max_tokens\":2}"),
                "messages");
  ExpectRefused(Chat("{\"messages\":[{\"content\":\"Hi\"}],\"max_tokens\":2}"), "messages");
}

TEST_F(OpenAiServerTest, MissingPromptIsRefused) {
  ExpectRefused(Complete("{\"max_tokens\":2}"), "prompt");
  ExpectRefused(Complete("{\"prompt\":42,\"max_tokens\":2}"), "prompt");
}

TEST_F(OpenAiServerTest, PromptLongerThanTheContextIsRefusedNamingTheContext) {
  std::unique_ptr<OpenAiServer> small = OpenServer(64);
  ASSERT_NE(small, nullptr);
  const std::string text = LongText();
  ASSERT_GT(Encode(text).size(), 70u);
  ExpectRefused(Post(*small, "/v1/completions",
                     "{\"prompt\":" + Quote(text) +
                         ",\"max_tokens\":0,\"echo\":true,"
                         "\"logprobs\":1}"),
                "context");
  ExpectRefused(Post(*small, "/v1/completions",
                     "{\"prompt\":" + Ids(Encode(text)) +
                         ",\"max_tokens\":0,\"echo\":true,"
                         "\"logprobs\":0}"),
                "context");
  ExpectRefused(Post(*small, "/v1/completions",
                     "{\"prompt\":" + Quote(text) + ",\"max_tokens\":4,\"temperature\":0}"),
                "context");
  ExpectRefused(Post(*small, "/v1/chat/completions",
                     "{\"messages\":[{\"role\":\"user\",\"content\":" + Quote(text) +
                         "}],\"max_tokens\":4,\"temperature\":0}"),
                "context");
  // The last token is only scored: a prompt may be one longer than the context.
  const std::vector<int32_t> ids = Encode(text);
  const std::vector<int32_t> longest(ids.begin(), ids.begin() + 65);
  const Scored scored = Score(*small, Ids(longest), 2);
  EXPECT_EQ(scored.prompt_tokens, 65);
  EXPECT_EQ(scored.logprobs.size(), 65u);
  const std::vector<int32_t> too_long(ids.begin(), ids.begin() + 66);
  ExpectRefused(
      Post(*small, "/v1/completions",
           "{\"prompt\":" + Ids(too_long) + ",\"max_tokens\":0,\"echo\":true,\"logprobs\":2}"),
      "context");
  // A generation that fills the context is cut off: finish_reason "length".
  const HttpResponse full =
      Post(*small, "/v1/completions",
           "{\"prompt\":" + Quote(kParagraph) + ",\"max_tokens\":60,\"temperature\":0}");
  ASSERT_EQ(full.status, 200) << full.body;
  std::unique_ptr<rapidjson::Document> full_doc = Parse(full);
  EXPECT_EQ(String((*full_doc)["choices"][0]["sigma_stop_reason"]), "context_full");
  EXPECT_EQ(String((*full_doc)["choices"][0]["finish_reason"]), "length");
  EXPECT_LE((*full_doc)["usage"]["total_tokens"].GetInt64(), 65);
  // A prompt that fits is answered by the same server afterwards.
  const HttpResponse fits = Post(*small, "/v1/completions",
                                 "{\"prompt\":\"Hello\",\"max_tokens\":0,\"echo\":true,"
                                 "\"logprobs\":1}");
  EXPECT_EQ(fits.status, 200) << fits.body;
}

// ---- Scoring ----

TEST_F(OpenAiServerTest, ScoresAreLogSoftmaxOfTheEnginesLogits) {
  constexpr int kTop = 5;
  const std::string text = LongText();
  const std::vector<int32_t> ids = Encode(text);
  ASSERT_GT(ids.size(), 2 * kChunk);
  const Scored s = Score(*server_, Quote(text), kTop);
  ASSERT_EQ(s.tokens.size(), ids.size());
  EXPECT_EQ(s.prompt_tokens, static_cast<int64_t>(ids.size()));

  // Token texts, their concatenation and offsets.
  std::string joined;
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(s.tokens[i], reference_lm_->TokenPiece(ids[i])) << i;
    EXPECT_EQ(s.offsets[i], static_cast<int64_t>(joined.size())) << i;
    joined += s.tokens[i];
  }
  EXPECT_EQ(joined, s.text);
  EXPECT_EQ(s.text, text);  // the tokenizer adds no BOS

  // Against one prefill of all the predicting positions (rounding may differ in the last bits)
  // and against prefills in the server's chunks (the same calls: the same bits).
  const std::vector<int32_t> predictors(ids.begin(), ids.end() - 1);
  const auto vocab = static_cast<size_t>(reference_lm_->model().vocab_size());
  const std::vector<float> whole = AllLogits(*reference_lm_, predictors, predictors.size());
  const std::vector<float> chunked = AllLogits(*reference_lm_, predictors, kChunk);
  ASSERT_EQ(whole.size(), predictors.size() * vocab);
  ASSERT_EQ(chunked.size(), predictors.size() * vocab);
  for (size_t i = 1; i < ids.size(); ++i) {
    const std::span<const float> row_whole(whole.data() + (i - 1) * vocab, vocab);
    const std::span<const float> row(chunked.data() + (i - 1) * vocab, vocab);
    const double expected = LogSoftmaxAt(row, ids[i]);
    EXPECT_NEAR(s.logprobs[i], LogSoftmaxAt(row_whole, ids[i]), 1e-4) << i;
    EXPECT_NEAR(s.logprobs[i], expected, 1e-12 * std::max(1.0, std::abs(expected))) << i;

    // The top tokens: kTop of them, most likely first, the first the row's argmax.
    const std::vector<std::pair<std::string, double>>& top = s.tops[i];
    ASSERT_EQ(top.size(), static_cast<size_t>(kTop)) << i;
    for (size_t k = 1; k < top.size(); ++k) EXPECT_GE(top[k - 1].second, top[k].second) << i;
    EXPECT_GE(top[0].second, s.logprobs[i]) << i;
    const int32_t argmax = ArgMax(row);
    EXPECT_EQ(top[0].first, reference_lm_->TokenPiece(argmax)) << i;
    const double best = LogSoftmaxAt(row, argmax);
    EXPECT_NEAR(top[0].second, best, 1e-12 * std::max(1.0, std::abs(best))) << i;
    // The scored token is among them where its log-probability beats the last one's.
    if (s.logprobs[i] > top.back().second) {
      EXPECT_TRUE(std::any_of(top.begin(), top.end(), [&](const auto& e) {
        return e.second == s.logprobs[i];
      })) << i;
    }
  }

  // A server answering the prompt fresh gives the same bits; so does the prompt's token ids.
  std::unique_ptr<OpenAiServer> fresh = OpenServer(kContext);
  ASSERT_NE(fresh, nullptr);
  const Scored again = Score(*fresh, Quote(text), kTop);
  ExpectSameScores(s, again);
  const Scored by_ids = Score(*server_, Ids(ids), kTop);
  EXPECT_EQ(by_ids.prompt_tokens, s.prompt_tokens);
  ExpectSameScores(s, by_ids);
  const Scored by_ids_fresh = Score(*fresh, "[" + Ids(ids) + "]", kTop);  // OpenAI's batch form
  ExpectSameScores(s, by_ids_fresh);
}

TEST_F(OpenAiServerTest, LogprobsZeroGivesEmptyTopsAndTheSameScores) {
  const std::string text = "Pack my box with five dozen liquor jugs.";
  const Scored five = Score(*server_, Quote(text), 5);
  const Scored zero = Score(*server_, Quote(text), 0);
  ASSERT_EQ(five.logprobs.size(), zero.logprobs.size());
  ASSERT_GT(zero.logprobs.size(), 3u);
  for (size_t i = 1; i < zero.logprobs.size(); ++i) {
    EXPECT_EQ(zero.logprobs[i], five.logprobs[i]) << i;
    EXPECT_TRUE(zero.tops[i].empty()) << i;
  }
}

TEST_F(OpenAiServerTest, ScoringWithoutLogprobsEchoesThePrompt) {
  const std::string text = "Sphinx of black quartz, judge my vow.";
  const HttpResponse response =
      Complete("{\"prompt\":" + Quote(text) + ",\"max_tokens\":0,\"echo\":true}");
  ASSERT_EQ(response.status, 200) << response.body;
  std::unique_ptr<rapidjson::Document> doc = Parse(response);
  EXPECT_EQ(String((*doc)["choices"][0]["text"]), text);
  EXPECT_TRUE((*doc)["choices"][0]["logprobs"].IsNull());
  EXPECT_EQ((*doc)["usage"]["prompt_tokens"].GetInt64(), static_cast<int64_t>(Encode(text).size()));
}

// ---- Reuse across requests ----

TEST_F(OpenAiServerTest, ReusedRowsGiveTheSameBitsAsAFreshServer) {
  constexpr int kTop = 4;
  const std::string p1_text = Paragraphs(5);
  const std::vector<int32_t> p1 = Encode(p1_text);
  ASSERT_GE(p1.size(), 200u);
  std::vector<int32_t> p2(p1.begin(), p1.begin() + 150);
  for (int32_t id : EncodeText(*reference_lm_->tokenizer(), " Then the story ends here.", false)) {
    p2.push_back(id);
  }
  std::unique_ptr<OpenAiServer> a = OpenServer(kContext);
  std::unique_ptr<OpenAiServer> b = OpenServer(kContext);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);

  const Scored a1 = Score(*a, Ids(p1), kTop);
  const Scored a2 = Score(*a, Ids(p2), kTop);
  const Scored b2 = Score(*b, Ids(p2), kTop);
  ASSERT_EQ(a2.logprobs.size(), p2.size());
  ExpectSameScores(a2, b2);
  // And the same again after the reuse (P2 after P2: all but its last chunk reused).
  ExpectSameScores(Score(*a, Ids(p2), kTop), b2);

  // A generation in between (from P1's text, so the slot holds P1's rows and more) does not
  // change the scores that follow.
  const HttpResponse gen =
      Post(*a, "/v1/completions",
           "{\"prompt\":" + Quote(p1_text) + ",\"max_tokens\":6,\"temperature\":0}");
  ASSERT_EQ(gen.status, 200) << gen.body;
  EXPECT_EQ(String((*Parse(gen))["choices"][0]["text"]),
            Answer(*reference_backend_, GenerateRequest(p1_text, 6)).text);
  ExpectSameScores(Score(*a, Ids(p1), kTop), a1);
  ASSERT_EQ(Post(*a, "/v1/completions",
                 "{\"prompt\":" + Quote(p1_text) + ",\"max_tokens\":6,\"temperature\":0}")
                .status,
            200);
  ExpectSameScores(Score(*a, Ids(p2), kTop), b2);
  // A different top_n is not a reuse, and still the same scores.
  const Scored b2_top1 = Score(*b, Ids(p2), 1);
  const Scored a2_top1 = Score(*a, Ids(p2), 1);
  ExpectSameScores(a2_top1, b2_top1);
  for (size_t i = 1; i < a2_top1.logprobs.size(); ++i) {
    EXPECT_EQ(a2_top1.logprobs[i], b2.logprobs[i]) << i;
  }
}

// ---- Generation ----

TEST_F(OpenAiServerTest, GreedyCompletionEqualsTheEngineBackends) {
  const std::string prompt = "Once upon a time, in a small village by the sea,";
  const tasks::Response expected = Answer(*reference_backend_, GenerateRequest(prompt, 8));
  ASSERT_EQ(expected.stop_reason, "max_tokens");
  ASSERT_GE(expected.text.size(), 4u);

  const HttpResponse response = Complete("{\"model\":\"any\",\"prompt\":" + Quote(prompt) +
                                         ",\"max_tokens\":8,\"temperature\":0}");
  ASSERT_EQ(response.status, 200) << response.body;
  std::unique_ptr<rapidjson::Document> doc = Parse(response);
  EXPECT_EQ(String((*doc)["object"]), "text_completion");
  EXPECT_EQ(String((*doc)["model"]), kName);
  EXPECT_TRUE((*doc)["id"].IsString());
  const rapidjson::Value& choice = (*doc)["choices"][0];
  EXPECT_EQ(String(choice["text"]), expected.text);
  EXPECT_EQ(String(choice["finish_reason"]), "length");
  EXPECT_EQ(String(choice["sigma_stop_reason"]), "max_tokens");
  EXPECT_TRUE(choice["logprobs"].IsNull());
  const rapidjson::Value& usage = (*doc)["usage"];
  EXPECT_EQ(usage["prompt_tokens"].GetInt64(), static_cast<int64_t>(Encode(prompt).size()));
  EXPECT_EQ(usage["completion_tokens"].GetInt64(), 8);
  EXPECT_EQ(usage["total_tokens"].GetInt64(),
            usage["prompt_tokens"].GetInt64() + usage["completion_tokens"].GetInt64());
  ASSERT_TRUE((*doc)["sigma_timing"].IsObject());
  for (const char* key : {"prefill_ms", "ttft_ms", "decode_ms"}) {
    ASSERT_TRUE((*doc)["sigma_timing"].HasMember(key)) << key;
    EXPECT_TRUE((*doc)["sigma_timing"][key].IsNumber()) << key;
    EXPECT_GE((*doc)["sigma_timing"][key].GetDouble(), 0.0) << key;
  }

  // A stop string that occurs in that output: the text ends before its first occurrence.
  const std::string stop = expected.text.substr(expected.text.size() / 2, 2);
  const std::string cut = expected.text.substr(0, expected.text.find(stop));
  const HttpResponse stopped =
      Complete("{\"prompt\":" + Quote(prompt) + ",\"max_tokens\":8,\"temperature\":0,\"stop\":[" +
               Quote("never in it") + "," + Quote(stop) + "]}");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  std::unique_ptr<rapidjson::Document> stopped_doc = Parse(stopped);
  EXPECT_EQ(String((*stopped_doc)["choices"][0]["text"]), cut) << "stop " << Quote(stop);
  EXPECT_EQ(String((*stopped_doc)["choices"][0]["finish_reason"]), "stop");
  EXPECT_EQ(String((*stopped_doc)["choices"][0]["sigma_stop_reason"]), "stop_string");
  // The same as a plain string.
  const HttpResponse stopped_one =
      Complete("{\"prompt\":" + Quote(prompt) +
               ",\"max_tokens\":8,\"temperature\":0,\"stop\":" + Quote(stop) + "}");
  ASSERT_EQ(stopped_one.status, 200) << stopped_one.body;
  EXPECT_EQ(String((*Parse(stopped_one))["choices"][0]["text"]), cut);

  // echo prepends the prompt.
  const HttpResponse echoed = Complete("{\"prompt\":" + Quote(prompt) +
                                       ",\"max_tokens\":8,\"temperature\":0,\"echo\":true}");
  ASSERT_EQ(echoed.status, 200) << echoed.body;
  EXPECT_EQ(String((*Parse(echoed))["choices"][0]["text"]), prompt + expected.text);
}

TEST_F(OpenAiServerTest, SeededSamplingRepeatsAndEqualsTheEngineBackends) {
  const std::string prompt = "My favourite colour is";
  const std::string body =
      "{\"prompt\":" + Quote(prompt) + ",\"max_tokens\":12,\"temperature\":0.8,\"seed\":1234}";
  const HttpResponse first = Complete(body);
  const HttpResponse second = Complete(body);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(second.status, 200) << second.body;
  const std::string text = String((*Parse(first))["choices"][0]["text"]);
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(String((*Parse(second))["choices"][0]["text"]), text);

  SamplingParams sampling;
  sampling.temperature = 0.8;
  sampling.seed = 1234;
  ASSERT_TRUE(reference_backend_->SetSampling(sampling).ok());
  const tasks::Response expected = Answer(*reference_backend_, GenerateRequest(prompt, 12));
  ASSERT_TRUE(reference_backend_->SetSampling(SamplingParams{}).ok());
  EXPECT_EQ(text, expected.text);
}

TEST_F(OpenAiServerTest, ChatCompletionEqualsTheEngineBackends) {
  tasks::Request request;
  request.type = tasks::RequestType::kGenerateUntil;
  request.chat = {{"user", "What is 2+2?"}};
  request.max_tokens = 16;
  const tasks::Response expected = Answer(*reference_backend_, request);
  ASSERT_FALSE(expected.text.empty());

  for (const char* max_key : {"max_tokens", "max_completion_tokens"}) {
    SCOPED_TRACE(max_key);
    const HttpResponse response =
        Chat(std::string("{\"model\":\"smol\",\"messages\":[{\"role\":\"user\",\"content\":"
                         "\"What is 2+2?\"}],\"temperature\":0,\"") +
             max_key + "\":16}");
    ASSERT_EQ(response.status, 200) << response.body;
    std::unique_ptr<rapidjson::Document> doc = Parse(response);
    EXPECT_EQ(String((*doc)["object"]), "chat.completion");
    const rapidjson::Value& choice = (*doc)["choices"][0];
    EXPECT_EQ(String(choice["message"]["role"]), "assistant");
    EXPECT_EQ(String(choice["message"]["content"]), expected.text);
    EXPECT_EQ(String(choice["sigma_stop_reason"]), expected.stop_reason);
    EXPECT_EQ(String(choice["finish_reason"]),
              expected.stop_reason == "max_tokens" ? "length" : "stop");
    EXPECT_GT((*doc)["usage"]["completion_tokens"].GetInt64(), 0);
    EXPECT_TRUE((*doc)["sigma_timing"].IsObject());
  }
}

// ---- JSON escaping ----

TEST_F(OpenAiServerTest, AnswersAreValidJsonForAnyPromptText) {
  const std::string prompt = "say \"hi\"\\n\n\t ü 世界";
  {
    const HttpResponse response =
        Complete("{\"prompt\":" + Quote(prompt) + ",\"max_tokens\":0,\"echo\":true}");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(String((*Parse(response))["choices"][0]["text"]), prompt);
  }
  {
    const Scored s = Score(*server_, Quote(prompt), 3);
    EXPECT_EQ(s.text, prompt);
    EXPECT_EQ(s.prompt_tokens, static_cast<int64_t>(Encode(prompt).size()));
  }
  {
    const HttpResponse response = Complete("{\"prompt\":" + Quote(prompt) +
                                           ",\"max_tokens\":4,\"temperature\":0,\"echo\":true}");
    ASSERT_EQ(response.status, 200) << response.body;
    const std::string text = String((*Parse(response))["choices"][0]["text"]);
    EXPECT_EQ(text.substr(0, prompt.size()), prompt);
  }
  {
    const HttpResponse response =
        Chat("{\"messages\":[{\"role\":\"user\",\"content\":" + Quote(prompt) +
             "}],\"max_tokens\":4,\"temperature\":0}");
    ASSERT_EQ(response.status, 200) << response.body;
    EXPECT_EQ(String((*Parse(response))["choices"][0]["message"]["role"]), "assistant");
  }
}

}  // namespace
}  // namespace sigma::harness

namespace sigma::harness {
namespace {

// The choice of an answer without what differs from call to call (id, created, timings).
std::string ChoiceOf(const HttpResponse& response) {
  if (response.status != 200) return StrCat(response.status, " ", response.body);
  std::unique_ptr<rapidjson::Document> doc = Parse(response);
  return JsonToString((*doc)["choices"]) + JsonToString((*doc)["usage"]);
}

// lm-eval's local-completions request (echo, logprobs, max_tokens 1, temperature 0): the prompt's
// scores as with max_tokens 0, then the greedy next token, which is the generation's first; without
// echo only that token. A longer or sampled generation with logprobs is refused.
TEST(OpenAiServerScoringTest, OneGreedyTokenFollowsThePromptsScores) {
  if (!FileExists(DefaultModelPath())) GTEST_SKIP() << "default model missing";
  std::unique_ptr<OpenAiServer> server = OpenServer(kContext);
  ASSERT_NE(server, nullptr);
  const std::string prompt = "The capital of France is";
  const Scored prompt_only = Score(*server, Quote(prompt), 2);
  const HttpResponse one = Post(*server, "/v1/completions",
                                "{\"prompt\":" + Quote(prompt) +
                                    ",\"max_tokens\":1,\"echo\":true,\"logprobs\":2,"
                                    "\"temperature\":0}");
  ASSERT_EQ(one.status, 200) << one.body;
  const std::unique_ptr<rapidjson::Document> doc = Parse(one);
  const rapidjson::Value& choice = (*doc)["choices"][0];
  const rapidjson::Value& lp = choice["logprobs"];
  const size_t n = prompt_only.tokens.size();
  ASSERT_EQ(lp["tokens"].Size(), n + 1);
  for (size_t i = 1; i < n; ++i) {
    EXPECT_EQ(lp["token_logprobs"][i].GetDouble(), prompt_only.logprobs[i]) << i;
  }
  // The generated token: the greedy generation's first, its logprob the top one's.
  const HttpResponse generated =
      Post(*server, "/v1/completions",
           "{\"prompt\":" + Quote(prompt) + ",\"max_tokens\":1,\"temperature\":0}");
  ASSERT_EQ(generated.status, 200) << generated.body;
  const std::string token = String((*Parse(generated))["choices"][0]["text"]);
  EXPECT_EQ(String(lp["tokens"][n]), token);
  EXPECT_EQ(String(choice["text"]), prompt + token);
  EXPECT_EQ(lp["text_offset"][n].GetInt64(), static_cast<int64_t>(prompt.size()));
  const auto& top = lp["top_logprobs"][n].GetObject();
  ASSERT_EQ(top.MemberCount(), 2u);
  EXPECT_EQ(String(top.begin()->name), token);
  EXPECT_EQ(top.begin()->value.GetDouble(), lp["token_logprobs"][n].GetDouble());
  EXPECT_EQ((*doc)["usage"]["completion_tokens"].GetInt64(), 1);
  // Without echo: the generated token alone.
  const HttpResponse alone =
      Post(*server, "/v1/completions",
           "{\"prompt\":" + Quote(prompt) + ",\"max_tokens\":1,\"logprobs\":1,\"temperature\":0}");
  ASSERT_EQ(alone.status, 200) << alone.body;
  const std::unique_ptr<rapidjson::Document> alone_doc = Parse(alone);
  EXPECT_EQ(String((*alone_doc)["choices"][0]["text"]), token);
  ASSERT_EQ((*alone_doc)["choices"][0]["logprobs"]["tokens"].Size(), 1u);
  EXPECT_EQ((*alone_doc)["choices"][0]["logprobs"]["text_offset"][0].GetInt64(), 0);
  // Refused: logprobs of two tokens, or of a sampled one.
  for (const char* rest :
       {",\"max_tokens\":2,\"temperature\":0", ",\"max_tokens\":1,\"temperature\":0.7"}) {
    const HttpResponse refused = Post(*server, "/v1/completions",
                                      "{\"prompt\":\"x\",\"logprobs\":1" + std::string(rest) + "}");
    EXPECT_EQ(refused.status, 400) << rest;
    EXPECT_NE(ErrorMessage(refused).find("one greedy token"), std::string::npos) << refused.body;
  }
}

// Two documents' continuations scored in turn (as clients with requests in flight send them):
// each context stays in a slot of its own, so a continuation after the first computes nothing
// of its context again (the reused positions say so), and every score is the same bits as a
// fresh server's. A third document takes the least recently used slot, starting from the chunks
// it shares with the other two's few-shot prefix.
TEST(OpenAiServerScoringTest, InterleavedContextsKeepTheirSlotsAndTheirBits) {
  if (!FileExists(DefaultModelPath())) GTEST_SKIP() << "default model missing";
  EngineOptions options;
  options.threads = 2;
  options.max_context = kContext;
  options.max_sequences = 2;
  auto lm = LanguageModel::Open(DefaultModelPath(), options);
  ASSERT_TRUE(lm.ok()) << lm.status().ToString();
  auto server = OpenAiServer::Create(std::move(*lm), "smol");
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::unique_ptr<OpenAiServer> fresh_server = OpenServer(kContext);
  ASSERT_NE(fresh_server, nullptr);
  const std::string shots = Paragraphs(2);  // a shared few-shot prefix of whole chunks
  // Each question longer than a chunk, so a context's own rows are more than what it shares.
  const std::vector<std::string> contexts = {
      shots +
          "Question: Of the two numbers three and five, which one is the larger, and by how "
          "much does it exceed the other?\nAnswer:",
      shots +
          "Question: When the grass in a well watered garden grows in the spring sunshine, "
          "what colour does it usually have?\nAnswer:",
      shots +
          "Question: If you count the legs of an ordinary healthy house cat sleeping on the "
          "sofa, how many do you get?\nAnswer:"};
  const std::vector<std::string> answers = {" five", " green", " four legs"};
  const auto request = [](const std::string& prompt) {
    return "{\"prompt\":" + Quote(prompt) +
           ",\"max_tokens\":1,\"echo\":true,\"logprobs\":1,\"temperature\":0}";
  };
  const auto reused = [](const HttpResponse& r) {
    return (*Parse(r))["sigma_timing"]["reused_tokens"].GetInt64();
  };
  const auto logprobs = [](const HttpResponse& r) {
    return JsonToString((*Parse(r))["choices"][0]["logprobs"]);
  };
  std::vector<int64_t> reuse;
  for (const std::vector<int>& order : {std::vector<int>{0, 1, 0, 1, 0, 1}, {2, 0}}) {
    int turn = 0;
    for (int doc : order) {
      const std::string prompt = contexts[doc] + answers[turn++ / 2 % 3];
      const HttpResponse got = Post(**server, "/v1/completions", request(prompt));
      ASSERT_EQ(got.status, 200) << got.body;
      EXPECT_EQ(logprobs(got), logprobs(Post(*fresh_server, "/v1/completions", request(prompt))))
          << prompt;
      reuse.push_back(reused(got));
    }
  }
  // First sight of a context: nothing, or the few-shot chunks another slot holds (copied); after
  // that the whole context but its last partial chunk, whatever came in between.
  auto tok = Tokenizer::Open(DefaultModelPath());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const auto length = [&](const std::string& text) {
    return static_cast<int64_t>(EncodeText(**tok, text, /*add_special=*/true).size());
  };
  const int64_t chunk = static_cast<int64_t>(kChunk);
  EXPECT_EQ(reuse[0], 0);
  EXPECT_GE(reuse[1], length(shots) - chunk);
  EXPECT_LT(reuse[1], length(contexts[1]) - 2);
  for (size_t i = 2; i < 6; ++i) {
    EXPECT_GE(reuse[i], length(contexts[i % 2]) - chunk) << i;
    EXPECT_GT(reuse[i], reuse[1]) << i;
  }
  EXPECT_GE(reuse[6], length(shots) - chunk);
  EXPECT_LT(reuse[6], length(contexts[2]) - 2);
}

// Requests that arrive together: greedy generations decode as one batch, a sampled one with
// another seed separately, a scoring request and a bad one are answered on their own; every
// answer is what a server gives that request alone.
TEST(OpenAiServerBatchTest, EachAnswerOfABatchIsTheRequestsAlone) {
  if (!FileExists(DefaultModelPath())) GTEST_SKIP() << "default model missing";
  EngineOptions options;
  options.threads = 2;
  options.max_context = kContext;
  options.max_sequences = 2;  // three greedy generations: a slot frees up for the third
  auto lm = LanguageModel::Open(DefaultModelPath(), options);
  ASSERT_TRUE(lm.ok()) << lm.status().ToString();
  auto batched = OpenAiServer::Create(std::move(*lm), "smol");
  ASSERT_TRUE(batched.ok()) << batched.status().ToString();
  const std::vector<std::string> bodies = {
      R"({"prompt":"The capital of France is","max_tokens":10,"temperature":0})",
      R"({"prompt":"One, two, three,","max_tokens":12,"temperature":0,"stop":[" six"]})",
      R"({"prompt":"Roses are red,","max_tokens":0,"echo":true,"logprobs":3})",
      R"({"prompt":"Once upon a time","max_tokens":9,"temperature":0.8,"seed":7})",
      R"({"messages":[{"role":"user","content":"Hi!"}],"max_tokens":8,"temperature":0})",
      R"({"prompt":"x","n":2})",
      R"({"prompt":"Once upon a time","max_tokens":9,"temperature":0.8,"seed":8})",
  };
  std::vector<HttpRequest> requests;
  for (const std::string& body : bodies) {
    requests.push_back(
        {"POST",
         body.find("messages") != std::string::npos ? "/v1/chat/completions" : "/v1/completions",
         {},
         body});
  }
  const std::vector<HttpResponse> together = (*batched)->HandleBatch(requests);
  ASSERT_EQ(together.size(), requests.size());
  std::unique_ptr<OpenAiServer> alone = OpenServer(kContext);  // one slot: one at a time
  ASSERT_NE(alone, nullptr);
  for (size_t i = 0; i < requests.size(); ++i) {
    EXPECT_EQ(ChoiceOf(together[i]), ChoiceOf(alone->Handle(requests[i]))) << bodies[i];
  }
  EXPECT_EQ(together[5].status, 400);
  EXPECT_NE(ChoiceOf(together[3]), ChoiceOf(together[6]));  // their own seeds
}

}  // namespace
}  // namespace sigma::harness
