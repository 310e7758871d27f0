// OpenAiServer's scoring (echo, logprobs; max_tokens 0 or 1) on the default model: scores against
// log-softmax of the engine's own logits, per token text, offset and top tokens; the same bits when
// a request reuses rows an earlier one left (in its slot or copied from another, with requests of
// other documents in between) or follows a generation; lm-eval's one-greedy-token form; and a
// batch of requests answered as each alone.
#include "tests/harness/serve/openai_server_test_util.h"

namespace sigma::harness::serve_test {
namespace {

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

// The choice of an answer without what differs from call to call (id, created, timings).
std::string ChoiceOf(const HttpResponse& response) {
  if (response.status != 200) return StrCat(response.status, " ", response.body);
  std::unique_ptr<rapidjson::Document> doc = Parse(response);
  return JsonToString((*doc)["choices"]) + JsonToString((*doc)["usage"]);
}

// lm-eval's local-completions request (echo, logprobs, max_tokens 1, temperature 0): the prompt's
// scores as with max_tokens 0, then the greedy next token, which is the generation's first; without
// echo only that token. With echo, a longer or sampled generation is refused (without, it is a
// generation with its tokens' logprobs: openai_logprobs_test.cc).
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
  // Refused with echo: logprobs of two tokens, or of a sampled one.
  for (const char* rest :
       {",\"max_tokens\":2,\"temperature\":0", ",\"max_tokens\":1,\"temperature\":0.7"}) {
    const HttpResponse refused =
        Post(*server, "/v1/completions",
             "{\"prompt\":\"x\",\"echo\":true,\"logprobs\":1" + std::string(rest) + "}");
    EXPECT_EQ(refused.status, 400) << rest;
    EXPECT_NE(ErrorMessage(refused).find("one greedy token"), std::string::npos) << refused.body;
  }
}

// The generated token keeps its logprob entry, last, where it ends the text (lm-eval's
// local-completions drops the last entry as the generated one: without it, a continuation's last
// token went missing from its score). A stop token (SmolLM2's greedy token after this answer)
// adds nothing to the text; a stop string cuts what the token adds.
TEST(OpenAiServerScoringTest, AGeneratedTokenThatEndsTheTextKeepsItsEntry) {
  if (!FileExists(DefaultModelPath())) GTEST_SKIP() << "default model missing";
  std::unique_ptr<OpenAiServer> server = OpenServer(kContext);
  ASSERT_NE(server, nullptr);
  const std::string prompt =
      "Question: A magnet will most strongly attract which object?\n"
      "Answer: an iron nail";
  const Scored prompt_only = Score(*server, Quote(prompt), 1);
  const size_t n = prompt_only.tokens.size();
  const auto one = [&](const std::string& stop) {
    const HttpResponse answer =
        Post(*server, "/v1/completions",
             "{\"prompt\":" + Quote(prompt) + ",\"max_tokens\":1,\"echo\":true,\"logprobs\":1," +
                 "\"temperature\":0" + stop + "}");
    EXPECT_EQ(answer.status, 200) << answer.body;
    return Parse(answer);
  };
  const std::unique_ptr<rapidjson::Document> eos = one("");
  const rapidjson::Value& choice = (*eos)["choices"][0];
  ASSERT_EQ(String(choice["sigma_stop_reason"]), "stop_token") << "the greedy token changed";
  EXPECT_EQ(String(choice["finish_reason"]), "stop");
  EXPECT_EQ(String(choice["text"]), prompt);
  const rapidjson::Value& lp = choice["logprobs"];
  ASSERT_EQ(lp["token_logprobs"].Size(), n + 1);
  for (size_t i = 1; i < n; ++i) {
    EXPECT_EQ(lp["token_logprobs"][i].GetDouble(), prompt_only.logprobs[i]) << i;
  }
  EXPECT_EQ(String(lp["tokens"][n]), "<|im_end|>");
  EXPECT_EQ(lp["text_offset"][n].GetInt64(), static_cast<int64_t>(prompt.size()));
  EXPECT_EQ((*eos)["usage"]["completion_tokens"].GetInt64(), 1);

  // A stop string inside the greedy token after "The capital of France is": the token's entry
  // stays, the text ends before the stop string.
  const std::string france = "The capital of France is";
  const HttpResponse plain =
      Post(*server, "/v1/completions",
           "{\"prompt\":" + Quote(france) + ",\"max_tokens\":1,\"temperature\":0}");
  const std::string token = String((*Parse(plain))["choices"][0]["text"]);
  ASSERT_GE(token.size(), 2u);
  const HttpResponse cut = Post(*server, "/v1/completions",
                                "{\"prompt\":" + Quote(france) +
                                    ",\"max_tokens\":1,\"echo\":true,\"logprobs\":1,"
                                    "\"temperature\":0,\"stop\":[" +
                                    Quote(token.substr(1)) + "]}");
  ASSERT_EQ(cut.status, 200) << cut.body;
  const std::unique_ptr<rapidjson::Document> cut_doc = Parse(cut);
  const rapidjson::Value& cut_choice = (*cut_doc)["choices"][0];
  EXPECT_EQ(String(cut_choice["sigma_stop_reason"]), "stop_string");
  EXPECT_EQ(String(cut_choice["text"]), france + token.substr(0, 1));
  const rapidjson::Value& cut_tokens = cut_choice["logprobs"]["tokens"];
  EXPECT_EQ(String(cut_tokens[cut_tokens.Size() - 1]), token);
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
      R"({"prompt":"x","best_of":2})",
      R"({"prompt":"Once upon a time","max_tokens":9,"temperature":0.8,"seed":8})",
      R"({"prompt":"Once upon a time","max_tokens":9,"temperature":0.8,"seed":8,"n":2})",
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
  // Choice 0 of n is the request with n 1; choice 1 draws on.
  const std::unique_ptr<rapidjson::Document> six = Parse(together[6]);
  const std::unique_ptr<rapidjson::Document> seven = Parse(together[7]);
  EXPECT_EQ(JsonToString((*seven)["choices"][0]["text"]),
            JsonToString((*six)["choices"][0]["text"]));
  EXPECT_NE(JsonToString((*seven)["choices"][1]["text"]),
            JsonToString((*six)["choices"][0]["text"]));
}

}  // namespace
}  // namespace sigma::harness::serve_test
