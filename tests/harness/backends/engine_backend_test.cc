// The engine backend's log-likelihoods on the default model (SmolLM2-135M-Instruct): a rolling
// log-likelihood is the same number as the log-likelihood of the text after an empty context when
// one window holds it, and with a short context it takes lm-eval's windows (RollingWindows), each
// conditioned on less; a context's trailing whitespace is scored with the continuation.
#include "harness/backends/engine_backend.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/generate.h"
#include "harness/backends/request_tokens.h"
#include "tests/harness/backends/test_requests.h"

namespace sigma::harness {
namespace {

using testing_util::ChoicesRequest;
using testing_util::GenerateRequest;
using testing_util::RollingRequest;

std::unique_ptr<EngineBackend> OpenBackend(int64_t max_context, int max_sequences = 1) {
  EngineOptions options;
  options.threads = 2;
  options.max_context = max_context;
  options.max_sequences = max_sequences;
  auto lm = LanguageModel::Open(DefaultModelPath(), options);
  EXPECT_TRUE(lm.ok()) << lm.status().ToString();
  if (!lm.ok()) return nullptr;
  auto backend = EngineBackend::Create(std::move(*lm), EngineBackendOptions{});
  EXPECT_TRUE(backend.ok()) << backend.status().ToString();
  return backend.ok() ? std::move(*backend) : nullptr;
}

// One request's answer: its log-likelihoods, or the failure.
tasks::Response Answer(EngineBackend& backend, const tasks::Request& request) {
  BackendItem item;
  item.request = &request;
  const Status s = backend.Run({&item, 1});
  EXPECT_TRUE(s.ok()) << s.ToString();
  return item.response;
}

// Requests answered in one Run, as the runner hands a batch over.
std::vector<BackendItem> AnswerAll(EngineBackend& backend,
                                   const std::vector<tasks::Request>& requests) {
  std::vector<BackendItem> items(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) items[i].request = &requests[i];
  const Status s = backend.Run(items);
  EXPECT_TRUE(s.ok()) << s.ToString();
  for (const BackendItem& item : items)
    EXPECT_TRUE(item.response.error.empty()) << item.response.error;
  return items;
}

// A request answered by a backend of its own (max_context 512): what it computes alone.
BackendItem AnswerAlone(const tasks::Request& request) {
  std::unique_ptr<EngineBackend> fresh = OpenBackend(512);
  if (fresh == nullptr) return BackendItem{};
  return AnswerAll(*fresh, {request})[0];
}

// Four copies of `text`: a prefix of two whole PrefixBlocks and part of a third.
std::string Preamble(const std::string& text) {
  return text + "\n\n" + text + "\n\n" + text + "\n\n" + text + "\n\n";
}

class EngineBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(DefaultModelPath())) {
      GTEST_SKIP() << "default model missing at " << DefaultModelPath()
                   << " (run scripts/setup.sh)";
    }
  }
};

const std::string kText =
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs, "
    "and then sphinx of black quartz, judge my vow.";

TEST_F(EngineBackendTest, RollingInOneWindowIsTheTextAfterAnEmptyContext) {
  std::unique_ptr<EngineBackend> backend = OpenBackend(256);
  ASSERT_NE(backend, nullptr);
  const tasks::Response rolling = Answer(*backend, RollingRequest(kText));
  const tasks::Response ll = Answer(*backend, ChoicesRequest("", {kText}));
  ASSERT_TRUE(rolling.error.empty()) << rolling.error;
  ASSERT_TRUE(ll.error.empty()) << ll.error;
  ASSERT_EQ(rolling.loglikelihoods.size(), 1u);
  ASSERT_EQ(ll.loglikelihoods.size(), 1u);
  EXPECT_EQ(rolling.loglikelihoods[0].num_tokens, ll.loglikelihoods[0].num_tokens);
  EXPECT_GT(rolling.loglikelihoods[0].num_tokens, 25);
  EXPECT_NEAR(rolling.loglikelihoods[0].logprob, ll.loglikelihoods[0].logprob, 1e-3);
  EXPECT_LT(rolling.loglikelihoods[0].logprob, -10.0);
}

TEST_F(EngineBackendTest, RollingPastTheContextTakesLmEvalsWindows) {
  std::unique_ptr<EngineBackend> wide = OpenBackend(256);
  std::unique_ptr<EngineBackend> narrow = OpenBackend(8);
  ASSERT_NE(wide, nullptr);
  ASSERT_NE(narrow, nullptr);
  const tasks::Response all = Answer(*wide, RollingRequest(kText));
  const tasks::Response windows = Answer(*narrow, RollingRequest(kText));
  ASSERT_TRUE(windows.error.empty()) << windows.error;
  ASSERT_EQ(windows.loglikelihoods.size(), 1u);
  const tasks::LoglikelihoodResult& w = windows.loglikelihoods[0];
  EXPECT_EQ(w.num_tokens, all.loglikelihoods[0].num_tokens);
  EXPECT_GT(RollingWindows(w.num_tokens, 8).size(), 3u);
  EXPECT_TRUE(std::isfinite(w.logprob));
  // Each full window after the first is conditioned on one token of the one before it: the text
  // is less likely than with all of it in view.
  EXPECT_LT(w.logprob, all.loglikelihoods[0].logprob - 1.0);
  // The first 8 tokens are the first window either way.
  const std::string prefix = "The quick brown fox jumps over the";
  const tasks::Response head_wide = Answer(*wide, RollingRequest(prefix));
  const tasks::Response head_narrow = Answer(*narrow, RollingRequest(prefix));
  ASSERT_LE(head_wide.loglikelihoods[0].num_tokens, 8);
  EXPECT_EQ(head_wide.loglikelihoods[0].logprob, head_narrow.loglikelihoods[0].logprob);
}

TEST_F(EngineBackendTest, TrailingWhitespaceOfTheContextIsScoredWithTheContinuation) {
  std::unique_ptr<EngineBackend> backend = OpenBackend(256);
  ASSERT_NE(backend, nullptr);
  // "Answer: " + "Paris" is read as "Answer:" + " Paris", the space scored with the word.
  const tasks::Response spaced =
      Answer(*backend, ChoicesRequest("The capital of France? Answer: ", {"Paris"}));
  const tasks::Response plain =
      Answer(*backend, ChoicesRequest("The capital of France? Answer:", {" Paris"}));
  ASSERT_TRUE(spaced.error.empty()) << spaced.error;
  ASSERT_TRUE(plain.error.empty()) << plain.error;
  EXPECT_EQ(spaced.loglikelihoods[0].logprob, plain.loglikelihoods[0].logprob);
  EXPECT_EQ(spaced.loglikelihoods[0].num_tokens, plain.loglikelihoods[0].num_tokens);
  // A whitespace-only context has nothing to condition on with a tokenizer that adds no BOS.
  const tasks::Response blank = Answer(*backend, ChoicesRequest("  ", {"Paris"}));
  EXPECT_NE(blank.error.find("only whitespace"), std::string::npos) << blank.error;
  EXPECT_TRUE(blank.loglikelihoods.empty());
}

// A few-shot prefix shared by consecutive requests (PrefixBlocks): computed once, and every
// score the same bits as on a backend that computed all of each context.
TEST_F(EngineBackendTest, ASharedPrefixIsComputedOnceWithTheSameScores) {
  const std::string preamble = Preamble(kText);
  std::vector<tasks::Request> requests;
  for (const char* q : {"Is the fox quick?", "Is the dog lazy?", "What did the sphinx judge?"}) {
    requests.push_back(ChoicesRequest(preamble + "Question: " + q + "\nAnswer:", {" yes", " no"}));
  }
  std::unique_ptr<EngineBackend> shared = OpenBackend(512);
  ASSERT_NE(shared, nullptr);
  const std::vector<BackendItem> items = AnswerAll(*shared, requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    const BackendItem alone = AnswerAlone(requests[i]);
    EXPECT_GT(alone.timing.prompt_tokens, 2 * PrefixBlocks::kCpuBlock);
    EXPECT_EQ(alone.timing.reused_tokens, 0);
    EXPECT_EQ(items[i].timing.prompt_tokens, alone.timing.prompt_tokens);
    // The preamble's two whole blocks reused after the first request.
    EXPECT_EQ(items[i].timing.reused_tokens, i == 0 ? 0 : 2 * PrefixBlocks::kCpuBlock) << i;
    ASSERT_EQ(items[i].response.loglikelihoods.size(), 2u);
    ASSERT_EQ(alone.response.loglikelihoods.size(), 2u);
    for (size_t c = 0; c < 2; ++c) {
      EXPECT_EQ(items[i].response.loglikelihoods[c].logprob,
                alone.response.loglikelihoods[c].logprob)
          << i << " " << c;
    }
  }
}

// Generations decoding together: the second prompt copies the blocks of the first one's slot it
// shares, and both texts are the ones each request gets alone.
TEST_F(EngineBackendTest, GenerationsInOneBatchShareTheirPrefix) {
  const std::string preamble = Preamble(kText);
  const std::vector<tasks::Request> requests = {
      GenerateRequest(preamble + "Q: Who jumps?\nA:", 6),
      GenerateRequest(preamble + "Q: Who sleeps?\nA:", 6)};
  std::unique_ptr<EngineBackend> together = OpenBackend(512, /*max_sequences=*/2);
  ASSERT_NE(together, nullptr);
  const std::vector<BackendItem> items = AnswerAll(*together, requests);
  for (size_t i = 0; i < requests.size(); ++i) {
    const BackendItem alone = AnswerAlone(requests[i]);
    EXPECT_FALSE(alone.response.text.empty());
    EXPECT_EQ(items[i].response.text, alone.response.text) << i;
    EXPECT_EQ(items[i].timing.prompt_tokens, alone.timing.prompt_tokens);
    EXPECT_EQ(items[i].timing.reused_tokens, i == 0 ? 0 : 2 * PrefixBlocks::kCpuBlock) << i;
  }
}

// Whether `text` is whole UTF-8 characters.
bool WholeUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t length = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

// A streaming client gets the answer as it is made: pieces that add up to the text, each whole
// characters (SmolLM2 spells Japanese in byte tokens), none of it a stop string taken back later.
TEST_F(EngineBackendTest, StreamedPiecesAddUpToTheTextInWholeCharacters) {
  auto backend = OpenBackend(512, 2);
  ASSERT_NE(backend, nullptr);
  const std::vector<tasks::Request> requests = {GenerateRequest("日本の首都は", 24),
                                                GenerateRequest("1, 2, 3,", 24, {", 6, 7"})};
  std::vector<BackendItem> items(requests.size());
  std::vector<std::vector<std::string>> pieces(requests.size());
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].request = &requests[i];
    items[i].on_text = [&pieces, i](std::string_view piece, std::span<const TokenLogprob>) {
      pieces[i].emplace_back(piece);
      return true;
    };
  }
  ASSERT_TRUE(backend->Run(items).ok());
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& text = items[i].response.text;
    std::string joined;
    for (const std::string& piece : pieces[i]) {
      EXPECT_FALSE(piece.empty());
      EXPECT_TRUE(WholeUtf8(piece)) << i << ": " << piece;
      joined += piece;
    }
    EXPECT_EQ(joined, text) << i;
    EXPECT_GT(pieces[i].size(), 2u) << i;
  }
  // The first answer has characters of several bytes made of byte tokens; the second stopped at
  // a stop string of several tokens, none of which reached the client.
  const Tokenizer& tok = *backend->language_model().tokenizer();
  const std::vector<int32_t> ids = tok.Encode(items[0].response.text, /*add_special=*/false);
  EXPECT_TRUE(std::any_of(ids.begin(), ids.end(), [&](int32_t id) {
    return !WholeUtf8(tok.Decode(std::span<const int32_t>(&id, 1), false));
  }));
  EXPECT_EQ(items[1].response.stop_reason, "stop_string");
  EXPECT_EQ(items[1].response.text, " 4, 5");
  // The same requests unstreamed give the same texts.
  std::vector<BackendItem> plain = AnswerAll(*backend, requests);
  for (size_t i = 0; i < items.size(); ++i)
    EXPECT_EQ(plain[i].response.text, items[i].response.text);
}

// A client that goes away (on_text answers false) ends its request; the text so far is kept.
TEST_F(EngineBackendTest, AStreamingClientThatLeavesCancelsItsRequest) {
  auto backend = OpenBackend(512);
  ASSERT_NE(backend, nullptr);
  const tasks::Request request = GenerateRequest("Once upon a time", 64);
  BackendItem item;
  item.request = &request;
  int calls = 0;
  item.on_text = [&calls](std::string_view, std::span<const TokenLogprob>) { return ++calls < 3; };
  ASSERT_TRUE(backend->Run({&item, 1}).ok());
  EXPECT_EQ(item.response.stop_reason, "cancelled");
  EXPECT_EQ(calls, 3);
  EXPECT_LE(item.timing.new_tokens, 3);
  EXPECT_FALSE(item.response.text.empty());
}

// Each generated token's logprob entry, from a batch of two decoding together, is the model's
// own: the log-likelihood a plain forward pass (engine/generate.h Loglikelihood) gives the tokens
// chosen after the prompt, up to the rounding of batched decode against prefill; the most likely
// token comes first and a greedy choice is it. A stop string drops the tokens it cut away.
TEST_F(EngineBackendTest, GeneratedTokensLogprobsAreTheModelsOwn) {
  auto backend = OpenBackend(512, 2);
  ASSERT_NE(backend, nullptr);
  const std::vector<tasks::Request> requests = {GenerateRequest("Once upon a time", 12),
                                                GenerateRequest("1, 2, 3,", 24, {", 6, 7"})};
  std::vector<BackendItem> items(requests.size());
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].request = &requests[i];
    items[i].top_logprobs = 3;
  }
  ASSERT_TRUE(backend->Run(items).ok());
  LanguageModel& lm = backend->language_model();
  for (size_t i = 0; i < items.size(); ++i) {
    const std::vector<TokenLogprob>& entries = items[i].token_logprobs;
    ASSERT_FALSE(entries.empty()) << i;
    std::vector<int32_t> generated;
    std::string joined;
    for (const TokenLogprob& e : entries) {
      ASSERT_EQ(e.top.size(), 3u);
      EXPECT_EQ(e.top[0].first, e.token);  // greedy
      EXPECT_EQ(e.top[0].second, e.logprob);
      EXPECT_GE(e.top[1].second, e.top[2].second);
      EXPECT_LT(joined.size(), items[i].response.text.size()) << i;  // starts in the text
      generated.push_back(e.token);
      joined += lm.TokenPiece(e.token);
    }
    EXPECT_EQ(joined.substr(0, items[i].response.text.size()), items[i].response.text) << i;
    StatusOr<std::vector<int32_t>> prompt =
        RequestPromptTokens(*lm.tokenizer(), requests[i], lm.chat_template(), "");
    ASSERT_TRUE(prompt.ok()) << prompt.status().ToString();
    StatusOr<LoglikelihoodResult> reference = Loglikelihood(lm.model(), 0, *prompt, generated);
    ASSERT_TRUE(reference.ok()) << reference.status().ToString();
    EXPECT_TRUE(reference->is_greedy) << i;
    for (size_t k = 0; k < entries.size(); ++k) {
      EXPECT_NEAR(entries[k].logprob, reference->per_token[k], 1e-4) << i << " token " << k;
    }
  }
  EXPECT_EQ(items[1].response.stop_reason, "stop_string");
  EXPECT_EQ(items[1].response.text, " 4, 5");
  // Unasked, none are made.
  EXPECT_TRUE(AnswerAll(*backend, requests)[0].token_logprobs.empty());
  // Streamed, each token's entry comes with the piece its text starts in (the rest at the end),
  // and together they are the entries of the answer, none that a stop string cut.
  std::vector<BackendItem> streamed(requests.size());
  std::vector<std::vector<TokenLogprob>> got(requests.size());
  std::vector<std::string> text(requests.size());
  std::vector<size_t> start(requests.size());  // of the next entry's token in the text
  for (size_t i = 0; i < streamed.size(); ++i) {
    streamed[i].request = &requests[i];
    streamed[i].top_logprobs = 3;
    streamed[i].on_text = [&, i](std::string_view piece, std::span<const TokenLogprob> tokens) {
      for (const TokenLogprob& t : tokens) {
        EXPECT_GE(start[i], text[i].size()) << i;  // not in an earlier piece
        EXPECT_LT(start[i], text[i].size() + piece.size()) << i;
        start[i] += lm.TokenPiece(t.token).size();
        got[i].push_back(t);
      }
      text[i] += piece;
      return true;
    };
  }
  ASSERT_TRUE(backend->Run(streamed).ok());
  for (size_t i = 0; i < streamed.size(); ++i) {
    EXPECT_EQ(text[i], items[i].response.text) << i;
    ASSERT_EQ(got[i].size(), items[i].token_logprobs.size()) << i;
    for (size_t k = 0; k < got[i].size(); ++k) {
      EXPECT_EQ(got[i][k].token, items[i].token_logprobs[k].token) << i << " " << k;
      EXPECT_EQ(got[i][k].logprob, items[i].token_logprobs[k].logprob) << i << " " << k;
    }
  }
}

}  // namespace
}  // namespace sigma::harness
