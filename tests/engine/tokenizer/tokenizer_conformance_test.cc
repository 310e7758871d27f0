// Conformance of our tokenizer with Hugging Face `tokenizers` on a 1.1 MB corpus
// (tests/oracle/tokenizer_reference.py wrote the expected ids). Needs the default model
// (scripts/setup.sh); skipped with a message when models/ is absent.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <sstream>

#include "engine/base/file.h"
#include "engine/base/json.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/pre_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/engine/tokenizer/corpus_util.h"

namespace sigma {
namespace {

const std::string kModel =
    std::string(SIGMA_SOURCE_DIR) + "/models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

std::vector<std::vector<int32_t>> LoadIds() {
  auto bytes = ReadFile(kTokenizerData + "/smollm2_ids.bin");
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  std::vector<std::vector<int32_t>> out;
  for (size_t pos = 0; bytes.ok() && pos < bytes->size();) {
    const uint32_t n = ReadU32(*bytes, &pos);
    std::vector<int32_t> ids(n);
    for (uint32_t k = 0; k < n; ++k, pos += 2) {
      uint16_t v;
      std::memcpy(&v, bytes->data() + pos, 2);
      ids[k] = v;
    }
    out.push_back(std::move(ids));
  }
  return out;
}

// tokenizer.json text for the GGUF's vocabulary with the given pre_tokenizer JSON.
std::string TokenizerJsonFromGguf(const GgufFile& f, const std::string& pre_tokenizer,
                                  bool ignore_merges) {
  auto tokens = *f.GetStringArray("tokenizer.ggml.tokens");
  auto merges = *f.GetStringArray("tokenizer.ggml.merges");
  auto types = *f.GetI32Array("tokenizer.ggml.token_type");
  std::string j = "{\"added_tokens\":[";
  bool first = true;
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (types[id] != 3) continue;
    j += first ? "" : ",";
    first = false;
    j += "{\"id\":" + std::to_string(id) + ",\"content\":";
    AppendJsonString(tokens[id], &j);
    j += ",\"special\":true,\"lstrip\":false,\"rstrip\":false,\"normalized\":false}";
  }
  j += "],\"normalizer\":null,\"pre_tokenizer\":" + pre_tokenizer;
  j += ",\"post_processor\":{\"type\":\"ByteLevel\"},\"decoder\":{\"type\":\"ByteLevel\"}";
  j += ",\"model\":{\"type\":\"BPE\",\"ignore_merges\":";
  j += ignore_merges ? "true" : "false";
  j += ",\"vocab\":{";
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (id) j += ",";
    AppendJsonString(tokens[id], &j);
    j += ':';
    j += std::to_string(id);
  }
  j += "},\"merges\":[";
  for (size_t k = 0; k < merges.size(); ++k) {
    if (k) j += ",";
    // Alternate the two merge spellings tokenizers writes ("a b" and ["a", "b"]).
    if (k % 2 == 0) {
      AppendJsonString(merges[k], &j);
    } else {
      const size_t space = merges[k].find(' ', 1);
      j += "[";
      AppendJsonString(merges[k].substr(0, space), &j);
      j += ",";
      AppendJsonString(merges[k].substr(space + 1), &j);
      j += "]";
    }
  }
  return j + "]}}";
}

std::string SplitPre(std::string_view pattern) {
  std::string j =
      "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":";
  AppendJsonString(pattern, &j);
  return j +
         "},\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\","
         "\"add_prefix_space\":false,\"use_regex\":false}]}";
}

class ConformanceTest : public testing::Test {
 protected:
  void SetUp() override {
    if (!FileExists(kModel)) GTEST_SKIP() << kModel << " is absent: run scripts/setup.sh";
    auto file = GgufFile::Open(kModel);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    file_ = std::move(*file);
    docs_ = LoadCorpus();
    ASSERT_GT(docs_.size(), 100u);
  }

  // Compares every document; reports the first few mismatches with where they start.
  void ExpectIds(const Tokenizer& tok, const std::vector<std::vector<int32_t>>& want) {
    ASSERT_EQ(want.size(), docs_.size());
    int failures = 0;
    for (size_t d = 0; d < docs_.size() && failures < 5; ++d) {
      const std::vector<int32_t> got = tok.Encode(docs_[d], false);
      if (got == want[d]) continue;
      ++failures;
      size_t k = 0;
      while (k < got.size() && k < want[d].size() && got[k] == want[d][k]) ++k;
      ADD_FAILURE() << "document " << d << " differs at token " << k << ": got " << ShowIds(got, k)
                    << "want " << ShowIds(want[d], k) << "text: '"
                    << tok.Decode(std::vector<int32_t>(
                           want[d].begin() + k, want[d].begin() + std::min(want[d].size(), k + 8)))
                    << "'";
    }
  }

  std::unique_ptr<GgufFile> file_;
  std::vector<std::string> docs_;
};

TEST_F(ConformanceTest, SmolLM2FromGgufMatchesHuggingFace) {
  auto tok = Tokenizer::FromGguf(*file_);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->vocab_size(), 49152);
  EXPECT_EQ((*tok)->bos_id(), 1);
  ASSERT_EQ((*tok)->eos_ids().size(), 1u);
  EXPECT_EQ((*tok)->eos_ids()[0], 2);
  ExpectIds(**tok, LoadIds());
}

TEST_F(ConformanceTest, OpenFindsTheGgufInAModelFolder) {
  const std::string dir = kModel.substr(0, kModel.find_last_of('/'));
  auto tok = Tokenizer::Open(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->Encode("<|im_start|>user", false), (std::vector<int32_t>{1, 4093}));
  EXPECT_EQ(Tokenizer::Open(dir + "/missing").status().code(), StatusCode::kNotFound);
}

TEST_F(ConformanceTest, SmolLM2FromTokenizerJsonMatchesHuggingFace) {
  const std::string pre =
      "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true},"
      "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}"
      "]}";
  auto tok =
      Tokenizer::FromTokenizerJsonText(TokenizerJsonFromGguf(*file_, pre, false), "smollm2.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  ExpectIds(**tok, LoadIds());
}

// The GGUF vocabulary written as Hugging Face files (what `convert` puts in a folder) reads back to
// Hugging Face's ids on the whole corpus, with the same special ids and chat template. (The
// `tokenizers` package itself, given that tokenizer.json, gave these ids too: 1917 documents, 0
// differing, tokenizers 0.23.3; tests/oracle/tokenizer_export_check.py.)
TEST_F(ConformanceTest, SmolLM2ExportedAsTokenizerJsonMatchesHuggingFace) {
  auto gguf = Tokenizer::FromGguf(*file_);
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  auto files = (*gguf)->ToHfFiles();
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  auto tok = Tokenizer::FromTokenizerJsonText(files->tokenizer_json, "exported.json",
                                              files->tokenizer_config_json);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->vocab_size(), (*gguf)->vocab_size());
  EXPECT_EQ((*tok)->bos_id(), (*gguf)->bos_id());
  EXPECT_EQ((*tok)->eos_ids(), (*gguf)->eos_ids());
  EXPECT_EQ((*tok)->chat_template(), (*gguf)->chat_template());
  EXPECT_FALSE((*tok)->chat_template().empty());
  for (int32_t id : {0, 1, 2, 16, 17, 4093}) {
    EXPECT_EQ((*tok)->IsSpecial(id), (*gguf)->IsSpecial(id)) << id;
    EXPECT_EQ((*tok)->TokenText(id), (*gguf)->TokenText(id)) << id;
  }
  ExpectIds(**tok, LoadIds());
  // Exported again, the same files.
  auto again = (*tok)->ToHfFiles();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tokenizer_json, files->tokenizer_json);
  EXPECT_EQ(again->tokenizer_config_json, files->tokenizer_config_json);
}

TEST_F(ConformanceTest, SplitRegexVariantsMatchHuggingFace) {
  auto lines = ReadFile(kTokenizerData + "/variants.txt");
  ASSERT_TRUE(lines.ok());
  std::map<std::string, std::vector<std::pair<size_t, uint64_t>>> want;
  std::istringstream in(*lines);
  std::string name;
  size_t doc, n;
  std::string hash;
  while (in >> name >> doc >> n >> hash) want[name].push_back({n, std::stoull(hash, nullptr, 16)});
  for (const auto& [variant, pattern, ignore] : {std::tuple{"llama3_split", kLlama3Pattern, true},
                                                 std::tuple{"qwen2_split", kQwen2Pattern, false},
                                                 std::tuple{"qwen35_split", kQwen35Pattern, false},
                                                 std::tuple{"gpt4o_split", kGpt4oPattern, false}}) {
    auto tok = Tokenizer::FromTokenizerJsonText(
        TokenizerJsonFromGguf(*file_, SplitPre(pattern), ignore), variant);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    const auto& w = want[variant];
    ASSERT_EQ(w.size(), docs_.size()) << variant;
    int failures = 0;
    for (size_t d = 0; d < docs_.size() && failures < 5; ++d) {
      const std::vector<int32_t> got = (*tok)->Encode(docs_[d], false);
      if (got.size() == w[d].first && Fnv1a64(got) == w[d].second) continue;
      ++failures;
      ADD_FAILURE() << variant << ": document " << d << " differs (" << got.size()
                    << " tokens, want " << w[d].first << ")";
    }
  }
}

TEST_F(ConformanceTest, RoundTripsCorpusAndRandomBytes) {
  auto tok = Tokenizer::FromGguf(*file_);
  ASSERT_TRUE(tok.ok());
  for (size_t d = 0; d < docs_.size(); ++d) {
    ASSERT_EQ((*tok)->Decode((*tok)->Encode(docs_[d], false)), docs_[d]) << "document " << d;
  }
  // Random bytes, invalid UTF-8 included, over the bytes whose symbol the vocabulary has.
  std::string alphabet;
  for (int b = 0; b < 256; ++b) {
    if ((*tok)->TokenId(ByteLevelMap::Get().Encode(static_cast<uint8_t>(b))) >= 0)
      alphabet.push_back(static_cast<char>(b));
  }
  EXPECT_EQ(alphabet.size(), 256u - 21u);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    std::string s(rng() % 200, '\0');
    for (char& c : s)
      c = rng() % 4 == 0 ? alphabet[rng() % alphabet.size()]
                         : "ab \n\xc3\xa9\xe2\x82\xac"[rng() % 9];
    ASSERT_EQ((*tok)->Decode((*tok)->Encode(s, false)), s) << "trial " << trial;
  }
  // Bytes SmolLM2 cannot represent are dropped (HF and llama.cpp behave the same).
  EXPECT_EQ((*tok)->Decode((*tok)->Encode("a\xff\x04"
                                          "b",
                                          false)),
            "ab");
}

}  // namespace
}  // namespace sigma
