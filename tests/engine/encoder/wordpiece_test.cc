// WordPiece tokenizer and Unicode tables on hand-checked cases with a small vocabulary (no model
// files needed). Conformance with Hugging Face on the real vocabulary: bert_encoder_test.cc.
#include "engine/encoder/wordpiece.h"

#include <gtest/gtest.h>

#include "engine/base/unicode_tables.h"

namespace sigma {
namespace {

using Words = std::vector<std::string>;

std::unique_ptr<WordPieceTokenizer> SmallTokenizer(WordPieceOptions options = {}) {
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello",
                                    "world", "un",    "##aff", "##able", ",",     "!",
                                    "cafe",  "中",    "文",    "a",      "##b",   "##bb",
                                    "x",     "-",     "smi",   "nvidia"};
  auto t = WordPieceTokenizer::FromTokens(std::move(vocab), options, "test vocab");
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(t).value();
}

std::vector<std::string> Pieces(const WordPieceTokenizer& t, std::string_view text) {
  std::vector<std::string> out;
  for (int32_t id : t.Tokenize(text)) out.push_back(t.token(id));
  return out;
}

TEST(WordPieceTest, GreedyLongestMatchWithContinuation) {
  auto t = SmallTokenizer();
  EXPECT_EQ(Pieces(*t, "UNaffable"), (Words{"un", "##aff", "##able"}));
  EXPECT_EQ(Pieces(*t, "abbb"), (Words{"a", "##bb", "##b"}));  // longest first, not shortest
  EXPECT_EQ(Pieces(*t, "unaffablex"), (Words{"[UNK]"}));       // no full segmentation
  EXPECT_EQ(Pieces(*t, "hello unaffablex world"), (Words{"hello", "[UNK]", "world"}));
}

TEST(WordPieceTest, PunctuationWhitespaceAndCase) {
  auto t = SmallTokenizer();
  EXPECT_EQ(Pieces(*t, "Hello,World!"), (Words{"hello", ",", "world", "!"}));
  EXPECT_EQ(Pieces(*t, "  HELLO\t\nworld\u3000hello\u00a0x "),
            (Words{"hello", "world", "hello", "x"}));
  EXPECT_EQ(Pieces(*t, "nvidia-smi"), (Words{"nvidia", "-", "smi"}));
}

TEST(WordPieceTest, AccentsCjkAndControlCharacters) {
  auto t = SmallTokenizer();
  EXPECT_EQ(Pieces(*t, "Café CAFÉ cafe\u0301"), (Words{"cafe", "cafe", "cafe"}));
  EXPECT_EQ(Pieces(*t, "a中文x"), (Words{"a", "中", "文", "x"}));
  // NUL, BEL, ZWSP (Cf) and U+FFFD are dropped without splitting; invalid UTF-8 likewise.
  EXPECT_EQ(Pieces(*t, std::string("hel\0lo", 6)), (Words{"hello"}));
  EXPECT_EQ(Pieces(*t, "hel\alo wor\u200bld\ufffd"), (Words{"hello", "world"}));
  EXPECT_EQ(Pieces(*t, "hel\xfflo"), (Words{"hello"}));
}

TEST(WordPieceTest, SpecialTokensInTextAreMatchedLiterally) {
  auto t = SmallTokenizer();
  EXPECT_EQ(Pieces(*t, "hello[SEP]world [CLS]"), (Words{"hello", "[SEP]", "world", "[CLS]"}));
  // Case matters and partial brackets are plain punctuation.
  EXPECT_EQ(Pieces(*t, "[sep] [SEP"), (Words{"[UNK]", "[UNK]", "[UNK]", "[UNK]", "[UNK]"}));
}

TEST(WordPieceTest, LongWordsBecomeUnknown) {
  WordPieceOptions options;
  options.max_input_chars_per_word = 4;
  auto t = SmallTokenizer(options);
  EXPECT_EQ(Pieces(*t, "abbb abbbb"), (Words{"a", "##bb", "##b", "[UNK]"}));
}

TEST(WordPieceTest, EncodeAddsSpecialsAndTruncates) {
  auto t = SmallTokenizer();
  EXPECT_EQ(t->Encode("", 8), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(t->Encode("hello world", 8), (std::vector<int32_t>{2, 5, 6, 3}));
  EXPECT_EQ(t->Encode("hello world hello", 4), (std::vector<int32_t>{2, 5, 6, 3}));
  EXPECT_EQ(t->Encode("UNaffable", 3), (std::vector<int32_t>{2, 7, 3}));  // cuts inside a word
}

TEST(WordPieceTest, OptionsOff) {
  WordPieceOptions options;
  options.lowercase = false;
  options.strip_accents = false;
  auto t = SmallTokenizer(options);
  EXPECT_EQ(t->BasicTokenize("Café Hello"), (Words{"Café", "Hello"}));
}

TEST(WordPieceTest, BasicTokenizeSplitsAsciiSymbolsAndUnicodePunctuation) {
  auto t = SmallTokenizer();
  EXPECT_EQ(t->BasicTokenize("$5+3=8 «x» a—b ©"),
            (Words{"$", "5", "+", "3", "=", "8", "«", "x", "»", "a", "—", "b", "©"}));
  EXPECT_EQ(t->BasicTokenize("İstanbul ÀÉÎ Straße"), (Words{"istanbul", "aei", "straße"}));
}

TEST(WordPieceTest, RejectsBadVocabularies) {
  auto missing = WordPieceTokenizer::FromTokens({"[CLS]", "[SEP]", "[PAD]"}, {}, "v.txt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("[UNK]"), std::string::npos);
  auto dup = WordPieceTokenizer::FromTokens({"[CLS]", "[SEP]", "[PAD]", "[UNK]", "a", "a"}, {},
                                            "v.txt");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("line 6"), std::string::npos);
  EXPECT_FALSE(WordPieceTokenizer::FromVocabFile("/nonexistent/vocab.txt").ok());
}

TEST(UnicodeTablesTest, Categories) {
  EXPECT_TRUE(unicode::IsOther(0x7F));     // Cc
  EXPECT_TRUE(unicode::IsOther(0x200B));   // Cf
  EXPECT_TRUE(unicode::IsOther(0xE000));   // Co
  EXPECT_FALSE(unicode::IsOther(0x0378));  // Cn: kept, as Hugging Face tokenizers keeps it
  EXPECT_FALSE(unicode::IsOther('a'));
  EXPECT_TRUE(unicode::IsNonspacingMark(0x0301));
  EXPECT_FALSE(unicode::IsNonspacingMark(0x0903));  // Mc
  EXPECT_TRUE(unicode::IsPunctuation(0x00AB));
  EXPECT_FALSE(unicode::IsPunctuation('$'));  // Sc: BERT still splits it (ASCII punctuation)
  EXPECT_TRUE(unicode::IsWhitespace(0x3000));
  EXPECT_FALSE(unicode::IsWhitespace(0x200B));
  EXPECT_TRUE(unicode::IsCjkIdeograph(0x4E2D));
  EXPECT_FALSE(unicode::IsCjkIdeograph(0x3042));  // hiragana
  EXPECT_FALSE(unicode::IsCjkIdeograph(0x2B820));  // tokenizers' Extension E starts at U+2B920
  EXPECT_TRUE(unicode::IsCjkIdeograph(0x2B920));
}

TEST(UnicodeTablesTest, NfdAndLowercase) {
  EXPECT_EQ(unicode::Nfd(U"\u00E9"), U"e\u0301");
  EXPECT_EQ(unicode::Nfd(U"\u1EA5"), U"a\u0302\u0301");  // recursive decomposition
  EXPECT_EQ(unicode::Nfd(U"\uD55C"), U"\u1112\u1161\u11AB");  // Hangul LVT
  EXPECT_EQ(unicode::Nfd(U"\uAC00"), U"\u1100\u1161");        // Hangul LV
  EXPECT_EQ(unicode::Nfd(U"o\u0302\u0323"), U"o\u0323\u0302");  // canonical order 220 < 230
  std::u32string lower;
  for (char32_t c : std::u32string(U"AÉΣİЖ")) unicode::AppendLowercase(c, &lower);
  EXPECT_EQ(lower, U"aéσi\u0307ж");
}

TEST(Utf8Test, RoundTripAndInvalid) {
  const std::string text = "a\u00e9\u4e2d\U0001F680";
  std::string back;
  for (char32_t c : DecodeUtf8(text)) AppendUtf8(c, &back);
  EXPECT_EQ(back, text);
  EXPECT_EQ(DecodeUtf8("\xc0\xaf"), U"\uFFFD\uFFFD");     // overlong
  EXPECT_EQ(DecodeUtf8("\xed\xa0\x80"), U"\uFFFD\uFFFD\uFFFD");  // surrogate
  EXPECT_EQ(DecodeUtf8("\xe4\xb8"), U"\uFFFD");           // truncated
}

}  // namespace
}  // namespace sigma
