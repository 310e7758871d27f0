// The prompt preview shows what the backend gets: its token counts are the ones the engine
// backend prefills and scores for the same requests (SmolLM2's tokenizer and template), the
// --max-gen-toks override is run's, chat requests show the template's rendering, control
// characters are made visible, and the JSON form carries the same fields.
#include "harness/runner/prompt_preview.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>

#include "engine/language_model.h"
#include "harness/backends/engine_backend.h"
#include "harness/backends/request_tokens.h"
#include "harness/runner/task_loader.h"
#include "tests/harness/backends/test_requests.h"

namespace sigma::harness {
namespace {

using testing_util::ChoicesRequest;
using testing_util::GenerateRequest;
using testing_util::RollingRequest;

// A task whose one document asks `requests` (the preview needs no scoring).
class FixedTask : public tasks::EvalTask {
 public:
  explicit FixedTask(std::vector<tasks::Request> requests) : requests_(std::move(requests)) {}
  const std::string& name() const override { return name_; }
  std::string version() const override { return "1"; }
  const std::string& hash() const override { return name_; }
  size_t size() const override { return 1; }
  std::string DocId(size_t) const override { return "doc\x1b[31m"; }
  StatusOr<std::string> Prompt(size_t) const override { return requests_[0].context; }
  StatusOr<std::vector<tasks::Request>> BuildRequests(size_t) const override { return requests_; }
  StatusOr<tasks::SampleScore> Score(size_t, const std::vector<tasks::Response>&) const override {
    return UnimplementedError("not scored");
  }
  std::vector<tasks::Aggregate> AggregateScores(
      const std::vector<tasks::SampleScore>&) const override {
    return {};
  }

 private:
  std::string name_ = "fixed";
  std::vector<tasks::Request> requests_;
};

tasks::Request ChatRequest(const std::string& user) {
  tasks::Request r = GenerateRequest("", 32, {"\n\n"});
  r.chat = {{"user", user}};
  return r;
}

class PromptPreviewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(DefaultModelPath())) {
      GTEST_SKIP() << "default model missing at " << DefaultModelPath();
    }
    auto tokenizer = Tokenizer::Open(DefaultModelPath());
    ASSERT_TRUE(tokenizer.ok()) << tokenizer.status().ToString();
    tokenizer_ = std::move(*tokenizer);
    auto chat_template = ChatTemplateOf(DefaultModelPath(), *tokenizer_);
    ASSERT_TRUE(chat_template.ok() && chat_template->has_value());
    options_.tokenizer = tokenizer_.get();
    options_.chat_template = *chat_template;
    options_.model = "smollm2";
  }

  std::unique_ptr<Tokenizer> tokenizer_;
  PreviewOptions options_;
};

// The counts the preview prints are the engine backend's: prompt_tokens of the context (or the
// generation prompt) and new_tokens of the continuations, for the same requests.
TEST_F(PromptPreviewTest, TokenCountsAreTheEngineBackends) {
  std::vector<tasks::Request> requests = {
      ChoicesRequest("Question: Which tool measures mass?\nAnswer: ", {" a balance", " a ruler"}),
      ChatRequest("Name a prime number."), GenerateRequest("Q: 2 + 2 =", 4)};
  FixedTask task(requests);
  auto json = PreviewJson(task, 0, options_);
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(json->c_str()).HasParseError()) << *json;
  const auto& previews = doc["requests"];
  ASSERT_EQ(previews.Size(), 3u);

  EngineOptions engine;
  engine.threads = 2;
  engine.max_context = 512;
  auto lm = LanguageModel::Open(DefaultModelPath(), engine);
  ASSERT_TRUE(lm.ok()) << lm.status().ToString();
  auto backend = EngineBackend::Create(std::move(*lm), EngineBackendOptions{});
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  for (size_t r = 0; r < requests.size(); ++r) {
    BackendItem item;
    item.request = &requests[r];
    ASSERT_TRUE((*backend)->Run({&item, 1}).ok());
    ASSERT_TRUE(item.response.error.empty()) << item.response.error;
    const auto& p = previews[static_cast<rapidjson::SizeType>(r)];
    EXPECT_EQ(p["prompt_tokens"].GetInt64(), item.timing.prompt_tokens) << r;
    if (requests[r].type == tasks::RequestType::kMultipleChoice) {
      int64_t scored = 0;
      for (const auto& c : p["continuations"].GetArray()) scored += c["tokens"].GetInt64();
      EXPECT_EQ(scored, item.timing.new_tokens);
    }
  }
  EXPECT_EQ(std::string(previews[1]["prompt"].GetString()),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face<|im_end|>\n<|im_start|>user\nName a prime number.<|im_end|>\n<|im_start|>"
            "assistant\n");
  EXPECT_EQ(std::string(previews[1]["chat"][0]["role"].GetString()), "user");
}

TEST_F(PromptPreviewTest, TextShowsRequestsAsRunSendsThem) {
  tasks::Request generate = GenerateRequest("Question: 6 * 7?\x07\nAnswer: ", 256, {"\n\n", "Q:"});
  FixedTask task({generate, ChatRequest("Hi"), RollingRequest("A whole document.\n")});
  options_.max_gen_tokens = 64;  // run's --max-gen-toks
  auto text = PreviewText(task, 0, options_);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const std::string expected_tokens =
      std::to_string(EncodeText(*tokenizer_, generate.context, true).size());
  EXPECT_NE(text->find("=== fixed: document 0, id doc\\x1b[31m (3 requests) ===\n"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find(
                "--- request 1: generate_until, prompt " + expected_tokens +
                " tokens, at most 64 new tokens, stops at \"\\n\\n\", \"Q:\"\n"
                "Question: 6 * 7?\\x07\nAnswer: \n--- ends with ...\"6 * 7?\\u0007\\nAnswer: \"\n"),
            std::string::npos)
      << *text;
  EXPECT_NE(text->find("--- request 2: generate_until (chat), prompt "), std::string::npos)
      << *text;
  EXPECT_NE(
      text->find("[user]\nHi\n--- as the model reads it (its chat template)\n<|im_start|>system"),
      std::string::npos)
      << *text;
  EXPECT_NE(text->find("--- request 3: loglikelihood_rolling, text "), std::string::npos) << *text;
  EXPECT_NE(text->find("A whole document.\n--- ends with ...\"whole document.\\n\"\n"),
            std::string::npos)
      << *text;
}

// A chat request for a model without a template: the preview says the backend would refuse it.
TEST_F(PromptPreviewTest, ShowsWhyTheBackendWouldRefuseARequest) {
  FixedTask task({ChatRequest("Hi")});
  options_.chat_template.reset();
  auto text = PreviewText(task, 0, options_);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_NE(
      text->find("!!! the backend refuses it: smollm2: this model has no chat template this engine "
                 "renders"),
      std::string::npos)
      << *text;
  auto json = PreviewJson(task, 0, options_);
  ASSERT_TRUE(json.ok());
  EXPECT_NE(
      json->find("\"error\":\"smollm2: this model has no chat template this engine renders\""),
      std::string::npos)
      << *json;
  EXPECT_EQ(PreviewText(task, 1, options_).status().code(), StatusCode::kOutOfRange);
}

// Without a tokenizer: the texts alone, no counts.
TEST(PromptPreviewNoModelTest, ABenchmarksFirstDocumentWithoutTokens) {
  TaskLoadSpec spec;
  spec.tasks = "arc_easy";
  auto loaded = LoadEvalTasks(spec);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  auto json = PreviewJson(*loaded->tasks[0], 0, PreviewOptions{});
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  rapidjson::Document doc;
  ASSERT_FALSE(doc.Parse(json->c_str()).HasParseError()) << *json;
  const auto& request = doc["requests"][0];
  EXPECT_EQ(std::string(request["type"].GetString()), "multiple_choice");
  EXPECT_FALSE(request.HasMember("prompt_tokens"));
  EXPECT_FALSE(request["continuations"][0].HasMember("tokens"));
  auto requests = loaded->tasks[0]->BuildRequests(0);
  ASSERT_TRUE(requests.ok());
  EXPECT_EQ(std::string(request["context"].GetString()), (*requests)[0].context);
  EXPECT_EQ(request["continuations"].Size(), (*requests)[0].continuations.size());
}

}  // namespace
}  // namespace sigma::harness
