// Tokenizer unit tests on small hand-built vocabularies (no model files needed).
#include "engine/tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include "engine/base/status.h"
#include "engine/gguf/gguf_writer.h"

namespace sigma {
namespace {

using Ids = std::vector<int32_t>;

TEST(PreTokenizerTest, ByteLevelMapIsABijection) {
  const ByteLevelMap& map = ByteLevelMap::Get();
  EXPECT_EQ(map.Encode(' '), "\xc4\xa0");   // U+0120 'Ġ'
  EXPECT_EQ(map.Encode('\n'), "\xc4\x8a");  // U+010A 'Ċ'
  EXPECT_EQ(map.Encode('a'), "a");
  for (int b = 0; b < 256; ++b) {
    uint32_t cp;
    bool valid;
    const std::string& s = map.Encode(static_cast<uint8_t>(b));
    ASSERT_EQ(Utf8Next(s, 0, &cp, &valid), s.size());
    EXPECT_EQ(map.Decode(cp), b);
  }
}

std::vector<std::string> Split(std::string_view pattern, std::string_view text) {
  auto splitter = RegexSplitter::Compile(pattern);
  EXPECT_TRUE(splitter.ok()) << splitter.status().ToString();
  std::vector<std::string_view> pieces;
  (*splitter)->Split(text, &pieces);
  return {pieces.begin(), pieces.end()};
}

TEST(PreTokenizerTest, Gpt2AndLlama3Patterns) {
  EXPECT_EQ(
      Split(kGpt2Pattern, "Hello world's  12ab!!\n\n x"),
      (std::vector<std::string>{"Hello", " world", "'s", " ", " 12", "ab", "!!", "\n\n", " x"}));
  EXPECT_EQ(Split(kLlama3Pattern, "I'M 12345 go\n\n  ok"),
            (std::vector<std::string>{"I", "'M", " ", "123", "45", " go", "\n\n", " ", " ok"}));
  EXPECT_EQ(Split(kDigitsIndividualPattern, "a12"), (std::vector<std::string>{"a", "1", "2"}));
  // U+0085 and U+3000 are whitespace for HF (Oniguruma), also here.
  EXPECT_EQ(Split(kGpt2Pattern,
                  "a\xc2\x85"
                  "b"),
            (std::vector<std::string>{"a", "\xc2\x85", "b"}));
  // Invalid UTF-8 never matches a class but is kept as a piece.
  EXPECT_EQ(Split(kGpt2Pattern, "ab\xff\xfe cd"),
            (std::vector<std::string>{"ab", "\xff\xfe", " cd"}));
  EXPECT_FALSE(RegexSplitter::Compile("(unclosed").ok());
}

// Byte-level vocab: the 256 byte symbols, then merged tokens.
Tokenizer::Spec ByteLevelSpec() {
  Tokenizer::Spec spec;
  spec.source = "test";
  spec.kind = Tokenizer::Kind::kByteLevel;
  for (int b = 0; b < 256; ++b)
    spec.vocab.push_back(ByteLevelMap::Get().Encode(static_cast<uint8_t>(b)));
  spec.vocab.push_back("he");         // 256
  spec.vocab.push_back("ll");         // 257
  spec.vocab.push_back("hell");       // 258
  spec.vocab.push_back("hello");      // 259
  spec.vocab.push_back("\xc4\xa0w");  // 260 " w"
  spec.vocab.push_back("<|end|>");    // 261
  spec.merges = {{"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {"\xc4\xa0", "w"}};
  spec.split_patterns = {std::string(kGpt2Pattern)};
  spec.added = {{"<|end|>", 261, true, false, false}};
  spec.eos_ids = {261};
  return spec;
}

TEST(TokenizerTest, ByteLevelMergesByRank) {
  auto tok = Tokenizer::FromSpec(ByteLevelSpec());
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->Encode("hello", false), (Ids{259}));
  EXPECT_EQ((*tok)->Encode("hello world", false), (Ids{259, 260, 'o', 'r', 'l', 'd'}));
  EXPECT_EQ((*tok)->Encode("hellhello<|end|>x", false), (Ids{258, 259, 261, 'x'}));
  EXPECT_EQ((*tok)->Decode((*tok)->Encode("hello world<|end|>", false)), "hello world<|end|>");
  EXPECT_EQ((*tok)->Decode(Ids{259, 261}, true), "hello");
  EXPECT_EQ((*tok)->Decode(Ids{-1, 99999, 259}), "hello");
  EXPECT_TRUE((*tok)->IsSpecial(261));
  EXPECT_EQ((*tok)->TokenId("hell"), 258);
}

TEST(TokenizerTest, ByteLevelRoundTripsInvalidUtf8) {
  auto tok = Tokenizer::FromSpec(ByteLevelSpec());
  ASSERT_TRUE(tok.ok());
  static constexpr char kNasty[] = "\xff\xfe\x00 \xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80 hello\x80";
  const std::string nasty(kNasty, sizeof(kNasty) - 1);  // the NUL inside included, the last not
  const Ids ids = (*tok)->Encode(nasty, false);
  EXPECT_EQ((*tok)->Decode(ids), nasty);
  EXPECT_EQ(ids[0], 0xff);
}

TEST(TokenizerTest, AddedTokensLstripRstripAndLongestMatch) {
  Tokenizer::Spec spec = ByteLevelSpec();
  spec.vocab.push_back("<|end|>x");  // 262, a longer added token sharing the prefix
  spec.added.push_back({"<|end|>x", 262, false, true, true});
  auto tok = Tokenizer::FromSpec(std::move(spec));
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ((*tok)->Encode("a <|end|>x  b", false), (Ids{'a', 262, 'b'}));
  EXPECT_EQ((*tok)->Encode("a <|end|> b", false), (Ids{'a', ' ', 261, ' ', 'b'}));
  EXPECT_FALSE((*tok)->IsSpecial(262));
}

TEST(TokenizerTest, IgnoreMergesEmitsWholeVocabEntries) {
  Tokenizer::Spec spec = ByteLevelSpec();
  spec.merges.clear();
  spec.ignore_merges = true;
  auto tok = Tokenizer::FromSpec(std::move(spec));
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ((*tok)->Encode("hello", false), (Ids{259}));
  EXPECT_EQ((*tok)->Encode("hellox", false).size(), 6u);
}

TEST(TokenizerTest, BadSpecsAreErrors) {
  Tokenizer::Spec spec = ByteLevelSpec();
  spec.merges.push_back({"zz", "q"});
  EXPECT_EQ(Tokenizer::FromSpec(spec).status().code(), StatusCode::kInvalidArgument);
  spec = ByteLevelSpec();
  spec.eos_ids = {100000};
  EXPECT_FALSE(Tokenizer::FromSpec(spec).ok());
  spec = ByteLevelSpec();
  spec.split_patterns = {"(?<"};
  EXPECT_FALSE(Tokenizer::FromSpec(spec).ok());
}

// SentencePiece-style from GGUF metadata: merges by score, byte fallback, U+2581 for spaces.
std::string SpmGguf(const std::string& model_name = "") {
  GgufWriter w;
  if (!model_name.empty()) w.SetString("general.name", model_name);
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<float> scores = {0, 0, 0};
  std::vector<int32_t> types = {2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    tokens.push_back(buf);
    scores.push_back(0);
    types.push_back(6);
  }
  for (const auto& [t, s] : std::vector<std::pair<std::string, float>>{{"\xe2\x96\x81", -1},
                                                                       {"h", -2},
                                                                       {"i", -2},
                                                                       {"hi", -3},
                                                                       {"\xe2\x96\x81hi", -0.5f},
                                                                       {"\xc3\xa9", -5}}) {
    tokens.push_back(t);
    scores.push_back(s);
    types.push_back(1);
  }
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", tokens);
  w.SetF32Array("tokenizer.ggml.scores", scores);
  w.SetI32Array("tokenizer.ggml.token_type", types);
  w.SetU32("tokenizer.ggml.bos_token_id", 1);
  w.SetU32("tokenizer.ggml.eos_token_id", 2);
  w.SetU32("tokenizer.ggml.unknown_token_id", 0);
  return w.Serialize();
}

TEST(TokenizerTest, SentencePieceFromGguf) {
  auto file = GgufFile::FromBytes(SpmGguf(), "spm.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto tok = Tokenizer::FromGguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const int32_t sp = 259, h = 260, hi = 262, sphi = 263, e_acute = 264;
  EXPECT_EQ((*tok)->Encode("hi", true), (Ids{1, sphi}));
  EXPECT_EQ((*tok)->Encode("hi hi", false), (Ids{sphi, sphi}));
  EXPECT_EQ((*tok)->Encode("h\xc3\xa9!", false), (Ids{sp, h, e_acute, 3 + '!'}));
  EXPECT_EQ((*tok)->Decode(Ids{1, sphi, sphi, 3 + '!'}), "<s> hi hi!");
  EXPECT_EQ((*tok)->Decode(Ids{sphi, 3 + '!'}), "hi!");
  const std::string bytes("hi \xff x\xe4\xb8\xad", 9);
  EXPECT_EQ((*tok)->Decode((*tok)->Encode(bytes, false)), bytes);
  (void)hi;
}

// As llama.cpp: the space goes before the text after every added token too; a Phi-3 file's added
// tokens (but <unk>, <s>, <|endoftext|>) drop the whitespace after them.
TEST(TokenizerTest, SentencePieceFromGgufPrefixesEverySegment) {
  const int32_t sp = 259, sphi = 263;
  auto file = GgufFile::FromBytes(SpmGguf(), "spm.gguf");
  ASSERT_TRUE(file.ok());
  auto tok = Tokenizer::FromGguf(**file);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->Encode("<s>hi", false), (Ids{1, sphi}));
  EXPECT_EQ((*tok)->Encode("hi</s>hi", false), (Ids{sphi, 2, sphi}));
  EXPECT_EQ((*tok)->Encode("</s> hi", false), (Ids{2, sp, sphi}));
  EXPECT_EQ((*tok)->Encode("<s> hi", false), (Ids{1, sp, sphi}));

  auto phi = GgufFile::FromBytes(SpmGguf("Phi-3 Mini"), "phi.gguf");
  ASSERT_TRUE(phi.ok());
  auto phi_tok = Tokenizer::FromGguf(**phi);
  ASSERT_TRUE(phi_tok.ok()) << phi_tok.status().ToString();
  EXPECT_EQ((*phi_tok)->Encode("</s> \n hi", false), (Ids{2, sphi}));
  EXPECT_EQ((*phi_tok)->Encode("<s> hi", false), (Ids{1, sp, sphi}));  // <s> keeps it
}

TEST(TokenizerTest, GgufTypeConfusionIsRejected) {
  GgufWriter w;
  w.SetString("tokenizer.ggml.model", "llama");
  w.SetStringArray("tokenizer.ggml.tokens", {"a", "b"});
  w.SetI32Array("tokenizer.ggml.scores", {1, 2});  // i32 where f32 is required
  auto file = GgufFile::FromBytes(w.Serialize(), "conf.gguf");
  ASSERT_TRUE(file.ok());
  auto tok = Tokenizer::FromGguf(**file);
  EXPECT_EQ(tok.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(tok.status().message().find("tokenizer.ggml.scores"), std::string::npos);
  GgufWriter w2;
  w2.SetString("tokenizer.ggml.model", "gpt2");
  w2.SetString("tokenizer.ggml.pre", "mystery");
  w2.SetStringArray("tokenizer.ggml.tokens", {"a"});
  w2.SetStringArray("tokenizer.ggml.merges", {});
  auto f2 = GgufFile::FromBytes(w2.Serialize(), "pre.gguf");
  EXPECT_EQ(Tokenizer::FromGguf(**f2).status().code(), StatusCode::kUnimplemented);
}

// ToHfFiles writes what FromTokenizerJsonText reads back to the same tokenizer: merges, a literal
// and a regex split, added tokens with their flags, prefix and suffix ids, bos/eos, template.
TEST(TokenizerJsonTest, ExportedFilesReadBackToTheSameTokenizer) {
  Tokenizer::Spec spec = ByteLevelSpec();
  spec.vocab.push_back("<s>");    // 262
  spec.vocab.push_back("\"q\"");  // 263: a text JSON must escape
  spec.added.push_back({"<s>", 262, true, false, false});
  spec.added.push_back({"\"q\"", 263, false, true, true});
  spec.split_patterns.insert(spec.split_patterns.begin(), "\\Q--\\E");  // Split on "--"
  spec.prefix_ids = {262};
  spec.suffix_ids = {261};
  spec.bos_id = 262;
  spec.chat_template = "{{ messages[0]['content'] }}\n";
  auto tok = Tokenizer::FromSpec(spec);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto files = (*tok)->ToHfFiles();
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_NE(files->tokenizer_json.find(R"({"String": "--"})"), std::string::npos);
  auto back = Tokenizer::FromTokenizerJsonText(files->tokenizer_json, "exported.json",
                                               files->tokenizer_config_json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (const char* text :
       {"hello world<|end|>", "a--hello  \"q\"  b", "hellhello", "x\xffy\n\t "}) {
    EXPECT_EQ((*back)->Encode(text, true), (*tok)->Encode(text, true)) << text;
    EXPECT_EQ((*back)->Encode(text, false), (*tok)->Encode(text, false)) << text;
  }
  EXPECT_EQ((*back)->Encode("hello", true), (Ids{262, 259, 261}));
  EXPECT_EQ((*back)->bos_id(), 262);
  EXPECT_EQ((*back)->eos_ids(), (std::vector<int32_t>{261}));
  EXPECT_EQ((*back)->chat_template(), spec.chat_template);
  EXPECT_TRUE((*back)->IsSpecial(262));
  EXPECT_FALSE((*back)->IsSpecial(263));
  EXPECT_EQ((*back)->vocab_size(), (*tok)->vocab_size());

  // ignore_merges (Llama 3) survives: without merges, "hello" is still the whole vocab entry.
  spec.merges.clear();
  spec.ignore_merges = true;
  auto whole = Tokenizer::FromSpec(spec);
  ASSERT_TRUE(whole.ok());
  auto whole_back = Tokenizer::FromTokenizerJsonText((*whole)->ToHfFiles()->tokenizer_json, "w");
  ASSERT_TRUE(whole_back.ok()) << whole_back.status().ToString();
  EXPECT_EQ((*whole_back)->Encode("hello", false), (Ids{259}));
}

// A SentencePiece vocabulary's merges come from its scores; the files read back to the same
// encoding (the prefix after added tokens, byte fallback, decode's stripped first space). Real
// vocabularies: vocab_conformance_test.cc.
TEST(TokenizerJsonTest, SentencePieceExportsMergesFromScores) {
  auto file = GgufFile::FromBytes(SpmGguf(), "spm.gguf");
  ASSERT_TRUE(file.ok());
  auto tok = Tokenizer::FromGguf(**file);
  ASSERT_TRUE(tok.ok());
  auto files = (*tok)->ToHfFiles();
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  // "hi" (score -3) splits as h + i; "\u2581hi" (-0.5) as \u2581 + hi and \u2581h + i (absent):
  // the higher score first.
  const size_t sphi = files->tokenizer_json.find("[\"\xe2\x96\x81\", \"hi\"]");
  const size_t hi = files->tokenizer_json.find("[\"h\", \"i\"]");
  ASSERT_NE(sphi, std::string::npos) << files->tokenizer_json;
  ASSERT_NE(hi, std::string::npos);
  EXPECT_LT(sphi, hi);
  auto back = Tokenizer::FromTokenizerJsonText(files->tokenizer_json, "spm.json",
                                               files->tokenizer_config_json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ((*back)->kind(), Tokenizer::Kind::kSentencePiece);
  for (const char* text : {"hi", "hi hi", "h\xc3\xa9!", "<s>hi</s> hi", "  hi\n", ""}) {
    EXPECT_EQ((*back)->Encode(text, true), (*tok)->Encode(text, true)) << text;
    EXPECT_EQ((*back)->Decode((*tok)->Encode(text, false)),
              (*tok)->Decode((*tok)->Encode(text, false)));
  }

  Tokenizer::Spec spec;  // neither merges nor scores
  spec.kind = Tokenizer::Kind::kSentencePiece;
  spec.vocab = {"a", "b", "ab"};
  auto bare = Tokenizer::FromSpec(spec);
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  const Status s = (*bare)->ToHfFiles().status();
  EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
  EXPECT_NE(s.message().find("neither merges nor token scores"), std::string::npos) << s.ToString();
}

TEST(TokenizerJsonTest, Llama3StyleWithTemplateProcessing) {
  const std::string json = R"({
    "added_tokens": [{"id": 5, "content": "<|begin_of_text|>", "special": true}],
    "normalizer": null,
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"Regex": "(?i:'s|'t)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
       "behavior": "Isolated", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {}},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "ignore_merges": true,
      "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120ab": 4},
      "merges": [["a", "b"], "\u0120 ab"]}
  })";
  auto tok = Tokenizer::FromTokenizerJsonText(json, "t.json");
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->Encode("ab ab", true), (Ids{5, 2, 4}));
  EXPECT_EQ((*tok)->Decode(Ids{5, 2, 4}, true), "ab ab");
}

// A lone huge id would make the dense vocabulary table enormous (found by input_files_fuzz: a
// 200-byte file asked for 20 GB); ids far beyond the tokens a file defines are errors.
TEST(TokenizerJsonTest, IdsFarBeyondTheTokensDefinedAreRejected) {
  auto vocab = Tokenizer::FromTokenizerJsonText(
      R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 640004191}, "merges": []}})", "t.json");
  ASSERT_FALSE(vocab.ok());
  EXPECT_NE(vocab.status().message().find("model.vocab['b']: id 640004191 is too large for 2 tokens"),
            std::string::npos)
      << vocab.status().message();
  auto added = Tokenizer::FromTokenizerJsonText(
      R"({"added_tokens": [{"id": 536870000, "content": "<s>"}],
          "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})", "t.json");
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.status().message().find("added_tokens '<s>': id 536870000 is too large"),
            std::string::npos)
      << added.status().message();
  // Added tokens after the vocabulary, as Llama 3 and Qwen2 files have them, are fine.
  auto after = Tokenizer::FromTokenizerJsonText(
      R"({"added_tokens": [{"id": 900, "content": "<s>", "special": true}],
          "decoder": {"type": "ByteLevel"},
          "model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}})", "t.json");
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

// Found by input_files_fuzz: a 'model' that is not an object was searched for members (SEGV).
TEST(TokenizerJsonTest, ModelThatIsNotAnObjectIsAnError) {
  for (const char* model : {"5.2", "\"BPE\"", "[1, 2]", "true"}) {
    auto tok = Tokenizer::FromTokenizerJsonText(
        std::string(R"({"model": )") + model + R"(, "so": {"a": 4}})", "t.json");
    ASSERT_FALSE(tok.ok()) << model;
    EXPECT_NE(tok.status().message().find("t.json: 'model' is "), std::string::npos)
        << tok.status().message();
    EXPECT_NE(tok.status().message().find("not an object"), std::string::npos)
        << tok.status().message();
  }
}

// Sequence components nest: a hostile file nesting them 200,000 deep must not recurse that deep,
// nor may quoting a deeply nested unknown component in an error message.
TEST(TokenizerJsonTest, DeepNestingIsAnErrorNotAStackOverflow) {
  const struct {
    const char* key;
    const char* list;
    const char* leaf;
  } kinds[] = {{"normalizer", "normalizers", R"({"type": "NFC"})"},
               {"pre_tokenizer", "pretokenizers", R"({"type": "ByteLevel"})"},
               {"post_processor", "processors", R"({"type": "ByteLevel"})"}};
  for (const auto& kind : kinds) {
    const auto nested = [&](int depth) {
      std::string s;
      for (int i = 0; i < depth; ++i) s += StrCat(R"({"type": "Sequence", ")", kind.list, R"(": [)");
      s += kind.leaf;
      for (int i = 0; i < depth; ++i) s += "]}";
      return StrCat(R"({")", kind.key, R"(": )", s, R"(, "decoder": {"type": "ByteLevel"},)",
                    R"( "model": {"type": "BPE", "vocab": {"a": 0}}})");
    };
    auto shallow = Tokenizer::FromTokenizerJsonText(nested(16), "t.json");
    EXPECT_TRUE(shallow.ok()) << kind.key << ": " << shallow.status().ToString();
    auto deep = Tokenizer::FromTokenizerJsonText(nested(200000), "t.json");
    ASSERT_FALSE(deep.ok()) << kind.key;
    EXPECT_NE(deep.status().message().find(StrCat(kind.key, " Sequence nested deeper than 16")),
              std::string::npos)
        << deep.status().message().substr(0, 200);
  }
  const std::string arrays = std::string(1000000, '[') + std::string(1000000, ']');
  auto quoted = Tokenizer::FromTokenizerJsonText(
      R"({"normalizer": {"type": "Lowercase", "x": )" + arrays +
          R"(}, "model": {"type": "BPE", "vocab": {"a": 0}}})",
      "t.json");
  EXPECT_EQ(quoted.status().code(), StatusCode::kUnimplemented);
}

TEST(TokenizerJsonTest, UnsupportedComponentsAreNamed) {
  auto tok = Tokenizer::FromTokenizerJsonText(
      R"({"model": {"type": "WordPiece", "vocab": {}}, "decoder": {"type": "ByteLevel"}})",
      "w.json");
  EXPECT_EQ(tok.status().code(), StatusCode::kUnimplemented);
  tok = Tokenizer::FromTokenizerJsonText(
      R"({"normalizer": {"type": "Lowercase"}, "model": {"type": "BPE", "vocab": {"a": 0}}})",
      "n.json");
  EXPECT_NE(tok.status().message().find("Lowercase"), std::string::npos);
  tok = Tokenizer::FromTokenizerJsonText("{", "bad.json");
  EXPECT_EQ(tok.status().code(), StatusCode::kInvalidArgument);
  tok = Tokenizer::FromTokenizerJsonText(
      R"({"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a q"]}})",
      "m.json");
  EXPECT_NE(tok.status().message().find("merge #0"), std::string::npos) << tok.status().ToString();
}

}  // namespace
}  // namespace sigma
