// The OpenAI-compatible backend against a real HTTP server on 127.0.0.1: `sigma-eval serve`'s
// handler (OpenAiServer) on the default model, so every answer can be checked against the engine
// backend's own on the same requests (log-likelihoods with and without a client-side tokenizer,
// rolling windows, generations, chat, stop strings past the API's limit of four); and handlers
// that misbehave (busy, failing, refusing, answering nonsense, gone) to check what fails a
// request and what stops the run.
#include "harness/backends/openai_backend.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/base/file.h"
#include "engine/language_model.h"
#include "harness/backends/engine_backend.h"
#include "harness/http/http_server.h"
#include "harness/serve/openai_server.h"
#include "tests/harness/backends/test_requests.h"
#include "tests/harness/http/running_server.h"

namespace sigma::harness {
namespace {

using testing_util::ChoicesRequest;
using testing_util::GenerateRequest;

constexpr int64_t kContext = 512;

std::unique_ptr<LanguageModel> OpenModel(int64_t max_context) {
  EngineOptions options;
  options.threads = 2;
  options.max_context = max_context;
  auto lm = LanguageModel::Open(DefaultModelPath(), options);
  EXPECT_TRUE(lm.ok()) << lm.status().ToString();
  return lm.ok() ? std::move(*lm) : nullptr;
}

// A server whose handler a test can change, counting the requests and keeping the last.
class TestServer {
 public:
  TestServer()
      : server_(testing_util::RunningServer::Start([this](const HttpRequest& request) {
          std::lock_guard<std::mutex> lock(mu_);
          ++requests_;
          last_ = request;
          return handler_(request);
        })) {}
  std::string url() const { return server_->Url("/v1"); }
  void SetHandler(HttpHandler handler) {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }
  int requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  HttpRequest last() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_;
  }

 private:
  std::mutex mu_;
  HttpHandler handler_;
  int requests_ = 0;
  HttpRequest last_;
  // Last: it stops serving before the members its handler reads go.
  std::unique_ptr<testing_util::RunningServer> server_;
};

class OpenAiBackendTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!FileExists(DefaultModelPath())) return;
    auto api = OpenAiServer::Create(OpenModel(kContext), "smollm2");
    ASSERT_TRUE(api.ok()) << api.status().ToString();
    api_ = std::move(*api).release();
    auto engine = EngineBackend::Create(OpenModel(kContext), {});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(*engine).release();
    server_ = new TestServer();
  }
  static void TearDownTestSuite() {
    delete server_;
    delete api_;
    delete engine_;
    server_ = nullptr;
    api_ = nullptr;
    engine_ = nullptr;
  }
  void SetUp() override {
    if (!FileExists(DefaultModelPath())) {
      GTEST_SKIP() << "default model missing at " << DefaultModelPath()
                   << " (run scripts/setup.sh)";
    }
    server_->SetHandler([](const HttpRequest& r) { return api_->Handle(r); });
  }

  static std::unique_ptr<OpenAiBackend> Client(bool with_tokenizer, int64_t max_context = kContext,
                                               const std::string& model = "smollm2") {
    OpenAiBackendOptions o;
    o.base_url = server_->url();
    o.model = model;
    if (with_tokenizer) o.tokenizer_path = DefaultModelPath();
    o.max_context = max_context;
    o.max_attempts = 3;
    o.retry_base_s = 0.01;
    o.timeout_s = 60;
    auto backend = OpenAiBackend::Create(o);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    return backend.ok() ? std::move(*backend) : nullptr;
  }

  // Each request answered alone, as the runner's batch of one.
  static std::vector<tasks::Response> Answer(Backend& backend,
                                             const std::vector<tasks::Request>& requests) {
    std::vector<tasks::Response> out;
    for (const tasks::Request& request : requests) {
      BackendItem item;
      item.task = "t";
      item.doc_id = "d";
      item.request = &request;
      const Status s = backend.Run({&item, 1});
      EXPECT_TRUE(s.ok()) << s.ToString();
      out.push_back(item.response);
    }
    return out;
  }

  static inline OpenAiServer* api_ = nullptr;
  static inline EngineBackend* engine_ = nullptr;
  static inline TestServer* server_ = nullptr;
};

// The log-likelihood requests both ways of tokenizing must agree on: a few-shot preamble longer
// than a 64-position chunk (so the server reuses chunks between requests), a context ending in
// a space (scored with the continuation, as lm-eval does), and one in a newline.
std::vector<tasks::Request> ScoringRequests() {
  const std::string shot = "Question: Which planet is known as the red planet?\nAnswer: Mars\n\n";
  std::string preamble;
  for (int i = 0; i < 6; ++i) preamble += shot;
  return {ChoicesRequest(preamble + "Question: What is the capital of France?\nAnswer:",
                         {" Paris", " Lyon", " Marseille", " a city in Germany"}),
          ChoicesRequest("The quick brown fox jumps over the ", {"lazy dog", "fence"}),
          ChoicesRequest("Roses are red,\n", {"Violets are blue"})};
}

void ExpectSameScores(const std::vector<tasks::Response>& got,
                      const std::vector<tasks::Response>& want, double tolerance) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(got[i].error.empty()) << got[i].error;
    ASSERT_EQ(got[i].loglikelihoods.size(), want[i].loglikelihoods.size()) << i;
    for (size_t c = 0; c < got[i].loglikelihoods.size(); ++c) {
      const tasks::LoglikelihoodResult& g = got[i].loglikelihoods[c];
      const tasks::LoglikelihoodResult& w = want[i].loglikelihoods[c];
      EXPECT_NEAR(g.logprob, w.logprob, tolerance) << "request " << i << " choice " << c;
      EXPECT_EQ(g.is_greedy, w.is_greedy) << "request " << i << " choice " << c;
      EXPECT_EQ(g.num_tokens, w.num_tokens) << "request " << i << " choice " << c;
    }
  }
}

TEST_F(OpenAiBackendTest, LogLikelihoodsAreTheEngineBackends) {
  const std::vector<tasks::Request> requests = ScoringRequests();
  const std::vector<tasks::Response> want = Answer(*engine_, requests);
  // The server sums per-token values the engine backend sums too, from logits of other (but
  // equivalent) forward calls: the same numbers but for the sums' rounding.
  ExpectSameScores(Answer(*Client(true), requests), want, 1e-9);
  // Without a tokenizer the continuation is found by the echo's text offsets: the same tokens.
  ExpectSameScores(Answer(*Client(false), requests), want, 1e-9);
  // A greedy continuation is recognised as one: the model's own next tokens.
  const std::vector<tasks::Response> generated =
      Answer(*engine_, {GenerateRequest("The capital of France is", 3)});
  const std::vector<tasks::Response> scored =
      Answer(*Client(true), {ChoicesRequest("The capital of France is", {generated[0].text})});
  ASSERT_EQ(scored[0].loglikelihoods.size(), 1u) << scored[0].error;
  EXPECT_TRUE(scored[0].loglikelihoods[0].is_greedy) << generated[0].text;
}

TEST_F(OpenAiBackendTest, RollingWindowsAreTheEngineBackends) {
  tasks::Request rolling;
  rolling.type = tasks::RequestType::kLoglikelihoodRolling;
  rolling.continuations = {
      "It was the best of times, it was the worst of times, it was the age of wisdom, it was the "
      "age of foolishness, it was the epoch of belief, it was the epoch of incredulity."};
  // 24-token windows: several of them, each conditioned on less than the whole.
  auto engine = EngineBackend::Create(OpenModel(24), {});
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const std::vector<tasks::Response> want = Answer(**engine, {rolling});
  ExpectSameScores(Answer(*Client(true, 24), {rolling}), want, 1e-9);
  const std::vector<tasks::Response> refused = Answer(*Client(false), {rolling});
  EXPECT_NE(refused[0].error.find("--tokenizer"), std::string::npos) << refused[0].error;
}

TEST_F(OpenAiBackendTest, GenerationsAreTheEngineBackends) {
  tasks::Request chat = GenerateRequest("", 24);
  chat.chat = {{"user", "Name three colours."}};
  const std::vector<tasks::Request> requests = {
      GenerateRequest("The three primary colours are", 16),
      GenerateRequest("Count: 1, 2, 3,", 24, {"7"}),
      chat,
  };
  const std::vector<tasks::Response> want = Answer(*engine_, requests);
  for (bool tokenizer : {true, false}) {
    const std::vector<tasks::Response> got = Answer(*Client(tokenizer), requests);
    for (size_t i = 0; i < requests.size(); ++i) {
      EXPECT_TRUE(got[i].error.empty()) << got[i].error;
      EXPECT_EQ(got[i].text, want[i].text) << i;
      EXPECT_EQ(got[i].stop_reason, want[i].stop_reason) << i;
    }
  }
  EXPECT_EQ(want[1].stop_reason, "stop_string") << want[1].text;
}

TEST_F(OpenAiBackendTest, RequestsInFlightTogetherGetTheirOwnAnswers) {
  std::vector<tasks::Request> requests = ScoringRequests();
  for (const char* start : {"One, two,", "The sky is", "Once upon a time", "Water boils at"}) {
    requests.push_back(GenerateRequest(start, 6));
  }
  const std::vector<tasks::Response> want = Answer(*engine_, requests);
  OpenAiBackendOptions o;
  o.base_url = server_->url();
  o.model = "smollm2";
  o.tokenizer_path = DefaultModelPath();
  o.concurrency = 3;
  auto backend = OpenAiBackend::Create(o);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  std::vector<BackendItem> items(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) items[i].request = &requests[i];
  const Status s = (*backend)->Run(items);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::vector<tasks::Response> got;
  for (const BackendItem& item : items) got.push_back(item.response);
  const std::vector<tasks::Response> scored(got.begin(), got.begin() + 3);
  ExpectSameScores(scored, {want.begin(), want.begin() + 3}, 1e-9);
  for (size_t i = 3; i < requests.size(); ++i) EXPECT_EQ(got[i].text, want[i].text) << i;
  // One request the server cannot take stops the Run; the rest are answered or untouched.
  server_->SetHandler([](const HttpRequest& r) {
    if (r.body.find("The sky is") != std::string::npos) return HttpErrorResponse(503, "busy");
    return api_->Handle(r);
  });
  o.max_attempts = 1;
  auto stopping = OpenAiBackend::Create(o);
  ASSERT_TRUE(stopping.ok());
  std::vector<BackendItem> again(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) again[i].request = &requests[i];
  EXPECT_EQ((*stopping)->Run(again).code(), StatusCode::kUnavailable);
}

TEST_F(OpenAiBackendTest, StopStringsPastTheApisLimitStillStopTheText) {
  const tasks::Request all = GenerateRequest("Count: 1, 2, 3,", 24, {"x", "y", "z", "w", "7"});
  const std::vector<tasks::Response> want = Answer(*engine_, {all});
  ASSERT_EQ(want[0].stop_reason, "stop_string") << want[0].text;
  // The server is sent four: "7", the fifth, is applied by the client.
  const std::vector<tasks::Response> got = Answer(*Client(true), {all});
  EXPECT_EQ(got[0].text, want[0].text);
  EXPECT_EQ(got[0].stop_reason, "stop_string");
  EXPECT_EQ(server_->last().body.find("\"7\""), std::string::npos) << server_->last().body;
}

TEST_F(OpenAiBackendTest, NamesTheModelAndKeepsTheKeyOutOfItsRecords) {
  std::unique_ptr<OpenAiBackend> first = Client(true, kContext, /*model=*/"");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->Describe(), server_->url() + "/models/smollm2");  // GET /models' first
  OpenAiBackendOptions o;
  o.base_url = server_->url() + "/";
  o.model = "m";
  o.api_key = "sk-secret-123";
  auto keyed = OpenAiBackend::Create(o);
  ASSERT_TRUE(keyed.ok()) << keyed.status().ToString();
  EXPECT_EQ((*keyed)->FingerprintJson().find("sk-secret"), std::string::npos);
  // The model, not where it is served: a run resumes from a server started again elsewhere.
  EXPECT_NE((*keyed)->FingerprintJson().find("\"model\":\"m\""), std::string::npos)
      << (*keyed)->FingerprintJson();
  EXPECT_EQ((*keyed)->FingerprintJson().find("127.0.0.1"), std::string::npos);
  Answer(**keyed, {GenerateRequest("Hi", 2)});
  EXPECT_EQ(server_->last().headers["authorization"], "Bearer sk-secret-123");
  // The tokenizer is part of what determines the scores.
  EXPECT_NE(Client(true)->FingerprintJson().find("\"tokenizer_sha256\":\""), std::string::npos);
  EXPECT_NE(Client(false)->FingerprintJson().find("\"tokenizer_sha256\":null"), std::string::npos);
  o.base_url = "ftp://x";
  EXPECT_EQ(OpenAiBackend::Create(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(OpenAiBackendTest, ABusyServerIsTriedAgain) {
  int failures = 2;
  server_->SetHandler([&](const HttpRequest& r) {
    if (failures-- > 0) return HttpErrorResponse(503, "loading", "server_error");
    return api_->Handle(r);
  });
  const int before = server_->requests();
  const std::vector<tasks::Response> got = Answer(*Client(true), {GenerateRequest("Hello", 4)});
  EXPECT_TRUE(got[0].error.empty()) << got[0].error;
  EXPECT_FALSE(got[0].text.empty());
  EXPECT_EQ(server_->requests() - before, 3);
}

TEST_F(OpenAiBackendTest, ARefusedOrFailedRequestFailsItsSampleOnly) {
  std::unique_ptr<OpenAiBackend> client = Client(true);
  server_->SetHandler(
      [](const HttpRequest&) { return HttpErrorResponse(400, "this model does not do that"); });
  std::vector<tasks::Response> got = Answer(*client, {GenerateRequest("Hello", 4)});
  EXPECT_NE(got[0].error.find("HTTP 400: this model does not do that"), std::string::npos)
      << got[0].error;
  // A 500 that persists: tried max_attempts times, then the sample fails, the run goes on.
  const int before = server_->requests();
  server_->SetHandler([](const HttpRequest&) { return HttpErrorResponse(500, "boom", "x"); });
  got = Answer(*client, ScoringRequests());
  EXPECT_NE(got[0].error.find("boom"), std::string::npos) << got[0].error;
  EXPECT_TRUE(got[0].loglikelihoods.empty());
  EXPECT_EQ(server_->requests() - before, 3 * 3);  // three requests, three tries each
  // Answers that are not what the API promises.
  server_->SetHandler([](const HttpRequest&) { return HttpResponse{200, "text/plain", "hi"}; });
  got = Answer(*client, {GenerateRequest("Hello", 4)});
  EXPECT_NE(got[0].error.find("not JSON"), std::string::npos) << got[0].error;
  server_->SetHandler([](const HttpRequest&) {
    return HttpResponse{200, "application/json", R"({"choices":[{"text":"x"}]})"};
  });
  got = Answer(*client, ScoringRequests());  // a server without echo
  EXPECT_NE(got[0].error.find("echo"), std::string::npos) << got[0].error;
  server_->SetHandler([](const HttpRequest&) {
    return HttpResponse{200, "application/json", R"({"choices":[]})"};
  });
  got = Answer(*client, {GenerateRequest("Hello", 4)});
  EXPECT_NE(got[0].error.find("no choices"), std::string::npos) << got[0].error;
  // JSON that is no answer at all, and usage counts past any integer: the sample fails, nothing
  // is read past what is there (the backend read "usage" of any JSON before, an array included).
  server_->SetHandler([](const HttpRequest&) {
    return HttpResponse{200, "application/json", "[1,2]"};
  });
  got = Answer(*client, ScoringRequests());
  EXPECT_NE(got[0].error.find("no choices"), std::string::npos) << got[0].error;
  server_->SetHandler([](const HttpRequest&) {
    return HttpResponse{200, "application/json",
                        R"({"choices":[{"text":"hi"}],"usage":{"prompt_tokens":1e300}})"};
  });
  got = Answer(*client, {GenerateRequest("Hello", 4)});
  EXPECT_EQ(got[0].text, "hi");
  EXPECT_TRUE(got[0].error.empty()) << got[0].error;
}

TEST_F(OpenAiBackendTest, AServerThatIsGoneStopsTheRun) {
  std::unique_ptr<OpenAiBackend> client = Client(true);
  server_->SetHandler([](const HttpRequest&) {
    return HttpErrorResponse(429, "rate limited", "rate_limit_error");
  });
  const tasks::Request request = GenerateRequest("Hello", 4);
  BackendItem item;
  item.request = &request;
  Status s = client->Run({&item, 1});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("rate limited (3 tries)"), std::string::npos) << s.ToString();

  std::string url;
  {
    auto gone = HttpServer::Listen("127.0.0.1", 0, {});
    ASSERT_TRUE(gone.ok());
    url = StrCat("http://127.0.0.1:", (*gone)->port(), "/v1");
  }  // closed: nothing listens there now
  OpenAiBackendOptions o;
  o.base_url = url;
  o.model = "m";
  o.max_attempts = 2;
  o.retry_base_s = 0.01;
  auto unreachable = OpenAiBackend::Create(o);
  ASSERT_TRUE(unreachable.ok()) << unreachable.status().ToString();
  s = (*unreachable)->Run({&item, 1});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find(url), std::string::npos) << s.ToString();
  // Without a model id to ask for, the backend cannot start.
  o.model = "";
  EXPECT_EQ(OpenAiBackend::Create(o).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sigma::harness
