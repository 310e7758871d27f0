// A request's tokens are lm-evaluation-harness's: for every log-likelihood request of the general
// benchmarks' sample sets and pairs written for the boundary cases (trailing whitespace, merges
// across the boundary, empty contexts, special-token text), the context and continuation ids
// lm-eval 0.4.13's own TemplateLM.loglikelihood makes with SmolLM2's tokenizer; and the windows
// of its loglikelihood_rolling (tests/data/tasks/lm_eval_tokens.jsonl, written by
// tests/oracle/lm_eval_tokens.py).
#include "harness/backends/request_tokens.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/base/file.h"
#include "tasks/jsonl.h"

namespace sigma::harness {
namespace {

const std::string kSource = SIGMA_SOURCE_DIR;
const std::string kModel =
    kSource + "/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

std::unique_ptr<Tokenizer> OpenTokenizer(const std::string& path) {
  auto tok = Tokenizer::Open(path);
  EXPECT_TRUE(tok.ok()) << tok.status().ToString();
  return tok.ok() ? std::move(*tok) : nullptr;
}

std::vector<int32_t> Ids(const rapidjson::Value& array) {
  std::vector<int32_t> ids;
  for (const auto& v : array.GetArray()) ids.push_back(v.GetInt());
  return ids;
}

// One continuation's pair.
StatusOr<EncodedPair> EncodePair(const Tokenizer& tok, std::string_view context,
                                 const std::string& continuation, bool add_special) {
  SIGMA_ASSIGN_OR_RETURN(std::vector<EncodedPair> pairs,
                         EncodePairs(tok, context, {&continuation, 1}, add_special));
  return pairs[0];
}

std::vector<tasks::Document> LoadReference() {
  const std::string path = kSource + "/tests/data/tasks/lm_eval_tokens.jsonl";
  auto text = ReadFile(path);
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  auto rows = tasks::ParseJsonl(text.ok() ? *text : "", path, "");
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  return rows.ok() ? std::move(*rows) : std::vector<tasks::Document>();
}

TEST(EncodePairTest, SameTokensAsLmEval) {
  const std::unique_ptr<Tokenizer> tok = OpenTokenizer(kModel);
  ASSERT_NE(tok, nullptr);
  const std::vector<tasks::Document> rows = LoadReference();
  ASSERT_GE(rows.size(), 500u);
  int differs_from_alone = 0;  // pairs where encoding the continuation alone would be wrong
  int refused = 0;
  for (const tasks::Document& row : rows) {
    const rapidjson::Value& f = *row.fields;
    if (f.HasMember("rolling")) continue;
    const std::string context = f["context"].GetString();
    const std::string continuation = f["continuation"].GetString();
    SCOPED_TRACE("context \"" + context.substr(context.size() > 80 ? context.size() - 80 : 0) +
                 "\" continuation \"" + continuation + "\"");
    auto pair = EncodePair(*tok, context, continuation, /*add_special=*/true);
    if (f["continuation_ids"].GetArray().Empty()) {
      // The whole text has no more tokens than the context ("ma" + "t" is one token): lm-eval
      // scores nothing, a log-likelihood of 0; this is refused instead.
      ASSERT_FALSE(pair.ok());
      EXPECT_NE(pair.status().message().find("adds no tokens"), std::string::npos);
      ++refused;
      continue;
    }
    ASSERT_TRUE(pair.ok()) << pair.status().ToString();
    EXPECT_EQ(pair->context, Ids(f["context_ids"]));
    EXPECT_EQ(pair->continuation, Ids(f["continuation_ids"]));
    differs_from_alone += pair->continuation != tok->Encode(continuation, false);
  }
  // The reference exercises the rule: some continuations are not their own encoding.
  EXPECT_GE(differs_from_alone, 10);
  EXPECT_EQ(refused, 1);
}

// RollingWindows against lm-eval's windows: what a window feeds (its context and all but the last
// of its continuation) and what it scores, for documents 0..n-1 after the prefix token -1.
TEST(RollingWindowsTest, SameWindowsAsLmEval) {
  int cases = 0;
  for (const tasks::Document& row : LoadReference()) {
    const rapidjson::Value& f = *row.fields;
    if (!f.HasMember("rolling")) continue;
    const int64_t n = f["rolling"]["tokens"].GetInt64();
    const int64_t max_length = f["rolling"]["max_length"].GetInt64();
    SCOPED_TRACE(StrCat(n, " tokens, max_length ", max_length));
    std::vector<int32_t> s = {-1};
    for (int32_t t = 0; t < n; ++t) s.push_back(t);
    const std::vector<RollingWindow> windows = RollingWindows(n, max_length);
    const auto& expected = f["windows"].GetArray();
    ASSERT_EQ(windows.size(), expected.Size());
    for (size_t k = 0; k < windows.size(); ++k) {
      const RollingWindow& w = windows[k];
      std::vector<int32_t> feed = Ids(expected[k]["context"]);
      const std::vector<int32_t> scored = Ids(expected[k]["continuation"]);
      feed.insert(feed.end(), scored.begin(), scored.end() - 1);
      EXPECT_LE(w.end - w.begin, max_length);
      EXPECT_EQ(std::vector<int32_t>(s.begin() + w.begin, s.begin() + w.end), feed)
          << "window " << k;
      EXPECT_EQ(std::vector<int32_t>(s.begin() + (w.end - w.scored) + 1, s.begin() + w.end + 1),
                scored)
          << "window " << k;
    }
    ++cases;
  }
  EXPECT_GE(cases, 15);
  EXPECT_TRUE(RollingWindows(0, 4).empty());
}

// A request's continuations share the context's one encoding: each pair is what it is alone.
TEST(EncodePairTest, ContinuationsOfOneRequestShareTheContext) {
  const std::unique_ptr<Tokenizer> tok = OpenTokenizer(kModel);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(PrefixToken(*tok), tok->bos_id());
  for (const std::string context : {"The cat sat on the ma", "Answer: ", ""}) {
    const std::vector<std::string> continuations = {"t.", " dog", "\nB", "<|im_start|>x"};
    auto pairs = EncodePairs(*tok, context, continuations, true);
    ASSERT_TRUE(pairs.ok()) << pairs.status().ToString();
    ASSERT_EQ(pairs->size(), continuations.size());
    for (size_t i = 0; i < continuations.size(); ++i) {
      auto alone = EncodePair(*tok, context, continuations[i], true);
      ASSERT_TRUE(alone.ok());
      EXPECT_EQ((*pairs)[i].context, alone->context) << context << " | " << continuations[i];
      EXPECT_EQ((*pairs)[i].continuation, alone->continuation)
          << context << " | " << continuations[i];
    }
  }
  // One continuation that adds nothing fails the request.
  const std::vector<std::string> with_empty = {" dog", ""};
  EXPECT_FALSE(EncodePairs(*tok, "Answer:", with_empty, true).ok());
}

TEST(EncodePairTest, RefusesWhatLmEvalCannotScore) {
  const std::unique_ptr<Tokenizer> tok = OpenTokenizer(kModel);
  ASSERT_NE(tok, nullptr);
  // SmolLM2 adds no BOS: a whitespace-only context has no tokens to condition on.
  auto blank = EncodePair(*tok, " \n", "x", true);
  ASSERT_FALSE(blank.ok());
  EXPECT_NE(blank.status().message().find("only whitespace"), std::string::npos);
  auto nothing = EncodePair(*tok, "Answer:", "", true);
  ASSERT_FALSE(nothing.ok());
  EXPECT_NE(nothing.status().message().find("adds no tokens"), std::string::npos);
  EXPECT_FALSE(EncodePair(*tok, "", "<|im_start|>", true).ok());  // the prefix token alone
}

TEST(EncodePairTest, BosOnceWhereTheTokenizerAddsIt) {
  const std::string vocab = kSource + "/models/vocab/ggml-vocab-llama-spm.gguf";
  if (!std::filesystem::exists(vocab))
    GTEST_SKIP() << vocab << " absent (scripts/setup.sh fetches it)";
  const std::unique_ptr<Tokenizer> tok = OpenTokenizer(vocab);
  ASSERT_NE(tok, nullptr);
  const int32_t bos = tok->bos_id();
  ASSERT_GE(bos, 0);
  auto plain = EncodePair(*tok, "Hello", " world", /*add_special=*/true);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_FALSE(plain->context.empty());
  EXPECT_EQ(plain->context[0], bos);
  EXPECT_EQ(plain->context, tok->Encode("Hello", true));
  // A context that starts with BOS's text gets no second BOS (HFLM.tok_encode).
  auto marked = EncodePair(*tok, "<s>Hello", " world", true);
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  EXPECT_EQ(marked->context, tok->Encode("<s>Hello", false));
  EXPECT_EQ(std::count(marked->context.begin(), marked->context.end(), bos), 1);
  // A chat rendering: nothing added.
  auto chat = EncodePair(*tok, "Hello", " world", /*add_special=*/false);
  ASSERT_TRUE(chat.ok());
  EXPECT_EQ(chat->context, tok->Encode("Hello", false));
  // An empty context is BOS, the continuation encoded without it.
  auto empty = EncodePair(*tok, "", "Hello", true);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->context, std::vector<int32_t>{bos});
  EXPECT_EQ(empty->continuation, tok->Encode("Hello", false));
  // A whitespace-only context is BOS alone, its whitespace moved into the continuation.
  auto blank = EncodePair(*tok, "  ", "Hello", true);
  ASSERT_TRUE(blank.ok()) << blank.status().ToString();
  EXPECT_EQ(blank->context, std::vector<int32_t>{bos});
  const std::vector<int32_t> whole = tok->Encode("  Hello", true);
  EXPECT_EQ(blank->continuation, std::vector<int32_t>(whole.begin() + 1, whole.end()));
}

}  // namespace
}  // namespace sigma::harness
