// OpenAiServer (harness/serve/openai_server.h) on the default model, through Handle() without
// sockets: its routes and their 404 / 405 / 400 answers; the parameters it refuses rather than
// ignores (each 400 naming the key); generations equal to EngineBackend's on the same context
// (plain, stop string, echo, seeded sampling, chat); and valid JSON for a prompt of quotes,
// backslashes, newlines and non-ASCII text. Scoring: openai_server_scoring_test.cc.
#include "tests/harness/serve/openai_server_test_util.h"

namespace sigma::harness::serve_test {
namespace {

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
  for (const Case& c : {Case{"\"best_of\":3", "best_of"}, Case{"\"suffix\":\"x\"", "suffix"}}) {
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

TEST_F(OpenAiServerTest, BadTokenIdPromptsAreRefused) {
  const int vocab = reference_lm_->model().vocab_size();
  for (int bad : {vocab, -1}) {
    for (const char* generate :
         {",\"max_tokens\":0,\"echo\":true,\"logprobs\":1}", ",\"max_tokens\":2}"}) {
      const HttpResponse response =
          Complete("{\"prompt\":[1," + std::to_string(bad) + "]" + generate);
      ExpectRefused(response, "outside the vocabulary");
      EXPECT_THAT(ErrorMessage(response), HasSubstr(std::to_string(bad)));
    }
  }
  ExpectRefused(Complete("{\"prompt\":[[]],\"max_tokens\":2}"), "an empty list of token ids");
  ExpectRefused(Complete("{\"prompt\":[\"a\",7],\"max_tokens\":2}"), "a list of strings or");
  ExpectRefused(Complete("{\"prompt\":[],\"max_tokens\":2}"), "prompt: expected");
  ExpectRefused(Complete("{\"prompt\":[\"a\",\"b\"],\"max_tokens\":2,\"stream\":true}"),
                "one prompt and one choice (n 1) a streamed request");
}

// A list of prompts (as lm-eval's local-completions sends a batch), as text or as token ids:
// one choice each, in order, each what the prompt gets alone; token ids generate as their text.
TEST_F(OpenAiServerTest, SeveralPromptsGetAChoiceEach) {
  const std::vector<std::string> prompts = {"Once upon a time", "The capital of France is",
                                            "1, 2, 3,"};
  std::vector<std::string> alone;
  for (const std::string& prompt : prompts) {
    alone.push_back(Answer(*reference_backend_, GenerateRequest(prompt, 6)).text);
  }
  const HttpResponse texts =
      Complete("{\"prompt\":[" + Quote(prompts[0]) + "," + Quote(prompts[1]) + "," +
               Quote(prompts[2]) + "],\"max_tokens\":6,\"temperature\":0}");
  ASSERT_EQ(texts.status, 200) << texts.body;
  const HttpResponse ids =
      Complete("{\"prompt\":[" + Ids(Encode(prompts[0])) + "," + Ids(Encode(prompts[1])) + "," +
               Ids(Encode(prompts[2])) + "],\"max_tokens\":6,\"temperature\":0}");
  ASSERT_EQ(ids.status, 200) << ids.body;
  for (const HttpResponse* response : {&texts, &ids}) {
    std::unique_ptr<rapidjson::Document> doc = Parse(*response);
    const rapidjson::Value& choices = (*doc)["choices"];
    ASSERT_EQ(choices.Size(), 3u);
    int64_t prompt_tokens = 0;
    for (rapidjson::SizeType i = 0; i < 3; ++i) {
      EXPECT_EQ(choices[i]["index"].GetInt(), static_cast<int>(i));
      EXPECT_EQ(String(choices[i]["text"]), alone[i]) << i;
      prompt_tokens += static_cast<int64_t>(Encode(prompts[i]).size());
    }
    EXPECT_EQ((*doc)["usage"]["prompt_tokens"].GetInt64(), prompt_tokens);
    EXPECT_EQ((*doc)["usage"]["completion_tokens"].GetInt64(), 18);
  }
  // Scored the same way: one choice a prompt, each the prompt's scores alone.
  const HttpResponse scored =
      Complete("{\"prompt\":[" + Quote(prompts[0]) + "," + Ids(Encode(prompts[1])) +
               "],\"max_tokens\":0,\"echo\":true,\"logprobs\":1}");
  ASSERT_EQ(scored.status, 200) << scored.body;
  std::unique_ptr<rapidjson::Document> doc = Parse(scored);
  ASSERT_EQ((*doc)["choices"].Size(), 2u);
  for (rapidjson::SizeType i = 0; i < 2; ++i) {
    const Scored one = Score(*server_, i == 0 ? Quote(prompts[0]) : Ids(Encode(prompts[1])), 1);
    const rapidjson::Value& lp = (*doc)["choices"][i]["logprobs"]["token_logprobs"];
    ASSERT_EQ(lp.Size(), one.logprobs.size());
    for (rapidjson::SizeType t = 1; t < lp.Size(); ++t)
      EXPECT_EQ(lp[t].GetDouble(), one.logprobs[t]);
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

// n choices a prompt: choice k of prompt p is choices[p * n + k], drawn with a seed of its own,
// as the engine backend draws a document's k-th repeat; a prompt's tokens count once in usage.
TEST_F(OpenAiServerTest, NChoicesAPromptEachDrawnWithASeedOfItsOwn) {
  const std::vector<std::string> prompts = {"Once upon a time", "1, 2, 3,"};
  const HttpResponse response =
      Complete("{\"prompt\":[" + Quote(prompts[0]) + "," + Quote(prompts[1]) +
               "],\"max_tokens\":8,\"temperature\":1.0,\"seed\":5,\"n\":3}");
  ASSERT_EQ(response.status, 200) << response.body;
  const std::unique_ptr<rapidjson::Document> doc = Parse(response);
  const rapidjson::Value& choices = (*doc)["choices"];
  ASSERT_EQ(choices.Size(), 6u);
  SamplingParams sampling;
  sampling.temperature = 1.0;
  sampling.seed = 5;
  ASSERT_TRUE(reference_backend_->SetSampling(sampling).ok());
  std::vector<std::string> first_prompts;
  for (size_t p = 0; p < prompts.size(); ++p) {
    for (int k = 0; k < 3; ++k) {
      tasks::Request request = GenerateRequest(prompts[p], 8);
      request.repeat = k;
      const size_t i = p * 3 + static_cast<size_t>(k);
      EXPECT_EQ(choices[static_cast<rapidjson::SizeType>(i)]["index"].GetUint64(), i);
      EXPECT_EQ(String(choices[static_cast<rapidjson::SizeType>(i)]["text"]),
                Answer(*reference_backend_, request).text)
          << i;
      if (p == 0)
        first_prompts.push_back(String(choices[static_cast<rapidjson::SizeType>(i)]["text"]));
    }
  }
  ASSERT_TRUE(reference_backend_->SetSampling(SamplingParams{}).ok());
  EXPECT_NE(first_prompts[0], first_prompts[1]);
  EXPECT_EQ((*doc)["usage"]["prompt_tokens"].GetInt64(),
            static_cast<int64_t>(Encode(prompts[0]).size() + Encode(prompts[1]).size()));
  // Greedy chat choices are one answer n times.
  const std::string chat =
      "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
      "\"max_tokens\":6,\"temperature\":0";
  const std::unique_ptr<rapidjson::Document> one = Parse(Chat(chat + "}"));
  const std::unique_ptr<rapidjson::Document> two = Parse(Chat(chat + ",\"n\":2}"));
  ASSERT_EQ((*two)["choices"].Size(), 2u);
  for (rapidjson::SizeType k = 0; k < 2; ++k) {
    EXPECT_EQ((*two)["choices"][k]["index"].GetUint(), k);
    EXPECT_EQ(String((*two)["choices"][k]["message"]["content"]),
              String((*one)["choices"][0]["message"]["content"]));
  }
  // Refused: no choices, too many, streamed, or scoring.
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"n\":0}"), "n: must be in 1..128");
  ExpectRefused(Chat(chat + ",\"n\":129}"), "n: must be in 1..128");
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"n\":2,\"stream\":true}"), "one choice (n 1)");
  ExpectRefused(Chat(chat + ",\"n\":2,\"stream\":true}"), "one choice (n 1)");
  ExpectRefused(Complete("{\"prompt\":\"Hi\",\"n\":2,\"max_tokens\":0,\"echo\":true}"),
                "n: offered for generations");
  ExpectRefused(
      Complete("{\"prompt\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"],\"n\":128}"),
      "more than 1024 choices");
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
}  // namespace sigma::harness::serve_test
