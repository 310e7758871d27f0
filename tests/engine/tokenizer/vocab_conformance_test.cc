// Conformance with Hugging Face on real vocabularies: llama.cpp's vocabulary files
// (models/vocab/ggml-vocab-NAME.gguf, fetched by scripts/setup.sh) come with its tokenizer test
// texts (.inp, separated by "\n__ggml_vocab_test__\n") and the ids Hugging Face's own tokenizer of
// that model gives them without special tokens (.out, a line of ids per text). They cover
// SentencePiece (llama-spm: Llama 2; phi-3; gemma-4: Gemma 4, with merge ranks, from
// llama-cpp-python 0.3.36's source distribution) and the byte-level BPE families (gpt-2, mpt,
// starcoder, refact, command-r, falcon, deepseek-llm, deepseek-coder, llama-bpe: Llama 3, qwen2,
// qwen35: Qwen3.5, from llama-cpp-python 0.3.36's source distribution).
// On the 1.1 MB conformance corpus, with and without the vocabulary's added tokens put in, each
// agrees with the reference ids for its file (tests/oracle/vocab_reference.py wrote them, hashed,
// to tests/data/tokenizer/vocab_ids.txt: llama.cpp's, or Hugging Face's where the two differ).
// Every check runs on the GGUF's tokenizer and on the tokenizer.json the engine exports of it.
// Skipped with a message when models/vocab is absent.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "engine/base/file.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/tokenizer.h"
#include "tests/engine/tokenizer/corpus_util.h"

namespace sigma {
namespace {

const std::filesystem::path kVocabDir = std::filesystem::path(SIGMA_SOURCE_DIR) / "models/vocab";

// The vocabulary files that have test texts, sorted.
std::vector<std::filesystem::path> VocabFiles() {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(kVocabDir, ec)) {
    const auto& p = entry.path();
    if (p.extension() == ".gguf" && std::filesystem::exists(p.string() + ".inp")) out.push_back(p);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> SplitOn(const std::string& text, const std::string& sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t at; (at = text.find(sep, start)) != std::string::npos; start = at + sep.size()) {
    out.push_back(text.substr(start, at - start));
  }
  out.push_back(text.substr(start));
  return out;
}

std::vector<int32_t> ParseIds(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream in(line);
  for (int64_t id; in >> id;) ids.push_back(static_cast<int32_t>(id));
  return ids;
}

// The tokenizer written as Hugging Face's files (Tokenizer::ToHfFiles) and read back.
std::unique_ptr<Tokenizer> ExportedAndReadBack(const Tokenizer& tok, const std::string& name) {
  auto files = tok.ToHfFiles();
  EXPECT_TRUE(files.ok()) << files.status().ToString();
  if (!files.ok()) return nullptr;
  auto back = Tokenizer::FromTokenizerJsonText(files->tokenizer_json, name + ".json",
                                               files->tokenizer_config_json);
  EXPECT_TRUE(back.ok()) << back.status().ToString();
  return back.ok() ? std::move(*back) : nullptr;
}

TEST(VocabConformanceTest, HuggingFaceIdsForLlamaCppTestTexts) {
  const auto files = VocabFiles();
  if (files.empty()) GTEST_SKIP() << "no vocabularies in " << kVocabDir << " (scripts/setup.sh)";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    auto gguf = GgufFile::Open(path.string());
    ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
    auto tok = Tokenizer::FromGguf(**gguf);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    auto inp = ReadFile(path.string() + ".inp");
    auto out = ReadFile(path.string() + ".out");
    ASSERT_TRUE(inp.ok() && out.ok());
    const auto texts = SplitOn(*inp, "\n__ggml_vocab_test__\n");
    const auto lines = SplitOn(*out, "\n");
    ASSERT_GE(texts.size(), 40u);
    ASSERT_GE(lines.size(), texts.size());
    const auto exported = ExportedAndReadBack(**tok, path.stem().string());
    ASSERT_NE(exported, nullptr);
    for (const auto& [how, t] :
         {std::pair{"GGUF", tok->get()}, std::pair{"exported tokenizer.json", exported.get()}}) {
      for (size_t i = 0; i < texts.size(); ++i) {
        const std::vector<int32_t> want = ParseIds(lines[i]);
        const std::vector<int32_t> got = t->Encode(texts[i], /*add_special=*/false);
        EXPECT_EQ(got, want) << how << ", text " << i << " '" << texts[i] << "'\n  got  "
                             << ShowIds(got, 0, 24) << "\n  want " << ShowIds(want, 0, 24);
        EXPECT_EQ(t->Decode(got), texts[i]) << how << ", text " << i;
      }
    }
  }
}

// The texts of the control and user-defined tokens, by id: what the engine splits out.
std::vector<std::string> AddedTokenTexts(const GgufFile& f) {
  auto tokens = f.GetStringArray("tokenizer.ggml.tokens");
  auto types = f.GetI32Array("tokenizer.ggml.token_type");
  EXPECT_TRUE(tokens.ok() && types.ok());
  std::vector<std::string> out;
  for (size_t id = 0; tokens.ok() && types.ok() && id < types->size(); ++id) {
    if (((*types)[id] == 3 || (*types)[id] == 4) && !(*tokens)[id].empty()) {
      out.emplace_back((*tokens)[id]);
    }
  }
  return out;
}

// `pos`, moved back to the start of the UTF-8 sequence it is in.
size_t CharStart(const std::string& d, size_t pos) {
  while (pos > 0 && pos < d.size() && (static_cast<uint8_t>(d[pos]) & 0xc0) == 0x80) --pos;
  return pos;
}

// The first 300 documents of under 400 bytes, each with three added tokens put in at a third,
// two thirds (at a character's start) and the end, a space around them in every other one:
// vocab_reference.py's special_docs.
std::vector<std::string> SpecialDocs(const std::vector<std::string>& docs,
                                     const std::vector<std::string>& added) {
  std::vector<std::string> out;
  for (const std::string& d : docs) {
    if (out.size() == 300) break;
    if (d.size() >= 400) continue;
    const size_t i = out.size();
    const auto tok = [&](size_t j) -> const std::string& {
      return added[(7 * i + 3 * j) % added.size()];
    };
    const std::string sep = i % 2 ? " " : "";
    const size_t a = CharStart(d, d.size() / 3), b = CharStart(d, 2 * d.size() / 3);
    out.push_back(d.substr(0, a) + sep + tok(0) + sep + d.substr(a, b - a) + tok(1) + sep +
                  d.substr(b) + tok(2));
  }
  return out;
}

struct Expected {
  uint32_t count;
  uint32_t hash;
};

// vocab_ids.txt: "NAME KIND N" then N lines "COUNT HASH"; keyed by "NAME KIND".
std::map<std::string, std::vector<Expected>> LoadExpected() {
  std::map<std::string, std::vector<Expected>> out;
  auto text = ReadFile(kTokenizerData + "/vocab_ids.txt");
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  std::istringstream in(text.ok() ? *text : "");
  std::string name, kind;
  for (size_t n; in >> name >> kind >> n;) {
    auto& list = out[name + " " + kind];
    for (size_t k = 0; k < n; ++k) {
      Expected e{};
      in >> e.count >> std::hex >> e.hash >> std::dec;
      list.push_back(e);
    }
  }
  EXPECT_FALSE(out.empty());
  return out;
}

TEST(VocabConformanceTest, LlamaCppIdsOnTheCorpus) {
  const auto files = VocabFiles();
  if (files.empty()) GTEST_SKIP() << "no vocabularies in " << kVocabDir << " (scripts/setup.sh)";
  const std::vector<std::string> docs = LoadCorpus();
  const auto expected = LoadExpected();
  for (const auto& path : files) {
    const std::string name = path.stem().string().substr(std::string("ggml-vocab-").size());
    SCOPED_TRACE(name);
    auto gguf = GgufFile::Open(path.string());
    ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
    auto tok = Tokenizer::FromGguf(**gguf);
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    const std::vector<std::string> special = SpecialDocs(docs, AddedTokenTexts(**gguf));
    const auto exported = ExportedAndReadBack(**tok, name);
    ASSERT_NE(exported, nullptr);
    for (const auto& [how, t] :
         {std::pair{"GGUF", tok->get()}, std::pair{"exported tokenizer.json", exported.get()}}) {
      for (const auto& [kind, texts] :
           {std::pair{"corpus", &docs}, std::pair{"special", &special}}) {
        auto it = expected.find(name + " " + kind);
        ASSERT_NE(it, expected.end()) << name << " " << kind << " is not in vocab_ids.txt";
        ASSERT_EQ(it->second.size(), texts->size()) << kind;
        int differ = 0;
        for (size_t d = 0; d < texts->size(); ++d) {
          const std::vector<int32_t> got = t->Encode((*texts)[d], /*add_special=*/false);
          const Expected& want = it->second[d];
          if (got.size() == want.count && static_cast<uint32_t>(Fnv1a64(got)) == want.hash) {
            continue;
          }
          if (++differ <= 3) {
            ADD_FAILURE() << how << ", " << kind << " document " << d << ": " << got.size()
                          << " ids (" << ShowIds(got, 0, 24) << "...), the reference " << want.count
                          << ", text '" << (*texts)[d].substr(0, 200) << "'";
          }
        }
        EXPECT_EQ(differ, 0) << how << ", " << kind << ": documents whose ids differ";
      }
    }
  }
}

}  // namespace
}  // namespace sigma
